//! Licence reclamation (`SWEEP_ACTION=downgrade`): members past the notice
//! period keep their account and give back their paid licence; a member who
//! signs in again gets back what they had.
//!
//! A downgrade first gives the member the downgrade role when one is due (a
//! role the smaller user type can hold; Viewer, `iAAAAAAAAAAAAAAA`, for a
//! type that allows only view roles), then the user type
//! (`portals/self/updateUserLicenseType`); a restore gives the type back
//! first, then the role, so the member never holds a role their type cannot
//! hold. ArcGIS allows one user-type change per member in 30 days: a change
//! the portal refuses for that, or for want of a free licence, waits and is
//! tried again by later runs. What rollcall changed, and what the member
//! had, is in `state/reclaimed.json` ([`state`]).

pub mod state;

mod downgrade;
mod notices;
pub(crate) mod restore;
pub(crate) mod settle;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use connectors::arcgis::{OrgCatalog, RoleAdmin, User, BUILTIN_ROLES};
use connectors::config::ConfigError;
use connectors::store::ObjectStore;
use connectors::Error;

use crate::config::Downgrade;

pub(crate) use settle::MemberReclaim;

/// The Viewer role's id.
pub const VIEWER_ROLE: &str = "iAAAAAAAAAAAAAAA";

/// Days ArcGIS makes a member wait between two user-type changes.
pub const TYPE_CHANGE_DAYS: i64 = 30;

/// The privileges a view-only role may hold: the Level 1 privileges the
/// *Update User Level* reference lists
/// (<https://developers.arcgis.com/rest/users-groups-and-items/update-user-level.htm>;
/// Level 1 is what the Viewer user type allows). A role holding anything
/// else is not taken as a view role.
const VIEW_PRIVILEGES: [&str; 7] = [
    "portal:user:joinGroup",
    "portal:user:viewOrgGroups",
    "portal:user:viewOrgItems",
    "portal:user:viewOrgUsers",
    "premium:user:geocode",
    "premium:user:networkanalysis",
    "premium:user:demographics",
];

/// User types that allow only view roles.
const VIEW_ONLY_TYPES: [&str; 1] = ["viewerUT"];

/// What a downgrade gives, checked against the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The user type id given.
    pub user_type: String,
    /// The role id given; `None` keeps the member's role.
    pub role: Option<String>,
    /// Every user type of the org: id → name, for the mails and the summary.
    pub type_names: BTreeMap<String, String>,
}

impl Target {
    /// The user type's name ("Creator"), or its id when the org gave none.
    pub fn type_name(&self, id: &str) -> String {
        self.type_names
            .get(id)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// Why the downgrade settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("reading the org's user types and roles: {0}")]
    Service(#[from] Error),
}

/// Checks `DOWNGRADE_TO` and `DOWNGRADE_ROLE` against the org's user types
/// and roles (ids or names, ignoring case), and works out the role a
/// downgrade gives.
pub async fn resolve<O: OrgCatalog + RoleAdmin>(
    org: &O,
    downgrade: &Downgrade,
) -> Result<Target, ResolveError> {
    let types = org.user_types().await?;
    let type_names: BTreeMap<String, String> = types
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let wanted = downgrade.to.trim();
    let Some(user_type) = types
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(wanted) || t.name.eq_ignore_ascii_case(wanted))
    else {
        let known: Vec<String> = types
            .iter()
            .map(|t| format!("{} ({})", t.id, t.name))
            .collect();
        return Err(ConfigError::new(
            "DOWNGRADE_TO",
            format!(
                "the org has no user type {wanted:?}; it has {}",
                known.join(", ")
            ),
        )
        .into());
    };
    let view_only = VIEW_ONLY_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&user_type.id));
    let role = match downgrade.role.as_deref().map(str::trim) {
        None => view_only.then(|| VIEWER_ROLE.to_string()),
        Some(wanted) => {
            let details = org.role_details().await?;
            let builtin = BUILTIN_ROLES
                .iter()
                .find(|(id, name)| {
                    id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted)
                })
                .map(|(id, name)| (id.to_string(), name.to_string(), None));
            let custom = || {
                details
                    .iter()
                    .find(|r| {
                        r.id.eq_ignore_ascii_case(wanted) || r.name.eq_ignore_ascii_case(wanted)
                    })
                    .map(|r| (r.id.clone(), r.name.clone(), Some(r.privileges.clone())))
            };
            let Some((id, name, privileges)) = builtin.or_else(custom) else {
                let mut known: Vec<String> =
                    BUILTIN_ROLES.iter().map(|(_, n)| n.to_string()).collect();
                known.extend(
                    details
                        .iter()
                        .filter(|r| !BUILTIN_ROLES.iter().any(|(id, _)| *id == r.id))
                        .map(|r| r.name.clone()),
                );
                return Err(ConfigError::new(
                    "DOWNGRADE_ROLE",
                    format!(
                        "the org has no role {wanted:?}; it has {}",
                        known.join(", ")
                    ),
                )
                .into());
            };
            if view_only && !is_view_role(&id, privileges.as_deref()) {
                return Err(ConfigError::new(
                    "DOWNGRADE_ROLE",
                    format!(
                        "role {name:?} is not a view role, and the {} user type ({}) allows only view roles: leave DOWNGRADE_ROLE empty for Viewer, or name a role with view privileges only",
                        user_type.name, user_type.id
                    ),
                )
                .into());
            }
            Some(id)
        }
    };
    Ok(Target {
        user_type: user_type.id.clone(),
        role,
        type_names,
    })
}

