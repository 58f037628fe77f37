//! Seeding and inspection for the member lifecycle: items and folders,
//! group owners, licences per user type, the sandbox's clock, user-type
//! change dates, and roles with their privileges. The behaviour behind them
//! is in [`super::content`], [`super::licensing`] and [`super::role_admin`].
//!
//! # References
//!
//! Beyond those listed in [`super`], these modules follow (and cite by the
//! short names in *italics*):
//! - *User Content*: <https://developers.arcgis.com/rest/users-groups-and-items/user-content.htm>
//! - *Create Folder*: <https://developers.arcgis.com/rest/users-groups-and-items/create-folder.htm>
//! - *Reassign Item*: <https://developers.arcgis.com/rest/users-groups-and-items/reassign-item.htm>
//! - *Reassign Group*: <https://developers.arcgis.com/rest/users-groups-and-items/reassign-group.htm>
//! - *Create Role*: <https://developers.arcgis.com/rest/users-groups-and-items/create-role.htm>
//! - *Update Role*: <https://developers.arcgis.com/rest/users-groups-and-items/update-role.htm>
//! - *Set Role Privileges*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/set-role-privileges.htm>
//! - *Role*: <https://developers.arcgis.com/rest/users-groups-and-items/role.htm>
//! - *Purchases*: <https://developers.arcgis.com/rest/users-groups-and-items/purchases.htm>
//! - *License* (Portal Administrator API):
//!   <https://developers.arcgis.com/rest/enterprise-administration/portal/license.htm>
//! - *User types, roles, and privileges* (ArcGIS Online help):
//!   <https://doc.arcgis.com/en/arcgis-online/reference/roles.htm>
//! - *arcgis-python* 2.4.4 (PyPI `arcgis`): `User.update_license_type`,
//!   `UserManager.counts`, `CreditManager.allocate` / `deallocate`
//!   (`arcgis/gis/admin/_creditmanagement.py`), `License.report`
//!   (`arcgis/gis/admin/_license.py`), `Role.privileges`.

use super::ArcgisSandbox;
use super::DAY_MS;

/// An item as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    /// 32-hex item id.
    pub id: String,
    pub title: String,
    /// Item type (`Web Map`, `Feature Service`…).
    pub item_type: String,
    /// Title of the folder it is in; `None` for the root.
    pub folder: Option<String>,
}

/// A listed role (custom, Viewer, Data Editor) as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub privileges: Vec<String>,
}

impl ArcgisSandbox {
    /// Gives `owner` an item titled `title` of type `item_type`, in the folder
    /// titled `folder` (created when missing) or the root; returns its id.
    /// Panics if there is no such account.
    pub fn add_item(
        &self,
        owner: &str,
        folder: Option<&str>,
        title: &str,
        item_type: &str,
    ) -> String {
        let mut st = self.shared.lock();
        let key = owner.to_lowercase();
        assert!(
            st.members.contains_key(&key),
            "add_item: no account {owner:?} in the sandbox"
        );
        st.add_item(&key, folder, title, item_type)
    }

    /// `owner`'s items in creation order, with their folder titles.
    pub fn items_of(&self, owner: &str) -> Vec<ItemView> {
        let st = self.shared.lock();
        st.items_owned(&owner.to_lowercase())
            .into_iter()
            .map(|i| ItemView {
                id: i.id.clone(),
                title: i.title.clone(),
                item_type: i.item_type.clone(),
                folder: i
                    .folder
                    .as_ref()
                    .and_then(|f| st.content.folders.get(f))
                    .map(|f| f.title.clone()),
            })
            .collect()
    }

    /// Titles of `owner`'s folders in creation order.
    pub fn folders_of(&self, owner: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.folders_owned(&owner.to_lowercase())
            .into_iter()
            .map(|f| f.title.clone())
            .collect()
    }

