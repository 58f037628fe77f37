//! User types and what they allow: role changes, user-type changes with
//! their refusals, licences per user type (purchases, `users/counts`, the
//! Enterprise `license` resource) and credits.
//!
//! Sources (full URLs under References in [`super`]):
//! - *User types, roles, and privileges*
//!   (<https://doc.arcgis.com/en/arcgis-online/reference/roles.htm>): the user
//!   type bounds the privileges a role may grant; Viewers view only and
//!   cannot create, own or share content; Editors and Mobile Workers also
//!   edit data but cannot create or own content; Creators and the
//!   Professional types hold any role. The sandbox's table of which role a
//!   type may hold is [simplified]: Viewer → the Viewer role (or a custom
//!   role with viewing privileges only); Contributor (`editorUT`) and Mobile
//!   Worker → Viewer, Data Editor (or custom roles viewing and editing only);
//!   Storyteller → Viewer, Data Editor, User (no publishing or administrative
//!   privileges); Creator and Professional (Plus) → any role.
//! - *Update User Role*: `user`, `role` → `{"success": true}`; a role the
//!   member's type cannot hold is refused [unverified wording].
//! - *arcgis-python* (`User.update_license_type`): `updateUserLicenseType`
//!   with `users` (a JSON array) and `userLicenseType`, answered by
//!   `results[]` with a per-user `status`. The per-user refusals
//!   (`status: false` with an `error` object [unverified shape]): a type that
//!   cannot hold the member's role; a type that cannot own content while the
//!   member owns items or groups; a second change within 30 days of the last
//!   one, by the sandbox's clock [unverified rule and wording]; no licence of
//!   the type free.
//! - *Purchases*, `provision.orgEntitlements.entitlements` as
//!   *arcgis-python*'s `License.report` reads them; *arcgis-python*'s
//!   `UserManager.counts('user_type')` for `portals/self/users/counts`
//!   (`results[]` of `{"key", "count"}`); *License* (Portal Administrator)
//!   for Enterprise's `userTypes[]` with `maximumRegisteredMembers`.
//! - *arcgis-python* (`CreditManager.allocate` / `deallocate`):
//!   `assignUserCredits` with `userAssignments` (JSON) and
//!   `unassignUserCredits` with `usernames`, each `{"success": true}`;
//!   ArcGIS Online only.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::model::{is_system_user, Member, State, DATA_EDITOR_ROLE, VIEWER_ROLE};
use super::ops::{next_start, paging};
use super::request::{error, parse_list, user_not_found, Params};
use super::DAY_MS;

/// Days between two user-type changes of one member.
pub(crate) const TYPE_CHANGE_DAYS: i64 = 30;

/// Licences and clock of the simulated org.
#[derive(Debug, Default)]
pub(crate) struct Licensing {
    /// Licences held per user type; `None`: the portal does not say (and
    /// sets no limit).
    pub purchased: Option<BTreeMap<String, u64>>,
    /// Last user-type change per lower-cased username, epoch ms.
    pub type_changed: BTreeMap<String, i64>,
    /// The sandbox's clock when set (epoch ms); the wall clock otherwise.
    pub clock: Option<i64>,
}

/// Privileges a Viewer may hold (*User types, roles, and privileges*).
const VIEW_ONLY: [&str; 8] = [
    "portal:user:joinGroup",
    "portal:user:viewOrgGroups",
    "portal:user:viewOrgItems",
    "portal:user:viewOrgUsers",
    "premium:user:geocode",
    "premium:user:networkanalysis",
    "premium:user:demographics",
    "premium:user:elevation",
];

/// How far a user type reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    View,
    Edit,
    Create,
    Full,
}

fn reach(user_type: &str) -> Reach {
    match user_type {
        "viewerUT" => Reach::View,
        "editorUT" | "fieldWorkerUT" => Reach::Edit,
        "storytellerUT" => Reach::Create,
        _ => Reach::Full,
    }
}

