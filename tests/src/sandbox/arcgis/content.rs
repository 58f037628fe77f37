//! Members' content: items in folders and the root, the content listings,
//! `createFolder`, item and group reassignment, and what blocks a delete.
//!
//! Sources (full URLs under References in [`super`]):
//! - *User Content* (`content/users/{u}`, `content/users/{u}/{folderId}`):
//!   the root listing names the folders; folders do not nest; owner or org
//!   administrator only; `start`/`num`/`nextStart` paging.
//! - *Create Folder*
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/create-folder.htm>):
//!   `title`; answer `{"success", "folder": {"username", "id", "title"}}`.
//! - *Reassign Item*: `content/users/{owner}/[{folderId}/]items/{id}/reassign`
//!   with `targetUsername` and `targetFolderName` (`/` or empty: the root; a
//!   missing folder is created); answer `{"success", "itemId"}`.
//! - *Reassign Group*
//!   (<https://developers.arcgis.com/rest/users-groups-and-items/reassign-group.htm>):
//!   `community/groups/{id}/reassign` with `targetUsername`; the old owner
//!   stays a manager.
//! - *Delete User*: refused while the member owns items or groups.
//! - *User types, roles, and privileges*
//!   (<https://doc.arcgis.com/en/arcgis-online/reference/roles.htm>): Viewers
//!   (and Editors, Mobile Workers) cannot create or own content, so they
//!   cannot receive items or groups either.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::licensing::can_own_content;
use super::model::State;
use super::ops::{is_admin, next_start, paging};
use super::request::{error, forbidden, group_not_found, user_not_found, Params};

/// An item a member owns.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub title: String,
    pub item_type: String,
    /// Lower-cased username of the owner.
    pub owner: String,
    /// Folder id; `None` for the root folder.
    pub folder: Option<String>,
    pub created: i64,
    /// Creation order (several items share a millisecond).
    pub seq: u64,
}

/// A folder of a member's content.
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub id: String,
    pub title: String,
    /// Lower-cased username of the owner.
    pub owner: String,
    pub created: i64,
    /// Creation order.
    pub seq: u64,
}

/// Every item and folder of the org, by id.
#[derive(Debug, Default)]
pub(crate) struct Content {
    pub items: BTreeMap<String, Item>,
    pub folders: BTreeMap<String, Folder>,
    /// The next creation sequence number.
    next_seq: u64,
}

impl Content {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// 400 CONT_0001: item missing or not where the path says (*arcgis-rest-js*
/// and third-party fixtures name the code).
fn item_not_found() -> Value {
    error(
        400,
        Some("CONT_0001"),
        "Item does not exist or is inaccessible.",
        &[],
    )
}

/// A folder id that is not the member's [unverified wording].
fn folder_not_found() -> Value {
    error(400, None, "Folder does not exist or is inaccessible.", &[])
}

impl State {
    /// Items `key` owns, in creation order.
    pub(crate) fn items_owned(&self, key: &str) -> Vec<&Item> {
        let mut items: Vec<&Item> = self
            .content
            .items
            .values()
            .filter(|i| i.owner == key)
            .collect();
        items.sort_by_key(|i| i.seq);
        items
    }

    /// Folders of `key`, in creation order.
    pub(crate) fn folders_owned(&self, key: &str) -> Vec<&Folder> {
        let mut folders: Vec<&Folder> = self
            .content
            .folders
            .values()
            .filter(|f| f.owner == key)
            .collect();
        folders.sort_by_key(|f| f.seq);
        folders
    }

    /// Ids of the groups `key` owns, sorted.
    pub(crate) fn groups_owned(&self, key: &str) -> Vec<String> {
        self.groups
            .values()
            .filter(|g| g.owner == key)
            .map(|g| g.id.clone())
            .collect()
    }

    /// Keeps the member's cached item count (`MemberView::items`) true.
    pub(crate) fn recount_items(&mut self, key: &str) {
        let count = self
            .content
            .items
            .values()
            .filter(|i| i.owner == key)
            .count();
        if let Some(m) = self.members.get_mut(key) {
            m.items = u32::try_from(count).unwrap_or(u32::MAX);
        }
        self.touch();
    }

