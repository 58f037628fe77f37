//! The full person record of `person/get` and `person/save`, kept whole so
//! an update sends back every field it does not change.

use std::fmt;

use serde_json::{Map, Value};

/// A full person record. The record is kept as the service sent it (fields
/// rollcall does not know included), because `person/save` replaces the
/// stored record with the one sent: an edit is read, change, write back.
///
/// Its `Debug` never shows a password.
#[derive(Clone, PartialEq, Default)]
pub struct Person {
    fields: Map<String, Value>,
}

/// The record fields an AMS file can set, by the column names admins know
/// from `teamworksams`.
pub const FIELDS: [(&str, &str); 13] = [
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("username", "username"),
    ("email", "emailAddress"),
    ("dob", "dateOfBirth"),
    ("password", "password"),
    ("active", "active"),
    ("uuid", "uuid"),
    ("known_as", "knownAs"),
    ("middle_names", "middleNames"),
    ("language", "language"),
    ("sidebar_width", "sidebarWidth"),
    ("sex", "sex"),
];

/// The record field behind a column name of [`FIELDS`].
pub fn field_of(column: &str) -> Option<&'static str> {
    FIELDS.iter().find(|(c, _)| *c == column).map(|(_, f)| *f)
}

impl Person {
    /// A record for a new account (`id` `-1`).
    pub fn new_account() -> Self {
        let mut person = Self::default();
        person.set("id", Value::String("-1".into()));
        person
    }

    /// A record as the service sent it.
    pub fn from_fields(fields: Map<String, Value>) -> Self {
        Self { fields }
    }

    /// The record as it is sent.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The account id; `None` for a new account. Numbers may come as strings.
    pub fn id(&self) -> Option<i64> {
        let id = match self.fields.get("id")? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (id >= 0).then_some(id)
    }

    /// A field as text: strings as they are, numbers and booleans written
    /// out, `null` and absent as empty.
    pub fn text(&self, field: &str) -> String {
        match self.fields.get(field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// `active`, when the record says (a boolean, or `"true"`/`"false"`).
    pub fn active(&self) -> Option<bool> {
        match self.fields.get("active")? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// [`Sex`] of the record (`"0"`, `"1"`, `"2"` or a name), when known.
    pub fn sex(&self) -> Option<Sex> {
        Sex::parse(&self.text("sex"))
    }

    /// Sets a field.
    pub fn set(&mut self, field: &str, value: Value) {
        self.fields.insert(field.to_string(), value);
    }

    /// Sets a text field.
    pub fn set_text(&mut self, field: &str, value: impl Into<String>) {
        self.set(field, Value::String(value.into()));
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.fields {
            if key.eq_ignore_ascii_case("password") {
                map.entry(key, &"***");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

/// Sex as AMS keeps it: `"0"`/`"1"`/`"2"` in person records,
/// `MALE`/`FEMALE`/`UNSPECIFIED` in searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
    Unspecified,
}

impl Sex {
    /// Reads a name (any case) or a person-record code.
    pub fn parse(value: &str) -> Option<Sex> {
        match value.trim().to_ascii_lowercase().as_str() {
            "male" | "0" => Some(Sex::Male),
            "female" | "1" => Some(Sex::Female),
            "unspecified" | "2" => Some(Sex::Unspecified),
            _ => None,
        }
    }

    /// The name searches use (`MALE`), which files and exports show.
    pub fn name(self) -> &'static str {
        match self {
            Sex::Male => "MALE",
            Sex::Female => "FEMALE",
            Sex::Unspecified => "UNSPECIFIED",
        }
    }

    /// The code person records store (`"0"`).
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "0",
            Sex::Female => "1",
            Sex::Unspecified => "2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_may_be_strings_and_new_accounts_have_none() {
        let person = |v: Value| Person::from_fields(v.as_object().unwrap().clone());
        assert_eq!(person(serde_json::json!({"id": 72827})).id(), Some(72827));
        assert_eq!(person(serde_json::json!({"id": "72827"})).id(), Some(72827));
        assert_eq!(Person::new_account().id(), None);
    }

    #[test]
    fn debug_hides_the_password() {
        let mut person = Person::new_account();
        person.set_text("password", "Sup3r$ecret");
        person.set_text("username", "riley");
        let shown = format!("{person:?}");
        assert!(!shown.contains("Sup3r$ecret"), "{shown}");
        assert!(shown.contains("riley"));
    }

    #[test]
    fn sex_reads_names_and_codes() {
        assert_eq!(Sex::parse("Male"), Some(Sex::Male));
        assert_eq!(Sex::parse("FEMALE"), Some(Sex::Female));
        assert_eq!(Sex::parse("2"), Some(Sex::Unspecified));
        assert_eq!(Sex::parse("x"), None);
    }
}
