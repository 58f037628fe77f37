//! Seeding: [`SeedPerson`] (one account as a test wants it) and
//! [`generated_people`] (many, for benchmarks).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::model::{PersonRecord, Sex, DEFAULT_LANGUAGE, NO_EXPIRY, PHONE_TYPES};
use super::save::normalise_date;
use crate::sandbox::faults::SplitMix64;

/// One account to seed. Omitted fields take the [`SeedPerson::new`]
/// defaults. (`Debug` leaves the password out.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedPerson {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// `dd/mm/yyyy` or `yyyy-mm-dd`; stored as `dd/mm/yyyy`. Empty: none.
    pub dob: String,
    pub active: bool,
    /// `None` is `null` in person records (`""` in searches).
    pub uuid: Option<String>,
    pub known_as: String,
    pub middle_names: String,
    /// A code (`0`/`1`/`2`) or a name (`male`, `Female`, `UNSPECIFIED`).
    pub sex: String,
    pub language: String,
    pub sidebar_width: String,
    /// Lets the account log in (and use HTTP Basic); `None`: it cannot.
    pub password: Option<String>,
    /// Whether the record says `admin: true`.
    pub admin: bool,
    /// Role names for `groupsAndRoles`.
    pub roles: Vec<String>,
    /// Phones as `(type, country code, prefix, number)`, the type a name
    /// (`HOME`, `MOBILE`, `WORK`, `EMERGENCY`, `OTHER`) or a code.
    pub phones: Vec<(String, String, String, String)>,
}

impl Default for SeedPerson {
    fn default() -> Self {
        Self::new("")
    }
}

