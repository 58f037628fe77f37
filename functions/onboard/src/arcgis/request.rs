//! What one row of a member file asks: its `action` (create, update,
//! disable, enable, delete) and the values that action takes, checked
//! against the org before anything is written.

use connectors::arcgis::{PortalKind, ProfileChanges};
use connectors::config::is_email_shape;
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::FieldProblem;
use connectors::report::restore_neutralised;

use super::catalog::Catalog;
use super::rows::{
    self, check_username, group_list, parse_credits, Member, ACTION, LEAVE_GROUPS, REASSIGN_TO,
};

/// What a row does to its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Disable,
    Enable,
    Delete,
}

impl Action {
    /// The word in the `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::Delete => "delete",
        }
    }

    /// The action a cell names (any case); empty is `create`.
    fn parse(value: &str) -> Result<Self, FieldProblem> {
        match value.to_ascii_lowercase().as_str() {
            "" | "create" => Ok(Action::Create),
            "update" => Ok(Action::Update),
            "disable" => Ok(Action::Disable),
            "enable" => Ok(Action::Enable),
            "delete" => Ok(Action::Delete),
            _ => Err(FieldProblem::new(
                ACTION,
                format!("{value:?} is not create, update, disable, enable or delete"),
            )),
        }
    }
}

/// A credit allocation an update sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Credits {
    Limit(f64),
    Unlimited,
}

/// What an `update` row changes; `None` and empty lists leave things as
/// they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub profile: ProfileChanges,
    /// Role id.
    pub role: Option<String>,
    /// User type id.
    pub user_type: Option<String>,
    pub credits: Option<Credits>,
    /// Group ids to join.
    pub join: Vec<String>,
    /// Group ids to leave.
    pub leave: Vec<String>,
}

/// A valid row of a member file.
#[derive(Debug, Clone)]
pub enum Request {
    /// A new member (or one to ensure).
    Create(Box<Member>),
    /// Changes to an existing member.
    Change { username: String, change: Change },
}

/// What a row asks of an existing member.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Update(Box<Update>),
    Disable,
    Enable,
    Delete {
        /// Who receives the member's items and groups; without one, a
        /// member who owns anything is not deleted.
        reassign_to: Option<String>,
    },
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::Update(_) => Action::Update,
            Change::Disable => Action::Disable,
            Change::Enable => Action::Enable,
            Change::Delete { .. } => Action::Delete,
        }
    }
}

/// Checks one row, whatever its action; every problem names its field.
pub fn validate(
    row: &Row,
    columns: &ColumnMap,
    catalog: &Catalog,
    default_groups: &[String],
) -> Result<Request, Vec<FieldProblem>> {
    let action = Action::parse(columns.get(row, ACTION)).map_err(|p| vec![p])?;
    if action == Action::Create {
        let only_for_changes = [LEAVE_GROUPS, REASSIGN_TO]
            .into_iter()
            .filter(|c| !columns.get(row, c).is_empty())
            .map(|c| {
                FieldProblem::new(
                    c,
                    "is for update or delete rows; a create row leaves it empty",
                )
            })
            .collect::<Vec<_>>();
        return match rows::validate(row, columns, catalog, default_groups) {
            Ok(member) if only_for_changes.is_empty() => Ok(Request::Create(Box::new(member))),
            Ok(_) => Err(only_for_changes),
            Err(mut problems) => {
                problems.extend(only_for_changes);
                Err(problems)
            }
        };
    }
    let mut problems = Vec::new();
    let username = columns.get(row, "username").to_string();
    if let Err(problem) = check_username(&username, catalog.kind) {
        problems.push(problem);
    }
    // A new member's sign-in is never changed by a file.
    for column in ["password", "provider", "idp_username"] {
        if !columns.get(row, column).is_empty() {
            problems.push(FieldProblem::new(
                column,
                format!(
                    "is only for new members; a {} row leaves it empty",
                    action.as_str()
                ),
            ));
        }
    }
    let reassign_to = columns.get(row, REASSIGN_TO);
    if action != Action::Delete && !reassign_to.is_empty() {
        problems.push(FieldProblem::new(
            REASSIGN_TO,
            format!(
                "is for delete rows; a {} row leaves it empty",
                action.as_str()
            ),
        ));
    }
    let change = match action {
        Action::Update => {
            update(row, columns, catalog, &mut problems).map(|u| Change::Update(Box::new(u)))
        }
        Action::Disable => Some(Change::Disable),
        Action::Enable => Some(Change::Enable),
        Action::Delete => {
            let reassign_to = Some(reassign_to.to_string()).filter(|r| !r.is_empty());
            if let Some(target) = &reassign_to {
                if let Err(mut problem) = check_username(target, catalog.kind) {
                    problem.field = REASSIGN_TO.into();
                    problems.push(problem);
                } else if target.eq_ignore_ascii_case(&username) {
                    problems.push(FieldProblem::new(
                        REASSIGN_TO,
                        "names the member being deleted; give who receives the content",
                    ));
                }
            }
            Some(Change::Delete { reassign_to })
        }
        Action::Create => unreachable!("create rows returned above"),
    };
    match change {
        Some(change) if problems.is_empty() => Ok(Request::Change { username, change }),
        _ => Err(problems),
    }
}

