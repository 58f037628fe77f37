//! Reading the record a client sends to `person/save`: numbers may come as
//! strings (*teamworksams user_fetch.py* turns ids and counters into
//! strings before saving), dates as `yyyy-mm-dd` or `dd/mm/yyyy` (*create
//! cassette*; *smartabasepy internal_scripts README*), sex as a code or a
//! name. Every error is a message for the RPC-exception body.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::model::{
    type_code, PersonRecord, Sex, ADDRESS_TYPES, DEFAULT_LANGUAGE, NO_EXPIRY, PHONE_TYPES,
};

/// The id a save names: `None` for a new account (`"-1"`, `-1`, absent or `null`).
pub(crate) fn requested_id(person: &Map<String, Value>) -> Result<Option<i64>, String> {
    let id = match person.get("id") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => integer(v).ok_or_else(|| format!("Invalid id {v}"))?,
    };
    Ok((id != -1).then_some(id))
}

/// A date as `dd/mm/yyyy`, from `yyyy-mm-dd` or `dd/mm/yyyy`.
pub(crate) fn normalise_date(text: &str) -> Option<String> {
    let text = text.trim();
    ["%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .map(|date| date.format("%d/%m/%Y").to_string())
}

/// Applies the fields of `sent` to `record`. Fields the server manages
/// (`id`, `ownerId`, `admin`, `pending`, `__mtime__`) and unknown fields are
/// ignored; a field that is present replaces the record's value.
pub(crate) fn apply(record: &mut PersonRecord, sent: &Map<String, Value>) -> Result<(), String> {
    for (field, value) in sent {
        match field.as_str() {
            "active" => record.active = boolean(field, value)?,
            "sex" => record.sex = sex(value)?,
            "avatarId" => record.avatar_id = int_field(field, value)?,
            "organisationId" => record.organisation_id = int_field(field, value)?,
            "plan" => record.plan = int_field(field, value)?,
            "state" => record.state = int_field(field, value)?,
            "communicationPreferences" => record.communication_preferences = text(field, value)?,
            "emailAddress" => record.email_address = text(field, value)?,
            "firstName" => record.first_name = text(field, value)?,
            "knownAs" => record.known_as = text(field, value)?,
            "lastName" => record.last_name = text(field, value)?,
            "middleNames" => record.middle_names = text(field, value)?,
            "sidebarWidth" => record.sidebar_width = text(field, value)?,
            "skypeName" => record.skype_name = text(field, value)?,
            "timezone" => record.timezone = text(field, value)?,
            "uuid" => record.uuid = text(field, value)?,
            "username" => record.username = text(field, value)?.unwrap_or_default(),
            // *create cassette*: an empty language became "English".
            "language" => {
                record.language = text(field, value)?
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string())
            }
            "dateOfBirth" => record.date_of_birth = date_of_birth(value)?,
            "accountExpiration" => record.account_expiration = expiration(value)?,
            "phoneNumbers" => record.phone_numbers = typed_list(field, value, &PHONE_TYPES)?,
            "addresses" => record.addresses = typed_list(field, value, &ADDRESS_TYPES)?,
            "favoriteDashboards" => record.favorite_dashboards = value.clone(),
            "favoriteEvents" => record.favorite_events = value.clone(),
            "frontPageButtons" => record.front_page_buttons = value.clone(),
            _ => {}
        }
    }
    if record.username.trim().is_empty() {
        // [assumption] no source shows a save without a username.
        return Err("A username is required".into());
    }
    Ok(())
}

/// The password a save carries, if any (never stored in the record).
pub(crate) fn password(sent: &Map<String, Value>) -> Option<String> {
    sent.get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn int_field(field: &str, value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        v => integer(v).ok_or_else(|| format!("Invalid value {v} for {field}")),
    }
}

fn boolean(field: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        v => Err(format!("Invalid value {v} for {field}")),
    }
}

fn text(field: &str, value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        v => Err(format!("Invalid value {v} for {field}")),
    }
}

