//! The configuration core: one reader of environment variables with one
//! parser per kind of value, and the [`Common`] section every function
//! embeds in its own configuration.
//!
//! Every variable is read through [`Env`] with its default in one place; the
//! reader remembers what it read, so a test can hold the README's tables
//! against the code ([`Env::uses`]).

use std::cell::RefCell;
use std::time::Duration;

use crate::metrics::Metrics;

/// A configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

/// One variable a configuration read, and its default as the README shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarUse {
    pub name: &'static str,
    /// `(required)`, `(empty)`, or the default value.
    pub default: String,
}

/// How [`Env`] finds a variable's value.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads environment variables through a lookup function (the process
/// environment in `main`, a map in tests).
pub struct Env<'a> {
    lookup: Lookup<'a>,
    uses: RefCell<Vec<VarUse>>,
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn process() -> Env<'static> {
        Env::from_fn(|name| std::env::var(name).ok())
    }

    /// Variables from `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
            uses: RefCell::new(Vec::new()),
        }
    }

    /// Variables from name/value pairs (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env<'static> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_fn(move |name| map.get(name).cloned())
    }

    /// Every variable read so far, in order, with its default.
    pub fn uses(&self) -> Vec<VarUse> {
        self.uses.borrow().clone()
    }

    fn note(&self, name: &'static str, default: impl Into<String>) {
        let mut uses = self.uses.borrow_mut();
        if !uses.iter().any(|u| u.name == name) {
            uses.push(VarUse {
                name,
                default: default.into(),
            });
        }
    }

    /// The trimmed value; `None` when unset or blank.
    fn value(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A required value.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.note(name, "(required)");
        self.value(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    /// An optional value; `None` when unset or blank.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.optional_or(name, "(empty)")
    }

    /// An optional value whose default the caller derives, described as
    /// `default` (for the README).
    pub fn optional_or(&self, name: &'static str, default: &str) -> Option<String> {
        self.note(name, default);
        self.value(name)
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.note(name, default.to_string());
        let Some(value) = self.value(name) else {
            return Ok(default);
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::new(
                name,
                format!("{value:?} is not true or false"),
            )),
        }
    }

    /// A positive whole number.
    pub fn count(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        self.note(name, default.to_string());
        let Some(value) = self.value(name) else {
            return Ok(default);
        };
        match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("{value:?} is not a positive whole number"),
            )),
        }
    }

    /// A whole number where 0 is allowed.
    pub fn whole(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        self.note(name, default.to_string());
        let Some(value) = self.value(name) else {
            return Ok(default);
        };
        value
            .parse::<usize>()
            .map_err(|_| ConfigError::new(name, format!("{value:?} is not a whole number")))
    }

    /// A positive number (fractions allowed).
    pub fn rate(&self, name: &'static str, default: f64) -> Result<f64, ConfigError> {
        self.note(name, default.to_string());
        let Some(value) = self.value(name) else {
            return Ok(default);
        };
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("{value:?} is not a positive number"),
            )),
        }
    }

    /// A whole number of seconds.
    pub fn seconds(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.whole(name, default.as_secs() as usize)
            .map(|s| Duration::from_secs(s as u64))
    }

    /// A comma-separated list, blanks dropped.
    pub fn list(&self, name: &'static str) -> Vec<String> {
        self.note(name, "(empty)");
        self.value(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A comma list of email addresses (may be empty).
    pub fn emails(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let addresses = self.list(name);
        match addresses.iter().find(|e| !is_email_shape(e)) {
            Some(bad) => Err(ConfigError::new(
                name,
                format!("{bad:?} is not an email address"),
            )),
            None => Ok(addresses),
        }
    }

    /// A required service URL: `https`, or `http` only to a loopback address
    /// (a local sandbox), so credentials never cross the network in the clear.
    pub fn service_url(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        let url = reqwest::Url::parse(&value)
            .map_err(|e| ConfigError::new(name, format!("{value:?} is not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::new(
                name,
                "must not carry credentials; they belong in the secret",
            ));
        }
        let loopback = match url.host_str() {
            Some(host) if host.eq_ignore_ascii_case("localhost") => true,
            Some(host) => host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            scheme => {
                return Err(ConfigError::new(
                    name,
                    format!("{value:?} must use https (got {scheme}; http is allowed only for a loopback address)"),
                ))
            }
        }
        Ok(value)
    }

    /// A required email address.
    pub fn email(&self, name: &'static str) -> Result<String, ConfigError> {
        let address = self.required(name)?;
        if is_email_shape(&address) {
            Ok(address)
        } else {
            Err(ConfigError::new(
                name,
                format!("{address:?} is not an email address"),
            ))
        }
    }
}

/// Where the admins' summary goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSettings {
    /// SES sender (a verified identity).
    pub from: String,
    /// Summary recipients; no summary mail when empty.
    pub admins: Vec<String>,
}

