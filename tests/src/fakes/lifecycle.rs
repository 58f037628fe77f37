//! The fake org's member lifecycle: profile, role, user type and credit
//! changes, leaving groups, content and its reassignment, deletion, custom
//! roles and licence counts, with the refusals the jobs must handle.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use connectors::arcgis::{
    BulkResult, Folder, Group, GroupLeaving, Holdings, Item, Licences, MemberContent,
    MemberDeletion, MemberUpdate, ProfileChanges, RoleAdmin, RoleDetail, Seats,
};
use connectors::Error;

use super::FakeOrg;

/// How a [`FakeOrg`]'s `seats` call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatsFault {
    /// The account may not read the org's licences.
    Denied,
    /// The portal keeps failing.
    Unavailable,
}

/// What the fake org keeps beyond members and group memberships.
#[derive(Default)]
pub struct Lifecycle {
    /// Items by owner (lower-case username).
    pub items: RefCell<BTreeMap<String, Vec<Item>>>,
    /// Folders by owner (lower-case username).
    pub folders: RefCell<BTreeMap<String, Vec<Folder>>>,
    /// Group id → owner's username.
    pub group_owners: RefCell<BTreeMap<String, String>>,
    /// Custom roles (and Viewer, Data Editor) with their privileges.
    pub roles: RefCell<Vec<RoleDetail>>,
    /// Licences held per user type; `None`: the portal does not say.
    pub purchased: RefCell<Option<BTreeMap<String, u64>>>,
    /// User type changes refused, by username, with the portal's reason.
    pub refuse_user_type: RefCell<BTreeMap<String, String>>,
    /// Role changes refused, by username, with the portal's reason.
    pub refuse_role: RefCell<BTreeMap<String, String>>,
    /// Every `setPrivileges` call is refused with this reason.
    pub refuse_privileges: RefCell<Option<String>>,
    /// How every `seats` call fails, if it does.
    pub seats_fault: Cell<Option<SeatsFault>>,
}

impl FakeOrg {
    /// Gives `owner` an item, in `folder` (a title; created) or the root.
    pub fn add_item(&self, owner: &str, id: &str, title: &str, folder: Option<&str>) {
        let key = owner.to_ascii_lowercase();
        let folder = folder.map(|title| self.folder_of(&key, title));
        self.lifecycle
            .items
            .borrow_mut()
            .entry(key)
            .or_default()
            .push(Item {
                id: id.into(),
                title: title.into(),
                item_type: "Web Map".into(),
                folder,
            });
    }

    /// Makes `owner` the owner of group `id` (created when missing).
    pub fn own_group(&self, owner: &str, id: &str) {
        self.groups.borrow_mut().entry(id.into()).or_default();
        self.lifecycle
            .group_owners
            .borrow_mut()
            .insert(id.into(), owner.to_string());
    }

