//! The function's configuration, read once in `main`.

use std::time::Duration;

use connectors::config::{flag, mail_settings, required, ConfigError};

/// Everything the job needs beyond its input.
#[derive(Debug, Clone)]
pub struct ProficiencyConfig {
    /// Plan only: report, no Connect writes, no CSV rewrite.
    pub dry_run: bool,
    pub mail_from: String,
    pub admin_emails: Vec<String>,
    pub instance_id: String,
    /// Requests a second for each Connect write operation (and SearchUsers);
    /// reads go at five times this.
    pub max_rps: f64,
    /// Most proficiencies an agent may hold (Connect's quota, 10 by default).
    pub quota: usize,
    /// Agents worked on at once; the rate limiters set the real pace.
    pub agent_concurrency: usize,
    /// Up to this many usernames are resolved with SearchUsers; more with
    /// one ListUsers scan.
    pub search_threshold: usize,
    /// Stop starting agents this long before the Lambda deadline.
    pub deadline_margin: Duration,
}

impl Default for ProficiencyConfig {
    fn default() -> Self {
        Self {
            dry_run: false,
            mail_from: String::new(),
            admin_emails: Vec::new(),
            instance_id: String::new(),
            max_rps: 2.0,
            quota: 10,
            agent_concurrency: 32,
            search_threshold: 4,
            deadline_margin: Duration::from_secs(20),
        }
    }
}

impl ProficiencyConfig {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let (mail_from, admin_emails) = mail_settings(&var)?;
        let max_rps = match var("CONNECT_MAX_RPS").map(|v| v.trim().to_string()) {
            None => d.max_rps,
            Some(v) if v.is_empty() => d.max_rps,
            Some(v) => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 => n,
                _ => {
                    return Err(ConfigError {
                        name: "CONNECT_MAX_RPS",
                        problem: format!("{v:?} is not a positive number"),
                    })
                }
            },
        };
        let quota = match var("CONNECT_PROFICIENCY_QUOTA").map(|v| v.trim().to_string()) {
            None => d.quota,
            Some(v) if v.is_empty() => d.quota,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError {
                    name: "CONNECT_PROFICIENCY_QUOTA",
                    problem: format!("{v:?} is not a positive whole number"),
                })?,
        };
        Ok(Self {
            dry_run: flag(&var, "DRY_RUN", false)?,
            mail_from,
            admin_emails,
            instance_id: required(&var, "CONNECT_INSTANCE_ID")?,
            max_rps,
            quota,
            ..d
        })
    }
}
