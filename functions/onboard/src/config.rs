//! The onboard function's configuration, read once at cold start.

use connectors::ams::AmsSettings;
use connectors::arcgis::ArcgisSettings;
use connectors::config::{Common, ConfigError, Env};
use connectors::inbox::InboxLimits;

/// The default of `ARCGIS_INVITE_BATCH`: what `portals/self/invite` takes.
pub const DEFAULT_INVITE_BATCH: usize = 100;

/// The default of `MAX_DELETES_PER_RUN`: the most `delete` rows one file
/// may hold before none of them is applied.
pub const DEFAULT_MAX_DELETES_PER_RUN: usize = 25;

/// What the onboard jobs need to know beyond their input.
#[derive(Debug, Clone)]
pub struct OnboardConfig {
    /// Dry run, mail, deadline margin.
    pub common: Common,
    /// The ArcGIS org and its connection; `None` when the deployment has no
    /// ArcGIS (`ARCGIS_URL` unset): `inbox/arcgis/` files are then left alone.
    pub arcgis: Option<ArcgisSettings>,
    /// The Teamworks AMS site and its connection; `None` when the deployment
    /// has no AMS (`AMS_URL` unset): `inbox/ams/` files are then left alone.
    pub ams: Option<AmsSettings>,
    /// Group ids every new ArcGIS member joins.
    pub default_groups: Vec<String>,
    /// Members per `portals/self/invite` call.
    pub invite_batch: usize,
    /// How large a file may be.
    pub limits: InboxLimits,
    /// A file with more `delete` rows than this deletes nobody.
    pub max_deletes_per_run: usize,
    /// Members whose role, user type and status no file changes and whom
    /// no file deletes (`PROTECTED_USERS`, as the sweep reads it).
    pub protected_users: Vec<String>,
}

impl OnboardConfig {
    /// Settings for the ArcGIS org at `arcgis` (no AMS) with every other
    /// value at its default.
    pub fn new(common: Common, arcgis: ArcgisSettings) -> Self {
        Self {
            arcgis: Some(arcgis),
            ..Self::without_systems(common)
        }
    }

    /// Settings for the AMS site at `ams` (no ArcGIS) with every other value
    /// at its default.
    pub fn for_ams(common: Common, ams: AmsSettings) -> Self {
        Self {
            ams: Some(ams),
            ..Self::without_systems(common)
        }
    }

    fn without_systems(common: Common) -> Self {
        Self {
            common,
            arcgis: None,
            ams: None,
            default_groups: Vec::new(),
            invite_batch: DEFAULT_INVITE_BATCH,
            limits: InboxLimits::default(),
            max_deletes_per_run: DEFAULT_MAX_DELETES_PER_RUN,
            protected_users: Vec::new(),
        }
    }

    /// Reads every variable the function uses; the error names the first
    /// one missing or malformed. At least one of `ARCGIS_URL` and `AMS_URL`
    /// must be set.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from_env(env, false)?;
        let arcgis = ArcgisSettings::from_env_optional(env)?;
        let ams = AmsSettings::from_env(env)?;
        if arcgis.is_none() && ams.is_none() {
            return Err(ConfigError::new(
                "ARCGIS_URL",
                "is required unless AMS_URL is set (onboard needs at least one system)",
            ));
        }
        Ok(Self {
            common,
            arcgis,
            ams,
            default_groups: env.list("ARCGIS_DEFAULT_GROUPS"),
            invite_batch: env.count("ARCGIS_INVITE_BATCH", DEFAULT_INVITE_BATCH)?,
            limits: InboxLimits::from_env(env)?,
            max_deletes_per_run: env.whole("MAX_DELETES_PER_RUN", DEFAULT_MAX_DELETES_PER_RUN)?,
            protected_users: env.list("PROTECTED_USERS"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_without_any_system_is_refused() {
        let err = OnboardConfig::from_env(&Env::from_pairs(&[("MAIL_FROM", "r@example.org")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ARCGIS_URL: is required unless AMS_URL is set (onboard needs at least one system)"
        );
    }

    #[test]
    fn arcgis_needs_its_secret() {
        let err = OnboardConfig::from_env(&Env::from_pairs(&[
            ("MAIL_FROM", "r@example.org"),
            ("ARCGIS_URL", "https://www.arcgis.com"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ARCGIS_SECRET_ID: is required but not set"
        );
    }

    #[test]
    fn lists_are_parsed_and_defaults_kept() {
        let config = OnboardConfig::from_env(&Env::from_pairs(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("ARCGIS_URL", "https://www.arcgis.com"),
            ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
            ("ARCGIS_DEFAULT_GROUPS", "g1, g2"),
        ]))
        .unwrap();
        assert_eq!(config.default_groups, ["g1", "g2"]);
        assert_eq!(config.invite_batch, DEFAULT_INVITE_BATCH);
        assert_eq!(config.max_deletes_per_run, 25);
        assert!(config.protected_users.is_empty());
        assert_eq!(config.arcgis.unwrap().concurrency, 8);
        assert!(config.ams.is_none());
        assert!(!config.common.dry_run);
    }

    #[test]
    fn an_ams_only_deployment_reads_the_ams_site() {
        let config = OnboardConfig::from_env(&Env::from_pairs(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("AMS_URL", "https://example.smartabase.com/site"),
            ("AMS_SECRET_ID", "rollcall/ams"),
            ("AMS_CONCURRENCY", "4"),
        ]))
        .unwrap();
        assert!(config.arcgis.is_none());
        let ams = config.ams.unwrap();
        assert_eq!(ams.url, "https://example.smartabase.com/site");
        assert_eq!(ams.concurrency, 4);
    }
}
