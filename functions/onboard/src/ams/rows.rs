//! The AMS file: its columns (the names admins know from `teamworksams`),
//! the `action` column, and the check of every row before any call.

use chrono::{NaiveDate, Utc};
use connectors::ams::Sex;
use connectors::config::is_email_shape;
use connectors::csvfile::{normalize_header, Column, ColumnMap, Row};
use connectors::inbox::FieldProblem;
use connectors::secrets::SecretString;

/// The columns an AMS file may have. Names match case-insensitively with
/// spaces, `_` and `-` ignored. Which are required depends on each row's
/// action, so the header needs none.
pub const COLUMNS: &[Column] = &[
    Column::optional("action", &[]),
    Column::optional("user_id", &["userid", "id"]),
    Column::optional("first_name", &["givenname"]),
    Column::optional("last_name", &["surname", "familyname"]),
    Column::optional("username", &["user", "login"]),
    Column::optional("email", &["emailaddress", "mail"]),
    Column::optional("dob", &["dateofbirth", "birthdate"]),
    Column::optional("password", &[]),
    Column::optional("active", &[]),
    Column::optional("uuid", &[]),
    Column::optional("known_as", &[]),
    Column::optional("middle_names", &["middlename"]),
    Column::optional("language", &[]),
    Column::optional("sidebar_width", &[]),
    Column::optional("sex", &["gender"]),
    Column::optional("clear", &[]),
    Column::optional(GROUPS, &["group"]),
];

/// A column an export writes that AMS files take but ignore: AMS has no
/// call that assigns groups.
pub const GROUPS: &str = "groups";

/// A field of an AMS account a file can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    FirstName,
    LastName,
    Username,
    Email,
    Dob,
    Password,
    Active,
    Uuid,
    KnownAs,
    MiddleNames,
    Language,
    SidebarWidth,
    Sex,
}

impl Field {
    /// Every field, in the order of the file's columns.
    pub const ALL: [Field; 13] = [
        Field::FirstName,
        Field::LastName,
        Field::Username,
        Field::Email,
        Field::Dob,
        Field::Password,
        Field::Active,
        Field::Uuid,
        Field::KnownAs,
        Field::MiddleNames,
        Field::Language,
        Field::SidebarWidth,
        Field::Sex,
    ];

    /// The column name.
    pub fn column(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Username => "username",
            Field::Email => "email",
            Field::Dob => "dob",
            Field::Password => "password",
            Field::Active => "active",
            Field::Uuid => "uuid",
            Field::KnownAs => "known_as",
            Field::MiddleNames => "middle_names",
            Field::Language => "language",
            Field::SidebarWidth => "sidebar_width",
            Field::Sex => "sex",
        }
    }

    /// The person record's field.
    pub fn record_field(self) -> &'static str {
        connectors::ams::field_of(self.column()).unwrap_or("")
    }

    /// What an account must have: a `create` row needs these, and `clear`
    /// cannot blank them.
    pub fn required(self) -> bool {
        matches!(
            self,
            Field::FirstName
                | Field::LastName
                | Field::Username
                | Field::Email
                | Field::Dob
                | Field::Password
                | Field::Active
        )
    }

    fn parse_name(name: &str) -> Option<Field> {
        let key = normalize_header(name);
        Field::ALL
            .into_iter()
            .find(|f| normalize_header(f.column()) == key)
    }
}

/// A checked value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Date(NaiveDate),
    Flag(bool),
    Sex(Sex),
    Secret(SecretString),
}

/// How an `update` row finds its account: the first non-empty of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    UserId(i64),
    Uuid(String),
    Username(String),
    Email(String),
}