    /// The items `owner` holds.
    pub fn items_of(&self, owner: &str) -> Vec<Item> {
        self.lifecycle
            .items
            .borrow()
            .get(&owner.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    fn folder_of(&self, owner: &str, title: &str) -> Folder {
        let mut folders = self.lifecycle.folders.borrow_mut();
        let list = folders.entry(owner.to_string()).or_default();
        if let Some(found) = list.iter().find(|f| f.title.eq_ignore_ascii_case(title)) {
            return found.clone();
        }
        let folder = Folder {
            id: format!("f-{owner}-{}", list.len()),
            title: title.into(),
        };
        list.push(folder.clone());
        folder
    }

    fn with_member<T>(
        &self,
        username: &str,
        change: impl FnOnce(&mut connectors::arcgis::User) -> T,
    ) -> Result<T, Error> {
        let mut members = self.members.borrow_mut();
        match members.get_mut(&username.to_ascii_lowercase()) {
            Some(user) => Ok(change(user)),
            None => Err(Error::NotFound {
                what: format!(
                    "community/users: User {username} does not exist or is inaccessible."
                ),
            }),
        }
    }

    fn refused(operation: &str, message: &str) -> Error {
        Error::Api {
            service: "ArcGIS",
            operation: operation.into(),
            code: 400,
            message_code: None,
            message: message.into(),
        }
    }
}

impl MemberUpdate for FakeOrg {
    async fn update_profile(&self, username: &str, changes: &ProfileChanges) -> Result<(), Error> {
        self.call("update_profile");
        self.with_member(username, |user| {
            if let Some(v) = &changes.first_name {
                user.first_name = Some(v.clone());
            }
            if let Some(v) = &changes.last_name {
                user.last_name = Some(v.clone());
            }
            if let Some(v) = &changes.email {
                user.email = Some(v.clone());
            }
        })
    }

    async fn update_role(&self, username: &str, role_id: &str) -> Result<(), Error> {
        self.call("update_role");
        if let Some(why) = self.lifecycle.refuse_role.borrow().get(username) {
            return Err(Self::refused("portals/self/updateUserRole", why));
        }
        self.with_member(username, |user| {
            user.role_id = Some(role_id.into());
            user.role = Some(match role_id {
                "org_admin" | "org_publisher" | "org_user" => role_id.into(),
                _ => "org_user".into(),
            });
        })
    }

    async fn update_user_type(
        &self,
        usernames: &[String],
        user_type: &str,
    ) -> Result<Vec<BulkResult>, Error> {
        self.call("update_user_type");
        let refusals = self.lifecycle.refuse_user_type.borrow();
        Ok(usernames
            .iter()
            .map(|name| {
                let outcome = match refusals.get(name) {
                    Some(why) => Err(why.clone()),
                    None => self
                        .with_member(name, |u| u.user_license_type_id = Some(user_type.into()))
                        .map_err(|e| e.to_string()),
                };
                BulkResult {
                    username: name.clone(),
                    ok: outcome.is_ok(),
                    error: outcome.err(),
                }
            })
            .collect())
    }

    async fn assign_credits(&self, username: &str, credits: Option<f64>) -> Result<(), Error> {
        self.call("assign_credits");
        self.with_member(username, |user| {
            user.assigned_credits = Some(credits.unwrap_or(-1.0));
        })
    }
}

impl GroupLeaving for FakeOrg {
    async fn remove_from_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error> {
        self.call("remove_from_group");
        let mut groups = self.groups.borrow_mut();
        let members = groups.entry(group_id.to_string()).or_default();
        members.retain(|m| !usernames.iter().any(|u| u.eq_ignore_ascii_case(m)));
        Ok(Vec::new())
    }
}

impl MemberContent for FakeOrg {
    async fn holdings(&self, username: &str) -> Result<Holdings, Error> {
        self.call("holdings");
        let key = username.to_ascii_lowercase();
        let groups = self
            .lifecycle
            .group_owners
            .borrow()
            .iter()
            .filter(|(_, owner)| owner.eq_ignore_ascii_case(username))
            .map(|(id, owner)| Group {
                id: id.clone(),
                title: id.to_uppercase(),
                owner: owner.clone(),
            })
            .collect();
        Ok(Holdings {
            items: self.items_of(&key),
            folders: self
                .lifecycle
                .folders
                .borrow()
                .get(&key)
                .cloned()
                .unwrap_or_default(),
            groups,
        })
    }

    async fn create_folder(&self, username: &str, title: &str) -> Result<Folder, Error> {
        self.call("create_folder");
        Ok(self.folder_of(&username.to_ascii_lowercase(), title))
    }

    async fn reassign_item(
        &self,
        owner: &str,
        item: &Item,
        target: &str,
        target_folder: &str,
    ) -> Result<(), Error> {
        self.call("reassign_item");
        let folder = self.folder_of(&target.to_ascii_lowercase(), target_folder);
        let mut items = self.lifecycle.items.borrow_mut();
        let from = items.entry(owner.to_ascii_lowercase()).or_default();
        let Some(at) = from.iter().position(|i| i.id == item.id) else {
            return Err(Self::refused(
                "reassign",
                "Item does not exist or is inaccessible.",
            ));
        };
        let mut moved = from.remove(at);
        moved.folder = Some(folder);
        items
            .entry(target.to_ascii_lowercase())
            .or_default()
            .push(moved);
        Ok(())
    }

    async fn reassign_group(&self, group_id: &str, target: &str) -> Result<(), Error> {
        self.call("reassign_group");
        self.lifecycle
            .group_owners
            .borrow_mut()
            .insert(group_id.into(), target.into());
        Ok(())
    }
}

impl MemberDeletion for FakeOrg {
    async fn delete_user(&self, username: &str) -> Result<(), Error> {
        self.call("delete_user");
        let key = username.to_ascii_lowercase();
        let owns_items = !self.items_of(&key).is_empty();
        let owns_groups = self
            .lifecycle
            .group_owners
            .borrow()
            .values()
            .any(|o| o.eq_ignore_ascii_case(username));
        if owns_items || owns_groups {
            return Err(Self::refused(
                "community/users/delete",
                "User cannot be deleted: the user owns items or groups.",
            ));
        }
        match self.members.borrow_mut().remove(&key) {
            Some(_) => Ok(()),
            None => Err(Error::NotFound {
                what: format!(
                    "community/users: User {username} does not exist or is inaccessible."
                ),
            }),
        }
    }
}

impl RoleAdmin for FakeOrg {
    async fn role_details(&self) -> Result<Vec<RoleDetail>, Error> {
        self.call("role_details");
        Ok(self.lifecycle.roles.borrow().clone())
    }

    async fn create_role(&self, name: &str, description: &str) -> Result<String, Error> {
        self.call("create_role");
        let mut roles = self.lifecycle.roles.borrow_mut();
        let id = format!("role{:012}", roles.len());
        roles.push(RoleDetail {
            id: id.clone(),
            name: name.into(),
            description: description.into(),
            privileges: Vec::new(),
        });
        Ok(id)
    }

    async fn update_role_description(
        &self,
        role_id: &str,
        name: &str,
        description: &str,
    ) -> Result<(), Error> {
        self.call("update_role_description");
        let mut roles = self.lifecycle.roles.borrow_mut();
        let role = roles
            .iter_mut()
            .find(|r| r.id == role_id)
            .ok_or_else(|| Self::refused("roles/update", "Role does not exist."))?;
        role.name = name.into();
        role.description = description.into();
        Ok(())
    }

    async fn set_privileges(&self, role_id: &str, privileges: &[String]) -> Result<(), Error> {
        self.call("set_privileges");
        if let Some(why) = self.lifecycle.refuse_privileges.borrow().as_deref() {
            return Err(Self::refused("roles/setPrivileges", why));
        }
        let mut roles = self.lifecycle.roles.borrow_mut();
        let role = roles
            .iter_mut()
            .find(|r| r.id == role_id)
            .ok_or_else(|| Self::refused("roles/setPrivileges", "Role does not exist."))?;
        role.privileges = privileges.to_vec();
        Ok(())
    }
}

impl Licences for FakeOrg {
    async fn seats(&self) -> Result<Option<Vec<Seats>>, Error> {
        self.call("seats");
        match self.lifecycle.seats_fault.get() {
            Some(SeatsFault::Denied) => return Err(Error::Permission {
                service: "ArcGIS",
                operation: "portals/self/purchases".into(),
                message:
                    "You do not have permissions to access this resource or perform this operation."
                        .into(),
            }),
            Some(SeatsFault::Unavailable) => {
                return Err(Error::Unavailable {
                    service: "ArcGIS",
                    status: 503,
                    attempts: 4,
                })
            }
            None => {}
        }
        let Some(purchased) = self.lifecycle.purchased.borrow().clone() else {
            return Ok(None);
        };
        let members = self.members.borrow();
        Ok(Some(
            purchased
                .into_iter()
                .map(|(user_type, purchased)| Seats {
                    assigned: members
                        .values()
                        .filter(|u| u.user_license_type_id.as_deref() == Some(&user_type))
                        .count() as u64,
                    user_type,
                    purchased,
                })
                .collect(),
        ))
    }
}
