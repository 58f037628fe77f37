//! The onboarding CSV: its columns and the validation of each row against
//! the org, before anything is written.

use connectors::arcgis::{Invitation, PortalKind};
use connectors::config::is_email_shape;
use connectors::csvfile::{Column, ColumnMap, Row};
use connectors::inbox::FieldProblem;
use connectors::secrets::SecretString;

use super::catalog::Catalog;

/// The columns a member file may have. Names match case-insensitively
/// with spaces, `_` and `-` ignored. The fields of a new member are
/// required unless the file has an `action` column (rows that change
/// existing members need only the username).
pub const COLUMNS: &[Column] = &[
    Column::required("username", &["user", "login"]),
    Column::optional(ACTION, &["operation"]),
    Column::optional("password", &[]),
    Column::required_unless("firstname", &["givenname"], ACTION),
    Column::required_unless("lastname", &["surname", "familyname"], ACTION),
    Column::required_unless("email", &["emailaddress", "mail"], ACTION),
    Column::optional(
        "user type",
        &[
            "usertypeid",
            "userlicensetype",
            "userlicensetypeid",
            "licensetype",
        ],
    ),
    Column::optional("role", &["roleid"]),
    Column::optional(
        "credit allocation",
        &["credits", "creditassignment", "usercreditassignment"],
    ),
    Column::optional("groups", &["group", "groupids"]),
    Column::optional(LEAVE_GROUPS, &["removegroups"]),
    Column::optional(REASSIGN_TO, &["newowner"]),
    Column::optional("provider", &[]),
    Column::optional("idp_username", &["idpuser"]),
    Column::optional("last_login", &[]),
    Column::optional("created", &[]),
    Column::optional("disabled", &[]),
];

/// The column saying what a row does; empty or absent means `create`.
pub const ACTION: &str = "action";
/// Groups an `update` row takes the member out of.
pub const LEAVE_GROUPS: &str = "leave_groups";
/// Who receives a deleted member's items and groups.
pub const REASSIGN_TO: &str = "reassign_to";
/// Columns an export writes that describe a member but change nothing:
/// a file edited from an export keeps them, and they are not applied.
pub const EXPORT_ONLY: [&str; 3] = ["last_login", "created", "disabled"];

/// A row that passed validation: a member to create or ensure.
#[derive(Debug, Clone)]
pub struct Member {
    /// The account as the portal's create calls take it.
    pub account: Invitation,
    /// Groups from the row and the configured defaults, deduplicated.
    pub groups: Vec<String>,
}

