//! The transport of the AMS client: the one request path every resource
//! uses.
//!
//! Every call goes through [`AmsClient::call`]: a JSON POST to
//! `<site>/api/<version>/<endpoint>?informat=json&format=json` carrying the
//! session; throttling (429), server errors and timeouts are retried with
//! backoff, a refused session (401/403) is replaced by one new login and the
//! request sent once more, and the answer is decoded with the failing field
//! named. A body flagged `__is_rpc_exception__` is a failure whatever the
//! status says ([`super::answer`], [`super::rpc`]). Login and the session
//! live in [`super::session`].
//!
//! The request shapes follow the public clients: `teamworksams`
//! (github.com/brandonyach/teamworksams, `teamworksams/utils.py`) and
//! `smartabaseR` (github.com/Teamworksapp/smartabaseR, `R/utils.R`).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, COOKIE};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::warn;

use super::answer::{check, decode, refused_again, Stage};
use super::SERVICE;
use crate::config::ConfigError;
use crate::deadline::{bounded, Budget};
use crate::http;
use crate::metrics::{ApiMeter, Service};
use crate::retry::{Attempt, RetryPolicy};
use crate::secrets::{CredentialSource, Credentials, SecretString};
use crate::Error;

/// `X-APP-ID`, the fixed value teamworksams sends (`utils.py`). smartabaseR
/// sends none, so sites do not seem to require it.
const APP_ID: &str = "external.example.postman";
/// The setting a URL problem points at.
pub(super) const URL_SETTING: &str = "AMS_URL";

/// Settings of an [`AmsClient`].
#[derive(Debug, Clone)]
pub struct AmsOptions {
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for AmsOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Teamworks AMS client, built once per cold start.
pub struct AmsClient {
    http: reqwest::Client,
    /// The site URL without a trailing `/`.
    base: String,
    /// The site name (the URL's last path segment): login's `appName`.
    pub(super) site: String,
    /// Read at each login.
    pub(super) credentials: CredentialSource,
    pub(super) options: AmsOptions,
    /// The session token of the last login, shared by every call.
    pub(super) session: Mutex<Option<SecretString>>,
    /// Every HTTP attempt and throttled answer, for the run's metrics.
    meter: ApiMeter,
}

/// How a request says who sends it.
pub(super) enum Auth<'a> {
    /// Login: HTTP Basic, as both public clients send it there.
    Basic {
        username: &'a str,
        password: &'a SecretString,
    },
    /// Every later call: the token as `session-header` and as the
    /// `JSESSIONID` cookie, both set by hand as teamworksams does (the site
    /// marks the cookie `Secure`, so a cookie jar would drop it on `http`).
    Session(&'a SecretString),
}

/// An answer that passed the status and RPC-exception checks.
pub(super) struct Answer {
    pub headers: HeaderMap,
    pub status: u16,
    pub body: Vec<u8>,
}

impl AmsClient {
    /// A client for the site at `site_url`, signing in with `credentials`.
    pub fn new(
        site_url: &str,
        credentials: Credentials,
        options: AmsOptions,
    ) -> Result<Self, Error> {
        Self::with_source(site_url, CredentialSource::fixed(credentials), options)
    }

    /// A client signing in with the credentials `source` gives at each login.
    pub fn with_source(
        site_url: &str,
        credentials: CredentialSource,
        options: AmsOptions,
    ) -> Result<Self, Error> {
        let (base, site) = site_of(site_url)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert("X-APP-ID", HeaderValue::from_static(APP_ID));
        let http = http::client(
            SERVICE,
            headers,
            options.connect_timeout,
            options.request_timeout,
        )?;
        Ok(Self {
            http,
            base,
            site,
            credentials,
            options,
            session: Mutex::new(None),
            meter: ApiMeter::new(Service::Ams),
        })
    }

    /// The counter of this client's calls (shared: it keeps counting).
    pub fn api_meter(&self) -> ApiMeter {
        self.meter.clone()
    }

