//! What the site holds: person records (*person record* in [`super`]),
//! groups and roles, and their two wire views: the full record of
//! `person/get` and the short user of `usersearch`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The date of no expiry (*person record*: `accountExpiration` `01/01/1970`).
pub(crate) const NO_EXPIRY: &str = "01/01/1970";

/// The language an empty or missing `language` becomes (*create cassette*).
pub(crate) const DEFAULT_LANGUAGE: &str = "English";

/// Sex as person records keep it (`"0"`, `"1"`, `"2"`) and searches name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Male,
    Female,
    Unspecified,
}

impl Sex {
    /// A code (`0`/`1`/`2`) or a name in any case (`Male`, `FEMALE`,
    /// `unspecified`): what `person/save` accepts (the spellings beyond
    /// `Male` are an assumption).
    pub(crate) fn parse(value: &str) -> Option<Sex> {
        match value.trim().to_ascii_lowercase().as_str() {
            "0" | "male" => Some(Sex::Male),
            "1" | "female" => Some(Sex::Female),
            "2" | "unspecified" => Some(Sex::Unspecified),
            _ => None,
        }
    }

    /// The person-record code (*get_user cassette*: `"0"` is MALE, `"1"`
    /// FEMALE, `"2"` UNSPECIFIED, by matching the same users).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Sex::Male => "0",
            Sex::Female => "1",
            Sex::Unspecified => "2",
        }
    }

    /// The name searches show.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sex::Male => "MALE",
            Sex::Female => "FEMALE",
            Sex::Unspecified => "UNSPECIFIED",
        }
    }
}

/// Phone types: person records carry the code, searches the name. HOME 0,
/// MOBILE 1 and OTHER 4 are recorded (*get_user cassette*); WORK 2 and
/// EMERGENCY 3 are assumptions (smartabaseR's docs name an `emergency` type).
pub(crate) const PHONE_TYPES: [(i64, &str); 5] = [
    (0, "HOME"),
    (1, "MOBILE"),
    (2, "WORK"),
    (3, "EMERGENCY"),
    (4, "OTHER"),
];

/// Address types: ALTERNATIVE 1 is recorded; PRIMARY 0 is an assumption
/// (smartabaseR's docs name a `primary` type).
pub(crate) const ADDRESS_TYPES: [(i64, &str); 2] = [(0, "PRIMARY"), (1, "ALTERNATIVE")];

/// The name of a type code, or the code written out when it is not in `table`.
pub(crate) fn type_name(table: &[(i64, &str)], code: i64) -> String {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The code of a type given as a code or a name (any case).
pub(crate) fn type_code(table: &[(i64, &str)], value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok().or_else(|| {
            table
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(s.trim()))
                .map(|(c, _)| *c)
        }),
        _ => None,
    }
}

/// One person record, typed, in the field set of the recorded `person/get`
/// answers. Strings that the service answers `null` for are `None`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PersonRecord {
    pub id: i64,
    pub active: bool,
    pub admin: bool,
    pub pending: bool,
    pub communication_preferences: Option<String>,
    pub sex: Sex,
    pub avatar_id: i64,
    pub organisation_id: i64,
    pub owner_id: i64,
    pub plan: i64,
    pub state: i64,
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub known_as: Option<String>,
    pub language: String,
    pub last_name: Option<String>,
    pub middle_names: Option<String>,
    pub sidebar_width: Option<String>,
    pub skype_name: Option<String>,
    pub timezone: Option<String>,
    pub username: String,
    pub uuid: Option<String>,
    /// Addresses with `type` as a code; `None` is JSON `null`.
    pub addresses: Option<Vec<Map<String, Value>>>,
    pub favorite_dashboards: Value,
    pub favorite_events: Value,
    pub front_page_buttons: Value,
    /// Phones with `type` as a code; `None` is JSON `null`.
    pub phone_numbers: Option<Vec<Map<String, Value>>>,
    /// `dd/mm/yyyy`.
    pub account_expiration: String,
    /// `dd/mm/yyyy`, or `None` when the account has no date of birth.
    pub date_of_birth: Option<String>,
    /// Last change, epoch milliseconds.
    pub mtime: i64,
}

