//! The console event: which source, what, and an optional filter.
//!
//! ```json
//! {"source": "arcgis", "what": "users", "filter": {"role": "Publisher", "disabled": false}}
//! ```
//!
//! Every key is checked: a misspelt key, source, kind or filter key is
//! refused naming it, so an export never silently ignores what was asked.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Where the accounts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Arcgis,
    Ams,
}

impl Source {
    /// The name events and object keys use.
    pub fn name(self) -> &'static str {
        match self {
            Source::Arcgis => "arcgis",
            Source::Ams => "ams",
        }
    }
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Users,
    Groups,
}

impl What {
    /// The name events and object keys use.
    pub fn name(self) -> &'static str {
        match self {
            What::Users => "users",
            What::Groups => "groups",
        }
    }
}

/// Which ArcGIS members an export keeps (every one given must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArcgisFilter {
    /// A role id or name, as onboarding takes it.
    pub role: Option<String>,
    /// A user type id or name, as onboarding takes it.
    pub user_type: Option<String>,
    /// A group id.
    pub group: Option<String>,
    pub disabled: Option<bool>,
}

/// Which AMS users an export keeps (every one given must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmsFilter {
    pub username: Option<String>,
    pub email: Option<String>,
    /// A group name.
    pub group: Option<String>,
}

/// One export, as the event asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    ArcgisUsers(ArcgisFilter),
    ArcgisGroups,
    AmsUsers(AmsFilter),
    AmsGroups,
}

impl Export {
    pub fn source(&self) -> Source {
        match self {
            Export::ArcgisUsers(_) | Export::ArcgisGroups => Source::Arcgis,
            Export::AmsUsers(_) | Export::AmsGroups => Source::Ams,
        }
    }

    pub fn what(&self) -> What {
        match self {
            Export::ArcgisUsers(_) | Export::AmsUsers(_) => What::Users,
            Export::ArcgisGroups | Export::AmsGroups => What::Groups,
        }
    }
}

/// An event the export does not take, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEvent(pub String);

const KEYS: &str = "source, what and filter";
const ARCGIS_FILTER_KEYS: &str = "role, user_type, group, disabled";
const AMS_FILTER_KEYS: &str = "username, email, group";

/// Reads a console event.
pub fn parse(event: &Value) -> Result<Export, InvalidEvent> {
    let fail = |message: String| Err(InvalidEvent(message));
    let Some(object) = event.as_object() else {
        return fail(format!(
            "an export event is a JSON object with {KEYS}, not {}",
            kind(event)
        ));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["source", "what", "filter"].contains(&k.as_str()))
    {
        return fail(format!("unknown key {key:?} (an export event has {KEYS})"));
    }
    let source = match required_text(object, "source")?.as_str() {
        "arcgis" => Source::Arcgis,
        "ams" => Source::Ams,
        other => return fail(format!("source {other:?} is not arcgis or ams")),
    };
    let what = match required_text(object, "what")?.as_str() {
        "users" => What::Users,
        "groups" => What::Groups,
        other => return fail(format!("what {other:?} is not users or groups")),
    };
    let filter = match object.get("filter") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(filter)) => filter.clone(),
        Some(other) => return fail(format!("filter must be a JSON object, not {}", kind(other))),
    };
    if what == What::Groups {
        if let Some(key) = filter.keys().next() {
            return fail(format!(
                "filter key {key:?}: a groups export takes no filter"
            ));
        }
        return Ok(match source {
            Source::Arcgis => Export::ArcgisGroups,
            Source::Ams => Export::AmsGroups,
        });
    }
    match source {
        Source::Arcgis => arcgis_filter(&filter).map(Export::ArcgisUsers),
        Source::Ams => ams_filter(&filter).map(Export::AmsUsers),
    }
}

fn arcgis_filter(filter: &Map<String, Value>) -> Result<ArcgisFilter, InvalidEvent> {
    let mut out = ArcgisFilter::default();
    for (key, value) in filter {
        match key.as_str() {
            "role" => out.role = Some(filter_text(key, value)?),
            "user_type" => out.user_type = Some(filter_text(key, value)?),
            "group" => out.group = Some(filter_text(key, value)?),
            "disabled" => out.disabled = Some(filter_flag(key, value)?),
            _ => {
                return Err(InvalidEvent(format!(
                    "filter key {key:?} is not an ArcGIS filter (use {ARCGIS_FILTER_KEYS})"
                )))
            }
        }
    }
    Ok(out)
}

