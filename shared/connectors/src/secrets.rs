//! The secret-source port (Secrets Manager) and the credential shapes.

use std::fmt;

use serde::Deserialize;

use crate::Error;

/// A secret value. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

/// Fetches secret strings by id or ARN.
pub trait SecretSource {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, Error>;
}

/// How rollcall signs in to a service: a named account or app credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `{"username","password"}`
    Account {
        username: String,
        password: SecretString,
    },
    /// `{"client_id","client_secret"}`
    App {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Credentials {
    /// Parses the secret JSON; the error names the secret and the missing
    /// fields, never the value.
    pub fn from_secret(secret_id: &str, secret: &SecretString) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Raw {
            username: Option<String>,
            password: Option<SecretString>,
            client_id: Option<String>,
            client_secret: Option<SecretString>,
        }
        let raw: Raw = serde_json::from_str(secret.expose()).map_err(|e| Error::Secret {
            secret_id: secret_id.to_string(),
            message: format!(
                "is not a JSON object with username/password or client_id/client_secret (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        match raw {
            Raw {
                username: Some(username),
                password: Some(password),
                ..
            } if !username.is_empty() && !password.expose().is_empty() => {
                Ok(Credentials::Account { username, password })
            }
            Raw {
                client_id: Some(client_id),
                client_secret: Some(client_secret),
                ..
            } if !client_id.is_empty() && !client_secret.expose().is_empty() => {
                Ok(Credentials::App {
                    client_id,
                    client_secret,
                })
            }
            _ => Err(Error::Secret {
                secret_id: secret_id.to_string(),
                message: "needs non-empty \"username\" and \"password\", or \"client_id\" and \"client_secret\"".into(),
            }),
        }
    }
}

/// Reads and parses the credentials in secret `secret_id`.
pub async fn load_credentials<S: SecretSource>(
    source: &S,
    secret_id: &str,
) -> Result<Credentials, Error> {
    let secret = source.secret_string(secret_id).await?;
    Credentials::from_secret(secret_id, &secret)
}

pub use crate::aws::{CachedSecrets, SecretsManagerSource};
