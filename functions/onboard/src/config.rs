//! The onboard function's configuration, read once at cold start.

use connectors::arcgis::ArcgisSettings;
use connectors::config::{Common, ConfigError, Env};
use connectors::inbox::InboxLimits;

/// The default of `ARCGIS_INVITE_BATCH`: what `portals/self/invite` takes.
pub const DEFAULT_INVITE_BATCH: usize = 100;

/// What the onboard jobs need to know beyond their input.
#[derive(Debug, Clone)]
pub struct OnboardConfig {
    /// Dry run, mail, deadline margin.
    pub common: Common,
    /// The ArcGIS org and its connection.
    pub arcgis: ArcgisSettings,
    /// Group ids every new member joins.
    pub default_groups: Vec<String>,
    /// Members per `portals/self/invite` call.
    pub invite_batch: usize,
    /// How large a file may be.
    pub limits: InboxLimits,
}

impl OnboardConfig {
    /// Settings for the org at `arcgis` with every other value at its default.
    pub fn new(common: Common, arcgis: ArcgisSettings) -> Self {
        Self {
            common,
            arcgis,
            default_groups: Vec::new(),
            invite_batch: DEFAULT_INVITE_BATCH,
            limits: InboxLimits::default(),
        }
    }

    /// Reads every variable the function uses; the error names the first
    /// one missing or malformed.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: Common::from_env(env, false)?,
            arcgis: ArcgisSettings::from_env(env)?,
            default_groups: env.list("ARCGIS_DEFAULT_GROUPS"),
            invite_batch: env.count("ARCGIS_INVITE_BATCH", DEFAULT_INVITE_BATCH)?,
            limits: InboxLimits::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let err = OnboardConfig::from_env(&Env::from_pairs(&[("MAIL_FROM", "r@example.org")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ARCGIS_URL: is required but not set"
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
        assert_eq!(config.arcgis.concurrency, 8);
        assert!(!config.common.dry_run);
    }
}
