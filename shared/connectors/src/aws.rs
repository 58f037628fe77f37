//! AWS SDK adapters of the ports: S3 object store, SESv2 mailer, Secrets
//! Manager secret source (with a TTL cache), and [`AwsClients`], which builds
//! all of them once per cold start from one [`SdkConfig`].
//!
//! SDK errors are mapped by their error *code* (never by HTTP status alone,
//! never by formatting the error) into [`Error`] variants the jobs act on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use tokio::sync::Mutex;

use crate::mail::{header_safe, Mail, Mailer};
use crate::secrets::{SecretSource, SecretString};
use crate::store::{NewObject, ObjectStore, StoredObject};
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
/// How long [`CachedSecrets`] keeps a secret before reading it again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(15 * 60);

const S3: &str = "S3";
const SES: &str = "SES";
const SECRETS_MANAGER: &str = "Secrets Manager";

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

/// Loads the one [`SdkConfig`] a function uses for every AWS client: the
/// default provider chain (region, credentials, `AWS_ENDPOINT_URL*`), the
/// timeouts above and the standard retry mode with [`MAX_ATTEMPTS`].
///
/// Exposed so a `main` can build further clients (e.g. Connect) from the same
/// configuration.
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
    /// S3 object store (path-style addressing when an endpoint override is set).
    pub s3: S3Store,
    /// SESv2 mailer.
    pub mail: SesMailer,
    /// Secrets Manager source (uncached; wrap it in [`CachedSecrets`]).
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

/// Maps a failed SDK call to an [`Error`]: throttling, permission and 5xx
/// service errors by code; connection failures and timeouts to
/// [`Error::Transport`]; anything else to [`Error::Aws`] with code and message.
/// Operation-specific codes (not found, precondition) are handled by callers
/// before this.
fn sdk_error<E>(
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
            service_error(service, operation, attempts, code, message, status)
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
fn service_error(
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
    } else if let Some(status @ 500..=599) = status {
        Error::Unavailable {
            service,
            status,
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

/// The attempts a client makes per operation, for error messages.
fn attempts_of(retry: Option<&RetryConfig>) -> u32 {
    retry.map_or(1, RetryConfig::max_attempts)
}

// ---------------------------------------------------------------- S3

/// S3 adapter of [`ObjectStore`]: whole-object get and (conditional) put.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    attempts: u32,
}

impl S3Store {
    /// Wraps a client; build it with `force_path_style(true)` for emulators
    /// (as [`AwsClients::from_conf`] does).
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        let attempts = attempts_of(client.config().retry_config());
        S3Store { client, attempts }
    }

    /// The wrapped SDK client, for operations the port does not cover.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

impl ObjectStore for S3Store {
    #[tracing::instrument(skip(self))]
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        let output = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                return match err.code() {
                    Some("NoSuchKey") => Ok(None),
                    Some("NoSuchBucket") => Err(Error::NotFound {
                        what: format!("bucket {bucket}"),
                    }),
                    _ => Err(sdk_error(S3, "GetObject", self.attempts, err)),
                };
            }
        };
        let etag = output
            .e_tag()
            .map(str::to_string)
            .ok_or_else(|| Error::Decode {
                service: S3,
                operation: "GetObject".into(),
                path: "ETag".into(),
                message: format!("s3://{bucket}/{key} was returned without an ETag"),
            })?;
        let metadata = output
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let version_id = output.version_id().map(str::to_string);
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| Error::Transport {
                service: S3,
                operation: "GetObject".into(),
                source: Box::new(e),
            })?
            .into_bytes()
            .to_vec();
        tracing::debug!(bytes = body.len(), "read object");
        Ok(Some(StoredObject {
            body,
            etag,
            metadata,
            version_id,
        }))
    }

    #[tracing::instrument(
        skip(self, object),
        fields(bucket = %object.bucket, key = %object.key, conditional = object.if_match.is_some() || object.if_absent)
    )]
    async fn put(&self, object: NewObject) -> Result<(), Error> {
        let NewObject {
            bucket,
            key,
            body,
            content_type,
            metadata,
            if_match,
            if_absent,
        } = object;
        let conditional = if_match.is_some() || if_absent;
        let result = self
            .client
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type(content_type)
            .set_metadata((!metadata.is_empty()).then_some(metadata))
            .set_if_match(if_match)
            .set_if_none_match(if_absent.then(|| "*".to_string()))
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => Err(match err.code() {
                // 412: the object has another ETag now.
                // 409 ConditionalRequestConflict: a concurrent conditional
                // write to the same key; either way it is not what we read.
                Some("PreconditionFailed") | Some("ConditionalRequestConflict") => {
                    Error::PreconditionFailed { bucket, key }
                }
                // If-Match on a key that is gone: the object we read no longer exists.
                Some("NoSuchKey") if conditional => Error::PreconditionFailed { bucket, key },
                Some("NoSuchBucket") => Error::NotFound {
                    what: format!("bucket {bucket}"),
                },
                _ => sdk_error(S3, "PutObject", self.attempts, err),
            }),
        }
    }
}

// ---------------------------------------------------------------- SES

