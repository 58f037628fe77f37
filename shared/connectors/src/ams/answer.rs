//! Reading an AMS answer before it is decoded: its status and an
//! RPC-exception body say whether it is a result, a refusal, a failure worth
//! another try, or the site's final word; then the body is decoded with the
//! failing field named.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::rpc::rpc_exception;
use super::transport::URL_SETTING;
use super::SERVICE;
use crate::http;
use crate::retry::Attempt;
use crate::Error;

/// Login's answers and a later call's read differently: a refusal at login
/// is a sign-in failure, later it is a session to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Login,
    Call,
}

/// A refusal that outlived the new login: 403 means the account lacks the
/// permission, 401 stays a refused token.
pub(super) fn refused_again(operation: &str, outcome: Attempt) -> Attempt {
    match outcome {
        Attempt::Fatal(Error::InvalidToken {
            code: 403, message, ..
        }) => Attempt::Fatal(Error::Permission {
            service: SERVICE,
            operation: operation.to_string(),
            message,
        }),
        other => other,
    }
}

/// Reads an answer's status and body before decoding: a redirect to another
/// host, a refusal, an RPC exception, throttling or a server error.
pub(super) fn check(
    operation: &str,
    stage: Stage,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<(), Attempt> {
    if (300..400).contains(&status) {
        // Only a redirect to another origin is left unfollowed.
        return Err(Attempt::Fatal(http::redirect_refused(
            SERVICE,
            operation,
            status,
            URL_SETTING,
        )));
    }
    let exception = rpc_exception(body);
    let sign_in = |message: String| {
        Err(Attempt::Fatal(Error::SignIn {
            service: SERVICE,
            message,
        }))
    };
    match (stage, status, exception) {
        (Stage::Login, 401 | 403, exception) => sign_in(match exception {
            Some(e) => format!("{} (HTTP {status})", e.message),
            None => format!(
                "the site refused the login (HTTP {status}): check the username and password, and that {URL_SETTING} names the site"
            ),
        }),
        (Stage::Login, 429, _) => Err(Attempt::Retry {
            status,
            retry_after,
        }),
        (Stage::Login, _, Some(exception)) => sign_in(exception.message),
        (Stage::Call, 401 | 403, exception) => Err(Attempt::Fatal(Error::InvalidToken {
            service: SERVICE,
            code: status.into(),
            message: match (exception, short_text(body)) {
                (Some(e), _) => e.message,
                (None, Some(text)) => format!("HTTP {status}: {text}"),
                (None, None) => format!("HTTP {status}: the session was refused"),
            },
        })),
        (Stage::Call, 429, _) => Err(Attempt::Retry {
            status,
            retry_after,
        }),
        // The site's own verdict on the request: sending it again changes nothing.
        (Stage::Call, _, Some(exception)) => Err(Attempt::Fatal(exception.into_error(operation, status))),
        (_, 500.., None) => Err(Attempt::Retry {
            status,
            retry_after,
        }),
        (_, 200..=299, None) => Ok(()),
        (_, _, None) => Err(Attempt::Fatal(Error::Api {
            service: SERVICE,
            operation: operation.to_string(),
            code: status.into(),
            message_code: None,
            message: match status {
                404 => format!(
                    "no such endpoint: check {URL_SETTING} (the site's address, e.g. https://example.smartabase.com/site) and that the site runs AMS 6.14 or later"
                ),
                _ => format!("unexpected HTTP status {status}"),
            },
        })),
    }
}

/// A short plain-text body (a refusal's reason), cut at its first line and
/// 200 characters; `None` for an empty body or an HTML page.
fn short_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let line = text.lines().next()?.trim();
    if line.is_empty() || line.starts_with('<') {
        return None;
    }
    Some(line.chars().take(200).collect())
}

