//! What the org accepts: its roles and user types, by id or by name.

use connectors::arcgis::{PortalKind, Role, UserType, BUILTIN_ROLES};
use connectors::inbox::FieldProblem;

/// What the org accepts, loaded once per file.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub kind: PortalKind,
    /// role id → name, built-ins included.
    roles: Vec<Role>,
    user_types: Vec<UserType>,
}

impl Catalog {
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
        }
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
