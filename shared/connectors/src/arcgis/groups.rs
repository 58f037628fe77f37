//! Groups: looking one up, listing the org's, listing a group's members,
//! adding members to one and taking them out.

use serde::Deserialize;

use super::transport::{not_found_as_none, path_segment, Api, Method};
use super::{
    ArcgisClient, Group, GroupLeaving, GroupLookup, GroupMembers, GroupMembership, GroupPage,
    OrgGroups,
};
use crate::Error;

impl GroupLookup for ArcgisClient {
    async fn group(&self, id: &str) -> Result<Option<Group>, Error> {
        let path = format!("community/groups/{}", path_segment(id));
        not_found_as_none(self.call(Api::Sharing, Method::Get, &path, &[]).await)
    }
}

impl OrgGroups for ArcgisClient {
    async fn groups_page(&self, org_id: &str, start: u64, num: u64) -> Result<GroupPage, Error> {
        self.group_search(&format!("orgid:{org_id}"), start, num)
            .await
    }
}

impl ArcgisClient {
    /// One page (up to 100) of a group search for `q`, by title (*Group
    /// Search*, <https://developers.arcgis.com/rest/users-groups-and-items/group-search.htm>).
    pub(super) async fn group_search(
        &self,
        q: &str,
        start: u64,
        num: u64,
    ) -> Result<GroupPage, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            total: u64,
            #[serde(default)]
            results: Vec<Group>,
            #[serde(default)]
            next_start: Option<i64>,
        }
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Get,
                "community/groups",
                &[
                    ("q", q.to_string()),
                    ("start", start.to_string()),
                    ("num", num.min(100).to_string()),
                    ("sortField", "title".into()),
                    ("sortOrder", "asc".into()),
                ],
            )
            .await?;
        let next_start = reply
            .next_start
            .filter(|n| *n > 0 && *n as u64 > start && !reply.results.is_empty())
            .map(|n| n as u64);
        Ok(GroupPage {
            total: reply.total,
            groups: reply.results,
            next_start,
        })
    }
}

impl GroupMembers for ArcgisClient {
    async fn group_members(&self, group_id: &str) -> Result<Vec<String>, Error> {
        /// `userList` names members as strings or as objects, depending on
        /// the portal version.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Entry {
            Name(String),
            Member { username: String },
        }
        let path = format!("community/groups/{}/userList", path_segment(group_id));
        let mut members: Vec<String> = Vec::new();
        let mut add = |name: String| {
            if !members.contains(&name) {
                members.push(name);
            }
        };
        self.for_each_page(&path, "users", |users: Vec<Entry>, page| {
            let owner = page
                .get("owner")
                .and_then(|o| serde_json::from_value::<Entry>(o.clone()).ok());
            for entry in owner.into_iter().chain(users) {
                let (Entry::Name(name) | Entry::Member { username: name }) = entry;
                add(name);
            }
        })
        .await?;
        Ok(members)
    }
}

impl GroupMembership for ArcgisClient {
    async fn add_to_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            not_added: Vec<String>,
        }
        let path = format!("community/groups/{}/addUsers", path_segment(group_id));
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                &path,
                &[("users", usernames.join(","))],
            )
            .await?;
        Ok(reply.not_added)
    }
}

impl GroupLeaving for ArcgisClient {
    /// `community/groups/{id}/removeUsers` with `users` as a comma list
    /// (*Remove Users From Group*,
    /// <https://developers.arcgis.com/rest/users-groups-and-items/remove-users-from-group.htm>);
    /// the answer's `notRemoved` lists those still in the group.
    async fn remove_from_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            not_removed: Vec<String>,
        }
        let path = format!("community/groups/{}/removeUsers", path_segment(group_id));
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                &path,
                &[("users", usernames.join(","))],
            )
            .await?;
        Ok(reply.not_removed)
    }
}
