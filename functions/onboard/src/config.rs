//! Configuration from the environment (read once in `main`).

use std::time::Duration;

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

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl OnboardConfig {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let mail_from = required(&var, "MAIL_FROM")?;
        if !is_email_shape(&mail_from) {
            return Err(ConfigError {
                name: "MAIL_FROM",
                problem: format!("{mail_from:?} is not an email address"),
            });
        }
        let admin_emails = list(&var, "ADMIN_EMAILS");
        if let Some(bad) = admin_emails.iter().find(|e| !is_email_shape(e)) {
            return Err(ConfigError {
                name: "ADMIN_EMAILS",
                problem: format!("{bad:?} is not an email address"),
            });
        }
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

/// A required variable's trimmed value.
pub fn required(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    match var(name).map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ConfigError {
            name,
            problem: "is required but not set".into(),
        }),
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`); `default` when unset.
pub fn flag(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => match v.as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError {
                name,
                problem: format!("{v:?} is not true or false"),
            }),
        },
    }
}

fn number(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match var(name).map(|v| v.trim().to_string()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError {
                name,
                problem: format!("{v:?} is not a positive whole number"),
            }),
        },
    }
}

/// A comma-separated list, blanks dropped.
pub fn list(var: &impl Fn(&str) -> Option<String>, name: &str) -> Vec<String> {
    var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
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
}
