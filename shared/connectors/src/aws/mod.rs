//! The AWS side of every function: one [`SdkConfig`] per cold start, the
//! adapters built from it ([`AwsClients`]), and the one mapping of SDK errors
//! onto [`Error`].
//!
//! SDK errors are mapped by their error *code* (never by formatting the
//! error), and the attempts named in an error are those of the client's own
//! retry configuration.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::mail::SesMailer;
use crate::secrets::SecretsManagerSource;
use crate::store::S3Store;
use crate::Error;

/// Timeout for opening a connection to an AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Timeout of one attempt of an SDK operation (one HTTP request).
pub const OPERATION_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of a whole SDK operation, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts the SDK makes (first try included) on throttling, 5xx and
/// transient network errors, with its standard exponential backoff and jitter.
pub const MAX_ATTEMPTS: u32 = 3;

/// Error codes meaning "slow down", across the services used here.
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
];

/// Error codes meaning "the caller lacks a permission".
const PERMISSION_CODES: &[&str] = &["AccessDenied", "AccessDeniedException"];

/// Error codes meaning "no such resource".
const NOT_FOUND_CODES: &[&str] = &["ResourceNotFoundException", "NotFoundException"];

/// Loads the one [`SdkConfig`] a function uses for every AWS client: the
/// default provider chain (region, credentials, `AWS_ENDPOINT_URL*`), the
/// timeouts above and the standard retry mode with [`MAX_ATTEMPTS`].
pub async fn load_sdk_config() -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(OPERATION_ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

/// The AWS adapters a function needs, built once per cold start.
pub struct AwsClients {
    /// The configuration every client was built from (for further clients, e.g. Connect).
    pub conf: SdkConfig,
    /// S3 object store (path-style addressing when an endpoint override is set).
    pub s3: S3Store,
    /// SESv2 mailer.
    pub mail: SesMailer,
    /// Secrets Manager source (uncached; wrap it in a cache).
    pub secrets: SecretsManagerSource,
}

impl AwsClients {
    /// Loads the configuration from the environment ([`load_sdk_config`]) and
    /// builds every adapter from it.
    pub async fn from_env() -> Self {
        Self::from_conf(&load_sdk_config().await)
    }

    /// Builds every adapter from a given configuration (tests pass one that
    /// points at moto). Endpoints come from the configuration and the SDK's own
    /// `AWS_ENDPOINT_URL_<SERVICE>` handling; nothing is copied between clients.
    pub fn from_conf(conf: &SdkConfig) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(conf);
        if s3_endpoint_overridden(conf, |name| std::env::var(name).ok()) {
            // Emulators (moto) serve buckets under the path, not as sub-domains.
            s3 = s3.force_path_style(true);
        }
        AwsClients {
            conf: conf.clone(),
            s3: S3Store::new(aws_sdk_s3::Client::from_conf(s3.build())),
            mail: SesMailer::new(aws_sdk_sesv2::Client::new(conf)),
            secrets: SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(conf)),
        }
    }
}

/// True when S3 requests go to a configured endpoint rather than AWS: the
/// config carries an endpoint URL (programmatic, `AWS_ENDPOINT_URL` or the
/// profile's `endpoint_url`), or `AWS_ENDPOINT_URL_S3` is set and not disabled
/// by `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`. (A per-service `endpoint_url` in a
/// profile's `[services]` section is not detected.)
fn s3_endpoint_overridden(conf: &SdkConfig, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let ignored = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    conf.endpoint_url().is_some() || (!ignored && set("AWS_ENDPOINT_URL_S3"))
}

/// The attempts a client makes per operation, from its retry configuration.
pub fn attempts_of(retry: Option<&RetryConfig>) -> u32 {
    retry.map_or(1, RetryConfig::max_attempts)
}

/// Maps a failed SDK call to an [`Error`]: throttling, permission, not-found
/// and 5xx service errors by code; connection failures and timeouts to
/// [`Error::Transport`]; anything else to [`Error::Aws`] with code and message.
/// Operation-specific codes (a missing key, a failed precondition) are
/// handled by callers before this.
pub fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    attempts: u32,
    err: SdkError<E>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err.message().unwrap_or_default().to_string();
            let status = err.raw_response().map(|r| r.status().as_u16());
            service_failure(service, operation, attempts, code, message, status)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::Transport {
                service,
                operation: operation.to_string(),
                source: Box::new(err),
            }
        }
        // Construction failures (a bad input) and future variants.
        other => Error::Aws {
            service,
            operation,
            code: "Request".to_string(),
            message: DisplayErrorContext(&other).to_string(),
        },
    }
}

/// The code-based part of [`sdk_error`], separate so it can be unit-tested.
fn service_failure(
    service: &'static str,
    operation: &'static str,
    attempts: u32,
    code: String,
    message: String,
    status: Option<u16>,
) -> Error {
    if THROTTLING_CODES.contains(&code.as_str()) {
        Error::Throttled { service, attempts }
    } else if PERMISSION_CODES.contains(&code.as_str()) {
        Error::Permission {
            service,
            operation: operation.to_string(),
            message,
        }
    } else if NOT_FOUND_CODES.contains(&code.as_str()) {
        Error::NotFound {
            what: format!("{service} {operation}: {message}"),
        }
    } else if let Some(status @ 500..=599) = status {
        Error::Unavailable {
            service,
            status,
            attempts,
        }
    } else if code == "InternalServiceException" || code == "InternalFailure" {
        Error::Unavailable {
            service,
            status: 500,
            attempts,
        }
    } else {
        Error::Aws {
            service,
            operation,
            code,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn path_style_only_when_an_s3_endpoint_is_configured() {
        let plain = SdkConfig::builder().build();
        let with_endpoint = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:5055")
            .build();

        assert!(!s3_endpoint_overridden(&plain, env(&[])));
        assert!(s3_endpoint_overridden(&with_endpoint, env(&[])));
        assert!(s3_endpoint_overridden(
            &plain,
            env(&[("AWS_ENDPOINT_URL_S3", "http://localhost:5055")])
        ));
        assert!(!s3_endpoint_overridden(
            &plain,
            env(&[
                ("AWS_ENDPOINT_URL_S3", "http://localhost:5055"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
            ])
        ));
        assert!(!s3_endpoint_overridden(
            &plain,
            env(&[("AWS_ENDPOINT_URL_S3", " ")])
        ));
    }

    #[test]
    fn service_errors_map_by_code() {
        let map = |code: &str, status| {
            service_failure("S3", "PutObject", 3, code.into(), "msg".into(), status)
        };
        assert!(matches!(
            map("SlowDown", Some(503)),
            Error::Throttled {
                service: "S3",
                attempts: 3
            }
        ));
        assert!(matches!(
            map("TooManyRequestsException", Some(429)),
            Error::Throttled { .. }
        ));
        assert!(matches!(
            map("AccessDenied", Some(403)),
            Error::Permission { .. }
        ));
        assert!(matches!(
            map("ResourceNotFoundException", Some(404)),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            map("InternalError", Some(500)),
            Error::Unavailable { status: 500, .. }
        ));
        assert!(matches!(
            map("InternalServiceException", None),
            Error::Unavailable { attempts: 3, .. }
        ));
        match map("InvalidArgument", Some(400)) {
            Error::Aws {
                code, operation, ..
            } => {
                assert_eq!(code, "InvalidArgument");
                assert_eq!(operation, "PutObject");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
