//! Custom roles: listing them with their privileges, creating one, changing
//! its name and description, setting its privileges.
//!
//! Sources: *Roles*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/roles.htm>,
//! `returnPrivileges`), *Create Role*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/create-role.htm>),
//! *Update Role*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/update-role.htm>),
//! *Set Role Privileges*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/set-role-privileges.htm>).

use serde::Deserialize;

use super::transport::{path_segment, Api, Method};
use super::{ArcgisClient, RoleAdmin, RoleDetail};
use crate::Error;

/// A role as `portals/self/roles?returnPrivileges=true` lists it.
#[derive(Deserialize)]
struct RawRole {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    privileges: Option<Vec<String>>,
}

impl RoleAdmin for ArcgisClient {
    async fn role_details(&self) -> Result<Vec<RoleDetail>, Error> {
        let mut roles = Vec::new();
        self.for_each_page_with(
            "portals/self/roles",
            &[("returnPrivileges", "true".into())],
            "roles",
            |batch: Vec<RawRole>, _| {
                roles.extend(batch.into_iter().map(|raw| RoleDetail {
                    id: raw.id,
                    name: raw.name,
                    description: raw.description.unwrap_or_default(),
                    privileges: raw.privileges.unwrap_or_default(),
                }))
            },
        )
        .await?;
        Ok(roles)
    }

    /// `createRole` answers `{"success": true, "id": "<roleId>"}`; the role
    /// starts without privileges (they are set in a second call).
    async fn create_role(&self, name: &str, description: &str) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            success: Option<bool>,
            #[serde(default)]
            id: Option<String>,
        }
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                "portals/self/createRole",
                &[("name", name.into()), ("description", description.into())],
            )
            .await?;
        match reply {
            Reply {
                success: Some(true),
                id: Some(id),
            } if !id.is_empty() => Ok(id),
            _ => Err(Error::Api {
                service: "ArcGIS",
                operation: "portals/self/createRole".into(),
                code: 200,
                message_code: None,
                message: "the portal did not answer success:true with the role's id".into(),
            }),
        }
    }

    async fn update_role_description(
        &self,
        role_id: &str,
        name: &str,
        description: &str,
    ) -> Result<(), Error> {
        let path = format!("portals/self/roles/{}/update", path_segment(role_id));
        self.post_for_success(
            &path,
            &[("name", name.into()), ("description", description.into())],
        )
        .await
    }

    /// `privileges={"privileges":[...]}` as one JSON form field.
    async fn set_privileges(&self, role_id: &str, privileges: &[String]) -> Result<(), Error> {
        let path = format!("portals/self/roles/{}/setPrivileges", path_segment(role_id));
        let body = serde_json::json!({ "privileges": privileges }).to_string();
        self.post_for_success(&path, &[("privileges", body)]).await
    }
}