fn ams_filter(filter: &Map<String, Value>) -> Result<AmsFilter, InvalidEvent> {
    let mut out = AmsFilter::default();
    for (key, value) in filter {
        match key.as_str() {
            "username" => out.username = Some(filter_text(key, value)?),
            "email" => out.email = Some(filter_text(key, value)?),
            "group" => out.group = Some(filter_text(key, value)?),
            _ => {
                return Err(InvalidEvent(format!(
                    "filter key {key:?} is not an AMS filter (use {AMS_FILTER_KEYS})"
                )))
            }
        }
    }
    Ok(out)
}

fn required_text(object: &Map<String, Value>, key: &str) -> Result<String, InvalidEvent> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_ascii_lowercase()),
        None | Some(Value::Null) => Err(InvalidEvent(format!("{key} is required"))),
        Some(other) => Err(InvalidEvent(format!(
            "{key} must be a non-empty string, not {}",
            kind(other)
        ))),
    }
}

fn filter_text(key: &str, value: &Value) -> Result<String, InvalidEvent> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        other => Err(InvalidEvent(format!(
            "filter {key} must be a non-empty string, not {}",
            kind(other)
        ))),
    }
}

fn filter_flag(key: &str, value: &Value) -> Result<bool, InvalidEvent> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(InvalidEvent(format!(
            "filter {key} must be true or false, not {}",
            kind(other)
        ))),
    }
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `exports/<source>-<what>-<yyyymmddThhmmssZ>.csv`, at `at` in UTC.
pub fn export_key(source: Source, what: What, at: DateTime<Utc>) -> String {
    format!(
        "exports/{}-{}-{}.csv",
        source.name(),
        what.name(),
        at.format("%Y%m%dT%H%M%SZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(event: Value) -> String {
        parse(&event).unwrap_err().0
    }

    #[test]
    fn events_name_a_source_what_and_an_optional_filter() {
        assert_eq!(
            parse(&json!({"source": "arcgis", "what": "users"})).unwrap(),
            Export::ArcgisUsers(ArcgisFilter::default())
        );
        assert_eq!(
            parse(&json!({"source": "ARCGIS", "what": "users", "filter":
                {"role": "Publisher", "user_type": "creatorUT", "group": "g1", "disabled": "true"}}))
            .unwrap(),
            Export::ArcgisUsers(ArcgisFilter {
                role: Some("Publisher".into()),
                user_type: Some("creatorUT".into()),
                group: Some("g1".into()),
                disabled: Some(true),
            })
        );
        assert_eq!(
            parse(&json!({"source": "ams", "what": "users", "filter": {"group": "Squad A"}}))
                .unwrap(),
            Export::AmsUsers(AmsFilter {
                group: Some("Squad A".into()),
                ..AmsFilter::default()
            })
        );
        assert_eq!(
            parse(&json!({"source": "ams", "what": "groups", "filter": null})).unwrap(),
            Export::AmsGroups
        );
    }

    #[test]
    fn every_mistake_names_the_key() {
        assert_eq!(
            error(json!({"source": "arcgis", "what": "users", "dry_run": true})),
            "unknown key \"dry_run\" (an export event has source, what and filter)"
        );
        assert_eq!(
            error(json!({"source": "sap", "what": "users"})),
            "source \"sap\" is not arcgis or ams"
        );
        assert_eq!(
            error(json!({"source": "ams", "what": "roles"})),
            "what \"roles\" is not users or groups"
        );
        assert_eq!(error(json!({"what": "users"})), "source is required");
        assert_eq!(
            error(json!({"source": "ams", "what": "users", "filter": {"role": "x"}})),
            "filter key \"role\" is not an AMS filter (use username, email, group)"
        );
        assert_eq!(
            error(json!({"source": "arcgis", "what": "users", "filter": {"email": "x"}})),
            "filter key \"email\" is not an ArcGIS filter (use role, user_type, group, disabled)"
        );
        assert_eq!(
            error(json!({"source": "arcgis", "what": "users", "filter": {"disabled": "no"}})),
            "filter disabled must be true or false, not \"no\""
        );
        assert_eq!(
            error(json!({"source": "arcgis", "what": "groups", "filter": {"role": "x"}})),
            "filter key \"role\": a groups export takes no filter"
        );
        assert_eq!(
            error(json!([1])),
            "an export event is a JSON object with source, what and filter, not a list"
        );
    }

    #[test]
    fn keys_are_stamped_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T16:30:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            export_key(Source::Ams, What::Users, at),
            "exports/ams-users-20261202T153000Z.csv"
        );
    }
}
