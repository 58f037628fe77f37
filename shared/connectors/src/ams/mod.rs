//! Teamworks AMS (formerly Smartabase): the ports a job calls, the types they
//! return, and the reqwest client that implements them against a site's
//! `api/v1` and `api/v2` endpoints.
//!
//! Teamworks publishes no reference for these endpoints; the calls follow
//! the public clients (`teamworksams`, github.com/brandonyach/teamworksams,
//! and `smartabaseR`, github.com/Teamworksapp/smartabaseR) and their
//! recorded traffic. Where those disagree or are silent, the client accepts
//! either answer.
//!
//! The client is one transport ([`transport`]: the request path, retries, the
//! deadline; [`session`]: login and the shared session; [`rpc`]: the
//! RPC-exception body) and one file per resource ([`users`]: searches and
//! groups, [`people`]: full person records).

mod answer;
mod people;
mod person;
mod rpc;
mod session;
mod settings;
mod transport;
mod users;

pub use person::{field_of, Person, Sex, FIELDS};
pub use settings::{AmsSettings, DEFAULT_AMS_CONCURRENCY};
pub use transport::{AmsClient, AmsOptions};

use crate::Error;

/// The service name in errors and logs.
pub const SERVICE: &str = "Teamworks AMS";

/// A user as `usersearch` and `groupmembers` describe them (no `active`:
/// that is only in the full [`Person`] record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmsUser {
    /// The account's id (`userId`; `id` in person records).
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    /// `emailAddress`.
    pub email: String,
    /// Date of birth as the service wrote it (`dd/mm/yyyy`).
    pub dob: String,
    /// Empty when the account has none.
    pub uuid: String,
    pub middle_name: String,
    pub known_as: String,
    /// `MALE`, `FEMALE` or `UNSPECIFIED` as the service wrote it.
    pub sex: String,
}

/// Which users a search asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    /// Every account the API user can see.
    All,
    /// Accounts with these usernames.
    Usernames(Vec<String>),
    /// Accounts with these email addresses.
    Emails(Vec<String>),
    /// Accounts with these ids.
    UserIds(Vec<i64>),
    /// Members of this group (by name).
    Group(String),
    /// Accounts whose full name (`first_name last_name`) is this one,
    /// ignoring case and surrounding spaces. AMS cannot search by name, so
    /// this is the all-users search filtered here, as the public client's
    /// `about` filter does.
    Name(String),
}

/// Finding users.
pub trait AmsUsers {
    /// The users `filter` selects (`usersearch`, or `groupmembers` for a
    /// group); an empty list when none match.
    async fn users(&self, filter: &UserFilter) -> Result<Vec<AmsUser>, Error>;
}

/// The groups the API user can see.
pub trait AmsGroups {
    /// Group names (`listgroups`); AMS gives groups no ids.
    async fn group_names(&self) -> Result<Vec<String>, Error>;
}

/// Full person records: read, create, and write back.
pub trait AmsPeople {
    /// The full records of these ids (`person/get`); ids with no account
    /// are absent from the answer.
    async fn people(&self, ids: &[i64]) -> Result<Vec<Person>, Error>;

    /// Saves a person (`person/save`): a record without an id (or id `-1`)
    /// creates an account, a record with one replaces that account's
    /// record. Returns the record as stored.
    async fn save(&self, person: &Person) -> Result<Person, Error>;
}

/// The most ids sent in one `person/get` call. The public client sends
/// every id at once; rollcall bounds the answer's size.
pub const PEOPLE_BATCH: usize = 200;