/// SESv2 adapter of [`Mailer`]: sends `Content::Simple` messages with text and
/// HTML bodies in UTF-8, so SES builds the MIME and no caller text becomes a
/// header line. The subject still goes through [`header_safe`].
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    attempts: u32,
}

impl SesMailer {
    /// Wraps a client.
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        let attempts = attempts_of(client.config().retry_config());
        SesMailer { client, attempts }
    }

    /// The wrapped SDK client, for operations the port does not cover.
    pub fn client(&self) -> &aws_sdk_sesv2::Client {
        &self.client
    }
}

/// A UTF-8 SES content part.
fn utf8(data: impl Into<String>) -> Result<Content, Error> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| Error::Aws {
            service: SES,
            operation: "SendEmail",
            code: "BuildError".into(),
            message: e.to_string(),
        })
}

impl Mailer for SesMailer {
    #[tracing::instrument(skip(self, mail), fields(recipients = mail.to.len()))]
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        let message = Message::builder()
            .subject(utf8(header_safe(&mail.subject))?)
            .body(
                Body::builder()
                    .text(utf8(mail.text.as_str())?)
                    .html(utf8(mail.html.as_str())?)
                    .build(),
            )
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&mail.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(mail.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|err| match err.code() {
                Some("TooManyRequestsException") => Error::Throttled {
                    service: SES,
                    attempts: self.attempts,
                },
                _ => sdk_error(SES, "SendEmail", self.attempts, err),
            })?;
        let id = output.message_id().unwrap_or_default().to_string();
        if id.is_empty() {
            // The mail went out; failing now would only make a retry send it twice.
            tracing::warn!("SES accepted the mail without returning a message id");
        }
        Ok(id)
    }
}

// ---------------------------------------------------------------- Secrets Manager

/// Secrets Manager adapter of [`SecretSource`]: reads the current string value.
/// The value never appears in an error or a log line.
#[derive(Clone, Debug)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    attempts: u32,
}

impl SecretsManagerSource {
    /// Wraps a client.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        let attempts = attempts_of(client.config().retry_config());
        SecretsManagerSource { client, attempts }
    }

    /// The wrapped SDK client, for operations the port does not cover.
    pub fn client(&self) -> &aws_sdk_secretsmanager::Client {
        &self.client
    }
}

impl SecretSource for SecretsManagerSource {
    #[tracing::instrument(skip(self))]
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, Error> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|err| match err.code() {
                Some("ResourceNotFoundException") => Error::NotFound {
                    what: format!("secret {secret_id}"),
                },
                _ => sdk_error(SECRETS_MANAGER, "GetSecretValue", self.attempts, err),
            })?;
        match output.secret_string {
            Some(value) => Ok(SecretString::new(value)),
            None => Err(Error::Secret {
                secret_id: secret_id.to_string(),
                message: if output.secret_binary.is_some() {
                    "holds binary data; a JSON string is expected".into()
                } else {
                    "has no string value".into()
                },
            }),
        }
    }
}

/// A [`SecretSource`] that keeps each secret for a TTL, so a function reads a
/// secret once per cold start and again only after the TTL (or after
/// [`CachedSecrets::invalidate`], e.g. when the service refused the credentials
/// because the secret was rotated).
///
/// Concurrent first reads of a secret wait for one fetch instead of each
/// calling Secrets Manager. Failures are not cached.
pub struct CachedSecrets<S> {
    source: S,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl<S> CachedSecrets<S> {
    /// Caches `source` for `ttl` ([`DEFAULT_SECRET_TTL`] is a good default;
    /// `Duration::ZERO` disables caching).
    pub fn new(source: S, ttl: Duration) -> Self {
        CachedSecrets {
            source,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached value of `secret_id`, so the next read fetches it.
    pub async fn invalidate(&self, secret_id: &str) {
        self.cache.lock().await.remove(secret_id);
    }

    /// The wrapped source.
    pub fn source(&self) -> &S {
        &self.source
    }
}

impl<S> std::fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: SecretSource> SecretSource for CachedSecrets<S> {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, Error> {
        // Held across the fetch on purpose: one fetch per secret, not one per caller.
        let mut cache = self.cache.lock().await;
        if let Some((fetched, value)) = cache.get(secret_id) {
            if fetched.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let value = self.source.secret_string(secret_id).await?;
        cache.insert(secret_id.to_string(), (Instant::now(), value.clone()));
        Ok(value)
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
            service_error(S3, "PutObject", 3, code.into(), "msg".into(), status)
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
            map("InternalError", Some(500)),
            Error::Unavailable { status: 500, .. }
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

    #[tokio::test]
    async fn cache_serves_until_invalidated() {
        struct Counting(std::sync::atomic::AtomicU32);
        impl SecretSource for Counting {
            async fn secret_string(&self, _: &str) -> Result<SecretString, Error> {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(SecretString::new(format!("v{n}")))
            }
        }
        let cached = CachedSecrets::new(Counting(0.into()), DEFAULT_SECRET_TTL);

        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(cached.secret_string("b").await.unwrap().expose(), "v1");
        cached.invalidate("a").await;
        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v2");

        let uncached = CachedSecrets::new(Counting(0.into()), Duration::ZERO);
        assert_eq!(uncached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(uncached.secret_string("a").await.unwrap().expose(), "v1");
    }
}
