//! The RPC-exception body: AMS reports a failed call inside the answer's
//! body, usually with HTTP 200:
//! `{"__is_rpc_exception__": true, "type": "…", "value": {"detailMessage": "…"}}`.
//!
//! Both public clients treat such a body as a failure on every endpoint
//! (`teamworksams/utils.py` and `smartabaseR/R/utils.R`,
//! github.com/brandonyach/teamworksams and github.com/Teamworksapp/smartabaseR);
//! this module turns it into the typed error the jobs act on.

use serde::Deserialize;
use serde_json::Value;

use super::SERVICE;
use crate::Error;

/// A failure the site reported in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RpcException {
    /// The exception's `type`, when given.
    pub kind: Option<String>,
    /// `value.detailMessage` (or the nearest thing the body holds).
    pub message: String,
}

/// The body's RPC exception, if it is one.
pub(super) fn rpc_exception(body: &[u8]) -> Option<RpcException> {
    // Only these fields are read; the rest of a (possibly large) body is
    // skipped without building a tree of it.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "__is_rpc_exception__", default)]
        is_rpc_exception: Option<Value>,
        #[serde(rename = "type", default)]
        kind: Option<Value>,
        #[serde(default)]
        value: Option<Value>,
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    if probe.is_rpc_exception != Some(Value::Bool(true)) {
        return None;
    }
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let value = probe.value.as_ref();
    let kind = text(probe.kind.as_ref());
    let message = text(value.and_then(|v| v.get("detailMessage")))
        .or_else(|| text(value.and_then(|v| v.get("message"))))
        .or_else(|| text(value))
        .or_else(|| kind.clone())
        .unwrap_or_else(|| "the site reported a failure without a message".into());
    Some(RpcException { kind, message })
}

impl RpcException {
    /// True when the message says the session is no longer valid: sources
    /// do not show how AMS reports an expired session, so an exception
    /// saying so is treated as a refused session, like HTTP 401.
    pub(super) fn is_session_refusal(&self) -> bool {
        let lower = self.message.to_ascii_lowercase();
        let kind = self.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        (lower.contains("session")
            && ["expired", "invalid", "timed out", "timeout"]
                .iter()
                .any(|w| lower.contains(w)))
            || lower.contains("not logged in")
            || kind.contains("sessionexpired")
            || kind.contains("invalidsession")
            || kind.contains("notloggedin")
    }

    /// The typed error of this exception, for `operation` answered with
    /// HTTP `status`.
    pub(super) fn into_error(self, operation: &str, status: u16) -> Error {
        if self.is_session_refusal() {
            return Error::InvalidToken {
                service: SERVICE,
                code: status.into(),
                message: self.message,
            };
        }
        let lower = self.message.to_ascii_lowercase();
        if lower.contains("already exist") || lower.contains("already in use") {
            return Error::AlreadyExists {
                what: subject(
                    &self.message,
                    &["already exists", "already exist", "already in use"],
                )
                .unwrap_or_else(|| format!("the account ({})", self.message)),
            };
        }
        if lower.contains("not found") || lower.contains("does not exist") {
            return Error::NotFound {
                what: subject(&self.message, &["not found", "does not exist"])
                    .unwrap_or_else(|| format!("{operation}: {}", self.message)),
            };
        }
        // "No user with id 4711 exists", "No such person: 4711".
        if let Some(what) = no_such(&self.message) {
            return Error::NotFound { what };
        }
        Error::Api {
            service: SERVICE,
            operation: operation.to_string(),
            code: status.into(),
            message_code: self.kind,
            message: self.message,
        }
    }
}