impl PersonRecord {
    /// A blank record as a new account starts (*create cassette*: ids and
    /// counters 0, `null` optional strings and lists, default language, no expiry).
    pub(crate) fn blank(id: i64, owner_id: i64, username: &str) -> Self {
        Self {
            id,
            active: true,
            admin: false,
            pending: false,
            communication_preferences: None,
            sex: Sex::Unspecified,
            avatar_id: 0,
            organisation_id: 0,
            owner_id,
            plan: 0,
            state: 0,
            email_address: None,
            first_name: None,
            known_as: None,
            language: DEFAULT_LANGUAGE.to_string(),
            last_name: None,
            middle_names: None,
            sidebar_width: None,
            skype_name: None,
            timezone: None,
            username: username.to_string(),
            uuid: None,
            addresses: None,
            favorite_dashboards: Value::Null,
            favorite_events: Value::Null,
            front_page_buttons: Value::Null,
            phone_numbers: None,
            account_expiration: NO_EXPIRY.to_string(),
            date_of_birth: None,
            mtime: now_ms(),
        }
    }

    /// The record as `person/get`, `person/save` and login answer it (no password).
    pub(crate) fn to_json(&self) -> Value {
        let list = |l: &Option<Vec<Map<String, Value>>>| match l {
            None => Value::Null,
            Some(items) => Value::Array(items.iter().cloned().map(Value::Object).collect()),
        };
        json!({
            "id": self.id,
            "active": self.active,
            "admin": self.admin,
            "pending": self.pending,
            "communicationPreferences": self.communication_preferences,
            "sex": self.sex.code(),
            "avatarId": self.avatar_id,
            "organisationId": self.organisation_id,
            "ownerId": self.owner_id,
            "plan": self.plan,
            "state": self.state,
            "emailAddress": self.email_address,
            "firstName": self.first_name,
            "knownAs": self.known_as,
            "language": self.language,
            "lastName": self.last_name,
            "middleNames": self.middle_names,
            "sidebarWidth": self.sidebar_width,
            "skypeName": self.skype_name,
            "timezone": self.timezone,
            "username": self.username,
            "uuid": self.uuid,
            "addresses": list(&self.addresses),
            "favoriteDashboards": self.favorite_dashboards,
            "favoriteEvents": self.favorite_events,
            "frontPageButtons": self.front_page_buttons,
            "phoneNumbers": list(&self.phone_numbers),
            "accountExpiration": self.account_expiration,
            "dateOfBirth": self.date_of_birth,
            "__mtime__": self.mtime,
        })
    }

    /// The user as `usersearch` and `groupmembers` answer it (*get_user
    /// cassette*): no `active`, sex and list types as names, `null` strings
    /// as `""`, `organisationalId`, and the phone and address lists only when
    /// the account has some.
    pub(crate) fn search_view(&self) -> Map<String, Value> {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        let mut user = Map::new();
        user.insert("userId".into(), self.id.into());
        user.insert("firstName".into(), text(&self.first_name).into());
        user.insert("lastName".into(), text(&self.last_name).into());
        user.insert("dob".into(), text(&self.date_of_birth).into());
        user.insert("middleName".into(), text(&self.middle_names).into());
        user.insert("emailAddress".into(), text(&self.email_address).into());
        user.insert("knownAs".into(), text(&self.known_as).into());
        user.insert("organisationalId".into(), self.organisation_id.into());
        user.insert("username".into(), self.username.clone().into());
        if let Some(phones) = named_types(&self.phone_numbers, &PHONE_TYPES) {
            user.insert("phoneNumbers".into(), phones);
        }
        if let Some(addresses) = named_types(&self.addresses, &ADDRESS_TYPES) {
            user.insert("addresses".into(), addresses);
        }
        user.insert("sex".into(), self.sex.name().into());
        user.insert("uuid".into(), text(&self.uuid).into());
        user
    }
}