/// Whether members of `user_type` may own items and groups.
pub(crate) fn can_own_content(user_type: &str) -> bool {
    reach(user_type) >= Reach::Create
}

/// The least reach a privilege needs.
fn privilege_reach(privilege: &str) -> Reach {
    if VIEW_ONLY.contains(&privilege) {
        Reach::View
    } else if privilege.starts_with("features:user:") {
        Reach::Edit
    } else if privilege.contains(":admin:") || privilege.starts_with("portal:publisher:") {
        Reach::Full
    } else {
        Reach::Create
    }
}

impl State {
    /// The sandbox's clock (epoch ms): the set time, else the wall clock.
    pub(crate) fn now(&self) -> i64 {
        self.licensing.clock.unwrap_or_else(super::model::now_ms)
    }

    /// Whether a member of `user_type` may hold `role` / `role_id`.
    pub(crate) fn role_fits_type(
        &self,
        role: &str,
        role_id: Option<&str>,
        user_type: &str,
    ) -> bool {
        let have = reach(user_type);
        let need = match role_id {
            Some(VIEWER_ROLE) => Reach::View,
            Some(DATA_EDITOR_ROLE) => Reach::Edit,
            Some(id) => match self.roles.iter().find(|r| r.id == id) {
                Some(r) => r
                    .privileges
                    .iter()
                    .map(|p| privilege_reach(p))
                    .max()
                    .unwrap_or(Reach::View),
                None => Reach::Full,
            },
            None => match role {
                "org_user" => Reach::Create,
                _ => Reach::Full,
            },
        };
        need <= have
    }

    /// Members of this org holding `user_type` (the `esri_` system accounts
    /// hold no licence [unverified]).
    pub(crate) fn assigned(&self, user_type: &str) -> u64 {
        self.members
            .values()
            .filter(|m| m.in_org() && !is_system_user(&m.username) && m.user_type == user_type)
            .count() as u64
    }

    /// Why member `m` may not take `user_type` now, if anything stands in the way.
    fn type_refusal(&self, m: &Member, user_type: &str) -> Option<String> {
        let key = m.username.to_lowercase();
        if !self.role_fits_type(&m.role, m.role_id.as_deref(), user_type) {
            let role = m.role_id.as_deref().unwrap_or(&m.role);
            return Some(format!(
                "The user type {user_type} is not compatible with the role {role} of {}.",
                m.username
            ));
        }
        if !can_own_content(user_type) {
            let items = self.items_owned(&key).len();
            let groups = self.groups_owned(&key).len();
            if items + groups > 0 {
                return Some(format!(
                    "{} owns {items} item(s) and {groups} group(s); the user type {user_type} \
                     cannot own content.",
                    m.username
                ));
            }
        }
        if let Some(at) = self.licensing.type_changed.get(&key) {
            let next = at + TYPE_CHANGE_DAYS * DAY_MS;
            if self.now() < next {
                let date = chrono::DateTime::from_timestamp_millis(next)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                return Some(format!(
                    "The user type of {} was changed less than {TYPE_CHANGE_DAYS} days ago; \
                     it can be changed again on {date}.",
                    m.username
                ));
            }
        }
        if let Some(purchased) = &self.licensing.purchased {
            let held = purchased.get(user_type).copied().unwrap_or(0);
            let used = self.assigned(user_type);
            if used >= held {
                return Some(format!(
                    "No {user_type} licenses are available ({used} of {held} assigned)."
                ));
            }
        }
        None
    }
}

