//! The sweep's configuration, read once in `main`.

use std::time::Duration;

use connectors::config::{flag, list, mail_settings, number, required, ConfigError};

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

impl Thresholds {
    /// Checks the thresholds make sense together.
    pub fn check(&self) -> Result<(), String> {
        if self.disable_after_days < self.notify_after_days {
            return Err(format!(
                "disable_after_days ({}) must not be below notify_after_days ({})",
                self.disable_after_days, self.notify_after_days
            ));
        }
        if self.notice_days == 0 {
            return Err("notice_days must be at least 1".into());
        }
        Ok(())
    }
}

/// Everything the sweep needs beyond its event.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Plan only (the default): report and summary, no member mail, no disable, no state change.
    pub dry_run: bool,
    pub mail_from: String,
    pub admin_emails: Vec<String>,
    /// Bucket for `reports/sweep/`, `state/sweep.json` and `templates/`.
    pub report_bucket: String,
    pub thresholds: Thresholds,
    /// Usernames never touched (compared case-insensitively).
    pub protected_users: Vec<String>,
    /// Group ids whose members are never touched.
    pub protected_groups: Vec<String>,
    /// Where members sign in to keep their account (shown in the warning).
    pub sign_in_url: String,
    /// Whom a member contacts (shown in the mails).
    pub support_contact: String,
    /// Member-list pages fetched at once.
    pub page_concurrency: usize,
    /// Member mails sent at once.
    pub mail_concurrency: usize,
    /// Stop starting work this long before the Lambda deadline.
    pub deadline_margin: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            dry_run: true,
            mail_from: String::new(),
            admin_emails: Vec::new(),
            report_bucket: String::new(),
            thresholds: Thresholds::default(),
            protected_users: Vec::new(),
            protected_groups: Vec::new(),
            sign_in_url: String::new(),
            support_contact: String::new(),
            page_concurrency: 16,
            mail_concurrency: 4,
            deadline_margin: Duration::from_secs(30),
        }
    }
}

impl SweepConfig {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let t = Thresholds::default();
        let (mail_from, admin_emails) = mail_settings(&var)?;
        let days = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            number(&var, name, default as usize).map(|n| n as u32)
        };
        let thresholds = Thresholds {
            notify_after_days: days("NOTIFY_AFTER_DAYS", t.notify_after_days)?,
            disable_after_days: days("DISABLE_AFTER_DAYS", t.disable_after_days)?,
            notice_days: days("NOTICE_DAYS", t.notice_days)?,
            new_account_grace_days: zero_or_number(
                &var,
                "NEW_ACCOUNT_GRACE_DAYS",
                t.new_account_grace_days as usize,
            )? as u32,
            max_disables_per_run: zero_or_number(
                &var,
                "MAX_DISABLES_PER_RUN",
                t.max_disables_per_run,
            )?,
        };
        thresholds.check().map_err(|problem| ConfigError {
            name: "DISABLE_AFTER_DAYS",
            problem,
        })?;
        Ok(Self {
            dry_run: flag(&var, "DRY_RUN", true)?,
            mail_from,
            admin_emails,
            report_bucket: required(&var, "REPORT_BUCKET")?,
            thresholds,
            protected_users: list(&var, "PROTECTED_USERS"),
            protected_groups: list(&var, "PROTECTED_GROUPS"),
            sign_in_url: var("SIGN_IN_URL").unwrap_or_default().trim().to_string(),
            support_contact: var("SUPPORT_CONTACT")
                .unwrap_or_default()
                .trim()
                .to_string(),
            page_concurrency: number(&var, "ARCGIS_CONCURRENCY", d.page_concurrency)?,
            mail_concurrency: d.mail_concurrency,
            deadline_margin: Duration::from_secs(number(
                &var,
                "DEADLINE_MARGIN_SECONDS",
                d.deadline_margin.as_secs() as usize,
            )? as u64),
        })
    }
}

/// A whole number where 0 is allowed (grace days, the disable cap).
fn zero_or_number(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match var(name).map(|v| v.trim().to_string()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| ConfigError {
            name,
            problem: format!("{v:?} is not a whole number"),
        }),
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
    fn defaults_are_dry_run_and_the_documented_thresholds() {
        let config = SweepConfig::from_vars(vars(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("REPORT_BUCKET", "b"),
        ]))
        .unwrap();
        assert!(config.dry_run);
        assert_eq!(config.thresholds, Thresholds::default());
    }

    #[test]
    fn thresholds_that_contradict_each_other_are_refused() {
        let err = SweepConfig::from_vars(vars(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("REPORT_BUCKET", "b"),
            ("NOTIFY_AFTER_DAYS", "90"),
            ("DISABLE_AFTER_DAYS", "60"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("must not be below notify_after_days"),
            "{err}"
        );
        let err =
            SweepConfig::from_vars(vars(&[("MAIL_FROM", "rollcall@example.org")])).unwrap_err();
        assert_eq!(err.name, "REPORT_BUCKET");
    }
}
