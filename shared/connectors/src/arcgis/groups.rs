//! Groups: looking one up, listing its members, adding members to it.

use serde::Deserialize;

use super::transport::{not_found_as_none, path_segment, Api, Method};
use super::{ArcgisClient, Group, GroupLookup, GroupMembers, GroupMembership};
use crate::Error;

impl GroupLookup for ArcgisClient {
    async fn group(&self, id: &str) -> Result<Option<Group>, Error> {
        let path = format!("community/groups/{}", path_segment(id));
        not_found_as_none(self.call(Api::Sharing, Method::Get, &path, &[]).await)
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
