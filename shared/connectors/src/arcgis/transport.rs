//! The transport of the ArcGIS client: the one request path every resource
//! uses.
//!
//! Every call goes through [`ArcgisClient::call`]: one place that attaches the
//! token, retries throttling and server errors with backoff (HTTP status or
//! the HTTP-200 error envelope alike), refreshes the token once on 498/499,
//! and decodes the body with the failing field named. Sign-in reads the
//! credentials from their source, and once more after a refusal (a rotated
//! secret). Listings page through [`ArcgisClient::all_pages`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::deadline::{bounded, Budget};
use crate::http;
use crate::metrics::{ApiMeter, Service};
use crate::retry::{Attempt, RetryPolicy};
use crate::secrets::{CredentialSource, Credentials, SecretString};
use crate::Error;

const SERVICE: &str = "ArcGIS";
/// Sent as `referer` to `generateToken` and as the `Referer` header after it,
/// since referer-bound tokens must come back with the same value.
const REFERER: &str = "rollcall";

/// Settings of an [`ArcgisClient`].
#[derive(Debug, Clone)]
pub struct ArcgisOptions {
    /// Lifetime asked of `generateToken`, in minutes.
    pub token_minutes: u32,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for ArcgisOptions {
    fn default() -> Self {
        Self {
            token_minutes: 60,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct Token {
    value: SecretString,
    /// Epoch ms from which the client gets a new one (before expiry).
    refresh_at_ms: i64,
}

/// ArcGIS Online / Enterprise client, built once per cold start.
pub struct ArcgisClient {
    http: reqwest::Client,
    rest: String,
    admin: String,
    /// Read at each sign-in.
    credentials: CredentialSource,
    options: ArcgisOptions,
    token: Mutex<Option<Token>>,
    /// Every HTTP attempt and throttled answer, for the run's metrics.
    meter: ApiMeter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
}

/// Which API a path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Sharing,
    PortalAdmin,
}

impl ArcgisClient {
    /// A client for the portal at `portal_url` (e.g. `https://www.arcgis.com`
    /// or `https://gis.example.org/portal`), signing in with `credentials`.
    pub fn new(
        portal_url: &str,
        credentials: Credentials,
        options: ArcgisOptions,
    ) -> Result<Self, Error> {
        Self::with_source(portal_url, CredentialSource::fixed(credentials), options)
    }

    /// A client signing in with the credentials `source` gives at each sign-in.
    pub fn with_source(
        portal_url: &str,
        credentials: CredentialSource,
        options: ArcgisOptions,
    ) -> Result<Self, Error> {
        let root = portal_url.trim_end_matches('/');
        let root = root
            .strip_suffix("/sharing/rest")
            .or_else(|| root.strip_suffix("/home"))
            .unwrap_or(root);
        let mut headers = HeaderMap::new();
        headers.insert("Referer", HeaderValue::from_static(REFERER));
        let http = http::client(
            SERVICE,
            headers,
            options.connect_timeout,
            options.request_timeout,
        )?;
        Ok(Self {
            http,
            rest: format!("{root}/sharing/rest"),
            admin: format!("{root}/portaladmin"),
            credentials,
            options,
            token: Mutex::new(None),
            meter: ApiMeter::new(Service::ArcGIS),
        })
    }

    /// The counter of this client's calls (shared: it keeps counting).
    pub fn api_meter(&self) -> ApiMeter {
        self.meter.clone()
    }

    /// Uses new fixed credentials from the next sign-in on; the current token
    /// is dropped.
    pub async fn set_credentials(&self, credentials: Credentials) {
        self.credentials.replace(credentials);
        *self.token.lock().await = None;
    }

    /// A valid token, fetched when missing, near expiry, or after `stale` was refused.
    async fn token(&self, stale: Option<&SecretString>) -> Result<SecretString, Error> {
        let mut guard = self.token.lock().await;
        let now = now_ms();
        if let Some(token) = guard.as_ref() {
            let refused = stale.is_some_and(|s| s == &token.value);
            if !refused && now < token.refresh_at_ms {
                return Ok(token.value.clone());
            }
        }
        // Boxed: sign-in (and a secret read behind it) is rare, and keeping
        // it out of every call's future keeps those futures small.
        let token = Box::pin(self.sign_in()).await?;
        let value = token.value.clone();
        *guard = Some(token);
        Ok(value)
    }

    /// Signs in with the source's credentials; when they are refused, once
    /// more with fresh ones if the source has newer (a rotated secret).
    async fn sign_in(&self) -> Result<Token, Error> {
        let credentials = self.credentials.current().await?;
        match self.generate_token(&credentials).await {
            Err(refused @ Error::SignIn { .. }) => {
                match self.credentials.after_refusal(&credentials).await? {
                    Some(fresh) => {
                        warn!("credentials refused; signing in with the secret's newer value");
                        self.generate_token(&fresh).await
                    }
                    None => Err(refused),
                }
            }
            other => other,
        }
    }

    async fn generate_token(&self, credentials: &Credentials) -> Result<Token, Error> {
        let issued = now_ms();
        let (path, form): (&str, Vec<(&str, String)>) = match credentials {
            Credentials::Account { username, password } => (
                "generateToken",
                vec![
                    ("username", username.clone()),
                    ("password", password.expose().to_string()),
                    ("client", "referer".into()),
                    ("referer", REFERER.into()),
                    ("expiration", self.options.token_minutes.to_string()),
                ],
            ),
            Credentials::App {
                client_id,
                client_secret,
            } => (
                "oauth2/token",
                vec![
                    ("client_id", client_id.clone()),
                    ("client_secret", client_secret.expose().to_string()),
                    ("grant_type", "client_credentials".into()),
                    ("expiration", self.options.token_minutes.to_string()),
                ],
            ),
        };
        #[derive(Deserialize)]
        struct TokenReply {
            token: Option<SecretString>,
            expires: Option<i64>,
            access_token: Option<SecretString>,
            expires_in: Option<i64>,
        }
        let reply: TokenReply = self
            .with_retries(path, || {
                self.attempt(Api::Sharing, Method::Post, path, &form, None)
            })
            .await
            .map_err(|e| match e {
                Error::Api { message, .. } | Error::InvalidToken { message, .. } => Error::SignIn {
                    service: SERVICE,
                    message,
                },
                other => other,
            })?;
        let (value, expires_ms) = match reply {
            TokenReply {
                token: Some(token),
                expires: Some(expires),
                ..
            } => (token, expires),
            TokenReply {
                access_token: Some(token),
                expires_in: Some(seconds),
                ..
            } => (token, issued + seconds * 1000),
            _ => {
                return Err(Error::Decode {
                    service: SERVICE,
                    operation: path.into(),
                    path: "token".into(),
                    message: "no token and expiry in the answer".into(),
                })
            }
        };
        // Refresh ahead of expiry: five minutes, or a quarter of a short lifetime.
        let lifetime = (expires_ms - issued).max(0);
        let margin = (lifetime / 4).min(5 * 60 * 1000);
        debug!(operation = path, lifetime_ms = lifetime, "signed in");
        Ok(Token {
            value,
            refresh_at_ms: expires_ms - margin,
        })
    }

    /// The one request path for authenticated calls.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        api: Api,
        method: Method,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<T, Error> {
        let operation = operation_name(path);
        let call = self.with_retries(&operation, || async {
            let token = self.token(None).await.map_err(Attempt::Fatal)?;
            match self.attempt(api, method, path, form, Some(&token)).await {
                // Expired or revoked: one fresh token, then the same request again.
                Err(Attempt::Fatal(Error::InvalidToken { .. })) => {
                    warn!(operation = %operation, "token refused; signing in again");
                    let fresh = self.token(Some(&token)).await.map_err(Attempt::Fatal)?;
                    self.attempt(api, method, path, form, Some(&fresh)).await
                }
                other => other,
            }
        });
        // Retries, Retry-After waits and a sign-in all end before the deadline.
        bounded(Budget::Work, call).await
    }

    async fn with_retries<T, F, Fut>(&self, operation: &str, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        self.options.retry.run(SERVICE, operation, attempt).await
    }

    /// One HTTP exchange, classified and counted.
    async fn attempt<T: DeserializeOwned>(
        &self,
        api: Api,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        token: Option<&SecretString>,
    ) -> Result<T, Attempt> {
        let attempt = self.exchange(api, method, path, form, token).await;
        self.meter.count(&attempt);
        attempt
    }

    /// One HTTP exchange, classified.
    async fn exchange<T: DeserializeOwned>(
        &self,
        api: Api,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        token: Option<&SecretString>,
    ) -> Result<T, Attempt> {
        let operation = operation_name(path);
        let base = match api {
            Api::Sharing => &self.rest,
            Api::PortalAdmin => &self.admin,
        };
        let url = format!("{base}/{path}");
        let mut params: Vec<(&str, &str)> = Vec::with_capacity(form.len() + 2);
        params.push(("f", "json"));
        params.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
        // portaladmin documents the token in the body; send it there too.
        if let (Api::PortalAdmin, Some(token)) = (api, token) {
            params.push(("token", token.expose()));
        }
        let mut request = match method {
            Method::Get => self.http.get(&url).query(&params),
            Method::Post => self.http.post(&url).form(&params),
        };
        if let Some(token) = token {
            request = request.header("X-Esri-Authorization", format!("Bearer {}", token.expose()));
        }
        let response = request
            .send()
            .await
            .map_err(|e| http::no_answer(SERVICE, &operation, e))?;
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| http::no_answer(SERVICE, &operation, e))?;
        if (300..400).contains(&status) {
            // Only a redirect to another origin is left unfollowed.
            return Err(Attempt::Fatal(http::redirect_refused(
                SERVICE,
                &operation,
                status,
                "ARCGIS_URL",
            )));
        }
        if status == 429 || status >= 500 {
            return Err(Attempt::Retry {
                status,
                retry_after,
            });
        }
        // Check the envelope first without building a tree of the whole body
        // (a page of members is large); unknown fields are skipped.
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            error: Option<Value>,
            #[serde(default)]
            status: Option<Value>,
            #[serde(default)]
            messages: Option<Value>,
            #[serde(default)]
            code: Option<Value>,
        }
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            Attempt::Fatal(Error::Decode {
                service: SERVICE,
                operation: operation.clone(),
                path: "(body)".into(),
                message: format!("HTTP {status}, not JSON: {e}"),
            })
        })?;
        if let Some(error) = &envelope.error {
            return Err(classify_envelope(&operation, error, retry_after));
        }
        if envelope
            .status
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| {
                matches!(
                    s.to_ascii_lowercase().as_str(),
                    "error" | "failed" | "failure"
                )
            })
        {
            let value = serde_json::json!({
                "status": envelope.status,
                "messages": envelope.messages,
                "code": envelope.code,
            });
            return Err(Attempt::Fatal(classify_status_error(&operation, &value)));
        }
        if !(200..300).contains(&status) {
            return Err(Attempt::Fatal(Error::Api {
                service: SERVICE,
                operation,
                code: status.into(),
                message_code: None,
                message: "unexpected HTTP status".into(),
            }));
        }
        let mut decoder = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
            Attempt::Fatal(Error::Decode {
                service: SERVICE,
                operation,
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })
        })
    }

    /// Every item of a `start`/`num`/`nextStart` listing, found under
    /// `list_key` on each page.
    pub(super) async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        list_key: &str,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        self.for_each_page(path, list_key, |batch: Vec<T>, _| items.extend(batch))
            .await?;
        Ok(items)
    }

    /// Walks a `start`/`num`/`nextStart` listing 100 at a time, handing each
    /// page's items under `list_key` (decoded, a bad field named) and the
    /// page itself to `visit`.
    pub(super) async fn for_each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        list_key: &str,
        visit: impl FnMut(Vec<T>, &Value),
    ) -> Result<(), Error> {
        self.for_each_page_with(path, &[], list_key, visit).await
    }

    /// [`Self::for_each_page`] with more parameters sent on every page
    /// (`type=userLicenseType`, `returnPrivileges=true`…).
    pub(super) async fn for_each_page_with<T: DeserializeOwned>(
        &self,
        path: &str,
        extra: &[(&str, String)],
        list_key: &str,
        mut visit: impl FnMut(Vec<T>, &Value),
    ) -> Result<(), Error> {
        let mut start = 1u64;
        loop {
            let mut form: Vec<(&str, String)> =
                vec![("start", start.to_string()), ("num", "100".into())];
            form.extend(extra.iter().cloned());
            let page: Value = self.call(Api::Sharing, Method::Get, path, &form).await?;
            let list = page.get(list_key).cloned().unwrap_or(Value::Array(vec![]));
            let batch: Vec<T> =
                serde_path_to_error::deserialize(list).map_err(|e| Error::Decode {
                    service: SERVICE,
                    operation: operation_name(path),
                    path: format!("{list_key}{}", e.path()),
                    message: e.inner().to_string(),
                })?;
            let empty = batch.is_empty();
            visit(batch, &page);
            match page.get("nextStart").and_then(Value::as_i64) {
                Some(next) if next > 0 && !empty && next as u64 > start => start = next as u64,
                _ => return Ok(()),
            }
        }
    }
}