impl std::fmt::Debug for SeedPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedPerson")
            .field("username", &self.username)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("email", &self.email)
            .field("active", &self.active)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl SeedPerson {
    /// An active account named from `username` (`riley.example` is Riley
    /// Example, `riley.example@example.com`), born 01/01/2000, sex
    /// unspecified, no uuid, no password, no roles or phones.
    pub fn new(username: &str) -> Self {
        let mut words = username
            .split(['.', '_', '-', ' '])
            .filter(|w| !w.is_empty())
            .map(capitalised);
        let first_name = words.next().unwrap_or_else(|| "Test".into());
        let last_name = words.collect::<Vec<_>>().join(" ");
        Self {
            username: username.to_string(),
            first_name,
            last_name: if last_name.is_empty() {
                "Example".into()
            } else {
                last_name
            },
            email: format!("{}@example.com", username.to_lowercase()),
            dob: "01/01/2000".into(),
            active: true,
            uuid: None,
            known_as: String::new(),
            middle_names: String::new(),
            sex: "2".into(),
            language: DEFAULT_LANGUAGE.into(),
            sidebar_width: "250px".into(),
            password: None,
            admin: false,
            roles: Vec::new(),
            phones: Vec::new(),
        }
    }

    pub fn first_name(mut self, v: &str) -> Self {
        self.first_name = v.into();
        self
    }
    pub fn last_name(mut self, v: &str) -> Self {
        self.last_name = v.into();
        self
    }
    pub fn email(mut self, v: &str) -> Self {
        self.email = v.into();
        self
    }
    pub fn dob(mut self, v: &str) -> Self {
        self.dob = v.into();
        self
    }
    pub fn active(mut self, v: bool) -> Self {
        self.active = v;
        self
    }
    pub fn uuid(mut self, v: &str) -> Self {
        self.uuid = Some(v.into());
        self
    }
    pub fn known_as(mut self, v: &str) -> Self {
        self.known_as = v.into();
        self
    }
    pub fn middle_names(mut self, v: &str) -> Self {
        self.middle_names = v.into();
        self
    }
    pub fn sex(mut self, v: &str) -> Self {
        self.sex = v.into();
        self
    }
    pub fn language(mut self, v: &str) -> Self {
        self.language = v.into();
        self
    }
    pub fn sidebar_width(mut self, v: &str) -> Self {
        self.sidebar_width = v.into();
        self
    }
    pub fn password(mut self, v: &str) -> Self {
        self.password = Some(v.into());
        self
    }
    pub fn admin(mut self, v: bool) -> Self {
        self.admin = v;
        self
    }
    pub fn role(mut self, name: &str) -> Self {
        self.roles.push(name.into());
        self
    }
    pub fn phone(mut self, kind: &str, country_code: &str, prefix: &str, number: &str) -> Self {
        self.phones.push((
            kind.into(),
            country_code.into(),
            prefix.into(),
            number.into(),
        ));
        self
    }

    /// The stored record with id `id` (owned by `owner_id`), like the
    /// recorded pre-existing accounts (*get_user cassette*): `-1` for
    /// avatar, organisation, plan and state, empty lists. Panics on a bad
    /// date, sex or phone type.
    pub(crate) fn record(&self, id: i64, owner_id: i64) -> PersonRecord {
        self.try_record(id, owner_id)
            .unwrap_or_else(|e| panic!("SeedPerson {:?}: {e}", self.username))
    }

    /// As [`Self::record`], or what is wrong with the seed.
    pub(crate) fn try_record(&self, id: i64, owner_id: i64) -> Result<PersonRecord, String> {
        let dob = match self.dob.trim() {
            "" => None,
            given => Some(normalise_date(given).ok_or(format!("bad dob {given:?}"))?),
        };
        let sex = Sex::parse(&self.sex).ok_or(format!("bad sex {:?}", self.sex))?;
        let phones = self
            .phones
            .iter()
            .map(|(kind, cc, prefix, number)| {
                let code = super::model::type_code(&PHONE_TYPES, &json!(kind))
                    .ok_or(format!("bad phone type {kind:?}"))?;
                let entry =
                    json!({"type": code, "countryCode": cc, "number": number, "prefix": prefix});
                Ok(entry.as_object().cloned().unwrap_or_default())
            })
            .collect::<Result<Vec<Map<String, Value>>, String>>()?;
        let mut record = PersonRecord::blank(id, owner_id, &self.username);
        record.active = self.active;
        record.admin = self.admin;
        record.communication_preferences = Some("0".into());
        record.sex = sex;
        (
            record.avatar_id,
            record.organisation_id,
            record.plan,
            record.state,
        ) = (-1, -1, -1, -1);
        record.email_address = Some(self.email.clone());
        record.first_name = Some(self.first_name.clone());
        record.last_name = Some(self.last_name.clone());
        record.known_as = Some(self.known_as.clone());
        record.middle_names = Some(self.middle_names.clone());
        record.language = if self.language.is_empty() {
            DEFAULT_LANGUAGE.into()
        } else {
            self.language.clone()
        };
        record.sidebar_width = Some(self.sidebar_width.clone());
        record.timezone = Some(String::new());
        record.uuid = self.uuid.clone();
        record.addresses = Some(Vec::new());
        record.favorite_dashboards = json!([]);
        record.favorite_events = json!([]);
        record.front_page_buttons = json!([]);
        record.phone_numbers = Some(phones);
        record.account_expiration = NO_EXPIRY.into();
        record.date_of_birth = dob;
        Ok(record)
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const FIRST_NAMES: [&str; 16] = [
    "Riley", "Jordan", "Avery", "Casey", "Morgan", "Taylor", "Quinn", "Harper", "Rowan", "Sage",
    "Emerson", "Finley", "Kai", "Logan", "Parker", "Reese",
];
const LAST_NAMES: [&str; 16] = [
    "Example",
    "Nguyen",
    "Okafor",
    "Silva",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Petrov",
    "Walsh",
    "Castillo",
    "Jensen",
    "Osei",
    "Rossi",
    "Byrne",
];

/// `n` accounts, fully determined by `seed`: names from a small list with a
/// running number (`riley.nguyen00042`), dates of birth between 1970 and
/// 2009, every 20th inactive, every 3rd with a uuid, every 4th with a
/// mobile phone, sexes in rotation.
pub fn generated_people(n: usize, seed: u64) -> Vec<SeedPerson> {
    let mut rng = SplitMix64::new(seed);
    (1..=n)
        .map(|i| {
            let pick = |r: u64, list: &[&'static str]| list[(r % list.len() as u64) as usize];
            let first = pick(rng.next_u64(), &FIRST_NAMES);
            let last = pick(rng.next_u64(), &LAST_NAMES);
            let day = 1 + rng.next_u64() % 28;
            let month = 1 + rng.next_u64() % 12;
            let year = 1970 + rng.next_u64() % 40;
            let username = format!("{}.{}{i:05}", first.to_lowercase(), last.to_lowercase());
            let mut person = SeedPerson::new(&username)
                .first_name(first)
                .last_name(last)
                .dob(&format!("{day:02}/{month:02}/{year}"))
                .sex(["0", "1", "2"][i % 3])
                .active(i % 20 != 0);
            if i % 3 == 0 {
                person = person.uuid(&format!("gen-{seed}-{i}"));
            }
            if i % 4 == 0 {
                person = person.phone("MOBILE", "1", "555", &format!("{:07}", i % 10_000_000));
            }
            person
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_username() {
        let p = SeedPerson::new("riley.example");
        assert_eq!(
            (p.first_name.as_str(), p.last_name.as_str()),
            ("Riley", "Example")
        );
        assert_eq!(p.email, "riley.example@example.com");
        let r = p.dob("1990-12-01").record(7, 1);
        assert_eq!(r.date_of_birth.as_deref(), Some("01/12/1990"));
    }

    #[test]
    fn generation_is_deterministic_and_unique() {
        let a = generated_people(300, 9);
        let b = generated_people(300, 9);
        let names = |v: &[SeedPerson]| v.iter().map(|p| p.username.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        let unique: std::collections::BTreeSet<_> = names(&a).into_iter().collect();
        assert_eq!(unique.len(), 300);
        assert_eq!(a.iter().filter(|p| !p.active).count(), 15);
    }
}
