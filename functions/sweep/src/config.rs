//! The sweep's configuration, read once at cold start.

use connectors::arcgis::ArcgisSettings;
use connectors::config::{Common, ConfigError, Env};

/// When a member counts as inactive, and how far one run may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Inactive this many days: warned.
    pub notify_after_days: u32,
    /// Inactive this many days and warned at least `notice_days` ago: disabled.
    pub disable_after_days: u32,
    pub notice_days: u32,
    /// Accounts younger than this are never warned or disabled.
    pub new_account_grace_days: u32,
    /// More disables than this in one run trips the circuit breaker.
    pub max_disables_per_run: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            notify_after_days: 60,
            disable_after_days: 90,
            notice_days: 14,
            new_account_grace_days: 30,
            max_disables_per_run: 50,
        }
    }
}

/// Thresholds that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("disable_after_days ({disable}) must not be below notify_after_days ({notify})")]
    DisableBeforeNotify { disable: u32, notify: u32 },
    #[error("notice_days must be at least 1")]
    NoNotice,
}

impl Thresholds {
    /// Checks the thresholds make sense together.
    pub fn check(&self) -> Result<(), ThresholdError> {
        if self.disable_after_days < self.notify_after_days {
            return Err(ThresholdError::DisableBeforeNotify {
                disable: self.disable_after_days,
                notify: self.notify_after_days,
            });
        }
        if self.notice_days == 0 {
            return Err(ThresholdError::NoNotice);
        }
        Ok(())
    }

    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = Self::default();
        let days = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            env.count(name, default as usize).map(|n| n as u32)
        };
        let thresholds = Self {
            notify_after_days: days("NOTIFY_AFTER_DAYS", d.notify_after_days)?,
            disable_after_days: days("DISABLE_AFTER_DAYS", d.disable_after_days)?,
            notice_days: days("NOTICE_DAYS", d.notice_days)?,
            new_account_grace_days: env
                .whole("NEW_ACCOUNT_GRACE_DAYS", d.new_account_grace_days as usize)?
                as u32,
            max_disables_per_run: env.whole("MAX_DISABLES_PER_RUN", d.max_disables_per_run)?,
        };
        thresholds
            .check()
            .map_err(|e| ConfigError::new("DISABLE_AFTER_DAYS", e.to_string()))?;
        Ok(thresholds)
    }
}

/// What the sweep does to a member past the notice period (`SWEEP_ACTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepAction {
    /// Disable the account (the default).
    Disable,
    /// Keep the account and take back its paid licence.
    Downgrade(Downgrade),
}

/// What a downgrade changes a member to, as configured (checked against
/// the org by [`crate::reclaim::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downgrade {
    /// `DOWNGRADE_TO`: a user type id or name.
    pub to: String,
    /// `DOWNGRADE_ROLE`: a role id or name; `None` keeps the member's role,
    /// or gives Viewer when the type allows only view roles.
    pub role: Option<String>,
}

/// The user type a downgrade gives by default.
pub const DEFAULT_DOWNGRADE_TO: &str = "viewerUT";

impl SweepAction {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let action = env
            .optional_or("SWEEP_ACTION", "disable")
            .unwrap_or_else(|| "disable".into());
        let to = env
            .optional_or("DOWNGRADE_TO", DEFAULT_DOWNGRADE_TO)
            .unwrap_or_else(|| DEFAULT_DOWNGRADE_TO.into());
        let role = env.optional("DOWNGRADE_ROLE");
        match action.to_ascii_lowercase().as_str() {
            "disable" => Ok(SweepAction::Disable),
            "downgrade" => Ok(SweepAction::Downgrade(Downgrade { to, role })),
            _ => Err(ConfigError::new(
                "SWEEP_ACTION",
                format!("{action:?} is neither disable nor downgrade"),
            )),
        }
    }

    /// The configured downgrade, if the sweep downgrades.
    pub fn downgrade(&self) -> Option<&Downgrade> {
        match self {
            SweepAction::Disable => None,
            SweepAction::Downgrade(d) => Some(d),
        }
    }
}

