//! The proficiency function's configuration, read once at cold start.

use connectors::config::{Common, ConfigError, Env};
use connectors::connect::ConnectSettings;
use connectors::inbox::InboxLimits;

/// The default of `CONNECT_PROFICIENCY_QUOTA`: Connect's default per-agent quota.
pub const DEFAULT_QUOTA: usize = 10;

/// Everything the job needs beyond its input.
#[derive(Debug, Clone)]
pub struct ProficiencyConfig {
    /// Dry run, mail, deadline margin.
    pub common: Common,
    /// The Connect instance and the pace of calls to it.
    pub connect: ConnectSettings,
    /// Most proficiencies an agent may hold.
    pub quota: usize,
    /// Agents worked on at once; the rate limiters set the real pace.
    pub agent_concurrency: usize,
    /// Up to this many usernames are resolved with SearchUsers; more with
    /// one ListUsers scan.
    pub search_threshold: usize,
    /// How large a file may be.
    pub limits: InboxLimits,
}

impl ProficiencyConfig {
    /// Settings for `connect` with every other value at its default.
    pub fn new(common: Common, connect: ConnectSettings) -> Self {
        Self {
            common,
            connect,
            quota: DEFAULT_QUOTA,
            agent_concurrency: 32,
            search_threshold: 4,
            limits: InboxLimits::default(),
        }
    }

    /// Reads every variable the function uses; the error names the first
    /// one missing or malformed.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = Common::from_env(env, false)?;
        let connect = ConnectSettings::from_env(env)?;
        Ok(Self {
            quota: env.count("CONNECT_PROFICIENCY_QUOTA", DEFAULT_QUOTA)?,
            limits: InboxLimits::from_env(env)?,
            ..Self::new(common, connect)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_quota_are_checked() {
        let base = [
            ("MAIL_FROM", "rollcall@example.org"),
            ("CONNECT_INSTANCE_ID", "i-1"),
        ];
        let config = ProficiencyConfig::from_env(&Env::from_pairs(&base)).unwrap();
        assert_eq!((config.connect.max_rps, config.quota), (2.0, 10));
        let mut bad = base.to_vec();
        bad.push(("CONNECT_MAX_RPS", "0"));
        let err = ProficiencyConfig::from_env(&Env::from_pairs(&bad)).unwrap_err();
        assert_eq!(err.name, "CONNECT_MAX_RPS");
    }
}
