//! The ports of the member lifecycle beyond creation: changing a member,
//! leaving groups, what a member owns and moving it to someone else,
//! deleting, custom roles, and the org's licences per user type.
//!
//! Each call follows the ArcGIS REST API reference
//! (<https://developers.arcgis.com/rest/users-groups-and-items/>) and, where
//! the reference is silent, the ArcGIS API for Python.

use serde::Deserialize;

use super::BulkResult;
use crate::Error;

/// The profile fields an update may change (`community/users/{u}/update`);
/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl ProfileChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none() && self.last_name.is_none() && self.email.is_none()
    }
}

/// Changing existing members.
pub trait MemberUpdate {
    /// Changes first name, last name or email (`community/users/{u}/update`).
    async fn update_profile(&self, username: &str, changes: &ProfileChanges) -> Result<(), Error>;
    /// Gives the member a role (`portals/self/updateUserRole`); ArcGIS refuses
    /// a role the member's user type cannot hold, with its reason.
    async fn update_role(&self, username: &str, role_id: &str) -> Result<(), Error>;
    /// Gives up to [`super::BULK_USERS_BATCH`] members a user type
    /// (`portals/self/updateUserLicenseType`); per member, whether it
    /// worked and the portal's reason when not (content or licences the
    /// new type cannot hold, a change within 30 days of the last one).
    async fn update_user_type(
        &self,
        usernames: &[String],
        user_type: &str,
    ) -> Result<Vec<BulkResult>, Error>;
    /// Sets a member's credit allocation (`portals/self/assignUserCredits`),
    /// or makes it unlimited with `None` (`portals/self/unassignUserCredits`).
    /// ArcGIS Online only.
    async fn assign_credits(&self, username: &str, credits: Option<f64>) -> Result<(), Error>;
}

/// Taking members out of groups.
pub trait GroupLeaving {
    /// Removes up to [`super::ADD_USERS_BATCH`] members from a group
    /// (`community/groups/{id}/removeUsers`); returns those not removed.
    async fn remove_from_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error>;
}

/// A folder of a member's content.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Folder {
    pub id: String,
    #[serde(default)]
    pub title: String,
}

/// An item a member owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub title: String,
    /// The item's type (`Web Map`, `Feature Service`…).
    pub item_type: String,
    /// The folder the item is in; `None` for the root folder.
    pub folder: Option<Folder>,
}

/// Everything a member owns: items in every folder, the folders, the groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    pub items: Vec<Item>,
    pub folders: Vec<Folder>,
    pub groups: Vec<super::Group>,
}

impl Holdings {
    /// True when the member owns nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.groups.is_empty()
    }
}

/// What members own, and giving it to another member.
pub trait MemberContent {
    /// Every item (root and every folder: `content/users/{u}` and
    /// `content/users/{u}/{folderId}`, paged) and every group the member
    /// owns (a group search for `owner:<u>`).
    async fn holdings(&self, username: &str) -> Result<Holdings, Error>;
    /// Creates a folder for `username` (`content/users/{u}/createFolder`);
    /// an existing folder of that title is returned as it is.
    async fn create_folder(&self, username: &str, title: &str) -> Result<Folder, Error>;
    /// Moves one item to `target`'s folder `target_folder` (a title)
    /// (`content/users/{owner}/[{folderId}/]items/{id}/reassign`).
    async fn reassign_item(
        &self,
        owner: &str,
        item: &Item,
        target: &str,
        target_folder: &str,
    ) -> Result<(), Error>;
    /// Gives a group to `target` (`community/groups/{id}/reassign`).
    async fn reassign_group(&self, group_id: &str, target: &str) -> Result<(), Error>;
}

/// Deleting members.
pub trait MemberDeletion {
    /// Deletes a member (`community/users/{u}/delete`); ArcGIS refuses while
    /// the member still owns items or groups.
    async fn delete_user(&self, username: &str) -> Result<(), Error>;
}

/// A role with its description and privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub privileges: Vec<String>,
}

/// Custom roles (`portals/self/roles`, `createRole`, `roles/{id}/update`,
/// `roles/{id}/setPrivileges`).
pub trait RoleAdmin {
    /// Every listed role (custom roles plus Viewer and Data Editor) with its
    /// privileges (`returnPrivileges=true`).
    async fn role_details(&self) -> Result<Vec<RoleDetail>, Error>;
    /// Creates a role; returns its id.
    async fn create_role(&self, name: &str, description: &str) -> Result<String, Error>;
    /// Changes a role's name and description.
    async fn update_role_description(
        &self,
        role_id: &str,
        name: &str,
        description: &str,
    ) -> Result<(), Error>;
    /// Sets a role's privileges to exactly `privileges`.
    async fn set_privileges(&self, role_id: &str, privileges: &[String]) -> Result<(), Error>;
}

/// Licences of one user type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seats {
    pub user_type: String,
    /// What the org holds.
    pub purchased: u64,
    /// Members holding the type now.
    pub assigned: u64,
}

impl Seats {
    /// Licences free to give.
    pub fn free(&self) -> u64 {
        self.purchased.saturating_sub(self.assigned)
    }
}

/// The org's licences per user type.
pub trait Licences {
    /// What the org holds per user type (`portals/self/purchases`, as the
    /// ArcGIS API for Python reads it) and what is assigned
    /// (`portals/self/users/counts?type=userLicenseType`); `None` when the
    /// portal does not say what it holds (many Enterprise portals).
    async fn seats(&self) -> Result<Option<Vec<Seats>>, Error>;
}