/// Checks one row and builds its member, or returns every problem found,
/// each naming the field.
pub fn validate(
    row: &Row,
    columns: &ColumnMap,
    catalog: &Catalog,
    default_groups: &[String],
) -> Result<Member, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let get = |name: &str| columns.get(row, name).to_string();
    let username = get("username");
    if let Err(problem) = check_username(&username, catalog.kind) {
        problems.push(problem);
    }
    let first_name = get("firstname");
    let last_name = get("lastname");
    for (field, value) in [("firstname", &first_name), ("lastname", &last_name)] {
        if value.is_empty() {
            problems.push(FieldProblem::new(field, "is required"));
        } else if value.chars().any(char::is_control) {
            problems.push(FieldProblem::new(
                field,
                "contains a line break or control character",
            ));
        }
    }
    let email = get("email");
    if email.is_empty() {
        problems.push(FieldProblem::new("email", "is required"));
    } else if !is_email_shape(&email) {
        problems.push(FieldProblem::new(
            "email",
            format!("{email:?} is not a valid address"),
        ));
    }
    // An empty role or user type takes the org's new-member default, as the
    // portal's own tools do; without a default the row cannot be created.
    let role = match get("role") {
        v if v.is_empty() => catalog.default_role(),
        v => catalog.resolve_role(&v),
    };
    let role = match role {
        Ok(id) if id == "org_admin" => {
            problems.push(FieldProblem::new(
                "role",
                "administrators are not created from a CSV; give the role in the portal",
            ));
            None
        }
        Ok(id) => Some(id),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    let user_type = match get("user type") {
        v if v.is_empty() => catalog.default_user_type(),
        v => catalog.resolve_user_type(&v),
    };
    let user_type = user_type.map_err(|p| problems.push(p)).ok();
    // Empty: the org's default allocation; `unlimited` (or -1): none.
    let credits = match get("credit allocation") {
        v if v.is_empty() => catalog.default_credits,
        v => parse_credits(&v)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten(),
    };
    let password = match columns.get(row, "password") {
        "" => None,
        p => Some(SecretString::new(p)),
    };
    let mut provider = match get("provider").to_ascii_lowercase() {
        v if v.is_empty() => None,
        v if v == "arcgis" || v == "enterprise" => Some(v),
        v => {
            problems.push(FieldProblem::new(
                "provider",
                format!("{v:?} is not arcgis or enterprise"),
            ));
            None
        }
    };
    let idp_username = Some(get("idp_username")).filter(|v| !v.is_empty());
    if idp_username.is_some() && provider.is_none() {
        provider = Some("enterprise".into());
    }
    if provider.as_deref() == Some("enterprise") && idp_username.is_none() {
        problems.push(FieldProblem::new(
            "idp_username",
            "is required when provider is enterprise",
        ));
    }
    if provider.as_deref() == Some("arcgis") {
        provider = None;
    }
    if catalog.kind == PortalKind::Enterprise && provider.is_none() && password.is_none() {
        problems.push(FieldProblem::new(
            "password",
            "ArcGIS Enterprise built-in accounts need a password (or give provider enterprise and idp_username)",
        ));
    }
    let mut groups: Vec<String> = Vec::new();
    for group in get("groups")
        .split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .chain(default_groups.iter().map(String::as_str))
    {
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_string());
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Member {
        account: Invitation {
            username,
            first_name,
            last_name,
            email,
            role,
            user_type,
            credits: if catalog.kind == PortalKind::Online {
                credits
            } else {
                None
            },
            password,
            provider,
            idp_username,
        },
        groups,
    })
}

/// A credit allocation: `Some(n)`, or `None` for `unlimited` (or `-1`).
pub fn parse_credits(value: &str) -> Result<Option<f64>, FieldProblem> {
    if value.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        Ok(-1.0) => Ok(None),
        _ => Err(FieldProblem::new(
            "credit allocation",
            format!("{value:?} is not a number (leave it empty for the org's default, or write unlimited)"),
        )),
    }
}

/// Group ids separated by `;`, each once.
pub fn group_list(value: &str) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for group in value.split(';').map(str::trim).filter(|g| !g.is_empty()) {
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_string());
        }
    }
    groups
}