impl Key {
    /// The column the key came from (the report names it).
    pub fn column(&self) -> &'static str {
        match self {
            Key::UserId(_) => "user_id",
            Key::Uuid(_) => "uuid",
            Key::Username(_) => "username",
            Key::Email(_) => "email",
        }
    }

    /// The field the key is, which the row never changes.
    pub fn field(&self) -> Option<Field> {
        match self {
            Key::UserId(_) => None,
            Key::Uuid(_) => Some(Field::Uuid),
            Key::Username(_) => Some(Field::Username),
            Key::Email(_) => Some(Field::Email),
        }
    }

    /// `column "value"`, for reasons.
    pub fn describe(&self) -> String {
        match self {
            Key::UserId(id) => format!("user_id {id}"),
            Key::Uuid(v) | Key::Username(v) | Key::Email(v) => {
                format!("{} {v:?}", self.column())
            }
        }
    }
}

/// A row that passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub enum AmsRow {
    /// A new account with every required field.
    Create { values: Vec<(Field, Value)> },
    /// Changes to the account the key finds.
    Update {
        key: Key,
        /// Fields the row gives a value (the key's own field left out).
        values: Vec<(Field, Value)>,
        /// Fields to blank.
        clear: Vec<Field>,
    },
}

impl AmsRow {
    /// A value the row gives, if any.
    pub fn value(&self, field: Field) -> Option<&Value> {
        let values = match self {
            AmsRow::Create { values } | AmsRow::Update { values, .. } => values,
        };
        values.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The username the row names, if any.
    pub fn username(&self) -> Option<&str> {
        match self.value(Field::Username) {
            Some(Value::Text(name)) => Some(name),
            _ => match self {
                AmsRow::Update {
                    key: Key::Username(name),
                    ..
                } => Some(name),
                _ => None,
            },
        }
    }
}

/// A checked row and what it gave that AMS files ignore.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub row: AmsRow,
    /// The row has a value in the export-only `groups` column.
    pub groups_given: bool,
}

/// Checks one row; every problem names its field.
pub fn validate(row: &Row, columns: &ColumnMap) -> Result<Checked, Vec<FieldProblem>> {
    let groups_given = !columns.get(row, GROUPS).is_empty();
    check(row, columns).map(|row| Checked { row, groups_given })
}

fn check(row: &Row, columns: &ColumnMap) -> Result<AmsRow, Vec<FieldProblem>> {
    let get = |name: &str| columns.get(row, name);
    let mut problems = Vec::new();
    let action = get("action").to_ascii_lowercase();
    let create = match action.as_str() {
        "" | "create" => true,
        "update" => false,
        other => {
            problems.push(FieldProblem::new(
                "action",
                format!("{other:?} is not create or update"),
            ));
            return Err(problems);
        }
    };
    let mut values = Vec::new();
    for field in Field::ALL {
        let raw = get(field.column());
        if raw.is_empty() {
            if create && field.required() {
                problems.push(FieldProblem::new(
                    field.column(),
                    "is required to create an account",
                ));
            }
            continue;
        }
        match parse(field, raw) {
            Ok(value) => values.push((field, value)),
            Err(problem) => problems.push(problem),
        }
    }
    if create {
        if !get("clear").is_empty() {
            problems.push(FieldProblem::new(
                "clear",
                "is for update rows; a new account starts with the fields given",
            ));
        }
        return if problems.is_empty() {
            Ok(AmsRow::Create { values })
        } else {
            Err(problems)
        };
    }
    let key = match key(row, columns) {
        Ok(key) => key,
        Err(problem) => {
            problems.push(problem);
            return Err(problems);
        }
    };
    values.retain(|(field, _)| Some(*field) != key.field());
    let clear = clear(get("clear"), &key, &values, &mut problems);
    if problems.is_empty() {
        Ok(AmsRow::Update { key, values, clear })
    } else {
        Err(problems)
    }
}

