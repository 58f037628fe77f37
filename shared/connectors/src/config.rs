//! Reading a function's configuration from environment variables, with
//! errors that name the variable.

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
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

pub fn number(
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

/// `MAIL_FROM` (required, an address) and `ADMIN_EMAILS` (a comma list of
/// addresses, may be empty), as every function reads them.
pub fn mail_settings(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), ConfigError> {
    let mail_from = required(var, "MAIL_FROM")?;
    if !is_email_shape(&mail_from) {
        return Err(ConfigError {
            name: "MAIL_FROM",
            problem: format!("{mail_from:?} is not an email address"),
        });
    }
    let admin_emails = list(var, "ADMIN_EMAILS");
    if let Some(bad) = admin_emails.iter().find(|e| !is_email_shape(e)) {
        return Err(ConfigError {
            name: "ADMIN_EMAILS",
            problem: format!("{bad:?} is not an email address"),
        });
    }
    Ok((mail_from, admin_emails))
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
}