/// Maps the HTTP-200 `{"error":{...}}` envelope to an attempt outcome.
fn classify_envelope(operation: &str, error: &Value, retry_after: Option<Duration>) -> Attempt {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message_code = error
        .get("messageCode")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match error.get("details") {
        Some(Value::Array(details)) => {
            let extra: Vec<&str> = details.iter().filter_map(Value::as_str).collect();
            if !extra.is_empty() {
                message = format!("{message} {}", extra.join("; "));
            }
        }
        Some(Value::String(detail)) if !detail.is_empty() => {
            message = format!("{message} {detail}");
        }
        _ => {}
    }
    let message = message.trim().to_string();
    let lower = message.to_ascii_lowercase();
    let not_found = matches!(
        message_code.as_deref(),
        Some("COM_0018" | "COM_0003" | "CONT_0001")
    ) || lower.contains("does not exist or is inaccessible");
    match code {
        429 | 500 | 502 | 503 | 504 => Attempt::Retry {
            status: code as u16,
            retry_after,
        },
        498 | 499 => Attempt::Fatal(Error::InvalidToken {
            service: SERVICE,
            code,
            message,
        }),
        403 => Attempt::Fatal(Error::Permission {
            service: SERVICE,
            operation: operation.to_string(),
            message,
        }),
        _ if not_found => Attempt::Fatal(Error::NotFound {
            what: format!("{operation}: {message}"),
        }),
        _ if lower.contains("already exists") => {
            Attempt::Fatal(Error::AlreadyExists { what: message })
        }
        _ => Attempt::Fatal(Error::Api {
            service: SERVICE,
            operation: operation.to_string(),
            code,
            message_code,
            message,
        }),
    }
}

