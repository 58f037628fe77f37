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

    /// The settings when `ARCGIS_URL` is set (then `ARCGIS_SECRET_ID` is
    /// required); `None` for a function that also runs without ArcGIS (the
    /// export of another source).
    pub fn from_env_optional(env: &Env) -> Result<Option<Self>, ConfigError> {
        let url = env.optional_or("ARCGIS_URL", "(empty: no ArcGIS)");
        let secret_id = env.optional_or("ARCGIS_SECRET_ID", "(required with ARCGIS_URL)");
        let concurrency = env.count("ARCGIS_CONCURRENCY", DEFAULT_CONCURRENCY)?;
        if url.is_none() {
            if secret_id.is_some() {
                return Err(ConfigError::new(
                    "ARCGIS_URL",
                    "is required when ARCGIS_SECRET_ID is set",
                ));
            }
            return Ok(None);
        }
        Ok(Some(Self {
            url: env.service_url("ARCGIS_URL")?,
            secret_id: env.required("ARCGIS_SECRET_ID")?,
            concurrency,
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_org_is_none_without_a_url_and_needs_its_secret_with_one() {
        let none = ArcgisSettings::from_env_optional(&Env::from_pairs(&[])).unwrap();
        assert_eq!(none, None);
        let err = ArcgisSettings::from_env_optional(&Env::from_pairs(&[(
            "ARCGIS_SECRET_ID",
            "rollcall/arcgis",
        )]))
        .unwrap_err();
        assert_eq!(err.name, "ARCGIS_URL");
        let err = ArcgisSettings::from_env_optional(&Env::from_pairs(&[(
            "ARCGIS_URL",
            "https://example.maps.arcgis.com",
        )]))
        .unwrap_err();
        assert_eq!(err.name, "ARCGIS_SECRET_ID");
        let some = ArcgisSettings::from_env_optional(&Env::from_pairs(&[
            ("ARCGIS_URL", "https://example.maps.arcgis.com"),
            ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
            ("ARCGIS_CONCURRENCY", "4"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(some.concurrency, 4);
        assert_eq!(some.secret_id, "rollcall/arcgis");
    }
}