/// Checks one cell of `field`.
fn parse(field: Field, raw: &str) -> Result<Value, FieldProblem> {
    let problem = |message: String| FieldProblem::new(field.column(), message);
    match field {
        Field::Password => Ok(Value::Secret(SecretString::new(raw))),
        Field::Email if !is_email_shape(raw) => {
            Err(problem(format!("{raw:?} is not a valid address")))
        }
        Field::Dob => {
            let date = parse_date(raw).ok_or_else(|| {
                problem(format!(
                    "{raw:?} is not a date (write YYYY-MM-DD or DD/MM/YYYY)"
                ))
            })?;
            if date > Utc::now().date_naive() {
                return Err(problem(format!("{raw:?} is in the future")));
            }
            Ok(Value::Date(date))
        }
        Field::Active => parse_flag(raw)
            .map(Value::Flag)
            .ok_or_else(|| problem(format!("{raw:?} is not true/false, yes/no or 1/0"))),
        Field::Sex => Sex::parse(raw)
            .map(Value::Sex)
            .ok_or_else(|| problem(format!("{raw:?} is not one of male, female, unspecified"))),
        Field::Username if raw.chars().any(char::is_whitespace) => {
            Err(problem(format!("{raw:?} contains a space")))
        }
        _ if raw.chars().any(char::is_control) => {
            Err(problem("contains a line break or control character".into()))
        }
        // An export writes free text a spreadsheet would run with a
        // leading `'`; the update takes the value the export read.
        _ => Ok(Value::Text(
            connectors::report::restore_neutralised(raw).to_string(),
        )),
    }
}

/// The first non-empty of `user_id`, `uuid`, `username`, `email`.
fn key(row: &Row, columns: &ColumnMap) -> Result<Key, FieldProblem> {
    let get = |name: &str| columns.get(row, name).to_string();
    let user_id = get("user_id");
    if !user_id.is_empty() {
        return match user_id.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Key::UserId(id)),
            _ => Err(FieldProblem::new(
                "user_id",
                format!("{user_id:?} is not an AMS user id (a whole number)"),
            )),
        };
    }
    let key = [
        (get("uuid"), Key::Uuid as fn(String) -> Key),
        (get("username"), Key::Username),
        (get("email"), Key::Email),
    ]
    .into_iter()
    .find(|(value, _)| !value.is_empty());
    match key {
        Some((value, key)) => Ok(key(value)),
        None => Err(FieldProblem::new(
            "user_id",
            "an update row needs one of user_id, uuid, username or email to find the account",
        )),
    }
}

/// The `clear` list: field names separated by `;`.
fn clear(
    raw: &str,
    key: &Key,
    values: &[(Field, Value)],
    problems: &mut Vec<FieldProblem>,
) -> Vec<Field> {
    let mut fields = Vec::new();
    for name in raw.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(field) = Field::parse_name(name) else {
            problems.push(FieldProblem::new(
                "clear",
                format!("{name:?} is not a field of an AMS account"),
            ));
            continue;
        };
        if field.required() || Some(field) == key.field() {
            problems.push(FieldProblem::new(
                "clear",
                format!(
                    "{} cannot be blanked: every account needs it",
                    field.column()
                ),
            ));
        } else if values.iter().any(|(f, _)| *f == field) {
            problems.push(FieldProblem::new(
                "clear",
                format!(
                    "{} has a value in this row and is listed to be cleared",
                    field.column()
                ),
            ));
        } else if !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

/// `YYYY-MM-DD` or `DD/MM/YYYY`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%d/%m/%Y"))
        .ok()
}

