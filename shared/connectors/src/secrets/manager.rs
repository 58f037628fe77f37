//! The Secrets Manager adapter of [`SecretSource`]: reads the current string
//! value. The value never appears in an error or a log line.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use super::{SecretSource, SecretString};
use crate::aws::{attempts_of, sdk_error};
use crate::Error;

const SECRETS_MANAGER: &str = "Secrets Manager";

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