    /// The id of `key`'s folder titled `title` (case-insensitively), created
    /// when missing.
    pub(crate) fn folder_for(&mut self, key: &str, title: &str) -> String {
        if let Some(f) = self
            .content
            .folders
            .values()
            .find(|f| f.owner == key && f.title.eq_ignore_ascii_case(title))
        {
            return f.id.clone();
        }
        let id = self.new_id();
        let created = self.now();
        let seq = self.content.seq();
        self.content.folders.insert(
            id.clone(),
            Folder {
                id: id.clone(),
                title: title.to_string(),
                owner: key.to_string(),
                created,
                seq,
            },
        );
        id
    }

    /// Gives `key` a new item in `folder` (a title, created when missing) or
    /// the root; returns its id.
    pub(crate) fn add_item(
        &mut self,
        key: &str,
        folder: Option<&str>,
        title: &str,
        item_type: &str,
    ) -> String {
        let folder = folder.map(|t| self.folder_for(key, t));
        let id = self.new_id();
        let created = self.now();
        let seq = self.content.seq();
        self.content.items.insert(
            id.clone(),
            Item {
                id: id.clone(),
                title: title.to_string(),
                item_type: item_type.to_string(),
                owner: key.to_string(),
                folder,
                created,
                seq,
            },
        );
        self.recount_items(key);
        id
    }

    /// `n` root items `Item 1`…`Item n` (a seeded member's `items`).
    pub(crate) fn seed_items(&mut self, key: &str, n: u32) {
        for i in 1..=n {
            self.add_item(key, None, &format!("Item {i}"), "Web Map");
        }
        self.recount_items(key);
    }

    fn item_json(&self, item: &Item) -> Value {
        let owner = self
            .members
            .get(&item.owner)
            .map_or(item.owner.as_str(), |m| m.username.as_str());
        json!({
            "id": item.id,
            "owner": owner,
            "title": item.title,
            "type": item.item_type,
            "ownerFolder": item.folder,
            "access": "private",
            "protected": false,
            "size": 1024,
            "created": item.created,
            "modified": item.created,
        })
    }

    fn folder_json(&self, folder: &Folder) -> Value {
        let owner = self
            .members
            .get(&folder.owner)
            .map_or(folder.owner.as_str(), |m| m.username.as_str());
        json!({
            "username": owner,
            "id": folder.id,
            "title": folder.title,
            "created": folder.created,
        })
    }
}

/// The member `username` names, if the caller may see their content (the
/// member or an org administrator): `Ok(key)`, else the error to answer.
fn content_owner(state: &State, caller: &str, username: &str) -> Result<String, Value> {
    let Some(m) = state.member(username).filter(|m| m.in_org()) else {
        return Err(user_not_found());
    };
    let key = m.username.to_lowercase();
    if key != caller && !is_admin(state, caller) {
        return Err(forbidden());
    }
    Ok(key)
}

/// `content/users/{u}` and `content/users/{u}/{folderId}` (*User Content*):
/// one page (default 10, at most 100) of the folder's items; the root
/// listing also names every folder.
pub(crate) fn user_content(
    state: &State,
    caller: &str,
    username: &str,
    folder: Option<&str>,
    p: &Params,
) -> Value {
    let key = match content_owner(state, caller, username) {
        Ok(key) => key,
        Err(e) => return e,
    };
    let current = match folder {
        None => None,
        Some(id) => match state.content.folders.get(id).filter(|f| f.owner == key) {
            Some(f) => Some(f),
            None => return folder_not_found(),
        },
    };
    let wanted = current.map(|f| f.id.clone());
    let items: Vec<&Item> = state
        .items_owned(&key)
        .into_iter()
        .filter(|i| i.folder == wanted)
        .collect();
    let (start, num) = paging(p, 10);
    let total = items.len();
    let from = (start - 1).min(total);
    let to = (from + num).min(total);
    let page: Vec<Value> = items[from..to].iter().map(|i| state.item_json(i)).collect();
    let folders: Vec<Value> = if current.is_none() {
        state
            .folders_owned(&key)
            .into_iter()
            .map(|f| state.folder_json(f))
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "username": state.members[&key].username,
        "total": total,
        "start": start,
        "num": page.len(),
        "nextStart": next_start(start, page.len(), total),
        "currentFolder": current.map(|f| state.folder_json(f)),
        "items": page,
        "folders": folders,
    })
}

