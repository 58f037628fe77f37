//! How values are written in an export's cells.
//!
//! Spreadsheet safety and the round trip pull apart: a cell starting with
//! `=`, `+`, `-` or `@` runs as a formula when the CSV is opened in a
//! spreadsheet, and the usual cure, a leading `'`
//! ([`connectors::report::neutralise_formula`]), changes the value. So only
//! free text ([`text`]: names, titles, a language) is neutralised: text a
//! member may have typed, where a formula could hide, and which an update
//! does not match on. Identifiers (usernames, emails, ids, uuids, group
//! names and ids), dates, booleans, numbers and enumerations (role, user
//! type, sex) are written exactly as the service holds them, because an
//! update file finds the account by them and sends them back; the services
//! themselves restrict what such values may hold.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use connectors::report::neutralise_formula;

/// Free text: neutralised when a spreadsheet would run it as a formula.
pub fn text(value: &str) -> String {
    neutralise_formula(value)
}

/// `true` or `false`.
pub fn flag(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// A time in epoch milliseconds as ISO 8601 UTC (`2026-06-01T06:00:00Z`);
/// empty when there is none.
pub fn epoch_ms(value: Option<i64>) -> String {
    value
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// AMS's `dd/mm/yyyy` as `yyyy-mm-dd`, the form AMS takes on save; a
/// value in another form is left as it is.
pub fn ams_date(value: &str) -> String {
    NaiveDate::parse_from_str(value.trim(), "%d/%m/%Y")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| value.to_string())
}

/// An ArcGIS credit allocation as onboarding reads it back: `unlimited`
/// for `-1`, a whole number without a fraction, empty when the portal gave
/// none (ArcGIS Enterprise).
pub fn credits(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(n) if n < 0.0 => "unlimited".into(),
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        Some(n) => n.to_string(),
    }
}

/// Several values in one cell, separated by `;` (as onboarding's `groups`).
pub fn list<I, S>(values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    values
        .into_iter()
        .map(|v| v.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_free_text_is_neutralised() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("Ana"), "Ana");
    }

    #[test]
    fn times_dates_and_numbers_are_written_for_the_round_trip() {
        assert_eq!(epoch_ms(Some(1_780_293_600_000)), "2026-06-01T06:00:00Z");
        assert_eq!(epoch_ms(None), "");
        assert_eq!(ams_date("01/12/1990"), "1990-12-01");
        assert_eq!(ams_date("1990-12-01"), "1990-12-01");
        assert_eq!(ams_date("soon"), "soon");
        assert_eq!(ams_date(""), "");
        assert_eq!(credits(Some(-1.0)), "unlimited");
        assert_eq!(credits(Some(500.0)), "500");
        assert_eq!(credits(Some(12.5)), "12.5");
        assert_eq!(credits(None), "");
        assert_eq!(list(["a", "b"]), "a;b");
        assert_eq!(flag(false), "false");
    }
}