    /// The site name login sends as `appName`.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// The one request path for calls after login: `path` is
    /// `<version>/<endpoint>`, e.g. `v1/usersearch`.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        path: &'static str,
        body: &Value,
    ) -> Result<T, Error> {
        let operation = operation_of(path);
        let call = self.options.retry.run(SERVICE, operation, || async {
            let session = self.session(None).await.map_err(Attempt::Fatal)?;
            let answer = match self
                .exchange(path, body, Auth::Session(&session), Stage::Call)
                .await
            {
                // Expired or revoked: one new login, then the same request again.
                Err(Attempt::Fatal(Error::InvalidToken { .. })) => {
                    warn!(operation, "session refused; logging in again");
                    let fresh = self.session(Some(&session)).await.map_err(Attempt::Fatal)?;
                    self.exchange(path, body, Auth::Session(&fresh), Stage::Call)
                        .await
                        .map_err(|e| refused_again(operation, e))?
                }
                other => other?,
            };
            decode(operation, answer.status, &answer.body).map_err(Attempt::Fatal)
        });
        // Retries, Retry-After waits and a new login all end before the deadline.
        bounded(Budget::Work, call).await
    }

    /// One HTTP exchange, checked ([`check`]) but not decoded, and counted.
    pub(super) async fn exchange(
        &self,
        path: &str,
        body: &Value,
        auth: Auth<'_>,
        stage: Stage,
    ) -> Result<Answer, Attempt> {
        let answer = self.send(path, body, auth, stage).await;
        self.meter.count(&answer);
        answer
    }

    async fn send(
        &self,
        path: &str,
        body: &Value,
        auth: Auth<'_>,
        stage: Stage,
    ) -> Result<Answer, Attempt> {
        let operation = operation_of(path);
        let url = format!("{}/api/{path}?informat=json&format=json", self.base);
        let mut request = self.http.post(&url).json(body);
        match auth {
            Auth::Basic { username, password } => {
                request = request.basic_auth(username, Some(password.expose()));
            }
            Auth::Session(token) => {
                request = request
                    .header("session-header", sensitive(token.expose())?)
                    .header(
                        COOKIE,
                        sensitive(&format!("JSESSIONID={}", token.expose()))?,
                    );
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| http::no_answer(SERVICE, operation, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| http::no_answer(SERVICE, operation, e))?;
        check(operation, stage, status, http::retry_after(&headers), &body)?;
        Ok(Answer {
            headers,
            status,
            body: body.into(),
        })
    }
}

/// A header value holding the token, marked sensitive so no HTTP-stack log
/// shows it.
fn sensitive(value: &str) -> Result<HeaderValue, Attempt> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Attempt::Fatal(Error::SignIn {
            service: SERVICE,
            message: "the session token the site gave cannot be sent back as a header".into(),
        })
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The site URL without a trailing `/`, and the site name: its last path
/// segment (`https://example.smartabase.com/site` → `site`).
pub(super) fn site_of(url: &str) -> Result<(String, String), ConfigError> {
    let mut parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| ConfigError::new(URL_SETTING, format!("{url:?} is not a URL: {e}")))?;
    parsed.set_query(None);
    parsed.set_fragment(None);
    let site = parsed
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .map(str::to_string)
        .ok_or_else(|| {
            ConfigError::new(
                URL_SETTING,
                format!(
                    "{url:?} has no site name: use the site's full address, e.g. https://example.smartabase.com/site"
                ),
            )
        })?;
    let base = parsed.as_str().trim_end_matches('/').to_string();
    Ok((base, site))
}

/// The operation name in errors and logs: the path without its version.
pub(super) fn operation_of(path: &str) -> &str {
    path.split_once('/').map_or(path, |(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_name_is_the_last_path_segment() {
        let (base, site) = site_of("https://example.smartabase.com/site/").unwrap();
        assert_eq!(base, "https://example.smartabase.com/site");
        assert_eq!(site, "site");
        let (base, site) = site_of("http://127.0.0.1:8080/teams/demo?x=1").unwrap();
        assert_eq!(base, "http://127.0.0.1:8080/teams/demo");
        assert_eq!(site, "demo");
        for bad in [
            "https://example.smartabase.com",
            "https://example.smartabase.com//",
            "example.smartabase.com/site",
        ] {
            let error = site_of(bad).unwrap_err();
            assert_eq!(error.name, "AMS_URL");
            assert!(error.problem.contains(bad), "{error}");
        }
        assert!(site_of("https://example.smartabase.com/")
            .unwrap_err()
            .problem
            .contains("has no site name"));
    }

    #[test]
    fn operations_are_named_without_the_version() {
        assert_eq!(operation_of("v1/usersearch"), "usersearch");
        assert_eq!(operation_of("v2/person/save"), "person/save");
    }
}
