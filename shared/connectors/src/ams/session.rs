//! Login and the session: one login shared by concurrent calls and kept for
//! every later one, replaced only when the site refuses it (AMS states no
//! session lifetime, so there is no timer).
//!
//! Login is `POST <site>/api/v2/user/loginUser` with the username, password
//! and `loginProperties` (`appName`: the site name, `clientTime`), HTTP
//! Basic on top, as teamworksams sends it (`teamworksams/login_main.py`,
//! github.com/brandonyach/teamworksams). The token comes back in the
//! `session-header` response header and as the `JSESSIONID` cookie.

use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{json, Value};
use tracing::{debug, warn};

use super::answer::Stage;
use super::transport::Auth;
use super::{AmsClient, SERVICE};
use crate::secrets::{Credentials, SecretString};
use crate::Error;

const LOGIN: &str = "v2/user/loginUser";

impl AmsClient {
    /// The session to send: the current one, or a new login when there is
    /// none or when `refused` (the token the site just refused) is still
    /// the current one. Concurrent callers wait for the one login.
    pub(super) async fn session(
        &self,
        refused: Option<&SecretString>,
    ) -> Result<SecretString, Error> {
        let mut current = self.session.lock().await;
        match current.as_ref() {
            Some(token) if refused != Some(token) => return Ok(token.clone()),
            Some(_) => *current = None,
            None => {}
        }
        // Boxed: login (and a secret read behind it) is rare, and keeping it
        // out of every call's future keeps those futures small.
        let token = Box::pin(self.log_in()).await?;
        *current = Some(token.clone());
        Ok(token)
    }

    /// Logs in with the source's credentials; when they are refused, once
    /// more with fresh ones if the source has newer (a rotated secret).
    async fn log_in(&self) -> Result<SecretString, Error> {
        let credentials = self.credentials.current().await?;
        match self.log_in_as(&credentials).await {
            Err(refused @ Error::SignIn { .. }) => {
                match self.credentials.after_refusal(&credentials).await? {
                    Some(fresh) => {
                        warn!("login refused; logging in with the secret's newer value");
                        self.log_in_as(&fresh).await
                    }
                    None => Err(refused),
                }
            }
            other => other,
        }
    }

    async fn log_in_as(&self, credentials: &Credentials) -> Result<SecretString, Error> {
        let Credentials::Account { username, password } = credentials else {
            return Err(Error::SignIn {
                service: SERVICE,
                message: "AMS logs in with a username and password; the secret holds app credentials (client_id/client_secret)".into(),
            });
        };
        let client_time = chrono::Local::now().naive_local();
        let body = login_body(username, password, &self.site, client_time);
        let operation = "user/loginUser";
        let answer = self
            .options
            .retry
            .run(SERVICE, operation, || {
                self.exchange(
                    LOGIN,
                    &body,
                    Auth::Basic { username, password },
                    Stage::Login,
                )
            })
            .await?;
        let token = session_token(&answer.headers).ok_or_else(|| Error::SignIn {
            service: SERVICE,
            message: format!(
                "the site answered the login with HTTP {} but no session token",
                answer.status
            ),
        })?;
        debug!(operation, site = %self.site, "logged in");
        Ok(token)
    }
}

/// The login request body.
fn login_body(
    username: &str,
    password: &SecretString,
    site: &str,
    client_time: chrono::NaiveDateTime,
) -> Value {
    json!({
        "username": username,
        "password": password.expose(),
        "loginProperties": {
            "appName": site,
            "clientTime": client_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        },
    })
}

/// The session token of a login answer: the `session-header` header, or
/// else the `JSESSIONID` cookie.
fn session_token(headers: &HeaderMap) -> Option<SecretString> {
    let from_header = headers
        .get("session-header")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let from_cookie = || {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|cookie| cookie.split(';').next()?.trim().strip_prefix("JSESSIONID="))
            .map(|t| t.trim_matches('"'))
            .find(|t| !t.is_empty())
    };
    from_header
        .or_else(from_cookie)
        .map(|t| SecretString::new(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn login_names_the_site_and_the_client_time_to_the_second() {
        let time = chrono::NaiveDate::from_ymd_opt(2025, 5, 16)
            .unwrap()
            .and_hms_opt(8, 28, 6)
            .unwrap();
        let body = login_body("api.user", &SecretString::new("pw"), "demo", time);
        assert_eq!(
            body,
            json!({"username": "api.user", "password": "pw",
                   "loginProperties": {"appName": "demo", "clientTime": "2025-05-16T08:28:06"}})
        );
    }

    #[test]
    fn the_token_comes_from_the_header_or_else_the_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(session_token(&headers), None);
        headers.append(SET_COOKIE, HeaderValue::from_static("other=1; Path=/"));
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("JSESSIONID=abc+12-XYZ; Path=/; Secure; HttpOnly"),
        );
        assert_eq!(session_token(&headers).unwrap().expose(), "abc+12-XYZ");
        headers.insert("session-header", HeaderValue::from_static("fromHeader1"));
        assert_eq!(session_token(&headers).unwrap().expose(), "fromHeader1");
        headers.insert("session-header", HeaderValue::from_static(" "));
        assert_eq!(session_token(&headers).unwrap().expose(), "abc+12-XYZ");
        let mut empty = HeaderMap::new();
        empty.insert(SET_COOKIE, HeaderValue::from_static("JSESSIONID=; Path=/"));
        assert_eq!(session_token(&empty), None);
    }
}
