//! The sandbox's own HTTP endpoints under `/sandbox/...`: inspection, knobs,
//! reset and seeding. They are never faulted, delayed or counted.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::model::State;
use super::{OrgSpec, SandboxConfig, SeedMember, Shared};

fn knobs(c: &SandboxConfig) -> Value {
    json!({
        "mode": c.mode,
        "org_id": c.org_id,
        "admin_username": c.admin_username,
        "latency_ms": u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX),
        "fault_rate": c.fault_rate,
        "retry_after_secs": c.retry_after_secs,
        "token_lifetime_secs": c.token_lifetime.as_secs(),
        "seed": c.seed,
        "max_invitations_per_call": c.max_invitations_per_call,
        "enforce_referer": c.enforce_referer,
        "app_client_id": c.app_client_id,
        "default_credits": c.default_credits,
        "bulk_results_without_username": c.bulk_results_without_username,
    })
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// `GET /sandbox/state`: everything a test may want to assert on, never passwords.
pub(super) async fn state(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    let st = shared.lock();
    let users: Vec<Value> = st
        .members
        .values()
        .map(|m| serde_json::to_value(m.view()).unwrap_or(Value::Null))
        .collect();
    let groups: Vec<Value> = st
        .groups
        .values()
        .map(|g| {
            let owner = st
                .members
                .get(&g.owner)
                .map_or(g.owner.clone(), |m| m.username.clone());
            json!({
                "id": g.id,
                "title": g.title,
                "owner": owner,
                "admins": st.group_usernames(g, |t| t != super::model::MemberType::Member),
                "members": st.group_usernames(g, |_| true),
            })
        })
        .collect();
    Json(json!({
        "config": knobs(&st.config),
        "users": users,
        "groups": groups,
        "roles": st.roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
        "user_defaults": {
            "role": st.defaults.role,
            "user_type": st.defaults.user_type,
            "groups": st.defaults.groups,
        },
        "calls": st.stats,
        "invitations": st.invitations,
        "active_tokens": st.tokens.values().filter(|t| t.expires > super::model::now_ms()).count(),
    }))
}

/// Applies the knobs present in `body` (all optional) to the current config.
fn apply_knobs(st: &mut State, body: &Value) -> Result<(), String> {
    let obj = body
        .as_object()
        .ok_or_else(|| "expected a JSON object".to_string())?;
    let uint = |k: &str| -> Result<Option<u64>, String> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{k} must be a non-negative integer")),
        }
    };
    if let Some(ms) = uint("latency_ms")? {
        st.config.latency = Duration::from_millis(ms);
    }
    if let Some(v) = obj.get("fault_rate") {
        let rate = v
            .as_f64()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| "fault_rate must be a number from 0.0 to 1.0".to_string())?;
        st.config.fault_rate = rate;
    }
    if let Some(s) = uint("retry_after_secs")? {
        st.config.retry_after_secs = s;
    }
    if let Some(s) = uint("token_lifetime_secs")? {
        st.config.token_lifetime = Duration::from_secs(s);
    }
    if let Some(seed) = uint("seed")? {
        st.config.seed = seed;
        st.faults = crate::sandbox::faults::FaultInjector::new(seed);
    }
    if let Some(v) = obj.get("max_invitations_per_call") {
        st.config.max_invitations_per_call = match v {
            Value::Null => None,
            v => Some(
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        "max_invitations_per_call must be an integer or null".to_string()
                    })?,
            ),
        };
    }
    if let Some(v) = obj.get("enforce_referer") {
        st.config.enforce_referer = v
            .as_bool()
            .ok_or_else(|| "enforce_referer must be a boolean".to_string())?;
    }
    if let Some(v) = obj.get("bulk_results_without_username") {
        st.config.bulk_results_without_username = v
            .as_bool()
            .ok_or_else(|| "bulk_results_without_username must be a boolean".to_string())?;
    }
    if let Some(v) = obj.get("default_credits") {
        st.config.default_credits = match v {
            Value::Null => None,
            v => Some(
                v.as_f64()
                    .ok_or_else(|| "default_credits must be a number or null".to_string())?,
            )
            .filter(|c| *c >= 0.0),
        };
    }
    Ok(())
}

/// `POST /sandbox/config`: change knobs; answers the knobs now in force.
pub(super) async fn config(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let mut st = shared.lock();
    match apply_knobs(&mut st, &body) {
        Ok(()) => Json(knobs(&st.config)).into_response(),
        Err(e) => bad_request(e),
    }
}