/// Decodes a checked answer, naming the field that does not fit.
pub(super) fn decode<T: DeserializeOwned>(
    operation: &str,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    let fail = |path: &str, message: String| Error::Decode {
        service: SERVICE,
        operation: operation.to_string(),
        path: path.to_string(),
        message,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(fail("(body)", format!("HTTP {status} with an empty body")));
    }
    let mut decoder = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            fail("(body)", format!("HTTP {status}, not JSON: {}", e.inner()))
        } else {
            fail(&e.path().to_string(), e.inner().to_string())
        }
    })?;
    decoder
        .end()
        .map_err(|e| fail("(body)", format!("HTTP {status}, not JSON: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(message: &str) -> Vec<u8> {
        serde_json::json!({"__is_rpc_exception__": true, "type": "T", "value": {"detailMessage": message}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn refusals_mean_sign_in_at_login_and_a_new_session_later() {
        let login = check("user/loginUser", Stage::Login, 401, None, b"");
        assert!(matches!(login, Err(Attempt::Fatal(Error::SignIn { .. }))));
        let login = check(
            "user/loginUser",
            Stage::Login,
            200,
            None,
            &rpc("Unknown application"),
        );
        assert!(
            matches!(login, Err(Attempt::Fatal(Error::SignIn { ref message, .. })) if message == "Unknown application")
        );
        let later = check("usersearch", Stage::Call, 401, None, b"expired");
        assert!(matches!(
            later,
            Err(Attempt::Fatal(Error::InvalidToken { code: 401, .. }))
        ));
        let later = check("usersearch", Stage::Call, 403, None, &rpc("Access denied"));
        assert!(
            matches!(later, Err(Attempt::Fatal(Error::InvalidToken { code: 403, ref message, .. })) if message == "Access denied")
        );
        let denied = refused_again("usersearch", later.unwrap_err());
        assert!(matches!(denied, Attempt::Fatal(Error::Permission { .. })));
    }

    #[test]
    fn throttling_and_server_errors_are_retried_but_an_exception_is_final() {
        let wait = Some(Duration::from_secs(2));
        assert!(matches!(
            check("usersearch", Stage::Call, 429, wait, b""),
            Err(Attempt::Retry { status: 429, retry_after: Some(w) }) if w == Duration::from_secs(2)
        ));
        assert!(matches!(
            check("user/loginUser", Stage::Login, 503, None, b"<html>"),
            Err(Attempt::Retry { status: 503, .. })
        ));
        assert!(matches!(
            check(
                "person/save",
                Stage::Call,
                500,
                None,
                &rpc("Username x already exists")
            ),
            Err(Attempt::Fatal(Error::AlreadyExists { .. }))
        ));
        assert!(matches!(
            check("person/save", Stage::Call, 200, None, &rpc("Bad date")),
            Err(Attempt::Fatal(Error::Api { code: 200, .. }))
        ));
        assert!(matches!(
            check("usersearch", Stage::Call, 302, None, b""),
            Err(Attempt::Fatal(Error::Api { code: 302, .. }))
        ));
        assert!(matches!(
            check("usersearch", Stage::Call, 404, None, b"nope"),
            Err(Attempt::Fatal(Error::Api { code: 404, ref message, .. })) if message.contains("AMS_URL")
        ));
        assert!(check("usersearch", Stage::Call, 200, None, br#"{"results": []}"#).is_ok());
    }

    #[test]
    fn empty_and_non_json_bodies_are_decode_errors() {
        #[derive(serde::Deserialize, Debug)]
        struct Reply {
            #[allow(dead_code)]
            name: Vec<String>,
        }
        for body in [
            &b""[..],
            b"  \n",
            b"<html>login</html>",
            br#"{"name": []} trailing"#,
        ] {
            let error = decode::<Reply>("listgroups", 200, body).unwrap_err();
            assert!(
                matches!(error, Error::Decode { ref path, .. } if path == "(body)"),
                "{error:?}"
            );
        }
        let error = decode::<Reply>("listgroups", 200, br#"{"name": [1]}"#).unwrap_err();
        assert!(
            matches!(error, Error::Decode { ref path, .. } if path == "name[0]"),
            "{error:?}"
        );
        let error = decode::<Reply>("listgroups", 200, br#"{"groups": []}"#).unwrap_err();
        assert!(
            error.to_string().contains("missing field `name`"),
            "{error}"
        );
    }
}
