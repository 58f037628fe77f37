//! Every API call: routing, accounting, latency, injected answers, then
//! authentication and the endpoint.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::control::Injected;
use super::ops;
use super::wire::{self, Credentials, Endpoint, Reply};
use super::Shared;

/// Counts a call as in flight until dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The site's API (the router's fallback).
pub(super) async fn api(AxState(shared): AxState<Arc<Shared>>, req: Request) -> Response {
    let _in_flight = InFlight::enter(&shared);
    let (parts, body) = req.into_parts();
    let site = shared.lock().config.site.clone();
    let endpoint = parts
        .uri
        .path()
        .strip_prefix(&format!("/{site}/api/"))
        .and_then(Endpoint::parse);
    let Some(endpoint) = endpoint else {
        let mut st = shared.lock();
        st.calls.total += 1;
        *st.calls.by_endpoint.entry("unknown".into()).or_default() += 1;
        return wire::status_response(StatusCode::NOT_FOUND, "404 Not Found".into(), None);
    };
    let (injected, latency, retry_after) = {
        let mut st = shared.lock();
        let injected = st.start_call(endpoint.name());
        (injected, st.config.latency, st.config.retry_after_secs)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match injected {
        Some(Injected::Status(status)) => {
            tracing::debug!(endpoint = endpoint.name(), %status, "ams sandbox: injected status");
            let retry = (status == StatusCode::TOO_MANY_REQUESTS).then_some(retry_after);
            return wire::status_response(status, wire::failure_body(status), retry);
        }
        Some(Injected::Rpc { kind, message }) => {
            return wire::respond(endpoint, Reply::Rpc { kind, message }, None);
        }
        None => {}
    }
    if parts.method != Method::POST {
        return wire::status_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 Method Not Allowed".into(),
            None,
        );
    }
    let body = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return wire::status_response(StatusCode::BAD_REQUEST, "unreadable body".into(), None)
        }
    };
    let body = match ops::body_json(&body) {
        Ok(v) => v,
        Err(reply) => return wire::respond(endpoint, reply, None),
    };
    let mut st = shared.lock();
    if endpoint == Endpoint::Login {
        return match ops::login(&mut st, &body) {
            Ok((answer, token)) => {
                let mut response = wire::respond(endpoint, Reply::Json(answer), Some(&token));
                let cookie = format!("JSESSIONID={token}; Path=/; Secure; HttpOnly");
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                response
            }
            Err(reply) => wire::respond(endpoint, reply, None),
        };
    }
    let caller = match st.authenticate(&Credentials::from_headers(&parts.headers)) {
        Ok(caller) => caller,
        Err(reply) => {
            st.count_unauthorized(endpoint.name());
            return wire::respond(endpoint, reply, None);
        }
    };
    let reply = match endpoint {
        Endpoint::Login => unreachable!("answered above"),
        Endpoint::UserSearch => ops::user_search(&st, &body),
        Endpoint::GroupMembers => ops::group_members(&st, caller.id, &body),
        Endpoint::ListGroups => ops::list_groups(&st),
        Endpoint::PersonGet => ops::person_get(&st, &body),
        Endpoint::PersonSave => ops::person_save(&mut st, caller.id, &body),
    };
    wire::respond(endpoint, reply, caller.session.as_deref())
}