/// `content/users/{u}/createFolder` (*Create Folder*): a title the member
/// already has (ignoring case) is refused [unverified wording].
pub(crate) fn create_folder(state: &mut State, caller: &str, username: &str, p: &Params) -> Value {
    let key = match content_owner(state, caller, username) {
        Ok(key) => key,
        Err(e) => return e,
    };
    let Some(title) = p.non_empty("title") else {
        return error(
            400,
            None,
            "Unable to create folder.",
            &["'title' must be specified."],
        );
    };
    if state
        .folders_owned(&key)
        .iter()
        .any(|f| f.title.eq_ignore_ascii_case(title))
    {
        return error(
            400,
            None,
            "Unable to create folder.",
            &["A folder with that name already exists."],
        );
    }
    let id = state.folder_for(&key, title);
    let folder = state.content.folders[&id].clone();
    json!({ "success": true, "folder": state.folder_json(&folder) })
}

/// The receiving member of a reassignment: in the org, with a user type
/// that can own content; `Ok(key)`, else the error to answer.
fn receiver(state: &State, target: Option<&str>, what: &str) -> Result<String, Value> {
    let Some(m) = target.and_then(|t| state.member(t)).filter(|m| m.in_org()) else {
        return Err(error(
            400,
            None,
            &format!("Unable to reassign {what}."),
            &["'targetUsername' is missing or not a member of the organization."],
        ));
    };
    if !can_own_content(&m.user_type) {
        // *User types, roles, and privileges*: this user type cannot own content
        // [unverified wording].
        return Err(error(
            400,
            None,
            &format!("Unable to reassign {what}."),
            &[&format!(
                "User {} has user type {} which cannot own content.",
                m.username, m.user_type
            )],
        ));
    }
    Ok(m.username.to_lowercase())
}

/// `content/users/{owner}/[{folderId}/]items/{id}/reassign` (*Reassign Item*):
/// org administrators only; the item must be the owner's and in the folder
/// the path names.
pub(crate) fn reassign_item(
    state: &mut State,
    owner: &str,
    folder: Option<&str>,
    item_id: &str,
    p: &Params,
) -> Value {
    let owner_key = owner.to_lowercase();
    let Some(item) = state.content.items.get(item_id) else {
        return item_not_found();
    };
    if item.owner != owner_key || item.folder.as_deref() != folder {
        return item_not_found();
    }
    let target = match receiver(state, p.non_empty("targetUsername"), "item") {
        Ok(key) => key,
        Err(e) => return e,
    };
    let folder_name = p.non_empty("targetFolderName").unwrap_or("/");
    let target_folder = (folder_name != "/").then(|| state.folder_for(&target, folder_name));
    let item = state.content.items.get_mut(item_id).expect("checked above");
    item.owner = target.clone();
    item.folder = target_folder;
    state.recount_items(&owner_key);
    state.recount_items(&target);
    json!({ "success": true, "itemId": item_id })
}

/// `community/groups/{id}/reassign` (*Reassign Group*): org administrators only.
pub(crate) fn reassign_group(state: &mut State, group_id: &str, p: &Params) -> Value {
    if !state.groups.contains_key(group_id) {
        return group_not_found();
    }
    let target = match receiver(state, p.non_empty("targetUsername"), "group") {
        Ok(key) => key,
        Err(e) => return e,
    };
    state.set_group_owner(group_id, &target);
    if let Some(g) = state.groups.get_mut(group_id) {
        g.modified = g.modified.max(super::model::now_ms());
    }
    json!({ "success": true, "groupId": group_id })
}

/// Why *Delete User* refuses `key`: the items and groups it still owns
/// [unverified wording; the reference says content and groups must go first].
pub(crate) fn delete_refusal(state: &State, key: &str) -> Option<Value> {
    let items = state.items_owned(key).len();
    let groups = state.groups_owned(key).len();
    if items == 0 && groups == 0 {
        return None;
    }
    Some(error(
        400,
        None,
        &format!(
            "User cannot be deleted: the user owns {items} item(s) and {groups} group(s). \
             Reassign or delete them first."
        ),
        &[],
    ))
}
