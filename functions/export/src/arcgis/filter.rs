//! An ArcGIS users filter, checked against the org before anything is
//! listed: a role or user type the org does not have, or a group it cannot
//! find, is refused naming it.

use connectors::arcgis::{Role, User, BUILTIN_ROLES};

use super::ArcgisSource;
use crate::event::ArcgisFilter;
use crate::handler::ExportError;

/// A filter in the org's ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub role: Option<String>,
    pub user_type: Option<String>,
    pub group: Option<String>,
    pub disabled: Option<bool>,
}

impl Resolved {
    /// Whether `user`, in groups `groups`, passes.
    pub fn keeps(&self, user: &User, groups: &[String]) -> bool {
        self.role
            .as_deref()
            .is_none_or(|role| role_of(user) == role)
            && self
                .user_type
                .as_deref()
                .is_none_or(|t| user.user_license_type_id.as_deref() == Some(t))
            && self.group.as_ref().is_none_or(|g| groups.contains(g))
            && self.disabled.is_none_or(|d| user.disabled == d)
    }
}

/// A member's role id: the custom role (Viewer, Data Editor and the org's
/// own roles) when there is one, else the base role (`org_admin`,
/// `org_publisher`, `org_user`); onboarding takes either back.
pub(crate) fn role_of(user: &User) -> &str {
    user.role_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .or(user.role.as_deref())
        .unwrap_or_default()
}

/// Resolves names to the org's ids, and checks the group exists.
pub(crate) async fn resolve<A: ArcgisSource>(
    arcgis: &A,
    filter: &ArcgisFilter,
) -> Result<Resolved, ExportError> {
    let role = match &filter.role {
        Some(wanted) => {
            let mut roles = arcgis.roles().await?;
            for (id, name) in BUILTIN_ROLES {
                if !roles.iter().any(|r| r.id == id) {
                    roles.push(Role {
                        id: id.to_string(),
                        name: name.to_string(),
                    });
                }
            }
            let pairs = roles.iter().map(|r| (r.id.as_str(), r.name.as_str()));
            Some(pick("role", wanted, pairs)?)
        }
        None => None,
    };
    let user_type = match &filter.user_type {
        Some(wanted) => {
            let types = arcgis.user_types().await?;
            let pairs = types.iter().map(|t| (t.id.as_str(), t.name.as_str()));
            Some(pick("user_type", wanted, pairs)?)
        }
        None => None,
    };
    let group = match &filter.group {
        Some(id) => match arcgis.group(id).await? {
            Some(group) => Some(group.id),
            None => {
                return Err(ExportError::Filter {
                    key: "group",
                    message: format!("no group with id {id:?} is visible in the org"),
                })
            }
        },
        None => None,
    };
    Ok(Resolved {
        role,
        user_type,
        group,
        disabled: filter.disabled,
    })
}

/// The id `wanted` names among `(id, name)` pairs: an id, or a name
/// (either ignoring case) that only one of them has.
fn pick<'a>(
    key: &'static str,
    wanted: &str,
    pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<String, ExportError> {
    if let Some((id, _)) = pairs.clone().find(|(id, _)| *id == wanted) {
        return Ok(id.to_string());
    }
    let found: Vec<&str> = pairs
        .clone()
        .filter(|(id, name)| id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted))
        .map(|(id, _)| id)
        .collect();
    match found.as_slice() {
        [id] => Ok(id.to_string()),
        [] => Err(ExportError::Filter {
            key,
            message: format!(
                "the org has no {} {wanted:?} (it has: {})",
                key.replace('_', " "),
                pairs.map(|(_, name)| name).collect::<Vec<_>>().join(", ")
            ),
        }),
        many => Err(ExportError::Filter {
            key,
            message: format!(
                "{wanted:?} names {} of them ({}); give the id",
                many.len(),
                many.join(", ")
            ),
        }),
    }
}