/// `POST /sandbox/reset`: back to the starting configuration.
pub(super) async fn reset(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    let mut st = shared.lock();
    let fresh = State::new(st.initial.clone(), st.base_url.clone());
    *st = fresh;
    Json(json!({ "success": true }))
}

/// `POST /sandbox/reset-calls`: zero the call counters.
pub(super) async fn reset_calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    shared.lock().stats = Default::default();
    Json(json!({ "success": true }))
}

/// `POST /sandbox/expire-tokens`: every issued token answers 498 from now on.
pub(super) async fn expire_tokens(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    shared.lock().expire_tokens();
    Json(json!({ "success": true }))
}

fn one_or_many(body: Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Overlays the given fields on `SeedMember::new(username)`.
fn seed_from_json(v: Value) -> Result<SeedMember, String> {
    let username = v
        .get("username")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| "each member needs a username".to_string())?;
    let mut base = serde_json::to_value(SeedMember::new(username)).map_err(|e| e.to_string())?;
    let (Some(base_obj), Value::Object(given)) = (base.as_object_mut(), v) else {
        return Err("each member must be a JSON object".into());
    };
    for (k, val) in given {
        base_obj.insert(k, val);
    }
    serde_json::from_value(base).map_err(|e| format!("bad member: {e}"))
}

/// `POST /sandbox/members`: seed one member object or an array of them.
pub(super) async fn members(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let seeds: Result<Vec<SeedMember>, String> =
        one_or_many(body).into_iter().map(seed_from_json).collect();
    match seeds {
        Ok(seeds) => {
            let n = seeds.len();
            let mut st = shared.lock();
            for s in seeds {
                st.seed_member(s);
            }
            Json(json!({ "success": true, "seeded": n })).into_response()
        }
        Err(e) => bad_request(e),
    }
}

/// `POST /sandbox/groups`: seed `{"id","title","owner"?}` or an array of them.
pub(super) async fn groups(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let mut parsed = Vec::new();
    for g in one_or_many(body) {
        let Some(id) = g
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return bad_request("each group needs an id".into());
        };
        let title = g.get("title").and_then(Value::as_str).unwrap_or(id);
        let owner = g.get("owner").and_then(Value::as_str).map(str::to_string);
        parsed.push((id.to_string(), title.to_string(), owner));
    }
    let mut st = shared.lock();
    for (id, title, owner) in &parsed {
        st.seed_group(id, title, owner.as_deref());
    }
    Json(json!({ "success": true, "seeded": parsed.len() })).into_response()
}

/// `POST /sandbox/generate`: `{"members": N, "seed"?: S, "now_ms"?: T}` adds a
/// generated organization (seed default: the sandbox's seed; now default: the
/// wall clock) and answers its counts by category.
pub(super) async fn generate(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(members) = body
        .get("members")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
    else {
        return bad_request("members must be a non-negative integer".into());
    };
    let now_ms = match body.get("now_ms") {
        None | Some(Value::Null) => super::model::now_ms(),
        Some(v) => match v.as_i64() {
            Some(t) => t,
            None => return bad_request("now_ms must be an integer (epoch ms)".into()),
        },
    };
    let mut st = shared.lock();
    let seed = match body.get("seed") {
        None | Some(Value::Null) => st.config.seed,
        Some(v) => match v.as_u64() {
            Some(s) => s,
            None => return bad_request("seed must be a non-negative integer".into()),
        },
    };
    let generated = super::generate::populate(
        &mut st,
        OrgSpec {
            members,
            seed,
            now_ms,
        },
    );
    Json(json!(generated)).into_response()
}

/// `POST /sandbox/last-login`: `{"username": U, "at": T|null}` sets an
/// account's last sign-in (404 when there is no such account).
pub(super) async fn last_login(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(username) = body.get("username").and_then(Value::as_str) else {
        return bad_request("username is required".into());
    };
    let at = match body.get("at") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(t) if t >= 0 => Some(t),
            Some(_) => None,
            None => return bad_request("at must be epoch ms or null".into()),
        },
    };
    if shared.lock().set_last_login(username, at) {
        Json(json!({ "success": true })).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no account {username:?}") })),
        )
            .into_response()
    }
}

/// `GET /sandbox/calls`: the call counters alone.
pub(super) async fn calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    Json(json!(shared.lock().stats))
}
