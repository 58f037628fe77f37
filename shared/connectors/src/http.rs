//! What the reqwest clients (ArcGIS, Teamworks AMS) share: one way to build
//! the client (timeouts, user agent, redirects kept on their origin), and
//! one way to read a failed exchange.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tracing::warn;

use crate::retry::Attempt;
use crate::Error;

/// A reqwest client with rollcall's user agent, `timeouts` and redirects
/// followed only within their origin, sending `headers` on every request.
pub(crate) fn client(
    service: &'static str,
    headers: HeaderMap,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(same_origin_redirects())
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .user_agent(concat!("rollcall/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| transport(service, "client setup", e))
}

/// Follows a redirect only within the origin it started from (at most five),
/// so a token header, a session cookie or a sign-in form never goes to
/// another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let started = attempt.previous().first().map(|url| url.origin());
        if attempt.previous().len() > 5 {
            attempt.error("more than five redirects")
        } else if started.is_some_and(|origin| origin != attempt.url().origin()) {
            warn!(to = %attempt.url().origin().ascii_serialization(), "redirect to another origin not followed");
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The wait a `Retry-After` header asks for, in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A request that got no (whole) answer: a timeout or a refused connection
/// is worth another try; anything else is a transport failure.
pub(crate) fn no_answer(service: &'static str, operation: &str, error: reqwest::Error) -> Attempt {
    if error.is_timeout() || error.is_connect() {
        Attempt::Retry {
            status: 0,
            retry_after: None,
        }
    } else {
        Attempt::Fatal(transport(service, operation, error))
    }
}

/// A transport failure, without the URL (no query-string token can leak).
pub(crate) fn transport(service: &'static str, operation: &str, error: reqwest::Error) -> Error {
    Error::Transport {
        service,
        operation: operation.to_string(),
        source: Box::new(error.without_url()),
    }
}

/// The answer to a redirect that was not followed (it led to another host).
pub(crate) fn redirect_refused(
    service: &'static str,
    operation: &str,
    status: u16,
    setting: &str,
) -> Error {
    Error::Api {
        service,
        operation: operation.to_string(),
        code: status.into(),
        message_code: None,
        message: format!(
            "the service redirected the request to another host, which is not followed; check {setting}"
        ),
    }
}
