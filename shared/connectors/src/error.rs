//! The one error type of the connectors, the one place that classifies it,
//! and the one mapping from a classification to what Lambda reports.

use std::time::Duration;

use lambda_runtime::Diagnostic;

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

    /// A setting is unusable (a service URL a client cannot work with).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),

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

/// What kind of failure an error is: what a job or an operator acts on.
/// Every function's errors are classified into these, and each kind is one
/// Lambda `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The event is not one the function takes.
    InvalidEvent,
    /// The deployment's settings, secret or thresholds are wrong.
    InvalidConfiguration,
    /// Signing in failed or the token was refused.
    SignIn,
    /// The signed-in account lacks a privilege or permission.
    Permission,
    /// Something the run needs does not exist.
    NotFound,
    /// What was being created exists already.
    AlreadyExists,
    /// A conditional write lost to a concurrent change.
    Conflict,
    /// The service kept throttling.
    Throttled,
    /// The service or the network kept failing.
    Unavailable,
    /// The service refused the request.
    Rejected,
    /// The service answered with something that could not be read.
    UnexpectedAnswer,
    /// The Lambda deadline came before the work could start.
    Deadline,
    /// A safety rail stopped the run on purpose.
    SafetyStop,
}

impl ErrorKind {
    /// The Lambda `errorType` of this kind: what the failure destination and
    /// alarms see.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidEvent => "InvalidEvent",
            ErrorKind::InvalidConfiguration => "InvalidConfiguration",
            ErrorKind::SignIn => "SignInFailed",
            ErrorKind::Permission => "PermissionDenied",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Conflict => "ConcurrentChange",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Unavailable => "ServiceUnavailable",
            ErrorKind::Rejected => "RequestRejected",
            ErrorKind::UnexpectedAnswer => "UnexpectedAnswer",
            ErrorKind::Deadline => "DeadlineReached",
            ErrorKind::SafetyStop => "CircuitBreakerTripped",
        }
    }
}

impl Error {
    /// The one classification of a connector error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::PreconditionFailed { .. } => ErrorKind::Conflict,
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::Unavailable { .. } | Error::Transport { .. } => ErrorKind::Unavailable,
            Error::InvalidToken { .. } | Error::SignIn { .. } => ErrorKind::SignIn,
            Error::Permission { .. } => ErrorKind::Permission,
            Error::Api { .. } | Error::Aws { .. } => ErrorKind::Rejected,
            Error::Decode { .. } => ErrorKind::UnexpectedAnswer,
            Error::Secret { .. } | Error::Config(_) => ErrorKind::InvalidConfiguration,
            Error::Deadline(_) => ErrorKind::Deadline,
        }
    }
}

/// An error a function returns to Lambda: it knows its kind.
pub trait Classified: std::fmt::Display {
    fn kind(&self) -> ErrorKind;
}

impl Classified for Error {
    fn kind(&self) -> ErrorKind {
        Error::kind(self)
    }
}

/// What Lambda reports for a failed invocation: the kind's `errorType` and
/// the error's message (which never holds a secret).
pub fn diagnostic(error: &impl Classified) -> Diagnostic {
    Diagnostic {
        error_type: error.kind().error_type().to_string(),
        error_message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_is_one_error_type_everywhere() {
        let denied = Error::Permission {
            service: "ArcGIS",
            operation: "portals/self".into(),
            message: "You do not have permissions".into(),
        };
        let d = diagnostic(&denied);
        assert_eq!(d.error_type, "PermissionDenied");
        assert_eq!(
            d.error_message,
            "ArcGIS denied portals/self: You do not have permissions"
        );
        let down = Error::Transport {
            service: "ArcGIS",
            operation: "portals/self".into(),
            source: "connection refused".into(),
        };
        assert_eq!(diagnostic(&down).error_type, "ServiceUnavailable");
    }
}
