//! The sandbox's own endpoints under `/sandbox/...` (never counted, delayed
//! or faulted), for the standalone binary and benchmarks:
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /sandbox/state` | knobs, people (records, roles; never passwords), groups, calls |
//! | `GET /sandbox/calls` | the [`AmsCalls`](super::AmsCalls) |
//! | `POST /sandbox/config` | JSON knobs, all optional: `latency_ms`, `fault_rate`, `retry_after_secs`, `seed`, `session_lifetime_secs` (null: never), `session_expired_status`, and the booleans `email_alias`, `search_case_sensitive`, `search_record_per_entry`, `save_replaces_record`, `unique_usernames_and_emails`, `apply_password_on_update`, `bad_login_as_rpc_exception` |
//! | `POST /sandbox/reset-calls` | zero the counters |
//! | `POST /sandbox/expire-sessions` | end every session |
//! | `POST /sandbox/people` | a [`SeedPerson`] or an array of them (`username` required; omitted fields take `SeedPerson::new(username)`'s) → the ids |
//! | `POST /sandbox/groups` | `{"name", "athletes": [ids], "coaches": [ids]}` → the group id |
//! | `POST /sandbox/generate` | `{"people": n, "seed"}` → `{"ids": [...]}` |
//! | `POST /sandbox/fail-next` | `{"endpoint", "status", "times"}` or `{"endpoint", "rpc_type", "message"}` |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::control::State;
use super::wire::ENDPOINTS;
use super::{generated_people, SeedPerson, Shared};

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// `GET /sandbox/state`.
pub(super) async fn state(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    let calls = shared.calls();
    let st = shared.lock();
    let people: Vec<Value> = st
        .dir
        .people
        .values()
        .map(|p| json!({ "record": p.record.to_json(), "roles": p.roles }))
        .collect();
    let groups: Vec<Value> = st
        .dir
        .groups
        .iter()
        .map(
            |g| json!({ "id": g.id, "name": g.name, "athletes": g.athletes, "coaches": g.coaches }),
        )
        .collect();
    Json(json!({
        "knobs": st.config.knobs_json(),
        "admin_id": st.admin_id,
        "people": people,
        "groups": groups,
        "saves": st.saves,
        "calls": calls,
    }))
}

/// `GET /sandbox/calls`.
pub(super) async fn calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    Json(json!(shared.calls()))
}

/// `POST /sandbox/reset-calls`.
pub(super) async fn reset_calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    shared.reset_calls();
    Json(json!({ "success": true }))
}

/// `POST /sandbox/expire-sessions`.
pub(super) async fn expire(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    shared.lock().expire_sessions();
    Json(json!({ "success": true }))
}

/// `POST /sandbox/config`: validates every knob, then applies them all.
pub(super) async fn config(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    match apply_knobs(&mut shared.lock(), &body) {
        Ok(()) => Json(json!({ "success": true })).into_response(),
        Err(e) => bad_request(e),
    }
}

const SWITCHES: [&str; 7] = [
    "email_alias",
    "search_case_sensitive",
    "search_record_per_entry",
    "save_replaces_record",
    "unique_usernames_and_emails",
    "apply_password_on_update",
    "bad_login_as_rpc_exception",
];

fn apply_knobs(st: &mut State, body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or("expected a JSON object")?;
    let uint = |k: &str| -> Result<Option<u64>, String> {
        obj.get(k)
            .map(|v| {
                v.as_u64()
                    .ok_or(format!("{k} must be a non-negative integer"))
            })
            .transpose()
    };
    let latency = uint("latency_ms")?;
    let retry_after = uint("retry_after_secs")?;
    let seed = uint("seed")?;
    let expired_status = uint("session_expired_status")?
        .map(|s| {
            u16::try_from(s)
                .ok()
                .filter(|s| StatusCode::from_u16(*s).is_ok())
                .ok_or("session_expired_status must be an HTTP status")
        })
        .transpose()?;
    let fault_rate = obj
        .get("fault_rate")
        .map(|v| {
            v.as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or("fault_rate must be a number from 0.0 to 1.0")
        })
        .transpose()?;
    let lifetime = match obj.get("session_lifetime_secs") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(Duration::from_secs_f64(
            v.as_f64()
                .filter(|s| *s >= 0.0)
                .ok_or("session_lifetime_secs must be a non-negative number or null")?,
        ))),
    };
    let mut switches = Vec::new();
    for key in SWITCHES {
        if let Some(v) = obj.get(key) {
            switches.push((key, v.as_bool().ok_or(format!("{key} must be a boolean"))?));
        }
    }
    if let Some(ms) = latency {
        st.config.latency = Duration::from_millis(ms);
    }
    if let Some(s) = retry_after {
        st.config.retry_after_secs = s;
    }
    if let Some(s) = seed {
        st.reseed(s);
    }
    if let Some(s) = expired_status {
        st.config.session_expired_status = s;
    }
    if let Some(r) = fault_rate {
        st.config.fault_rate = r;
    }
    if let Some(l) = lifetime {
        st.config.session_lifetime = l;
    }
    for (key, on) in switches {
        let c = &mut st.config;
        *match key {
            "email_alias" => &mut c.email_alias,
            "search_case_sensitive" => &mut c.search_case_sensitive,
            "search_record_per_entry" => &mut c.search_record_per_entry,
            "save_replaces_record" => &mut c.save_replaces_record,
            "unique_usernames_and_emails" => &mut c.unique_usernames_and_emails,
            "apply_password_on_update" => &mut c.apply_password_on_update,
            _ => &mut c.bad_login_as_rpc_exception,
        } = on;
    }
    Ok(())
}

/// A [`SeedPerson`] from JSON: `SeedPerson::new(username)` with the given fields over it.
fn seed_person(value: &Value) -> Result<SeedPerson, String> {
    let given = value.as_object().ok_or("a person must be an object")?;
    let username = given
        .get("username")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or("username is required")?;
    let mut fields: Map<String, Value> = match serde_json::to_value(SeedPerson::new(username)) {
        Ok(Value::Object(m)) => m,
        _ => return Err("cannot build the defaults".into()),
    };
    fields.extend(given.clone());
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

/// `POST /sandbox/people`.
pub(super) async fn people(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let list = match &body {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let seeds: Result<Vec<SeedPerson>, String> = list.iter().map(seed_person).collect();
    let seeds = match seeds {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    let mut st = shared.lock();
    let mut named = std::collections::HashSet::new();
    for s in &seeds {
        if st.dir.by_username(&s.username).is_some() || !named.insert(s.username.as_str()) {
            return bad_request(format!("username {:?} exists", s.username));
        }
    }
    if let Some(Err(e)) = seeds
        .iter()
        .map(|s| s.try_record(0, 0))
        .find(Result::is_err)
    {
        return bad_request(e);
    }
    let ids: Vec<i64> = seeds.iter().map(|s| st.add_person(s)).collect();
    Json(json!({ "ids": ids })).into_response()
}

/// `POST /sandbox/groups`.
pub(super) async fn groups(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return bad_request("name is required");
    };
    let ids = |key: &str| -> Vec<i64> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    };
    let (athletes, coaches) = (ids("athletes"), ids("coaches"));
    let mut st = shared.lock();
    if let Some(id) = athletes
        .iter()
        .chain(&coaches)
        .find(|id| !st.dir.people.contains_key(id))
    {
        return bad_request(format!("no person with id {id}"));
    }
    let group = st.dir.group_mut(name);
    for (list, ids) in [
        (&mut group.athletes, athletes),
        (&mut group.coaches, coaches),
    ] {
        for id in ids {
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    Json(json!({ "id": group.id })).into_response()
}

/// `POST /sandbox/generate`.
pub(super) async fn generate(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(n) = body.get("people").and_then(Value::as_u64) else {
        return bad_request("people (a count) is required");
    };
    let seed = body.get("seed").and_then(Value::as_u64).unwrap_or(1);
    let people = generated_people(usize::try_from(n).unwrap_or(usize::MAX), seed);
    let mut st = shared.lock();
    if let Some(p) = people
        .iter()
        .find(|p| st.dir.by_username(&p.username).is_some())
    {
        return bad_request(format!("username {:?} exists", p.username));
    }
    let ids: Vec<i64> = people.iter().map(|p| st.add_person(p)).collect();
    Json(json!({ "ids": ids })).into_response()
}

/// `POST /sandbox/fail-next`.
pub(super) async fn fail_next(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(endpoint) = body
        .get("endpoint")
        .and_then(Value::as_str)
        .filter(|e| ENDPOINTS.contains(e))
    else {
        return bad_request(format!("endpoint must be one of {ENDPOINTS:?}"));
    };
    let mut st = shared.lock();
    if let Some(kind) = body.get("rpc_type").and_then(Value::as_str) {
        let message = body.get("message").and_then(Value::as_str).unwrap_or("");
        st.rpc_exception_next(endpoint, kind, message);
        return Json(json!({ "success": true })).into_response();
    }
    let status = body
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| StatusCode::from_u16(*s).is_ok());
    let Some(status) = status else {
        return bad_request("status must be an HTTP status");
    };
    let times = body.get("times").and_then(Value::as_u64).unwrap_or(1);
    st.fail_next(endpoint, status, usize::try_from(times).unwrap_or(1));
    Json(json!({ "success": true })).into_response()
}