/// `portals/self/updateUserRole` (*Update User Role*): a role the member's
/// user type cannot hold is refused.
pub(crate) fn update_user_role(state: &mut State, caller: &str, p: &Params) -> Value {
    let fail = |d: &str| error(400, None, "Unable to update user role.", &[d]);
    let Some(key) = p
        .non_empty("user")
        .and_then(|u| state.member(u))
        .filter(|m| m.in_org())
        .map(|m| m.username.to_lowercase())
    else {
        return fail("'user' parameter required or invalid.");
    };
    let Some((role, role_id)) = p.non_empty("role").and_then(|r| state.resolve_role(r)) else {
        return fail("'role' parameter required or invalid.");
    };
    if key == caller && role != "org_admin" {
        // [unverified] an admin cannot demote themselves.
        return fail("You cannot change your own role.");
    }
    let user_type = state.members[&key].user_type.clone();
    if !state.role_fits_type(&role, role_id.as_deref(), &user_type) {
        return fail(&format!(
            "The role is not compatible with the user type {user_type} of the member."
        ));
    }
    let now = state.now();
    let m = state.member_mut(&key).expect("checked above");
    m.role = role;
    m.role_id = role_id;
    m.modified = now;
    json!({ "success": true, "username": m.username })
}

/// `portals/self/updateUserLicenseType` (*arcgis-python*): per-user `status`,
/// no `success`; the refusals are listed in the module docs. With the
/// `bulk_results_without_username` knob the entries leave `username` out,
/// as for the bulk disable answers. Members take
/// their new type one after another, so licences run out within a call.
pub(crate) fn update_user_license_type(state: &mut State, p: &Params) -> Value {
    let users = p.list("users");
    let Some(user_type) = p.non_empty("userLicenseType").map(str::to_string) else {
        return error(400, None, "'userLicenseType' must be specified.", &[]);
    };
    if !State::valid_user_type(&user_type) {
        return error(
            400,
            None,
            "Unable to update user license type.",
            &["Invalid user license type."],
        );
    }
    let now = state.now();
    let mut results = Vec::with_capacity(users.len());
    for u in &users {
        let Some(m) = state.member(u).filter(|m| m.in_org()) else {
            results.push(
                json!({ "username": u, "status": false, "error": user_not_found()["error"] }),
            );
            continue;
        };
        let key = m.username.to_lowercase();
        if m.user_type == user_type {
            results.push(json!({ "username": m.username, "status": true }));
            continue;
        }
        if let Some(why) = state.type_refusal(m, &user_type) {
            results.push(json!({
                "username": m.username,
                "status": false,
                "error": { "code": 400, "message": why },
            }));
            continue;
        }
        state.licensing.type_changed.insert(key.clone(), now);
        let m = state.member_mut(&key).expect("checked above");
        m.user_type = user_type.clone();
        m.modified = now;
        results.push(json!({ "username": m.username, "status": true }));
    }
    if state.config.bulk_results_without_username {
        // The part of the answer the ArcGIS API for Python reads: `status` only.
        for entry in &mut results {
            if let Some(fields) = entry.as_object_mut() {
                fields.remove("username");
            }
        }
    }
    json!({ "results": results })
}

/// `portals/self/assignUserCredits` / `unassignUserCredits` (*arcgis-python*):
/// ArcGIS Online only; an unknown member fails the whole call [unverified].
pub(crate) fn credits(state: &mut State, p: &Params, assign: bool) -> Value {
    if !state.online() {
        return error(400, None, "Invalid URL", &["Invalid URL"]);
    }
    let changes: Vec<(String, Option<f64>)> = if assign {
        let raw = p.get("userAssignments").unwrap_or_default();
        let Ok(Value::Array(list)) = serde_json::from_str::<Value>(raw) else {
            return error(400, None, "'userAssignments' must be a JSON array.", &[]);
        };
        let mut out = Vec::new();
        for entry in list {
            let username = entry["username"].as_str().unwrap_or_default().to_string();
            match entry["credits"].as_f64() {
                Some(c) if c >= 0.0 => out.push((username, Some(c))),
                _ => return error(400, None, "Invalid credits.", &[]),
            }
        }
        out
    } else {
        parse_list(p.get("usernames").unwrap_or_default())
            .into_iter()
            .map(|u| (u, None))
            .collect()
    };
    if changes.is_empty()
        || changes
            .iter()
            .any(|(u, _)| state.member(u).is_none_or(|m| !m.in_org()))
    {
        return user_not_found();
    }
    let now = state.now();
    for (u, credits) in changes {
        let m = state.member_mut(&u).expect("checked above");
        m.credits = credits;
        m.modified = now;
    }
    json!({ "success": true })
}

