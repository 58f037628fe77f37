//! Configuration from the environment (read once in `main`).

use std::time::Duration;

pub use connectors::config::{
    flag, is_email_shape, list, mail_settings, number, required, ConfigError,
};

/// What the onboard job needs to know beyond its input.
#[derive(Debug, Clone)]
pub struct OnboardConfig {
    /// Plan only: write the report, change nothing else.
    pub dry_run: bool,
    /// SES sender (a verified identity).
    pub mail_from: String,
    /// Where the summary goes; no mail when empty.
    pub admin_emails: Vec<String>,
    /// Group ids every new member joins.
    pub default_groups: Vec<String>,
    /// Portal calls in flight at once.
    pub concurrency: usize,
    /// Members per `portals/self/invite` call.
    pub invite_batch: usize,
    /// Stop starting new writes when less than this is left before the
    /// Lambda deadline, keeping time to rewrite the CSV and write the report.
    pub deadline_margin: Duration,
}

impl Default for OnboardConfig {
    fn default() -> Self {
        Self {
            dry_run: false,
            mail_from: String::new(),
            admin_emails: Vec::new(),
            default_groups: Vec::new(),
            concurrency: 8,
            invite_batch: 100,
            deadline_margin: Duration::from_secs(20),
        }
    }
}

impl OnboardConfig {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let (mail_from, admin_emails) = mail_settings(&var)?;
        Ok(Self {
            dry_run: flag(&var, "DRY_RUN", false)?,
            mail_from,
            admin_emails,
            default_groups: list(&var, "ARCGIS_DEFAULT_GROUPS"),
            concurrency: number(&var, "ARCGIS_CONCURRENCY", defaults.concurrency)?,
            invite_batch: number(&var, "ARCGIS_INVITE_BATCH", defaults.invite_batch)?,
            deadline_margin: Duration::from_secs(number(
                &var,
                "DEADLINE_MARGIN_SECONDS",
                defaults.deadline_margin.as_secs() as usize,
            )? as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_mail_from_names_the_variable() {
        let err = OnboardConfig::from_vars(vars(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAIL_FROM: is required but not set"
        );
    }

    #[test]
    fn lists_and_flags_are_parsed() {
        let config = OnboardConfig::from_vars(vars(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("ADMIN_EMAILS", " a@example.org, ,b@example.org"),
            ("DRY_RUN", "TRUE"),
            ("ARCGIS_DEFAULT_GROUPS", "g1,g2"),
        ]))
        .unwrap();
        assert!(config.dry_run);
        assert_eq!(config.admin_emails, ["a@example.org", "b@example.org"]);
        assert_eq!(config.default_groups, ["g1", "g2"]);
        let err = OnboardConfig::from_vars(vars(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("DRY_RUN", "maybe"),
        ]))
        .unwrap_err();
        assert_eq!(err.name, "DRY_RUN");
    }
}
