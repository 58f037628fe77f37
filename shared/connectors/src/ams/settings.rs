//! Where the AMS site is and how to sign in to it: the part of a function's
//! configuration that owns the AMS connection.

use super::{AmsClient, AmsOptions};
use crate::config::{ConfigError, Env};
use crate::secrets::{CredentialSource, SecretsManagerSource};
use crate::Error;

/// The default of `AMS_CONCURRENCY`: AMS has no batch calls, so saves run
/// this many at once.
pub const DEFAULT_AMS_CONCURRENCY: usize = 8;

/// `AMS_URL`, `AMS_SECRET_ID` and `AMS_CONCURRENCY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmsSettings {
    /// The site URL, e.g. `https://example.smartabase.com/site`; its last
    /// path segment is the site name login needs.
    pub url: String,
    /// Secrets Manager secret holding `{"username","password"}`.
    pub secret_id: String,
    /// AMS calls in flight at once.
    pub concurrency: usize,
}

impl AmsSettings {
    /// Settings for the site at `url`, signing in with `secret_id`.
    pub fn new(url: impl Into<String>, secret_id: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret_id: secret_id.into(),
            concurrency: DEFAULT_AMS_CONCURRENCY,
        }
    }

    /// The settings when `AMS_URL` is set (then `AMS_SECRET_ID` is
    /// required); `None` for a deployment without AMS.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let url = env.optional_or("AMS_URL", "(empty: no AMS)");
        let secret_id = env.optional_or("AMS_SECRET_ID", "(required with AMS_URL)");
        let concurrency = env.count("AMS_CONCURRENCY", DEFAULT_AMS_CONCURRENCY)?;
        if url.is_none() {
            if secret_id.is_some() {
                return Err(ConfigError::new(
                    "AMS_URL",
                    "is required when AMS_SECRET_ID is set",
                ));
            }
            return Ok(None);
        }
        let url = env.service_url("AMS_URL")?;
        // Login needs the site name: the URL's last path segment.
        super::transport::site_of(&url)?;
        Ok(Some(Self {
            url,
            secret_id: env.required("AMS_SECRET_ID")?,
            concurrency,
        }))
    }

    /// The client for this site, its credentials read from the secret now
    /// (so a missing or malformed secret fails the cold start).
    pub async fn client(&self, secrets: SecretsManagerSource) -> Result<AmsClient, Error> {
        let credentials = CredentialSource::secret(secrets, &self.secret_id);
        credentials.current().await?;
        AmsClient::with_source(&self.url, credentials, AmsOptions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(url: &str) -> Result<Option<AmsSettings>, ConfigError> {
        let env = Env::from_fn(|name| match name {
            "AMS_URL" => Some(url.to_string()),
            "AMS_SECRET_ID" => Some("rollcall/ams".to_string()),
            _ => None,
        });
        AmsSettings::from_env(&env)
    }

    #[test]
    fn the_url_must_name_the_site() {
        let settings = read("https://example.smartabase.com/site")
            .unwrap()
            .unwrap();
        assert_eq!(settings.url, "https://example.smartabase.com/site");
        let error = read("https://example.smartabase.com/").unwrap_err();
        assert_eq!(error.name, "AMS_URL");
        assert!(error.problem.contains("has no site name"), "{error}");
    }
}
