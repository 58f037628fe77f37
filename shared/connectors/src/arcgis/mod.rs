//! ArcGIS Online / Enterprise: the ports a job calls (one per capability),
//! the types they return, and the reqwest client that implements them
//! against a portal's `sharing/rest` and `portaladmin` APIs.
//!
//! The client is one transport ([`transport`]: token, sign-in, retries, the
//! error envelope, paging) and one file per resource ([`org`], [`members`],
//! [`groups`], [`updates`], [`content`], [`roles`], [`licences`]); a new
//! call is a method in its resource's file.

mod content;
mod groups;
mod licences;
mod lifecycle;
mod members;
mod org;
pub mod privileges;
mod roles;
mod settings;
mod transport;
mod updates;

pub use lifecycle::{
    Folder, GroupLeaving, Holdings, Item, Licences, MemberContent, MemberDeletion, MemberUpdate,
    ProfileChanges, RoleAdmin, RoleDetail, Seats,
};
pub use settings::{ArcgisSettings, DEFAULT_CONCURRENCY};
pub use transport::{ArcgisClient, ArcgisOptions};

use serde::{Deserialize, Deserializer};

use crate::secrets::SecretString;
use crate::Error;

/// ArcGIS Online (multi-tenant) or an ArcGIS Enterprise portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalKind {
    Online,
    Enterprise,
}

/// The organisation as `portals/self` describes it to the signed-in caller.
#[derive(Debug, Clone)]
pub struct Portal {
    pub id: String,
    pub name: String,
    pub kind: PortalKind,
    /// Online's credits for a new member when none are given; `None` = unlimited.
    pub default_credits: Option<f64>,
    /// The signed-in account, when the token belongs to a member.
    pub caller: Option<User>,
}

/// A role: a built-in (`org_admin`, `org_publisher`, `org_user`) or a role id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
}

/// A user type (license type), e.g. `creatorUT` named "Creator".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserType {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// The org's new-member defaults (`portals/self/userDefaultSettings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDefaults {
    #[serde(default, deserialize_with = "empty_as_none")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub user_license_type: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A group as `community/groups/{id}` and the group search return it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Group {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// The owner's username.
    #[serde(default)]
    pub owner: String,
}

/// A member as the portal describes it (fields rollcall reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub username: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub role_id: Option<String>,
    #[serde(default)]
    pub user_license_type_id: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// The last sign-in: a time, never (`-1`), or not said (no `lastLogin`).
    #[serde(default)]
    pub last_login: LastLogin,
    #[serde(default, deserialize_with = "epoch_or_never")]
    pub created: Option<i64>,
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub privileges: Vec<String>,
    /// ArcGIS Online's credit allocation (`assignedCredits`): `-1` is
    /// unlimited; absent on Enterprise.
    #[serde(default)]
    pub assigned_credits: Option<f64>,
    /// Ids of the groups the member belongs to (only on the user resource).
    #[serde(default, deserialize_with = "group_ids")]
    pub groups: Vec<String>,
}

/// When a member last signed in, as the portal's answer put it. A missing
/// (or `null`) `lastLogin` is not "never": the portal did not say, and a
/// decision that needs the date must not guess it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LastLogin {
    /// The answer had no `lastLogin`.
    #[default]
    Unknown,
    /// `-1`: the member never signed in.
    Never,
    /// Epoch ms of the last sign-in.
    At(i64),
}

impl LastLogin {
    /// The time of the last sign-in, if the portal gave one.
    pub fn at(self) -> Option<i64> {
        match self {
            LastLogin::At(ms) => Some(ms),
            LastLogin::Unknown | LastLogin::Never => None,
        }
    }
}

impl<'de> Deserialize<'de> for LastLogin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<i64>::deserialize(d)? {
            None => LastLogin::Unknown,
            Some(ms) if ms < 0 => LastLogin::Never,
            Some(ms) => LastLogin::At(ms),
        })
    }
}

/// One member to create on ArcGIS Online through `portals/self/invite`.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Role id; `None` leaves the org's default.
    pub role: Option<String>,
    /// User type id; `None` leaves the org's default.
    pub user_type: Option<String>,
    /// Credits; `None` = unlimited (`-1`).
    pub credits: Option<f64>,
    /// With a password the account is created directly; without, the member
    /// gets an invitation mail.
    pub password: Option<SecretString>,
    /// `enterprise` for SAML logins, with `idp_username`.
    pub provider: Option<String>,
    pub idp_username: Option<String>,
}

/// One member to create on ArcGIS Enterprise through *portaladmin* `createUser`.
pub type EnterpriseMember = Invitation;

/// What the portal said about one username in `community/checkUsernames`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameAvailability {
    Available,
    Taken,
    /// The portal did not answer for this name; try and let the create call decide.
    Unknown,
}

/// One page of `portals/self/users`.
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    pub total: u64,
    pub users: Vec<User>,
    /// 1-based start of the next page; `None` at the end.
    pub next_start: Option<u64>,
}

/// One page of the org's groups (`community/groups`).
#[derive(Debug, Clone, Default)]
pub struct GroupPage {
    /// Every group the search matched; only the first
    /// [`SEARCH_RESULT_CAP`] of them can be paged to.
    pub total: u64,
    pub groups: Vec<Group>,
    /// 1-based start of the next page; `None` at the end.
    pub next_start: Option<u64>,
}