/// A non-empty list with each entry's `type` code replaced by its name.
fn named_types(list: &Option<Vec<Map<String, Value>>>, table: &[(i64, &str)]) -> Option<Value> {
    let items = list.as_ref().filter(|l| !l.is_empty())?;
    let named = items
        .iter()
        .map(|entry| {
            let mut entry = entry.clone();
            if let Some(code) = entry.get("type").and_then(|t| type_code(table, t)) {
                entry.insert("type".into(), type_name(table, code).into());
            }
            Value::Object(entry)
        })
        .collect();
    Some(Value::Array(named))
}

/// A person as the site stores it: the record, and what is not in it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub record: PersonRecord,
    /// Never part of any answer (*person record*: no `password` field).
    pub password: Option<String>,
    /// Role names, for `groupsAndRoles`.
    pub roles: Vec<String>,
}

/// A group: names are what the API shows; the id appears only in
/// `groupsAndRoles` (*teamworksams user_process.py*).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: i64,
    pub name: String,
    pub athletes: Vec<i64>,
    pub coaches: Vec<i64>,
}

/// The people and groups of the site.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub people: BTreeMap<i64, Stored>,
    pub groups: Vec<Group>,
    /// Role name to id, in the order roles were first named.
    pub roles: BTreeMap<String, i64>,
    next_person_id: i64,
    next_group_id: i64,
}

/// The first person id handed out; ids then count up by one (an assumption:
/// real ids are only known to be positive integers).
const FIRST_PERSON_ID: i64 = 10_001;
const FIRST_GROUP_ID: i64 = 501;

impl Directory {
    pub(crate) fn new() -> Self {
        Self {
            next_person_id: FIRST_PERSON_ID,
            next_group_id: FIRST_GROUP_ID,
            ..Self::default()
        }
    }

    /// A fresh person id.
    pub(crate) fn allocate_id(&mut self) -> i64 {
        let id = self.next_person_id;
        self.next_person_id += 1;
        id
    }

    /// The person with exactly this username.
    pub(crate) fn by_username(&self, username: &str) -> Option<&Stored> {
        self.people.values().find(|p| p.record.username == username)
    }

    /// Another account (not `except`) already using `username`, ignoring case.
    pub(crate) fn username_taken(&self, username: &str, except: Option<i64>) -> bool {
        self.people.values().any(|p| {
            Some(p.record.id) != except && p.record.username.eq_ignore_ascii_case(username)
        })
    }

    /// Another account (not `except`) already using this non-empty email, ignoring case.
    pub(crate) fn email_taken(&self, email: &str, except: Option<i64>) -> bool {
        !email.is_empty()
            && self.people.values().any(|p| {
                Some(p.record.id) != except
                    && p.record
                        .email_address
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
    }

    /// The id of a role, named on first use.
    pub(crate) fn role_id(&mut self, name: &str) -> i64 {
        let next = 900 + i64::try_from(self.roles.len()).unwrap_or(0) + 1;
        *self.roles.entry(name.to_string()).or_insert(next)
    }

    /// The group named exactly `name`, created empty if missing.
    pub(crate) fn group_mut(&mut self, name: &str) -> &mut Group {
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return &mut self.groups[i];
        }
        let id = self.next_group_id;
        self.next_group_id += 1;
        self.groups.push(Group {
            id,
            name: name.to_string(),
            athletes: Vec::new(),
            coaches: Vec::new(),
        });
        self.groups.last_mut().expect("just pushed")
    }

    /// `groupsAndRoles` of one person (*teamworksams user_process.py*).
    pub(crate) fn groups_and_roles(&self, id: i64) -> Value {
        let pair = |id: i64, name: &str| json!({ "id": id, "name": name });
        let roles: Vec<Value> = self
            .people
            .get(&id)
            .map(|p| {
                p.roles
                    .iter()
                    .filter_map(|r| self.roles.get(r).map(|rid| pair(*rid, r)))
                    .collect()
            })
            .unwrap_or_default();
        let of = |pick: fn(&Group) -> &Vec<i64>| -> Vec<Value> {
            self.groups
                .iter()
                .filter(|g| pick(g).contains(&id))
                .map(|g| pair(g.id, &g.name))
                .collect()
        };
        json!({
            "role": roles,
            "athleteGroups": of(|g| &g.athletes),
            "coachGroups": of(|g| &g.coaches),
        })
    }
}

/// Wall-clock time in epoch milliseconds (for `__mtime__` only).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
