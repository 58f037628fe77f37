//! Custom roles: `createRole`, `roles/{id}/update`, `roles/{id}/setPrivileges`
//! and `roles/{id}/privileges`, checked against the privilege catalogue.
//!
//! Sources (full URLs under References in [`super`]):
//! - *Create Role*
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/create-role.htm>):
//!   `name` (at most 128 characters), `description` (at most 250) →
//!   `{"success": true, "id": "<roleId>"}`; privileges come in a second call.
//! - *Update Role*
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/update-role.htm>):
//!   `name`, `description` → `{"success": true}`.
//! - *Set Role Privileges*
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/set-role-privileges.htm>):
//!   `privileges={"privileges":[...]}` → `{"success": true}`.
//! - *Roles*: the pre-built Viewer and Data Editor roles cannot be updated or
//!   deleted.
//! - *Role* / *Privileges* of a role
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/role.htm>):
//!   `{"privileges": [...]}`.
//!
//! The privilege strings accepted are the catalogue rollcall itself checks
//! roles files against (`connectors::arcgis::privileges::PRIVILEGES`, built
//! from the same pages); anything else is refused, naming the string
//! [unverified wording]. Refusal wordings are [unverified].

use connectors::arcgis::privileges::PRIVILEGES;
use serde_json::{json, Value};

use super::model::{Role, State, DATA_EDITOR_ROLE, VIEWER_ROLE};
use super::request::{error, Params};

/// Longest role name (*Create Role*).
const MAX_NAME: usize = 128;
/// Longest role description (*Create Role*).
const MAX_DESCRIPTION: usize = 250;

fn role_not_found() -> Value {
    error(400, None, "Role does not exist or is inaccessible.", &[])
}

fn is_prebuilt(id: &str) -> bool {
    id == VIEWER_ROLE || id == DATA_EDITOR_ROLE
}

/// A name and description within the documented limits, or the refusal.
fn name_and_description<'a>(p: &'a Params, what: &str) -> Result<(&'a str, &'a str), Value> {
    let Some(name) = p.non_empty("name") else {
        return Err(error(400, None, what, &["'name' must be specified."]));
    };
    let description = p.get("description").unwrap_or_default().trim();
    if name.chars().count() > MAX_NAME || description.chars().count() > MAX_DESCRIPTION {
        return Err(error(
            400,
            None,
            what,
            &["The name is limited to 128 characters and the description to 250."],
        ));
    }
    Ok((name, description))
}

/// `portals/self/createRole`: a name another role has (ignoring case) is
/// refused.
pub(crate) fn create_role(state: &mut State, p: &Params) -> Value {
    let (name, description) = match name_and_description(p, "Unable to create role.") {
        Ok(v) => v,
        Err(e) => return e,
    };
    if state
        .roles
        .iter()
        .any(|r| r.name.eq_ignore_ascii_case(name))
    {
        return error(
            400,
            None,
            "Unable to create role.",
            &["A role with that name already exists."],
        );
    }
    let id = state.new_id()[..16].to_string();
    let now = state.now();
    state.roles.push(Role {
        id: id.clone(),
        name: name.to_string(),
        description: description.to_string(),
        created: now,
        privileges: Vec::new(),
    });
    json!({ "success": true, "id": id })
}

/// `portals/self/roles/{id}/update`.
pub(crate) fn update_role(state: &mut State, id: &str, p: &Params) -> Value {
    if is_prebuilt(id) {
        return error(
            400,
            None,
            "Unable to update role.",
            &["The Viewer and Data Editor roles cannot be changed."],
        );
    }
    let (name, description) = match name_and_description(p, "Unable to update role.") {
        Ok(v) => (v.0.to_string(), v.1.to_string()),
        Err(e) => return e,
    };
    if state
        .roles
        .iter()
        .any(|r| r.id != id && r.name.eq_ignore_ascii_case(&name))
    {
        return error(
            400,
            None,
            "Unable to update role.",
            &["A role with that name already exists."],
        );
    }
    let Some(role) = state.roles.iter_mut().find(|r| r.id == id) else {
        return role_not_found();
    };
    role.name = name;
    role.description = description;
    json!({ "success": true })
}

/// The privileges of a `setPrivileges` body: `{"privileges": [...]}`, or a
/// bare array (*arcgis-python* sends either, depending on the value given).
fn privileges_param(p: &Params) -> Option<Vec<String>> {
    let parsed: Value = serde_json::from_str(p.get("privileges")?).ok()?;
    let list = match parsed {
        Value::Object(mut o) => o.remove("privileges")?,
        array @ Value::Array(_) => array,
        _ => return None,
    };
    serde_json::from_value(list).ok()
}

/// `portals/self/roles/{id}/setPrivileges`: exactly the strings given, each
/// from the catalogue.
pub(crate) fn set_privileges(state: &mut State, id: &str, p: &Params) -> Value {
    if is_prebuilt(id) {
        return error(
            400,
            None,
            "Unable to set privileges.",
            &["The Viewer and Data Editor roles cannot be changed."],
        );
    }
    if !state.roles.iter().any(|r| r.id == id) {
        return role_not_found();
    }
    let Some(privileges) = privileges_param(p) else {
        return error(
            400,
            None,
            "Unable to set privileges.",
            &["'privileges' must be a JSON object {\"privileges\": [...]}."],
        );
    };
    if let Some(unknown) = privileges
        .iter()
        .find(|p| !PRIVILEGES.contains(&p.as_str()))
    {
        return error(
            400,
            None,
            &format!("Unable to set privileges: invalid privilege {unknown}."),
            &[],
        );
    }
    let mut unique: Vec<String> = Vec::with_capacity(privileges.len());
    for p in privileges {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    let role = state
        .roles
        .iter_mut()
        .find(|r| r.id == id)
        .expect("checked above");
    role.privileges = unique;
    state.touch();
    json!({ "success": true })
}

/// `portals/self/roles/{id}/privileges`.
pub(crate) fn role_privileges(state: &State, id: &str) -> Value {
    match state.roles.iter().find(|r| r.id == id) {
        Some(r) => json!({ "privileges": r.privileges }),
        None => role_not_found(),
    }
}
