use std::time::Duration;

/// Errors from the adapters, typed for the cases the jobs act on.
///
/// Messages never carry a password, token or secret value: the variants hold
/// only names, codes and service messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object, user, group or secret does not exist (or is not visible).
    #[error("{what} not found")]
    NotFound { what: String },

    /// The thing being created exists already.
    #[error("{what} already exists")]
    AlreadyExists { what: String },

    /// The object changed since it was read; a conditional write was refused.
    #[error("s3://{bucket}/{key} changed since it was read (ETag no longer matches)")]
    PreconditionFailed { bucket: String, key: String },

    /// The service kept answering "slow down" after every retry.
    #[error("{service} is throttling requests (gave up after {attempts} attempts)")]
    Throttled {
        service: &'static str,
        attempts: u32,
    },

    /// The service kept failing with a server error after every retry.
    #[error("{service} is unavailable: HTTP {status} after {attempts} attempts")]
    Unavailable {
        service: &'static str,
        status: u16,
        attempts: u32,
    },

    /// The token was refused even after a fresh one was obtained.
    #[error("{service} refused the token ({code}: {message})")]
    InvalidToken {
        service: &'static str,
        code: i64,
        message: String,
    },

    /// Signing in failed: wrong credentials or a locked account.
    #[error("{service} sign-in failed: {message}")]
    SignIn {
        service: &'static str,
        message: String,
    },

    /// The signed-in account lacks a privilege the operation needs.
    #[error("{service} denied {operation}: {message}")]
    Permission {
        service: &'static str,
        operation: String,
        message: String,
    },

    /// The service rejected the request with its own error code and message.
    #[error("{service} {operation} failed ({code}{}): {message}", message_code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        service: &'static str,
        operation: String,
        code: i64,
        message_code: Option<String>,
        message: String,
    },

    /// The request never got an answer (connection refused, timeout, TLS).
    #[error("{service} {operation} could not be reached: {source}")]
    Transport {
        service: &'static str,
        operation: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The answer did not have the expected shape; `path` names the field.
    #[error("{service} {operation} answered with an unexpected shape at `{path}`: {message}")]
    Decode {
        service: &'static str,
        operation: String,
        path: String,
        message: String,
    },

    /// A secret was found but does not hold what the function needs.
    #[error("secret {secret_id}: {message}")]
    Secret { secret_id: String, message: String },

    /// An AWS SDK call failed with an error the jobs do not act on.
    #[error("{service} {operation} failed: {code}: {message}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        code: String,
        message: String,
    },

    /// The time left before the Lambda deadline is too short to start.
    #[error("stopped {0:?} before the Lambda deadline")]
    Deadline(Duration),
}

impl Error {
    /// True for errors worth retrying later (throttling, server errors, network).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Throttled { .. } | Error::Unavailable { .. } | Error::Transport { .. }
        )
    }
}