/// Everything the sweep needs beyond its event.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Dry run (the sweep's default), mail, deadline margin.
    pub common: Common,
    /// The ArcGIS org and its connection.
    pub arcgis: ArcgisSettings,
    /// Bucket for `reports/sweep/`, `state/sweep.json`, `state/reclaimed.json`
    /// and `templates/`.
    pub report_bucket: String,
    pub thresholds: Thresholds,
    /// Disable, or downgrade, members past the notice period.
    pub action: SweepAction,
    /// Usernames never touched (compared case-insensitively).
    pub protected_users: Vec<String>,
    /// Group ids whose members are never touched.
    pub protected_groups: Vec<String>,
    /// Where members sign in to keep their account (shown in the warning).
    pub sign_in_url: String,
    /// Whom a member contacts (shown in the mails).
    pub support_contact: String,
    /// Member mails sent at once.
    pub mail_concurrency: usize,
}

impl SweepConfig {
    /// A live sweep of the org at `arcgis`, reporting into `report_bucket`,
    /// with every other value at its default.
    pub fn new(common: Common, arcgis: ArcgisSettings, report_bucket: impl Into<String>) -> Self {
        Self {
            sign_in_url: arcgis.sign_in_page(),
            support_contact: common.mail.admins.first().cloned().unwrap_or_default(),
            common,
            arcgis,
            report_bucket: report_bucket.into(),
            thresholds: Thresholds::default(),
            action: SweepAction::Disable,
            protected_users: Vec::new(),
            protected_groups: Vec::new(),
            mail_concurrency: 4,
        }
    }

    /// Reads every variable the function uses; the error names the first
    /// one missing or malformed.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from_env(env, true)?;
        let arcgis = ArcgisSettings::from_env(env)?;
        let report_bucket = env.required("REPORT_BUCKET")?;
        let mut config = Self::new(common, arcgis, report_bucket);
        config.thresholds = Thresholds::from_env(env)?;
        config.action = SweepAction::from_env(env)?;
        config.protected_users = env.list("PROTECTED_USERS");
        config.protected_groups = env.list("PROTECTED_GROUPS");
        if let Some(url) = env.optional_or("SIGN_IN_URL", "`$ARCGIS_URL/home/signin.html`") {
            config.sign_in_url = url;
        }
        if let Some(contact) = env.optional_or("SUPPORT_CONTACT", "the first of `ADMIN_EMAILS`") {
            config.support_contact = contact;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 4] = [
        ("MAIL_FROM", "rollcall@example.org"),
        ("REPORT_BUCKET", "b"),
        ("ARCGIS_URL", "https://example.maps.arcgis.com/"),
        ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
    ];

    #[test]
    fn defaults_are_dry_run_and_the_documented_thresholds() {
        let config = SweepConfig::from_env(&Env::from_pairs(&BASE)).unwrap();
        assert!(config.common.dry_run);
        assert_eq!(config.thresholds, Thresholds::default());
        assert_eq!(
            config.sign_in_url,
            "https://example.maps.arcgis.com/home/signin.html"
        );
    }

    #[test]
    fn thresholds_that_contradict_each_other_are_refused() {
        let mut vars = BASE.to_vec();
        vars.extend([("NOTIFY_AFTER_DAYS", "90"), ("DISABLE_AFTER_DAYS", "60")]);
        let err = SweepConfig::from_env(&Env::from_pairs(&vars)).unwrap_err();
        assert!(
            err.to_string()
                .contains("must not be below notify_after_days"),
            "{err}"
        );
        let err = SweepConfig::from_env(&Env::from_pairs(&BASE[..1])).unwrap_err();
        assert_eq!(err.name, "ARCGIS_URL");
    }

    #[test]
    fn the_action_is_disable_unless_downgrade_is_asked_for() {
        let config = SweepConfig::from_env(&Env::from_pairs(&BASE)).unwrap();
        assert_eq!(config.action, SweepAction::Disable);
        let mut vars = BASE.to_vec();
        vars.extend([("SWEEP_ACTION", "Downgrade"), ("DOWNGRADE_ROLE", "Viewer")]);
        let config = SweepConfig::from_env(&Env::from_pairs(&vars)).unwrap();
        assert_eq!(
            config.action,
            SweepAction::Downgrade(Downgrade {
                to: "viewerUT".into(),
                role: Some("Viewer".into())
            })
        );
        vars[4] = ("SWEEP_ACTION", "delete");
        let err = SweepConfig::from_env(&Env::from_pairs(&vars)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable SWEEP_ACTION: \"delete\" is neither disable nor downgrade"
        );
    }
}