/// `portals/self/purchases` (*Purchases*): on ArcGIS Online with licences
/// seeded, one purchase whose entitlements are the user types, and one
/// ArcGIS Pro purchase whose entitlements are not user types (a client must
/// tell them apart); otherwise no user type anywhere.
pub(crate) fn purchases(state: &State) -> Value {
    let mut purchases = Vec::new();
    if let (true, Some(held)) = (state.online(), &state.licensing.purchased) {
        let entitlements: serde_json::Map<String, Value> = held
            .iter()
            .map(|(t, n)| (t.clone(), json!({ "num": n })))
            .collect();
        purchases.push(json!({
            "listing": { "itemId": "sbxusertypes0000000000000000000", "title": "ArcGIS Online user types" },
            "provision": {
                "itemId": "sbxusertypes0000000000000000000",
                "orgId": state.config.org_id,
                "purchased": true,
                "endDate": -1,
                "orgEntitlements": { "maxUsers": held.values().sum::<u64>(), "entitlements": entitlements },
            },
        }));
        purchases.push(json!({
            "listing": { "itemId": "sbxarcgispro0000000000000000000", "title": "ArcGIS Pro" },
            "provision": {
                "itemId": "sbxarcgispro0000000000000000000",
                "orgId": state.config.org_id,
                "purchased": true,
                "endDate": -1,
                "orgEntitlements": { "maxUsers": 5, "entitlements": { "desktopAdvN": { "num": 5 } } },
            },
        }));
    }
    json!({ "purchases": purchases, "trials": [], "interests": [] })
}

/// `portals/self/users/counts` (*arcgis-python* `UserManager.counts`): members
/// per `userLicenseType` or `role`, paged.
pub(crate) fn user_counts(state: &State, p: &Params) -> Value {
    let kind = p.non_empty("type").unwrap_or_default();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for m in state
        .members
        .values()
        .filter(|m| m.in_org() && !is_system_user(&m.username))
    {
        let key = match kind {
            "userLicenseType" => m.user_type.clone(),
            "role" => m.role_id.clone().unwrap_or_else(|| m.role.clone()),
            _ => return error(400, None, "Invalid type.", &[]),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    let (start, num) = paging(p, 10);
    let total = counts.len();
    let rows: Vec<Value> = counts
        .iter()
        .skip(start - 1)
        .take(num)
        .map(|(k, c)| json!({ "key": k, "count": c }))
        .collect();
    json!({
        "total": total,
        "start": start,
        "num": rows.len(),
        "nextStart": next_start(start, rows.len(), total),
        "results": rows,
    })
}

/// *portaladmin* `license` (*License*, ArcGIS Enterprise): `userTypes[]` when
/// licences are seeded; without them, the answer names no user type.
pub(crate) fn admin_license(state: &State) -> Value {
    let members = state
        .members
        .values()
        .filter(|m| m.in_org() && !is_system_user(&m.username))
        .count();
    let user_types: Vec<Value> = state
        .licensing
        .purchased
        .iter()
        .flatten()
        .map(|(t, n)| {
            json!({
                "id": t,
                "maximumRegisteredMembers": n,
                "currentRegisteredMembers": state.assigned(t),
                "expiration": -1,
            })
        })
        .collect();
    let max: u64 = state
        .licensing
        .purchased
        .iter()
        .flatten()
        .map(|(_, n)| *n)
        .sum();
    json!({
        "currentRegisteredMembers": members,
        "maximumRegisteredMembers": max,
        "version": "11.4",
        "userTypes": user_types,
    })
}