/// `true/false`, `yes/no`, `1/0`, in any case.
fn parse_flag(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, line: &str) -> Result<AmsRow, Vec<String>> {
        let csv = format!("{header}\n{line}\n");
        let (table, columns) = connectors::csvfile::read(csv.as_bytes(), COLUMNS).unwrap();
        validate(&table.rows[0], &columns)
            .map(|checked| checked.row)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }

    const CREATE: &str = "first_name,last_name,username,email,dob,password,active";

    #[test]
    fn a_create_row_needs_every_required_field() {
        let problems = check(CREATE, "Riley,,riley,riley@example.org,,pw,").unwrap_err();
        assert_eq!(
            problems,
            [
                "last_name: is required to create an account",
                "dob: is required to create an account",
                "active: is required to create an account",
            ]
        );
    }

    #[test]
    fn dates_booleans_emails_and_sex_are_checked() {
        let header = format!("{CREATE},sex");
        let problems =
            check(&header, "Riley,Example,riley,riley@,31/02/1990,pw,maybe,m").unwrap_err();
        assert_eq!(
            problems,
            [
                "email: \"riley@\" is not a valid address",
                "dob: \"31/02/1990\" is not a date (write YYYY-MM-DD or DD/MM/YYYY)",
                "active: \"maybe\" is not true/false, yes/no or 1/0",
                "sex: \"m\" is not one of male, female, unspecified",
            ]
        );
        let row = check(
            &header,
            "Riley,Example,riley,riley@example.org,01/12/1990,pw,Yes,Female",
        )
        .unwrap();
        assert_eq!(
            row.value(Field::Dob),
            Some(&Value::Date(NaiveDate::from_ymd_opt(1990, 12, 1).unwrap()))
        );
        assert_eq!(row.value(Field::Active), Some(&Value::Flag(true)));
        assert_eq!(row.value(Field::Sex), Some(&Value::Sex(Sex::Female)));
    }

    #[test]
    fn a_password_never_appears_in_a_problem() {
        let problems = check(CREATE, "Riley,Example,riley,bad,1990-13-01,S3cret!pw,true")
            .unwrap_err()
            .join("; ");
        assert!(!problems.contains("S3cret"), "{problems}");
    }

    #[test]
    fn an_update_row_is_keyed_by_the_first_non_empty_key_and_never_changes_it() {
        let header = "action,user_id,uuid,username,email,first_name";
        let row = check(header, "update,,u-1,riley,new@example.org,Rye").unwrap();
        let AmsRow::Update { key, values, clear } = row else {
            panic!("an update")
        };
        assert_eq!(key, Key::Uuid("u-1".into()));
        let fields: Vec<Field> = values.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, [Field::FirstName, Field::Username, Field::Email]);
        assert!(clear.is_empty());

        let row = check(header, "UPDATE,,,riley,,Rye").unwrap();
        let AmsRow::Update { key, values, .. } = row else {
            panic!("an update")
        };
        assert_eq!(key, Key::Username("riley".into()));
        assert_eq!(values.len(), 1, "the key column is not a change");

        assert_eq!(
            check(header, "update,,,,,Rye").unwrap_err(),
            ["user_id: an update row needs one of user_id, uuid, username or email to find the account"]
        );
        assert_eq!(
            check(header, "update,12a,,,,Rye").unwrap_err(),
            ["user_id: \"12a\" is not an AMS user id (a whole number)"]
        );
        assert_eq!(
            check(header, "rename,,,riley,,Rye").unwrap_err(),
            ["action: \"rename\" is not create or update"]
        );
    }

    #[test]
    fn clear_names_optional_fields_only() {
        let header = "action,username,known_as,clear";
        let row = check(header, "update,riley,,Known As; middle_names").unwrap();
        let AmsRow::Update { clear, .. } = row else {
            panic!("an update")
        };
        assert_eq!(clear, [Field::KnownAs, Field::MiddleNames]);
        assert_eq!(
            check(header, "update,riley,Rye,known_as;email;nickname").unwrap_err(),
            [
                "clear: known_as has a value in this row and is listed to be cleared",
                "clear: email cannot be blanked: every account needs it",
                "clear: \"nickname\" is not a field of an AMS account",
            ]
        );
        assert_eq!(
            check(
                "username,clear,first_name,last_name,email,dob,password,active",
                "riley,uuid,R,E,r@example.org,1990-01-01,pw,true"
            )
            .unwrap_err(),
            ["clear: is for update rows; a new account starts with the fields given"]
        );
    }
}
