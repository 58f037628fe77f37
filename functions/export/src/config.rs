//! The export's configuration, read once at cold start, and the sources it
//! builds from it.
//!
//! The export sends no mail and changes nothing, so it reads neither
//! `MAIL_FROM` nor `DRY_RUN`: of the shared settings only
//! `DEADLINE_MARGIN_SECONDS`. Each source is optional; at least one must be
//! configured.

use std::time::Duration;

use connectors::ams::{AmsClient, AmsSettings};
use connectors::arcgis::{ArcgisClient, ArcgisSettings};
use connectors::config::{ConfigError, Env, DEFAULT_DEADLINE_MARGIN};
use connectors::metrics::{ApiMeter, Metrics};
use connectors::secrets::SecretsManagerSource;
use connectors::Error;

/// Everything the export needs beyond its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// Bucket the CSVs go to, under `exports/`.
    pub report_bucket: String,
    /// The ArcGIS org, when configured.
    pub arcgis: Option<ArcgisSettings>,
    /// The AMS site, when configured.
    pub ams: Option<AmsSettings>,
    /// Stop starting work this long before the Lambda deadline.
    pub deadline_margin: Duration,
    /// Where each run's metrics go (standard output in Lambda) and the
    /// clients whose calls they count.
    pub metrics: Metrics,
}

impl ExportConfig {
    /// An export to `report_bucket` with no source yet.
    pub fn new(report_bucket: impl Into<String>) -> Self {
        Self {
            report_bucket: report_bucket.into(),
            arcgis: None,
            ams: None,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
            metrics: Metrics::default(),
        }
    }

    /// Reads every variable the function uses; the error names the first
    /// one missing or malformed.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let report_bucket = env.required("REPORT_BUCKET")?;
        let arcgis = ArcgisSettings::from_env_optional(env)?;
        let ams = AmsSettings::from_env(env)?;
        let deadline_margin = env.seconds("DEADLINE_MARGIN_SECONDS", DEFAULT_DEADLINE_MARGIN)?;
        if arcgis.is_none() && ams.is_none() {
            return Err(ConfigError::new(
                "ARCGIS_URL",
                "neither ARCGIS_URL nor AMS_URL is set: the export needs at least one source",
            ));
        }
        Ok(Self {
            report_bucket,
            arcgis,
            ams,
            deadline_margin,
            metrics: Metrics::stdout(),
        })
    }

    /// The clients of the configured sources, their credentials read from
    /// their secrets now (so a missing or malformed secret fails the cold
    /// start).
    pub async fn sources(
        &self,
        secrets: SecretsManagerSource,
    ) -> Result<Sources<ArcgisClient, AmsClient>, Error> {
        let arcgis = match &self.arcgis {
            Some(settings) => Some(settings.client(secrets.clone()).await?),
            None => None,
        };
        let ams = match &self.ams {
            Some(settings) => Some(settings.client(secrets).await?),
            None => None,
        };
        Ok(Sources { arcgis, ams })
    }
}

impl Sources<ArcgisClient, AmsClient> {
    /// The call counters of the sources' clients.
    pub fn api_meters(&self) -> Vec<ApiMeter> {
        let arcgis = self.arcgis.as_ref().map(ArcgisClient::api_meter);
        let ams = self.ams.as_ref().map(AmsClient::api_meter);
        arcgis.into_iter().chain(ams).collect()
    }
}

/// The systems an export reads: an ArcGIS org and an AMS site, each present
/// only when configured.
pub struct Sources<A, M> {
    pub arcgis: Option<A>,
    pub ams: Option<M>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_source_alone_will_do_but_one_is_needed() {
        let arcgis_only = ExportConfig::from_env(&Env::from_pairs(&[
            ("REPORT_BUCKET", "b"),
            ("ARCGIS_URL", "https://example.maps.arcgis.com"),
            ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
        ]))
        .unwrap();
        assert!(arcgis_only.arcgis.is_some() && arcgis_only.ams.is_none());
        let ams_only = ExportConfig::from_env(&Env::from_pairs(&[
            ("REPORT_BUCKET", "b"),
            ("AMS_URL", "https://example.smartabase.com/site"),
            ("AMS_SECRET_ID", "rollcall/ams"),
            ("DEADLINE_MARGIN_SECONDS", "30"),
        ]))
        .unwrap();
        assert!(ams_only.arcgis.is_none() && ams_only.ams.is_some());
        assert_eq!(ams_only.deadline_margin, Duration::from_secs(30));
        let neither = ExportConfig::from_env(&Env::from_pairs(&[("REPORT_BUCKET", "b")]));
        assert_eq!(neither.unwrap_err().name, "ARCGIS_URL");
        let no_bucket = ExportConfig::from_env(&Env::from_pairs(&[]));
        assert_eq!(no_bucket.unwrap_err().name, "REPORT_BUCKET");
    }

    #[test]
    fn no_mail_and_no_dry_run_are_read() {
        let env = Env::from_pairs(&[
            ("REPORT_BUCKET", "b"),
            ("AMS_URL", "https://example.smartabase.com/site"),
            ("AMS_SECRET_ID", "rollcall/ams"),
        ]);
        ExportConfig::from_env(&env).unwrap();
        let read: Vec<&str> = env.uses().iter().map(|u| u.name).collect();
        assert!(
            !read.contains(&"MAIL_FROM") && !read.contains(&"DRY_RUN"),
            "{read:?}"
        );
    }
}