/// What every function shares: dry run, mail, and how close to the Lambda
/// deadline work may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// Plan only: report what would happen, change nothing.
    pub dry_run: bool,
    pub mail: MailSettings,
    /// Stop starting work when less than this is left before the Lambda
    /// deadline, keeping time to record, report and mail.
    pub deadline_margin: Duration,
    /// Where each run's metrics go (standard output in Lambda) and the
    /// clients whose calls they count.
    pub metrics: Metrics,
    /// How long the report links in the admins' mails download the report.
    pub report_links: ReportLinks,
}

/// `REPORT_LINK_DAYS` (1 to 7, default 7: SigV4 presigned links last at
/// most seven days) and the region (`AWS_REGION`) for S3 console links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLinks {
    pub days: u32,
    pub region: Option<String>,
}

/// The default of `REPORT_LINK_DAYS`.
pub const DEFAULT_REPORT_LINK_DAYS: usize = 7;

impl Default for ReportLinks {
    fn default() -> Self {
        Self {
            days: DEFAULT_REPORT_LINK_DAYS as u32,
            region: None,
        }
    }
}

impl ReportLinks {
    /// Reads `REPORT_LINK_DAYS` and `AWS_REGION`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let days = env.count("REPORT_LINK_DAYS", DEFAULT_REPORT_LINK_DAYS)?;
        if days > 7 {
            return Err(ConfigError::new(
                "REPORT_LINK_DAYS",
                format!("{days} is more than 7, the longest a presigned S3 link lasts"),
            ));
        }
        Ok(Self {
            days: days as u32,
            region: env.optional_or("AWS_REGION", "(set by Lambda)"),
        })
    }

    /// How long a link stays valid.
    pub fn valid(&self) -> Duration {
        Duration::from_secs(u64::from(self.days) * 24 * 3600)
    }
}

/// The default of `DEADLINE_MARGIN_SECONDS`.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(20);