/// What a message like "Username 'x' already exists." is about
/// ("Username 'x'"), so the error's own wording does not repeat it; `None`
/// when the message does not end with one of `endings`.
fn subject(message: &str, endings: &[&str]) -> Option<String> {
    let trimmed = message.trim().trim_end_matches(['.', '!']).trim_end();
    let lower = trimmed.to_ascii_lowercase();
    let ending = endings.iter().find(|e| lower.ends_with(*e))?;
    let rest = trimmed[..trimmed.len() - ending.len()].trim_end();
    let rest = rest
        .strip_suffix(" is")
        .or_else(|| rest.strip_suffix(" are"))
        .or_else(|| rest.strip_suffix(" was"))
        .unwrap_or(rest)
        .trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// What a "No X exists" or "No such X" message says is missing ("X").
fn no_such(message: &str) -> Option<String> {
    let trimmed = message.trim().trim_end_matches(['.', '!']).trim_end();
    let lower = trimmed.to_ascii_lowercase();
    let what = if lower.starts_with("no such ") {
        &trimmed["no such ".len()..]
    } else if lower.starts_with("no ") && lower.ends_with(" exists") {
        &trimmed["no ".len()..trimmed.len() - " exists".len()]
    } else {
        return None;
    };
    let what = what.trim();
    (!what.is_empty()).then(|| what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(message: &str) -> Vec<u8> {
        serde_json::json!({
            "__is_rpc_exception__": true,
            "type": "com.example.ServiceException",
            "value": {"detailMessage": message, "cause": null}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn only_a_flagged_body_is_an_exception() {
        assert_eq!(rpc_exception(br#"{"id": 1}"#), None);
        assert_eq!(rpc_exception(br#"{"__is_rpc_exception__": false}"#), None);
        assert_eq!(rpc_exception(b"not json"), None);
        assert_eq!(rpc_exception(b"[1,2]"), None);
        let found = rpc_exception(&exception("Bad date")).unwrap();
        assert_eq!(found.message, "Bad date");
        assert_eq!(found.kind.as_deref(), Some("com.example.ServiceException"));
        let bare = rpc_exception(br#"{"__is_rpc_exception__": true}"#).unwrap();
        assert!(bare.message.contains("without a message"), "{bare:?}");
    }

    #[test]
    fn duplicates_are_already_exists_without_repeating_the_words() {
        let error = rpc_exception(&exception("Username 'riley' already exists."))
            .unwrap()
            .into_error("person/save", 200);
        assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");
        assert_eq!(error.to_string(), "Username 'riley' already exists");

        let error = rpc_exception(&exception("The email address a@b.org is ALREADY IN USE"))
            .unwrap()
            .into_error("person/save", 200);
        assert_eq!(
            error.to_string(),
            "The email address a@b.org already exists",
            "{error:?}"
        );

        let error = rpc_exception(&exception(
            "A user already exists with that email (a@b.org)",
        ))
        .unwrap()
        .into_error("person/save", 200);
        assert!(matches!(error, Error::AlreadyExists { ref what } if what.contains("a@b.org")));
    }

    #[test]
    fn missing_records_are_not_found() {
        let error = rpc_exception(&exception("Person with id 99 does not exist"))
            .unwrap()
            .into_error("person/save", 200);
        assert_eq!(error.to_string(), "Person with id 99 not found");
        let error = rpc_exception(&exception("Not found: user"))
            .unwrap()
            .into_error("person/get", 200);
        assert!(
            matches!(error, Error::NotFound { ref what } if what == "person/get: Not found: user")
        );
    }

    #[test]
    fn other_exceptions_are_api_errors_with_the_type_and_message() {
        let error = rpc_exception(&exception("Invalid date of birth: 31/02/2000"))
            .unwrap()
            .into_error("person/save", 200);
        match error {
            Error::Api {
                operation,
                code,
                message_code,
                message,
                ..
            } => {
                assert_eq!(operation, "person/save");
                assert_eq!(code, 200);
                assert_eq!(
                    message_code.as_deref(),
                    Some("com.example.ServiceException")
                );
                assert_eq!(message, "Invalid date of birth: 31/02/2000");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_session_refusal_in_the_body_is_a_refused_token() {
        for message in ["Your session has expired", "User is not logged in"] {
            let error = rpc_exception(&exception(message))
                .unwrap()
                .into_error("usersearch", 200);
            assert!(matches!(error, Error::InvalidToken { .. }), "{error:?}");
        }
    }
}