/// Maps a `{"status":"error","messages":[...]}` answer (portaladmin style).
fn classify_status_error(operation: &str, value: &Value) -> Error {
    let message = match value.get("messages") {
        Some(Value::Array(messages)) => messages
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the operation failed")
            .to_string(),
    };
    let code = value.get("code").and_then(Value::as_i64).unwrap_or(400);
    if message.to_ascii_lowercase().contains("already exists") {
        Error::AlreadyExists { what: message }
    } else {
        Error::Api {
            service: SERVICE,
            operation: operation.to_string(),
            code,
            message_code: None,
            message,
        }
    }
}

pub(super) fn not_found_as_none<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The operation name used in errors and logs: the path with ids left out.
fn operation_name(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["community", "users", _] => "community/users".into(),
        ["community", "groups", _] => "community/groups".into(),
        ["community", kind, _, op] => format!("community/{kind}/{op}"),
        ["content", "users", _] => "content/users".into(),
        ["content", "users", _, "createFolder"] => "content/users/createFolder".into(),
        ["content", "users", _, _] => "content/users/folder".into(),
        ["content", "users", .., "items", _, op] => format!("content/users/items/{op}"),
        ["portals", "self", "roles", _, op] => format!("portals/self/roles/{op}"),
        _ => path.to_string(),
    }
}