    /// Makes `owner` the owner of an existing group (the old owner stays a
    /// manager). Panics if the group or the account does not exist.
    pub fn set_group_owner(&self, group_id: &str, owner: &str) {
        let mut st = self.shared.lock();
        let key = owner.to_lowercase();
        assert!(
            st.groups.contains_key(group_id),
            "set_group_owner: no group {group_id:?}"
        );
        assert!(
            st.members.contains_key(&key),
            "set_group_owner: no account {owner:?}"
        );
        st.set_group_owner(group_id, &key);
    }

    /// The canonical username of a group's owner.
    pub fn group_owner(&self, group_id: &str) -> Option<String> {
        let st = self.shared.lock();
        let g = st.groups.get(group_id)?;
        Some(
            st.members
                .get(&g.owner)
                .map_or(g.owner.clone(), |m| m.username.clone()),
        )
    }

    /// Ids of the groups `owner` owns, sorted.
    pub fn groups_owned_by(&self, owner: &str) -> Vec<String> {
        self.shared.lock().groups_owned(&owner.to_lowercase())
    }

    /// Sets the licences the org holds per user type (replacing any): served
    /// by `portals/self/purchases` on Online and the portaladmin `license`
    /// resource on Enterprise, and enforced by `updateUserLicenseType`. A
    /// type left out is held 0 times.
    pub fn set_purchased_licences(&self, held: &[(&str, u64)]) {
        self.shared.lock().licensing.purchased =
            Some(held.iter().map(|(t, n)| ((*t).to_string(), *n)).collect());
    }

    /// The portal says nothing about its licences again (the default): no
    /// user type in the purchases or the `license` resource, and no limit.
    pub fn clear_purchased_licences(&self) {
        self.shared.lock().licensing.purchased = None;
    }

    /// This org's members holding `user_type` (the system accounts left out).
    pub fn assigned_licences(&self, user_type: &str) -> u64 {
        self.shared.lock().assigned(user_type)
    }

    /// Fixes the sandbox's clock at `at_ms` (epoch ms): the 30-day user-type
    /// rule and the lifecycle operations' timestamps read it. Token expiry
    /// and sign-in keep the wall clock.
    pub fn set_clock(&self, at_ms: i64) {
        self.shared.lock().licensing.clock = Some(at_ms);
    }

    /// Moves the sandbox's clock on by whole days (from the wall clock when
    /// it was not set).
    pub fn advance_clock_days(&self, days: i64) {
        let mut st = self.shared.lock();
        let now = st.now();
        st.licensing.clock = Some(now + days * DAY_MS);
    }

    /// The sandbox's clock back on the wall clock.
    pub fn clear_clock(&self) {
        self.shared.lock().licensing.clock = None;
    }

    /// The sandbox's clock now (epoch ms).
    pub fn clock(&self) -> i64 {
        self.shared.lock().now()
    }

    /// Records `username`'s last user-type change at `at` (epoch ms), or
    /// forgets it with `None`. Panics if there is no such account.
    pub fn set_user_type_changed(&self, username: &str, at: Option<i64>) {
        let mut st = self.shared.lock();
        let key = username.to_lowercase();
        assert!(
            st.members.contains_key(&key),
            "set_user_type_changed: no account {username:?}"
        );
        match at {
            Some(at) => st.licensing.type_changed.insert(key, at),
            None => st.licensing.type_changed.remove(&key),
        };
    }

    /// When `username`'s user type last changed through the portal (epoch ms).
    pub fn user_type_changed(&self, username: &str) -> Option<i64> {
        self.shared
            .lock()
            .licensing
            .type_changed
            .get(&username.to_lowercase())
            .copied()
    }

    /// Every listed role (Viewer, Data Editor, then custom roles in creation
    /// order) with its privileges.
    pub fn roles(&self) -> Vec<RoleView> {
        self.shared
            .lock()
            .roles
            .iter()
            .map(|r| RoleView {
                id: r.id.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                privileges: r.privileges.clone(),
            })
            .collect()
    }

    /// The listed role named `name` (ignoring case).
    pub fn role_named(&self, name: &str) -> Option<RoleView> {
        self.roles()
            .into_iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }
}