/// The most results a portal search lets a caller page to (*Group Search*
/// and the other searches,
/// <https://developers.arcgis.com/rest/users-groups-and-items/considerations-and-limitations.htm>).
pub const SEARCH_RESULT_CAP: u64 = 10_000;

/// The organisation as the signed-in caller sees it (`portals/self`).
pub trait OrgInfo {
    /// Which kind of portal, the org id and name, and the caller.
    async fn portal(&self) -> Result<Portal, Error>;
}

/// What the org offers new and changed members: roles, user types, defaults.
pub trait OrgCatalog {
    /// Custom roles plus Viewer and Data Editor (the three built-ins are not listed).
    async fn roles(&self) -> Result<Vec<Role>, Error>;
    async fn user_types(&self) -> Result<Vec<UserType>, Error>;
    /// The org's new-member defaults.
    async fn user_defaults(&self) -> Result<UserDefaults, Error>;
}

/// Finding members by name.
pub trait MemberLookup {
    /// The member, or `None` when no such username is visible.
    async fn user(&self, username: &str) -> Result<Option<User>, Error>;
    /// Availability of up to [`CHECK_USERNAMES_BATCH`] usernames in one call.
    async fn check_usernames(
        &self,
        usernames: &[String],
    ) -> Result<Vec<(String, UsernameAvailability)>, Error>;
}

/// Listing every member of the org, a page at a time.
pub trait MemberListing {
    /// One page of `portals/self/users`.
    async fn users_page(&self, start: u64, num: u64) -> Result<UserPage, Error>;
}

/// Creating members.
pub trait MemberCreation {
    /// Invites (creates) Online members; returns the usernames not invited.
    async fn invite(&self, invitations: &[Invitation]) -> Result<Vec<String>, Error>;
    /// Creates one Enterprise member (built-in or IdP login); returns the
    /// username the portal stored (`DOMAIN\user` is stored as `user@DOMAIN`).
    async fn create_enterprise_member(&self, member: &EnterpriseMember) -> Result<String, Error>;
}

/// Disabling and enabling members in bulk.
pub trait MemberStatus {
    /// Disables up to [`BULK_USERS_BATCH`] members; per username, whether it worked and why not.
    async fn disable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error>;
    /// Enables up to [`BULK_USERS_BATCH`] members; per username, whether it worked and why not.
    async fn enable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error>;
}

/// Finding a group.
pub trait GroupLookup {
    /// The group, or `None` when it does not exist or is not visible.
    async fn group(&self, id: &str) -> Result<Option<Group>, Error>;
}

/// Listing the org's groups.
pub trait OrgGroups {
    /// One page (up to 100) of the groups of org `org_id`, by title: a group
    /// search for `orgid:<org_id>`
    /// (<https://developers.arcgis.com/rest/users-groups-and-items/group-search.htm>,
    /// fields in <https://developers.arcgis.com/rest/users-groups-and-items/search-reference.htm>).
    async fn groups_page(&self, org_id: &str, start: u64, num: u64) -> Result<GroupPage, Error>;
}

/// Who is in a group.
pub trait GroupMembers {
    /// Usernames of every member of a group (owner and managers included).
    async fn group_members(&self, group_id: &str) -> Result<Vec<String>, Error>;
}

/// Adding members to groups.
pub trait GroupMembership {
    /// Adds up to [`ADD_USERS_BATCH`] members to a group; returns the usernames not added.
    async fn add_to_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error>;
}

/// One member's result in a bulk enable/disable call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkResult {
    pub username: String,
    pub ok: bool,
    /// The portal's reason when `ok` is false.
    pub error: Option<String>,
}

/// The most users `portals/self/disableUsers` / `enableUsers` take in one call.
pub const BULK_USERS_BATCH: usize = 25;

/// Built-in role ids, always valid though `portals/self/roles` does not list them.
pub const BUILTIN_ROLES: [(&str, &str); 5] = [
    ("org_admin", "Administrator"),
    ("org_publisher", "Publisher"),
    ("org_user", "User"),
    ("iAAAAAAAAAAAAAAA", "Viewer"),
    ("iBBBBBBBBBBBBBBB", "Data Editor"),
];

/// The most users `community/groups/{id}/addUsers` takes in one call.
pub const ADD_USERS_BATCH: usize = 25;
/// The most usernames `community/checkUsernames` takes in one call.
pub const CHECK_USERNAMES_BATCH: usize = 200;

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

fn epoch_or_never<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<i64>::deserialize(d)?;
    Ok(value.filter(|v| *v >= 0))
}

fn group_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum GroupRef {
        Id(String),
        Object { id: String },
    }
    let groups = Option::<Vec<GroupRef>>::deserialize(d)?.unwrap_or_default();
    Ok(groups
        .into_iter()
        .map(|g| match g {
            GroupRef::Id(id) | GroupRef::Object { id } => id,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_last_login_is_not_never() {
        let user = |json: &str| serde_json::from_str::<User>(json).unwrap().last_login;
        assert_eq!(user(r#"{"username":"a"}"#), LastLogin::Unknown);
        assert_eq!(
            user(r#"{"username":"a","lastLogin":null}"#),
            LastLogin::Unknown
        );
        assert_eq!(user(r#"{"username":"a","lastLogin":-1}"#), LastLogin::Never);
        assert_eq!(
            user(r#"{"username":"a","lastLogin":1780293600000}"#),
            LastLogin::At(1_780_293_600_000)
        );
        assert_eq!(LastLogin::Never.at(), None);
    }
}
