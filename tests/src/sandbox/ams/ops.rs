//! The endpoints: login, the user searches, groups, and full person records.
//! Sources in *italics* are listed in [`super`]; `[assumption]` marks what
//! no source shows.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::control::State;
use super::model::PersonRecord;
use super::save;
use super::wire::Reply;

/// RPC-exception `type` values. [assumption] No source records one; the
/// clients read only `detailMessage` (and print `type`).
pub(crate) const RPC_LOGIN: &str = "LoginException";
pub(crate) const RPC_REQUEST: &str = "InvalidRequestException";
pub(crate) const RPC_SAVE: &str = "PersonSaveException";

/// A request body as JSON; a body that is not JSON is a 400 (smartabaseR
/// names 400 "can't process request", *smartabaseR utils.R*). An empty body
/// reads as `{}`.
pub(crate) fn body_json(bytes: &[u8]) -> Result<Value, Reply> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|_| {
        Reply::Status(
            axum::http::StatusCode::BAD_REQUEST,
            "400 Bad Request: the body is not JSON".into(),
        )
    })
}

/// `v2/user/loginUser` (*login cassette*, *teamworksams login_main.py*,
/// *smartabaseR login.R*): the login answer and the new session token, or
/// the failure.
pub(crate) fn login(st: &mut State, body: &Value) -> Result<(Value, String), Reply> {
    let app_name = body
        .pointer("/loginProperties/appName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if app_name != st.config.site {
        // [assumption] an RPC exception naming the application.
        return Err(Reply::rpc(
            RPC_LOGIN,
            format!("There is no application known as '{app_name}'"),
        ));
    }
    let username = body.get("username").and_then(Value::as_str);
    let password = body.get("password").and_then(Value::as_str);
    let Some(id) = username
        .zip(password)
        .and_then(|(u, p)| st.check_password(u, p))
    else {
        return Err(st.bad_login());
    };
    let token = st.open_session(id);
    let groups = &st.dir.groups;
    let answer = json!({
        "isAthlete": groups.iter().any(|g| g.athletes.contains(&id)),
        "isCoach": groups.iter().any(|g| g.coaches.contains(&id)),
        "isAdmin": st.dir.people[&id].record.admin,
        "user": st.dir.people[&id].record.to_json(),
        "applicationId": st.config.application_id,
        "loginActions": [],
        "restrictionPolicyIds": [],
        "permissions": st.config.permissions,
    });
    Ok((answer, token))
}

/// `v1/usersearch` (*get_user cassette*, *smartabaseR export_body.R*): an
/// empty (or missing) `identification` is every account, inactive ones
/// included; otherwise each entry selects by `username`, `emailAddress`
/// (`email` too when [`super::AmsConfig::email_alias`] is on), `userId`, or
/// `firstName` with `lastName`, all the entry's keys together. An entry with
/// none of those keys selects nobody.
pub(crate) fn user_search(st: &State, body: &Value) -> Reply {
    let entries: Vec<Map<String, Value>> = match body.get("identification") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(one)) => vec![one.clone()],
        Some(Value::Array(list)) => list.iter().filter_map(|e| e.as_object().cloned()).collect(),
        Some(_) => return Reply::rpc(RPC_REQUEST, "identification must be a list"),
    };
    if entries.is_empty() {
        let all: Vec<i64> = st.dir.people.keys().copied().collect();
        return Reply::Json(search_answer(st, vec![(json!({}), all)]));
    }
    let matched: Vec<(Value, Vec<i64>)> = entries
        .iter()
        .map(|entry| (Value::Object(entry.clone()), matching(st, entry)))
        .collect();
    if st.config.search_record_per_entry {
        return Reply::Json(search_answer(st, matched));
    }
    let union: BTreeSet<i64> = matched.into_iter().flat_map(|(_, ids)| ids).collect();
    Reply::Json(search_answer(
        st,
        vec![(json!({}), union.into_iter().collect())],
    ))
}

/// One condition of an identification entry.
type RecordTest<'a> = Box<dyn Fn(&PersonRecord) -> bool + 'a>;

