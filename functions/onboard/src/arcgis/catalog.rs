//! What the org accepts: its roles and user types, by id or by name.

use connectors::arcgis::{Portal, PortalKind, Role, UserDefaults, UserType, BUILTIN_ROLES};
use connectors::inbox::FieldProblem;

/// What the org accepts, loaded once per file.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub kind: PortalKind,
    /// role id → name, built-ins included.
    roles: Vec<Role>,
    user_types: Vec<UserType>,
    /// The org's new-member defaults, for rows that leave a field empty.
    defaults: UserDefaults,
    /// Online's credit allocation for new members; `None` = unlimited.
    pub default_credits: Option<f64>,
}

impl Catalog {
    /// The catalog of `portal`, with its roles, user types and defaults.
    pub fn of(
        portal: &Portal,
        custom_roles: Vec<Role>,
        user_types: Vec<UserType>,
        defaults: UserDefaults,
    ) -> Self {
        Self {
            defaults,
            default_credits: portal.default_credits,
            ..Self::new(portal.kind, custom_roles, user_types)
        }
    }

    pub fn new(kind: PortalKind, custom_roles: Vec<Role>, user_types: Vec<UserType>) -> Self {
        let mut roles: Vec<Role> = BUILTIN_ROLES
            .iter()
            .map(|(id, name)| Role {
                id: id.to_string(),
                name: name.to_string(),
            })
            .collect();
        for role in custom_roles {
            if !roles.iter().any(|r| r.id == role.id) {
                roles.push(role);
            }
        }
        Self {
            kind,
            roles,
            user_types,
            defaults: UserDefaults::default(),
            default_credits: None,
        }
    }

    /// The role a member gets when the row leaves it empty: the org's
    /// default for new members, or why there is none.
    pub fn default_role(&self) -> Result<String, FieldProblem> {
        match &self.defaults.role {
            Some(role) => self.resolve_role(role).map_err(|_| {
                FieldProblem::new(
                    "role",
                    format!("is empty, and the org's default role for new members ({role:?}) is not one of its roles; give a role"),
                )
            }),
            None => Err(FieldProblem::new(
                "role",
                "is empty, and the org has no default role for new members; give a role or set the org's new member defaults",
            )),
        }
    }

    /// The user type a member gets when the row leaves it empty: the org's
    /// default for new members, or why there is none.
    pub fn default_user_type(&self) -> Result<String, FieldProblem> {
        match &self.defaults.user_license_type {
            Some(user_type) => self.resolve_user_type(user_type).map_err(|_| {
                FieldProblem::new(
                    "user type",
                    format!("is empty, and the org's default user type for new members ({user_type:?}) is not one of its user types; give a user type"),
                )
            }),
            None => Err(FieldProblem::new(
                "user type",
                "is empty, and the org has no default user type for new members; give a user type or set the org's new member defaults",
            )),
        }
    }

    /// A role's name, for reports; the id itself when the org does not list it.
    pub fn role_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.roles
            .iter()
            .find(|r| r.id == id)
            .map_or(id, |r| r.name.as_str())
    }

    /// A role id from an id or a name (case-insensitive), or why not.
    pub fn resolve_role(&self, value: &str) -> Result<String, FieldProblem> {
        let wanted = value.trim();
        if let Some(role) = self.roles.iter().find(|r| r.id == wanted) {
            return Ok(role.id.clone());
        }
        let alias = match wanted.to_ascii_lowercase().as_str() {
            "administrator" | "admin" => Some("org_admin"),
            "publisher" => Some("org_publisher"),
            "user" => Some("org_user"),
            "viewer" => Some("iAAAAAAAAAAAAAAA"),
            "data editor" | "dataeditor" => Some("iBBBBBBBBBBBBBBB"),
            _ => None,
        };
        if let Some(id) = alias {
            return Ok(id.to_string());
        }
        let by_name: Vec<&Role> = self
            .roles
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(wanted) || r.id.eq_ignore_ascii_case(wanted))
            .collect();
        match by_name.as_slice() {
            [role] => Ok(role.id.clone()),
            [] => Err(FieldProblem::new(
                "role",
                format!(
                    "unknown role {wanted:?} (use a role id or one of: {})",
                    self.roles
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            many => Err(FieldProblem::new(
                "role",
                format!(
                    "role name {wanted:?} matches {} roles ({}); use the role id",
                    many.len(),
                    many.iter()
                        .map(|r| r.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The name of the user type `id` as the org lists it ("Creator"), or
    /// the id itself when the org lists no such type.
    pub fn user_type_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.user_types
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(id) && !t.name.is_empty())
            .map_or(id, |t| t.name.as_str())
    }

    /// A user type id from an id or a name (case-insensitive), or why not.
    pub fn resolve_user_type(&self, value: &str) -> Result<String, FieldProblem> {
        let wanted = value.trim();
        let alias = match wanted.to_ascii_lowercase().as_str() {
            "creator" => Some("creatorUT"),
            "viewer" => Some("viewerUT"),
            "editor" | "contributor" => Some("editorUT"),
            "fieldworker" | "field worker" | "mobile worker" => Some("fieldWorkerUT"),
            "professional" => Some("GISProfessionalStdUT"),
            "professional plus" => Some("GISProfessionalAdvUT"),
            _ => None,
        };
        let found = self
            .user_types
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(wanted) || t.name.eq_ignore_ascii_case(wanted))
            .or_else(|| alias.and_then(|a| self.user_types.iter().find(|t| t.id == a)));
        match found {
            Some(user_type) => Ok(user_type.id.clone()),
            None => Err(FieldProblem::new(
                "user type",
                format!(
                    "unknown user type {wanted:?} (this org has: {})",
                    self.user_types
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}