/// [assumption] `""` and `null` mean unspecified; only `Male` is recorded.
fn sex(value: &Value) -> Result<Sex, String> {
    let given = match value {
        Value::Null => return Ok(Sex::Unspecified),
        Value::String(s) if s.trim().is_empty() => return Ok(Sex::Unspecified),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        v => v.to_string(),
    };
    Sex::parse(&given).ok_or_else(|| format!("Invalid sex '{given}'"))
}

/// [assumption] `null` clears the date; any text must be a date (an empty
/// one included: no source shows what the service does with it).
fn date_of_birth(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => normalise_date(s).map(Some).ok_or_else(|| bad_date(s)),
        v => Err(bad_date(&v.to_string())),
    }
}

fn expiration(value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(NO_EXPIRY.to_string()),
        Value::String(s) if s.trim().is_empty() => Ok(NO_EXPIRY.to_string()),
        Value::String(s) => normalise_date(s).ok_or_else(|| bad_date(s)),
        v => Err(bad_date(&v.to_string())),
    }
}

fn bad_date(given: &str) -> String {
    format!("Invalid date '{given}': expected yyyy-mm-dd or dd/mm/yyyy")
}

/// A phone or address list with each `type` as its code (a name is accepted).
fn typed_list(
    field: &str,
    value: &Value,
    table: &[(i64, &str)],
) -> Result<Option<Vec<Map<String, Value>>>, String> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        v => return Err(format!("Invalid value {v} for {field}")),
    };
    items
        .iter()
        .map(|item| {
            let mut entry = item
                .as_object()
                .cloned()
                .ok_or_else(|| format!("Invalid entry {item} in {field}"))?;
            if let Some(t) = entry.get("type").cloned() {
                let code =
                    type_code(table, &t).ok_or_else(|| format!("Invalid type {t} in {field}"))?;
                entry.insert("type".into(), code.into());
            }
            Ok(entry)
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn new_accounts_are_minus_one_or_no_id() {
        assert_eq!(requested_id(&sent(json!({"id": "-1"}))), Ok(None));
        assert_eq!(requested_id(&sent(json!({"id": -1}))), Ok(None));
        assert_eq!(requested_id(&sent(json!({}))), Ok(None));
        assert_eq!(requested_id(&sent(json!({"id": "72827"}))), Ok(Some(72827)));
        assert!(requested_id(&sent(json!({"id": "x"}))).is_err());
    }

    #[test]
    fn dates_are_stored_day_first() {
        assert_eq!(normalise_date("2000-01-31").as_deref(), Some("31/01/2000"));
        assert_eq!(normalise_date("01/12/1990").as_deref(), Some("01/12/1990"));
        assert_eq!(normalise_date("1990-02-30"), None);
        assert_eq!(normalise_date("12/31/1990"), None);
        assert_eq!(normalise_date(""), None);
    }

    #[test]
    fn strings_stand_for_numbers_and_names_for_codes() {
        let mut r = PersonRecord::blank(1, 2, "u");
        apply(
            &mut r,
            &sent(json!({
                "state": "-1", "avatarId": "93831", "active": "false", "sex": "female",
                "phoneNumbers": [{"type": "MOBILE", "number": "1"}, {"type": 0, "number": "2"}],
            })),
        )
        .unwrap();
        assert_eq!((r.state, r.avatar_id, r.active), (-1, 93831, false));
        assert_eq!(r.sex, Sex::Female);
        let types: Vec<_> = r
            .phone_numbers
            .unwrap()
            .iter()
            .map(|p| p["type"].clone())
            .collect();
        assert_eq!(types, [json!(1), json!(0)]);
        assert!(apply(
            &mut PersonRecord::blank(1, 2, "u"),
            &sent(json!({"sex": "x"}))
        )
        .is_err());
        assert!(apply(
            &mut PersonRecord::blank(1, 2, "u"),
            &sent(json!({"username": ""}))
        )
        .is_err());
    }
}