/// The ids (in id order) of the accounts one identification entry selects.
fn matching(st: &State, entry: &Map<String, Value>) -> Vec<i64> {
    let exact = st.config.search_case_sensitive;
    let same = |a: &str, b: &str| {
        if exact {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    };
    let mut tests: Vec<RecordTest<'_>> = Vec::new();
    let text = |key: &str| entry.get(key).map(value_text);
    if let Some(u) = text("username") {
        tests.push(Box::new(move |p| same(&p.username, &u)));
    }
    let email_keys: &[&str] = if st.config.email_alias {
        &["emailAddress", "email"]
    } else {
        &["emailAddress"]
    };
    for key in email_keys {
        if let Some(e) = text(key) {
            tests.push(Box::new(move |p| {
                same(p.email_address.as_deref().unwrap_or_default(), &e)
            }));
        }
    }
    if let Some(id) = text("userId") {
        tests.push(Box::new(move |p| p.id.to_string() == id.trim()));
    }
    if let Some(first) = text("firstName") {
        tests.push(Box::new(move |p| {
            same(p.first_name.as_deref().unwrap_or_default(), &first)
        }));
    }
    if let Some(last) = text("lastName") {
        tests.push(Box::new(move |p| {
            same(p.last_name.as_deref().unwrap_or_default(), &last)
        }));
    }
    if tests.is_empty() {
        return Vec::new();
    }
    st.dir
        .people
        .values()
        .filter(|p| tests.iter().all(|t| t(&p.record)))
        .map(|p| p.record.id)
        .collect()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `{"results": [{"search": …, "results": [user…]}…]}`, with `groupsAndRoles`
/// on the user when the whole answer holds exactly one (smartabaseR's docs;
/// *teamworksams user_process.py* flattens it "for single-user data").
fn search_answer(st: &State, records: Vec<(Value, Vec<i64>)>) -> Value {
    let total: usize = records.iter().map(|(_, ids)| ids.len()).sum();
    let results: Vec<Value> = records
        .into_iter()
        .map(|(search, ids)| {
            let users: Vec<Value> = ids
                .iter()
                .filter_map(|id| st.dir.people.get(id))
                .map(|p| {
                    let mut user = p.record.search_view();
                    if total == 1 {
                        user.insert(
                            "groupsAndRoles".into(),
                            st.dir.groups_and_roles(p.record.id),
                        );
                    }
                    Value::Object(user)
                })
                .collect();
            json!({ "search": search, "results": users })
        })
        .collect();
    json!({ "results": results })
}

/// `v1/groupmembers`: `name` a string or a list (*teamworksams
/// user_fetch.py* sends a list, *smartabaseR export_body.R* a string for
/// one group). One record per group, members (athletes and coaches) in id
/// order; an unknown group has none. [assumption] `search` holds the name
/// and the caller's `userId`.
pub(crate) fn group_members(st: &State, caller: i64, body: &Value) -> Reply {
    let names: Vec<String> = match body.get("name") {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Array(list)) => list.iter().map(value_text).collect(),
        _ => return Reply::rpc(RPC_REQUEST, "name must be a group name or a list of them"),
    };
    let records = names
        .into_iter()
        .map(|name| {
            let members: BTreeSet<i64> = st
                .dir
                .groups
                .iter()
                .filter(|g| g.name == name)
                .flat_map(|g| g.athletes.iter().chain(&g.coaches).copied())
                .collect();
            (
                json!({ "name": name, "userId": caller }),
                members.into_iter().collect(),
            )
        })
        .collect();
    Reply::Json(search_answer(st, records))
}

/// `v1/listgroups` (*get_group cassette*): every group's name, in creation
/// order, whatever `name` the body holds.
pub(crate) fn list_groups(st: &State) -> Reply {
    let names: Vec<&str> = st.dir.groups.iter().map(|g| g.name.as_str()).collect();
    Reply::Json(json!({ "name": names }))
}

/// `v2/person/get` (*get_user cassette*): the records of the ids in the
/// filter's `id` leaves (`valueInteger`, strings or numbers), in the order
/// asked, each once; unknown ids are left out [assumption]. `limit` and
/// `offset` of `-1` mean everything; positive ones page the answer
/// [assumption].
pub(crate) fn person_get(st: &State, body: &Value) -> Reply {
    let Some(branches) = body
        .pointer("/filter/comparisons/branches")
        .and_then(Value::as_array)
    else {
        return Reply::rpc(RPC_REQUEST, "A filter with comparisons is required");
    };
    let mut ids: Vec<i64> = Vec::new();
    for branch in branches {
        let leaf = branch.get("leaf").unwrap_or(&Value::Null);
        if leaf.get("fieldName").and_then(Value::as_str) != Some("id") {
            return Reply::rpc(
                RPC_REQUEST,
                format!("Unsupported filter {leaf} (the sandbox filters on id only)"),
            );
        }
        let values = match leaf.get("valueInteger") {
            Some(Value::Array(values)) => values.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        for v in values {
            let Some(id) = value_text(&v).trim().parse::<i64>().ok() else {
                return Reply::rpc(RPC_REQUEST, format!("Invalid id {v}"));
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let paging = |key: &str| {
        body.pointer(&format!("/filter/{key}"))
            .map(value_text)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .and_then(|n| usize::try_from(n).ok())
    };
    let offset = paging("offset").unwrap_or(0);
    let limit = paging("limit").filter(|l| *l > 0).unwrap_or(usize::MAX);
    let objects: Vec<Value> = ids
        .iter()
        .filter_map(|id| st.dir.people.get(id))
        .skip(offset)
        .take(limit)
        .map(|p| p.record.to_json())
        .collect();
    Reply::Json(json!({ "objects": objects }))
}

/// `v2/person/save` (*create cassette*, *teamworksams user_fetch.py*): see
/// the module docs of [`super`] for create, update and the failures.
pub(crate) fn person_save(st: &mut State, caller: i64, body: &Value) -> Reply {
    let Some(sent) = body.get("person").and_then(Value::as_object) else {
        return Reply::rpc(RPC_REQUEST, "A person is required");
    };
    let id = match save::requested_id(sent) {
        Ok(id) => id,
        Err(message) => return Reply::rpc(RPC_SAVE, message),
    };
    let (mut record, existing) = match id {
        None => (PersonRecord::blank(0, caller, ""), None),
        Some(id) => {
            let Some(stored) = st.dir.people.get(&id) else {
                // [assumption] the wording.
                return Reply::rpc(RPC_SAVE, format!("No user with id {id} exists"));
            };
            let mut base = if st.config.save_replaces_record {
                PersonRecord::blank(id, stored.record.owner_id, "")
            } else {
                stored.record.clone()
            };
            base.admin = stored.record.admin;
            base.pending = stored.record.pending;
            (base, Some(id))
        }
    };
    if let Err(message) = save::apply(&mut record, sent) {
        return Reply::rpc(RPC_SAVE, message);
    }
    if st.config.unique_usernames_and_emails {
        // [assumption] the check and its wording; the help centre's People
        // article says usernames and emails are unique.
        if st.dir.username_taken(&record.username, existing) {
            return Reply::rpc(
                RPC_SAVE,
                format!(
                    "A user with the username '{}' already exists",
                    record.username
                ),
            );
        }
        let email = record.email_address.clone().unwrap_or_default();
        if st.dir.email_taken(&email, existing) {
            return Reply::rpc(
                RPC_SAVE,
                format!("A user with the email address '{email}' already exists"),
            );
        }
    }
    record.mtime = super::model::now_ms();
    let password = save::password(sent);
    let saved = match existing {
        None => {
            record.id = st.dir.allocate_id();
            st.insert(record, password, Vec::new())
        }
        Some(id) => {
            // *smartabasepy internal_scripts README*: a changed password is
            // accepted but not applied, unless the knob says otherwise.
            let stored = st.dir.people.get_mut(&id).expect("checked above");
            stored.record = record;
            if st.config.apply_password_on_update && password.is_some() {
                stored.password = password;
            }
            stored.record.clone()
        }
    };
    st.saves += 1;
    Reply::Json(saved.to_json())
}
