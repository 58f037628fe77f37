//! The secret-source port (Secrets Manager) and the credential shapes.

mod cache;
mod manager;

use std::fmt;

pub use cache::{CachedSecrets, DEFAULT_SECRET_TTL};
pub use manager::SecretsManagerSource;

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

/// Where a service client gets the credentials it signs in with.
///
/// From a secret, they are read once per cold start and again once the
/// cache's TTL has passed (a rotated secret is picked up at the next sign-in),
/// and read afresh after the service refused them.
pub enum CredentialSource {
    /// Given once (local runs and tests); [`CredentialSource::replace`] swaps them.
    Fixed(std::sync::RwLock<Credentials>),
    /// Read from Secrets Manager through a TTL cache.
    Secret {
        cache: CachedSecrets<SecretsManagerSource>,
        secret_id: String,
    },
}

impl CredentialSource {
    /// Fixed credentials.
    pub fn fixed(credentials: Credentials) -> Self {
        Self::Fixed(std::sync::RwLock::new(credentials))
    }

    /// The credentials in `secret_id`, cached for [`DEFAULT_SECRET_TTL`].
    pub fn secret(source: SecretsManagerSource, secret_id: impl Into<String>) -> Self {
        Self::Secret {
            cache: CachedSecrets::new(source, DEFAULT_SECRET_TTL),
            secret_id: secret_id.into(),
        }
    }

    /// The credentials to sign in with now.
    pub async fn current(&self) -> Result<Credentials, Error> {
        match self {
            Self::Fixed(credentials) => Ok(credentials
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()),
            Self::Secret { cache, secret_id } => load_credentials(cache, secret_id).await,
        }
    }

    /// After the service refused `used`: credentials worth one more try (a
    /// secret rotated since it was cached), or `None`.
    pub async fn after_refusal(&self, used: &Credentials) -> Result<Option<Credentials>, Error> {
        match self {
            Self::Fixed(_) => Ok(None),
            Self::Secret { cache, secret_id } => {
                cache.invalidate(secret_id).await;
                let fresh = load_credentials(cache, secret_id).await?;
                Ok((fresh != *used).then_some(fresh))
            }
        }
    }

    /// Replaces fixed credentials (a no-op for a secret, which is re-read).
    pub fn replace(&self, credentials: Credentials) {
        if let Self::Fixed(current) = self {
            *current.write().unwrap_or_else(|e| e.into_inner()) = credentials;
        }
    }
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(_) => f.write_str("CredentialSource::Fixed(***)"),
            Self::Secret { secret_id, .. } => write!(f, "CredentialSource::Secret({secret_id})"),
        }
    }
}