pub(super) fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_codes_are_classified() {
        let throttled = serde_json::json!({"code": 429, "message": "Too many requests"});
        assert!(matches!(
            classify_envelope("invite", &throttled, None),
            Attempt::Retry { status: 429, .. }
        ));
        let expired = serde_json::json!({"code": 498, "message": "Invalid token.", "details": []});
        assert!(matches!(
            classify_envelope("invite", &expired, None),
            Attempt::Fatal(Error::InvalidToken { code: 498, .. })
        ));
        let missing = serde_json::json!({"code": 400, "messageCode": "COM_0018",
            "message": "User does not exist or is inaccessible.", "details": null});
        assert!(matches!(
            classify_envelope("community/users", &missing, None),
            Attempt::Fatal(Error::NotFound { .. })
        ));
        let denied = serde_json::json!({"code": 403, "messageCode": "GWM_0003", "message": "You do not have permissions"});
        assert!(matches!(
            classify_envelope("invite", &denied, None),
            Attempt::Fatal(Error::Permission { .. })
        ));
    }

    #[test]
    fn operation_names_leave_ids_out() {
        assert_eq!(operation_name("community/users/jdoe"), "community/users");
        assert_eq!(
            operation_name("community/groups/abc/addUsers"),
            "community/groups/addUsers"
        );
        assert_eq!(operation_name("portals/self/invite"), "portals/self/invite");
        assert_eq!(
            operation_name("content/users/jdoe/f1/items/abc/reassign"),
            "content/users/items/reassign"
        );
        assert_eq!(
            operation_name("content/users/jdoe/f1"),
            "content/users/folder"
        );
        assert_eq!(
            operation_name("portals/self/roles/r1/setPrivileges"),
            "portals/self/roles/setPrivileges"
        );
    }
}