impl Common {
    /// The settings with `dry_run` as given, no mail and the default margin.
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            mail: MailSettings::default(),
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
            metrics: Metrics::default(),
            report_links: ReportLinks::default(),
        }
    }

    /// Reads `DRY_RUN` (default `dry_run_default`: the sweep plans unless
    /// told otherwise), `MAIL_FROM`, `ADMIN_EMAILS` and
    /// `DEADLINE_MARGIN_SECONDS`.
    pub fn from_env(env: &Env, dry_run_default: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            dry_run: env.flag("DRY_RUN", dry_run_default)?,
            mail: MailSettings {
                from: env.email("MAIL_FROM")?,
                admins: env.emails("ADMIN_EMAILS")?,
            },
            deadline_margin: env.seconds("DEADLINE_MARGIN_SECONDS", DEFAULT_DEADLINE_MARGIN)?,
            metrics: Metrics::stdout(),
            report_links: ReportLinks::from_env(env)?,
        })
    }
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain,
/// no spaces or control characters.
pub fn is_email_shape(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && value.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && value.chars().all(|c| {
            !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | ',' | ';' | '"')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for good in ["a@b.org", "first.last+tag@sub.example.co.uk"] {
            assert!(is_email_shape(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.org",
            "a@@b.org",
            "a b@c.org",
            "a@b..org",
            "a@b.org\r\nBcc: x@y.org",
        ] {
            assert!(!is_email_shape(bad), "{bad}");
        }
    }

    #[test]
    fn common_settings_and_their_errors_name_the_variable() {
        let env = Env::from_pairs(&[]);
        assert_eq!(
            Common::from_env(&env, false).unwrap_err().to_string(),
            "environment variable MAIL_FROM: is required but not set"
        );
        let env = Env::from_pairs(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("ADMIN_EMAILS", " a@example.org, ,b@example.org"),
            ("DRY_RUN", "TRUE"),
            ("DEADLINE_MARGIN_SECONDS", "45"),
        ]);
        let common = Common::from_env(&env, false).unwrap();
        assert!(common.dry_run);
        assert_eq!(common.mail.admins, ["a@example.org", "b@example.org"]);
        assert_eq!(common.deadline_margin, Duration::from_secs(45));
        let env = Env::from_pairs(&[("MAIL_FROM", "rollcall@example.org"), ("DRY_RUN", "maybe")]);
        assert_eq!(Common::from_env(&env, false).unwrap_err().name, "DRY_RUN");
        let env = Env::from_pairs(&[("MAIL_FROM", "rollcall@example.org"), ("ADMIN_EMAILS", "x")]);
        assert_eq!(
            Common::from_env(&env, false).unwrap_err().name,
            "ADMIN_EMAILS"
        );
    }

    #[test]
    fn report_links_last_at_most_seven_days() {
        let env = Env::from_pairs(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("REPORT_LINK_DAYS", "8"),
        ]);
        assert_eq!(
            Common::from_env(&env, false).unwrap_err().name,
            "REPORT_LINK_DAYS"
        );
        let env = Env::from_pairs(&[
            ("MAIL_FROM", "rollcall@example.org"),
            ("REPORT_LINK_DAYS", "2"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let links = Common::from_env(&env, false).unwrap().report_links;
        assert_eq!(links.valid(), Duration::from_secs(2 * 24 * 3600));
        assert_eq!(links.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn the_reader_remembers_each_variable_and_its_default() {
        let env = Env::from_pairs(&[("MAIL_FROM", "rollcall@example.org")]);
        Common::from_env(&env, true).unwrap();
        let uses: Vec<(&str, String)> = env
            .uses()
            .into_iter()
            .map(|u| (u.name, u.default))
            .collect();
        assert_eq!(
            uses,
            [
                ("DRY_RUN", "true".to_string()),
                ("MAIL_FROM", "(required)".to_string()),
                ("ADMIN_EMAILS", "(empty)".to_string()),
                ("DEADLINE_MARGIN_SECONDS", "20".to_string()),
                ("REPORT_LINK_DAYS", "7".to_string()),
                ("AWS_REGION", "(set by Lambda)".to_string()),
            ]
        );
    }

    #[test]
    fn service_urls_are_https_or_loopback() {
        let env = Env::from_pairs(&[
            ("A", "https://www.arcgis.com"),
            ("B", "http://gis.example.org/portal"),
            ("C", "http://127.0.0.1:8080/portal"),
            ("D", "http://localhost:9/portal"),
            ("E", "https://admin:pw@gis.example.org"),
            ("F", "not a url"),
        ]);
        assert!(env.service_url("A").is_ok());
        assert!(env
            .service_url("B")
            .unwrap_err()
            .problem
            .contains("must use https"));
        assert!(env.service_url("C").is_ok() && env.service_url("D").is_ok());
        let e = env.service_url("E").unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(env.service_url("F").is_err());
    }

    #[test]
    fn numbers() {
        let env = Env::from_pairs(&[("A", "0"), ("B", "x"), ("C", "2.5")]);
        assert!(env.count("A", 8).is_err());
        assert_eq!(env.whole("A", 8), Ok(0));
        assert!(env.count("B", 8).is_err());
        assert_eq!(env.rate("C", 2.0), Ok(2.5));
        assert_eq!(env.count("D", 8), Ok(8));
    }
}