/// The changes of an `update` row: only the columns present and non-empty.
fn update(
    row: &Row,
    columns: &ColumnMap,
    catalog: &Catalog,
    problems: &mut Vec<FieldProblem>,
) -> Option<Update> {
    // An export guards cells that a spreadsheet would take for a formula;
    // the guard is not part of the value.
    let get = |name: &str| restore_neutralised(columns.get(row, name)).to_string();
    let text = |field: &str, problems: &mut Vec<FieldProblem>| {
        let value = get(field);
        if value.chars().any(char::is_control) {
            problems.push(FieldProblem::new(
                field,
                "contains a line break or control character",
            ));
        }
        Some(value).filter(|v| !v.is_empty())
    };
    let first_name = text("firstname", problems);
    let last_name = text("lastname", problems);
    let email = Some(get("email")).filter(|e| !e.is_empty());
    if let Some(email) = email.as_deref().filter(|e| !is_email_shape(e)) {
        problems.push(FieldProblem::new(
            "email",
            format!("{email:?} is not a valid address"),
        ));
    }
    let role = match get("role") {
        v if v.is_empty() => None,
        // An administrator's own row (an export edited back) may name the
        // role it has; making anyone an administrator is refused once the
        // member is looked up.
        v => catalog.resolve_role(&v).map_err(|p| problems.push(p)).ok(),
    };
    let user_type = match get("user type") {
        v if v.is_empty() => None,
        v => catalog
            .resolve_user_type(&v)
            .map_err(|p| problems.push(p))
            .ok(),
    };
    let credits = match get("credit allocation") {
        v if v.is_empty() => None,
        _ if catalog.kind == PortalKind::Enterprise => {
            problems.push(FieldProblem::new(
                "credit allocation",
                "ArcGIS Enterprise has no credits; leave it empty",
            ));
            None
        }
        v => match parse_credits(&v) {
            Ok(Some(n)) => Some(Credits::Limit(n)),
            Ok(None) => Some(Credits::Unlimited),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };
    let join = group_list(&get("groups"));
    let leave = group_list(&get(LEAVE_GROUPS));
    let both: Vec<&String> = join.iter().filter(|g| leave.contains(g)).collect();
    if !both.is_empty() {
        problems.push(FieldProblem::new(
            LEAVE_GROUPS,
            format!(
                "{} also in groups; a member cannot join and leave a group in one row",
                both.iter()
                    .map(|g| format!("{g:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Some(Update {
        profile: ProfileChanges {
            first_name,
            last_name,
            email,
        },
        role,
        user_type,
        credits,
        join,
        leave,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arcgis::rows::tests::catalog;
    use connectors::csvfile;

    fn request(csv: &str, kind: PortalKind) -> Result<Request, Vec<FieldProblem>> {
        let table = csvfile::parse(csv.as_bytes()).unwrap();
        let columns = ColumnMap::new(&table.headers, rows::COLUMNS).unwrap();
        validate(&table.rows[0], &columns, &catalog(kind), &[])
    }

    fn fields(problems: Vec<FieldProblem>) -> Vec<String> {
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn an_update_takes_only_the_columns_given() {
        let Request::Change { username, change } = request(
            "username,action,lastname,email,role,user type,credit allocation,groups,leave_groups,last_login\n\
             jdoe_org,Update,'=Doe,jane@example.org,Field Analyst,,unlimited,g1;g2,g3,2026-01-01\n",
            PortalKind::Online,
        )
        .unwrap() else {
            panic!("an update")
        };
        assert_eq!(username, "jdoe_org");
        let Change::Update(update) = change else {
            panic!("an update")
        };
        assert_eq!(
            *update,
            Update {
                profile: ProfileChanges {
                    first_name: None,
                    last_name: Some("=Doe".into()),
                    email: Some("jane@example.org".into()),
                },
                role: Some("cust0mR0le000001".into()),
                user_type: None,
                credits: Some(Credits::Unlimited),
                join: vec!["g1".into(), "g2".into()],
                leave: vec!["g3".into()],
            }
        );
    }

    #[test]
    fn a_file_with_an_action_column_needs_only_usernames() {
        let change = |csv: &str| match request(csv, PortalKind::Online).unwrap() {
            Request::Change { change, .. } => change,
            Request::Create(_) => panic!("a change"),
        };
        assert_eq!(
            change("username,action\nleaver_1,DELETE\n"),
            Change::Delete { reassign_to: None }
        );
        assert_eq!(
            change("username,action,reassign_to\nleaver_1,delete,keeper_1\n"),
            Change::Delete {
                reassign_to: Some("keeper_1".into())
            }
        );
        assert_eq!(
            change("username,action\nleaver_1,disable\n"),
            Change::Disable
        );
        assert_eq!(change("username,action\nleaver_1,enable\n"), Change::Enable);
        // Without an action, the row creates and needs a new member's fields.
        let problems = request("username,action\nnewbie_1,\n", PortalKind::Online).unwrap_err();
        assert_eq!(fields(problems), ["firstname", "lastname", "email"]);
    }

    #[test]
    fn every_problem_of_a_change_row_names_its_field() {
        let problems = request(
            "username,action,password,email,role,credit allocation,groups,leave_groups,reassign_to\n\
             jd,update,pw,nope,Wizard,lots,g1,g1,x_other\n",
            PortalKind::Online,
        )
        .unwrap_err();
        assert_eq!(
            fields(problems),
            [
                "username",
                "password",
                "reassign_to",
                "email",
                "role",
                "credit allocation",
                "leave_groups"
            ]
        );
        let problems =
            request("username,action\njdoe_org,retire\n", PortalKind::Online).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "action: \"retire\" is not create, update, disable, enable or delete"
        );
        let problems = request(
            "username,action,reassign_to\njdoe_org,delete,JDOE_ORG\n",
            PortalKind::Online,
        )
        .unwrap_err();
        assert_eq!(fields(problems), ["reassign_to"]);
        let problems = request(
            "username,action,credit allocation\njdoe_org,update,5\n",
            PortalKind::Enterprise,
        )
        .unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "credit allocation: ArcGIS Enterprise has no credits; leave it empty"
        );
    }
}
