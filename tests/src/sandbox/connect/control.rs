//! The Connect sandbox's own endpoints under `/sandbox/...`: inspection,
//! knobs and seeding. Never rate-limited, counted, delayed or faulted.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::model::{now_secs, State};
use super::{Shared, CONNECT_DEFAULT_RATES, OPERATIONS};
use crate::sandbox::faults::FaultInjector;

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// `GET /sandbox/state`.
pub(super) async fn state(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    Json(shared.lock().to_json())
}

/// `GET /sandbox/calls`.
pub(super) async fn calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    Json(shared.lock().calls.to_json())
}

/// `POST /sandbox/reset-calls`.
pub(super) async fn reset_calls(AxState(shared): AxState<Arc<Shared>>) -> Json<Value> {
    shared.lock().calls = Default::default();
    Json(json!({ "success": true }))
}

fn rate_value(op: &str, v: &Value) -> Result<Option<f64>, String> {
    match v {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .filter(|r| *r >= 0.0)
            .map(Some)
            .ok_or_else(|| format!("rates.{op} must be a non-negative number or null")),
    }
}

/// Validates every knob first, then applies them all (all or nothing).
fn apply_knobs(st: &mut State, body: &Value) -> Result<(), String> {
    let obj = body
        .as_object()
        .ok_or_else(|| "expected a JSON object".to_string())?;
    let uint = |k: &str| -> Result<Option<u64>, String> {
        obj.get(k)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| format!("{k} must be a non-negative integer"))
            })
            .transpose()
    };
    let boolean = |k: &str| -> Result<Option<bool>, String> {
        obj.get(k)
            .map(|v| v.as_bool().ok_or_else(|| format!("{k} must be a boolean")))
            .transpose()
    };
    let quota = uint("proficiency_quota")?;
    let attr_quota = uint("predefined_attribute_quota")?;
    let latency = uint("latency_ms")?;
    let seed = uint("seed")?;
    let case_sensitive = boolean("exact_search_case_sensitive")?;
    let strict = boolean("strict_membership")?;
    let fault_rate = obj
        .get("fault_rate")
        .map(|v| {
            v.as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| "fault_rate must be a number from 0.0 to 1.0".to_string())
        })
        .transpose()?;
    let factor = match obj.get("connect_rates_factor") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(v.as_f64().filter(|f| *f >= 0.0).ok_or_else(|| {
            "connect_rates_factor must be a non-negative number or null".to_string()
        })?)),
    };
    let mut rates = Vec::new();
    match obj.get("rates") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (op, v) in m {
                if !OPERATIONS.contains(&op.as_str()) {
                    return Err(format!("unknown operation {op:?} in rates"));
                }
                rates.push((op.clone(), rate_value(op, v)?));
            }
        }
        Some(_) => return Err("rates must be an object {operation: rps or null}".into()),
    }

    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if let Some(q) = quota {
        st.config.proficiency_quota = as_usize(q);
    }
    if let Some(q) = attr_quota {
        st.config.predefined_attribute_quota = as_usize(q);
    }
    if let Some(ms) = latency {
        st.config.latency = Duration::from_millis(ms);
    }
    if let Some(s) = seed {
        st.config.seed = s;
        st.faults = FaultInjector::new(s);
    }
    if let Some(c) = case_sensitive {
        st.config.exact_search_case_sensitive = c;
    }
    if let Some(s) = strict {
        st.config.strict_membership = s;
    }
    if let Some(r) = fault_rate {
        st.config.fault_rate = r;
    }
    match factor {
        None => {}
        Some(None) => {
            for op in OPERATIONS {
                st.set_rate(op, None);
            }
        }
        Some(Some(f)) => {
            for (op, rps) in CONNECT_DEFAULT_RATES {
                st.set_rate(op, Some(rps * f));
            }
        }
    }
    for (op, rps) in rates {
        st.set_rate(&op, rps);
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
        Ok(()) => Json(st.config.knobs_json()).into_response(),
        Err(e) => bad_request(e),
    }
}

/// `POST /sandbox/agents`: `{"username"}` or `{"generate": n, "prefix"}`.
pub(super) async fn agents(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let mut st = shared.lock();
    if let Some(username) = body.get("username").and_then(Value::as_str) {
        if username.is_empty() || st.agents.values().any(|a| a.username == username) {
            return bad_request(format!("username {username:?} is empty or exists"));
        }
        let id = st.insert_agent(username);
        return Json(json!([[username, id]])).into_response();
    }
    let Some(n) = body.get("generate").and_then(Value::as_u64) else {
        return bad_request("expected {\"username\"} or {\"generate\": n, \"prefix\"}");
    };
    let prefix = body
        .get("prefix")
        .and_then(Value::as_str)
        .unwrap_or("agent");
    let names: Vec<String> = (1..=n).map(|i| format!("{prefix}{i:05}")).collect();
    if let Some(dup) = names
        .iter()
        .find(|u| st.agents.values().any(|a| &a.username == *u))
    {
        return bad_request(format!("username {dup:?} exists"));
    }
    let pairs: Vec<Value> = names
        .into_iter()
        .map(|u| {
            let id = st.insert_agent(&u);
            json!([u, id])
        })
        .collect();
    Json(Value::Array(pairs)).into_response()
}

/// `POST /sandbox/attributes`: `{"name", "values": [...]}` creates or replaces.
pub(super) async fn attributes(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return bad_request("name is required");
    };
    let values: Option<Vec<String>> = match body.get("values") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => None,
    };
    let Some(values) = values else {
        return bad_request("values must be a list of strings");
    };
    shared
        .lock()
        .put_attribute(name, values, vec!["Routing".to_string()]);
    Json(json!({ "success": true })).into_response()
}

/// `POST /sandbox/proficiencies`: `{"user_id", "attribute", "value", "level"}`.
pub(super) async fn proficiencies(
    AxState(shared): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(user), Some(attr), Some(value), Some(level)) = (
        s("user_id"),
        s("attribute"),
        s("value"),
        body.get("level").and_then(Value::as_f64),
    ) else {
        return bad_request("expected {\"user_id\", \"attribute\", \"value\", \"level\"}");
    };
    let mut st = shared.lock();
    let Some(a) = st.agents.get_mut(&user) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no user {user:?}") })),
        )
            .into_response();
    };
    a.proficiencies.insert((attr, value), level as f32);
    a.proficiencies_modified = now_secs();
    Json(json!({ "success": true })).into_response()
}