/// ArcGIS username rules: 6–128 characters, letters, digits and `. _ @ -`
/// (and `\\` on Enterprise, for `DOMAIN\\user` logins).
pub fn check_username(username: &str, kind: PortalKind) -> Result<(), FieldProblem> {
    let problem = |message: String| Err(FieldProblem::new("username", message));
    if username.is_empty() {
        return problem("is required".into());
    }
    let length = username.chars().count();
    if !(6..=128).contains(&length) {
        return problem(format!(
            "{username:?} must be 6 to 128 characters long (is {length})"
        ));
    }
    if let Some(bad) = username.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '@' | '-')
            || (*c == '\\' && kind == PortalKind::Enterprise))
    }) {
        return problem(format!(
            "{username:?} has {bad:?}; only letters, digits and . _ @ - are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use connectors::arcgis::{Portal, Role, UserDefaults, UserType};
    use connectors::csvfile;

    /// An org with one custom role (Field Analyst), Creator and Viewer, and
    /// new-member defaults.
    pub(crate) fn catalog(kind: PortalKind) -> Catalog {
        let portal = Portal {
            id: "org1".into(),
            name: "Org".into(),
            kind,
            default_credits: Some(100.0),
            caller: None,
        };
        let defaults = UserDefaults {
            role: Some("org_user".into()),
            user_license_type: Some("viewerUT".into()),
            groups: vec![],
        };
        Catalog::of(
            &portal,
            vec![Role {
                id: "cust0mR0le000001".into(),
                name: "Field Analyst".into(),
            }],
            vec![
                UserType {
                    id: "creatorUT".into(),
                    name: "Creator".into(),
                },
                UserType {
                    id: "viewerUT".into(),
                    name: "Viewer".into(),
                },
            ],
            defaults,
        )
    }

    fn member(csv: &str, kind: PortalKind) -> Result<Member, Vec<FieldProblem>> {
        let table = csvfile::parse(csv.as_bytes()).unwrap();
        let columns = ColumnMap::new(&table.headers, COLUMNS).unwrap();
        validate(
            &table.rows[0],
            &columns,
            &catalog(kind),
            &["dflt".to_string()],
        )
    }

    #[test]
    fn the_usual_header_works_as_it_is() {
        let m = member(
            "username,password,firstname,lastname,email,user type,role,credit allocation\n\
             jdoe_org,S3cret!pw,Jane,Doe,jane@example.org,Creator,Field Analyst,250\n",
            PortalKind::Online,
        )
        .unwrap();
        assert_eq!(m.account.user_type.as_deref(), Some("creatorUT"));
        assert_eq!(m.account.role.as_deref(), Some("cust0mR0le000001"));
        assert_eq!(m.account.credits, Some(250.0));
        assert_eq!(m.groups, ["dflt"]);
        assert_eq!(
            m.account.password.as_ref().map(|p| p.expose()),
            Some("S3cret!pw")
        );
    }

    #[test]
    fn every_problem_names_its_field() {
        let problems = member(
            "username,firstname,lastname,email,user type,role,credit allocation\n\
             jd,Jane,,jane@,Wizard,Boss,lots\n",
            PortalKind::Online,
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "username",
                "lastname",
                "email",
                "role",
                "user type",
                "credit allocation"
            ]
        );
    }

    #[test]
    fn administrators_are_refused_and_viewer_resolves() {
        let admin = member(
            "username,firstname,lastname,email,role\nboss_user,A,B,a@b.org,Administrator\n",
            PortalKind::Online,
        );
        assert!(admin.unwrap_err()[0]
            .to_string()
            .starts_with("role: administrators"));
        let viewer = member(
            "username,firstname,lastname,email,role\nview_user,A,B,a@b.org,viewer\n",
            PortalKind::Online,
        )
        .unwrap();
        assert_eq!(viewer.account.role.as_deref(), Some("iAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn enterprise_needs_a_password_or_an_idp_login() {
        let csv = "username,firstname,lastname,email\nno_pass_user,A,B,a@b.org\n";
        assert!(member(csv, PortalKind::Online).is_ok());
        assert_eq!(
            member(csv, PortalKind::Enterprise).unwrap_err()[0].field,
            "password"
        );
        let idp = "username,firstname,lastname,email,idp_username\nsaml_user1,A,B,a@b.org,a@corp\n";
        assert_eq!(
            member(idp, PortalKind::Enterprise)
                .unwrap()
                .account
                .provider
                .as_deref(),
            Some("enterprise")
        );
    }

    #[test]
    fn empty_fields_take_the_orgs_new_member_defaults() {
        let m = member(
            "username,firstname,lastname,email,role,user type,credit allocation\n\
             plain_user1,A,B,a@b.org,,,\n",
            PortalKind::Online,
        )
        .unwrap();
        assert_eq!(m.account.role.as_deref(), Some("org_user"));
        assert_eq!(m.account.user_type.as_deref(), Some("viewerUT"));
        assert_eq!(m.account.credits, Some(100.0), "the org's default credits");
        let unlimited = member(
            "username,firstname,lastname,email,credit allocation\nplain_user2,A,B,a@b.org,unlimited\n",
            PortalKind::Online,
        )
        .unwrap();
        assert_eq!(unlimited.account.credits, None);
    }

    #[test]
    fn without_defaults_an_empty_role_or_type_fails_its_row() {
        let bare = Catalog::new(PortalKind::Online, vec![], vec![]);
        let csv = "username,firstname,lastname,email\nplain_user1,A,B,a@b.org\n";
        let table = csvfile::parse(csv.as_bytes()).unwrap();
        let columns = ColumnMap::new(&table.headers, COLUMNS).unwrap();
        let problems = validate(&table.rows[0], &columns, &bare, &[]).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["role", "user type"]);
        assert!(
            problems[0].message.contains("no default role"),
            "{problems:?}"
        );
    }

    #[test]
    fn domain_logins_are_usernames_on_enterprise_only() {
        assert!(check_username("CORP\\jdoe", PortalKind::Enterprise).is_ok());
        assert!(check_username("CORP\\jdoe", PortalKind::Online).is_err());
    }
}