/// A view role: Viewer, or a custom role with view privileges only.
fn is_view_role(id: &str, privileges: Option<&[String]>) -> bool {
    if id == VIEWER_ROLE {
        return true;
    }
    if BUILTIN_ROLES.iter().any(|(builtin, _)| *builtin == id) {
        return false;
    }
    privileges.is_some_and(|ps| {
        ps.iter()
            .all(|p| VIEW_PRIVILEGES.iter().any(|v| v.eq_ignore_ascii_case(p)))
    })
}

/// The member's role id: `roleId`, or `role` for the built-in roles the
/// portal gives without one (as the ArcGIS API for Python reads it).
pub(crate) fn role_of(user: &User) -> Option<String> {
    user.role_id
        .clone()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| user.role.clone())
}

/// Why the portal refused a user-type change, as far as rollcall acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// One change per 30 days: wait and try again.
    TooSoon,
    /// No licence of the type free: wait and try again.
    NoLicence,
    /// Anything else: reported, not waited for.
    Other,
}

impl Refusal {
    /// Reads the portal's reason.
    pub(crate) fn of(reason: &str) -> Self {
        let r = reason.to_ascii_lowercase();
        if r.contains("30 days") || r.contains("30-day") || r.contains("thirty days") {
            Refusal::TooSoon
        } else if r.contains("insufficient")
            || r.contains("not enough")
            || r.contains("no licen")
            || r.contains("no available")
            || (r.contains("licen") && r.contains("available"))
        {
            Refusal::NoLicence
        } else {
            Refusal::Other
        }
    }
}

/// Writes `state/reclaimed.json` ahead of and after each batch, as
/// [`crate::act::Recorder`] writes the sweep's state; the settlement of
/// what the listing found goes with the first write.
pub(crate) struct ReclaimRecorder<'a, S> {
    store: &'a S,
    bucket: &'a str,
    run_id: &'a str,
    today: NaiveDate,
    unsaved: Vec<state::Op>,
    /// Writes made.
    pub(crate) writes: usize,
}

impl<'a, S: ObjectStore> ReclaimRecorder<'a, S> {
    pub(crate) fn new(
        store: &'a S,
        bucket: &'a str,
        run_id: &'a str,
        today: NaiveDate,
        settlement: Vec<state::Op>,
    ) -> Self {
        Self {
            store,
            bucket,
            run_id,
            today,
            unsaved: settlement,
            writes: 0,
        }
    }

    /// Writes `ops`, with anything held back; nothing when there is nothing.
    pub(crate) async fn record(
        &mut self,
        ops: impl IntoIterator<Item = state::Op>,
    ) -> Result<(), Error> {
        self.unsaved.extend(ops);
        if self.unsaved.is_empty() {
            return Ok(());
        }
        state::update(
            self.store,
            self.bucket,
            self.run_id,
            self.today,
            &self.unsaved,
        )
        .await?;
        self.unsaved.clear();
        self.writes += 1;
        Ok(())
    }

    /// Holds `ops` back for the next write.
    pub(crate) fn defer(&mut self, ops: impl IntoIterator<Item = state::Op>) {
        self.unsaved.extend(ops);
    }
}

/// The first `yyyy-mm-dd` date in the portal's reason, if it gives one
/// (the day a refused change becomes possible).
pub(crate) fn date_in(reason: &str) -> Option<NaiveDate> {
    let bytes = reason.as_bytes();
    (0..bytes.len().saturating_sub(9)).find_map(|i| {
        let candidate = reason.get(i..i + 10)?;
        let digits_at = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
        (digits_at(i..i + 4) && bytes[i + 4] == b'-' && bytes[i + 7] == b'-')
            .then(|| NaiveDate::parse_from_str(candidate, "%Y-%m-%d").ok())
            .flatten()
    })
}

/// The day a member changed at `changed_at` may change again.
pub(crate) fn next_change_day(changed_at: DateTime<Utc>) -> NaiveDate {
    (changed_at + Duration::days(TYPE_CHANGE_DAYS)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_read_from_the_portals_reason() {
        assert_eq!(
            Refusal::of("User type can only be changed once every 30 days."),
            Refusal::TooSoon
        );
        assert_eq!(
            Refusal::of("Insufficient user types: no Creator licence available."),
            Refusal::NoLicence
        );
        assert_eq!(
            Refusal::of("The user owns content the user type cannot hold."),
            Refusal::Other
        );
    }

    #[test]
    fn the_day_a_change_becomes_possible_is_read_when_the_portal_gives_it() {
        assert_eq!(
            date_in("The user type of a was changed less than 30 days ago; it can be changed again on 2026-07-01."),
            NaiveDate::from_ymd_opt(2026, 7, 1)
        );
        assert_eq!(date_in("changed less than 30 days ago"), None);
        assert_eq!(date_in("2026-13-45"), None);
    }

    #[test]
    fn only_viewer_or_view_only_custom_roles_are_view_roles() {
        assert!(is_view_role(VIEWER_ROLE, None));
        assert!(!is_view_role("org_user", None));
        assert!(!is_view_role("iBBBBBBBBBBBBBBB", None));
        let view = vec!["portal:user:viewOrgItems".to_string()];
        assert!(is_view_role("abcdefABCDEF1234", Some(&view)));
        let more = vec!["portal:user:createItem".to_string()];
        assert!(!is_view_role("abcdefABCDEF1234", Some(&more)));
    }
}
