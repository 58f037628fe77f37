//! Where the ArcGIS org is and how to sign in to it: the part of a
//! function's configuration that owns the ArcGIS connection.

use super::{ArcgisClient, ArcgisOptions};
use crate::config::{ConfigError, Env};
use crate::secrets::{CredentialSource, SecretsManagerSource};
use crate::Error;

/// The default of `ARCGIS_CONCURRENCY`.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// `ARCGIS_URL`, `ARCGIS_SECRET_ID` and `ARCGIS_CONCURRENCY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcgisSettings {
    /// Portal root, e.g. `https://www.arcgis.com` or `https://gis.example.org/portal`.
    pub url: String,
    /// Secrets Manager secret holding `{"username","password"}` or app credentials.
    pub secret_id: String,
    /// Portal calls in flight at once.
    pub concurrency: usize,
}

impl ArcgisSettings {
    /// Settings for a portal at `url`, signing in with `secret_id`.
    pub fn new(url: impl Into<String>, secret_id: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret_id: secret_id.into(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.service_url("ARCGIS_URL")?,
            secret_id: env.required("ARCGIS_SECRET_ID")?,
            concurrency: env.count("ARCGIS_CONCURRENCY", DEFAULT_CONCURRENCY)?,
        })
    }

    /// The client for this org, its credentials read from the secret now
    /// (so a missing or malformed secret fails the cold start).
    pub async fn client(&self, secrets: SecretsManagerSource) -> Result<ArcgisClient, Error> {
        let credentials = CredentialSource::secret(secrets, &self.secret_id);
        credentials.current().await?;
        ArcgisClient::with_source(&self.url, credentials, ArcgisOptions::default())
    }

    /// The portal's sign-in page (the default link in member mails).
    pub fn sign_in_page(&self) -> String {
        format!("{}/home/signin.html", self.url.trim_end_matches('/'))
    }
}
