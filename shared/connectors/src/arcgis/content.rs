//! What members own (items in every folder, groups), giving it to another
//! member, and deleting members.
//!
//! Sources: *User Content*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/user-content.htm>),
//! *Reassign Item*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/reassign-item.htm>),
//! *Delete User*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/delete-user.htm>),
//! *Group Search* with the `owner` field
//! (<https://developers.arcgis.com/rest/users-groups-and-items/search-reference.htm>),
//! and the ArcGIS API for Python (PyPI `arcgis` 2.4.4,
//! `arcgis/gis/_impl/_portalpy.py`: `create_folder`, `reassign_item`,
//! `reassign_group`) for `createFolder` and group `reassign`.

use serde::Deserialize;
use serde_json::Value;

use super::transport::{path_segment, Api, Method};
use super::{ArcgisClient, Folder, Holdings, Item, MemberContent, MemberDeletion};
use crate::Error;

/// An item as `content/users/{u}[/{folderId}]` lists it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default, rename = "type")]
    item_type: String,
}

impl MemberContent for ArcgisClient {
    /// The root listing (paged; its `folders` name every folder, since
    /// folders do not nest), each folder's listing (paged), then the groups
    /// a search for `owner:"<u>"` finds whose owner is the member.
    async fn holdings(&self, username: &str) -> Result<Holdings, Error> {
        let root = format!("content/users/{}", path_segment(username));
        let mut items: Vec<Item> = Vec::new();
        let mut folders: Vec<Folder> = Vec::new();
        let mut folders_error: Option<Error> = None;
        self.for_each_page(&root, "items", |batch: Vec<RawItem>, page| {
            items.extend(batch.into_iter().map(|raw| item(raw, None)));
            if folders.is_empty() {
                match folders_of(page) {
                    Ok(found) => folders = found,
                    Err(e) => folders_error = Some(e),
                }
            }
        })
        .await?;
        if let Some(e) = folders_error {
            return Err(e);
        }
        for folder in &folders {
            let path = format!("{root}/{}", path_segment(&folder.id));
            let batch: Vec<RawItem> = self.all_pages(&path, "items").await?;
            items.extend(batch.into_iter().map(|raw| item(raw, Some(folder.clone()))));
        }
        let groups = self.owned_groups(username).await?;
        Ok(Holdings {
            items,
            folders,
            groups,
        })
    }

    /// Looks the title up among the member's folders first (case-insensitively,
    /// as the ArcGIS API for Python matches folder titles), so an existing
    /// folder is reused rather than refused.
    async fn create_folder(&self, username: &str, title: &str) -> Result<Folder, Error> {
        let root = format!("content/users/{}", path_segment(username));
        let page: Value = self
            .call(
                Api::Sharing,
                Method::Get,
                &root,
                &[("start", "1".into()), ("num", "1".into())],
            )
            .await?;
        if let Some(found) = folders_of(&page)?
            .into_iter()
            .find(|f| f.title.eq_ignore_ascii_case(title))
        {
            return Ok(found);
        }
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            success: Option<bool>,
            #[serde(default)]
            folder: Option<Folder>,
        }
        let path = format!("{root}/createFolder");
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                &path,
                &[("title", title.into())],
            )
            .await?;
        match reply {
            Reply {
                success: Some(true),
                folder: Some(folder),
            } => Ok(folder),
            _ => Err(Error::Api {
                service: "ArcGIS",
                operation: "content/users/createFolder".into(),
                code: 200,
                message_code: None,
                message: "the portal did not answer success:true with the folder".into(),
            }),
        }
    }

    /// `content/users/{owner}/[{folderId}/]items/{id}/reassign` with
    /// `targetUsername` and `targetFolderName` (the portal creates a missing
    /// target folder, *Reassign Item*).
    async fn reassign_item(
        &self,
        owner: &str,
        item: &Item,
        target: &str,
        target_folder: &str,
    ) -> Result<(), Error> {
        let mut path = format!("content/users/{}", path_segment(owner));
        if let Some(folder) = &item.folder {
            path.push('/');
            path.push_str(&path_segment(&folder.id));
        }
        path.push_str(&format!("/items/{}/reassign", path_segment(&item.id)));
        self.post_for_success(
            &path,
            &[
                ("targetUsername", target.to_string()),
                ("targetFolderName", target_folder.to_string()),
            ],
        )
        .await
    }

    async fn reassign_group(&self, group_id: &str, target: &str) -> Result<(), Error> {
        let path = format!("community/groups/{}/reassign", path_segment(group_id));
        self.post_for_success(&path, &[("targetUsername", target.to_string())])
            .await
    }
}

impl MemberDeletion for ArcgisClient {
    /// The portal refuses while the member owns items or groups; that
    /// refusal comes back as the error with the portal's message.
    async fn delete_user(&self, username: &str) -> Result<(), Error> {
        let path = format!("community/users/{}/delete", path_segment(username));
        self.post_for_success(&path, &[]).await
    }
}

impl ArcgisClient {
    /// Every group a search for `owner:"<u>"` finds whose owner is the member.
    async fn owned_groups(&self, username: &str) -> Result<Vec<super::Group>, Error> {
        let query = format!("owner:\"{username}\"");
        let mut groups = Vec::new();
        let mut start = 1;
        loop {
            let page = self.group_search(&query, start, 100).await?;
            groups.extend(
                page.groups
                    .into_iter()
                    .filter(|g| g.owner.eq_ignore_ascii_case(username)),
            );
            match page.next_start {
                Some(next) => start = next,
                None => return Ok(groups),
            }
        }
    }
}

fn item(raw: RawItem, folder: Option<Folder>) -> Item {
    Item {
        id: raw.id,
        title: raw.title,
        item_type: raw.item_type,
        folder,
    }
}

/// The `folders` of a root listing page (absent: none).
fn folders_of(page: &Value) -> Result<Vec<Folder>, Error> {
    let Some(list) = page.get("folders").filter(|f| !f.is_null()) else {
        return Ok(Vec::new());
    };
    serde_path_to_error::deserialize(list.clone()).map_err(|e| Error::Decode {
        service: "ArcGIS",
        operation: "content/users".into(),
        path: format!("folders{}", e.path()),
        message: e.inner().to_string(),
    })
}
