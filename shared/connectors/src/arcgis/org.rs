//! The organisation: `portals/self` and its catalog of roles, user types and
//! new-member defaults.

use serde::Deserialize;

use super::transport::{Api, Method};
use super::{
    ArcgisClient, OrgCatalog, OrgInfo, Portal, PortalKind, Role, User, UserDefaults, UserType,
};
use crate::Error;

impl OrgInfo for ArcgisClient {
    async fn portal(&self) -> Result<Portal, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            is_portal: bool,
            #[serde(default)]
            user: Option<User>,
        }
        let raw: Raw = self
            .call(Api::Sharing, Method::Get, "portals/self", &[])
            .await?;
        Ok(Portal {
            id: raw.id.unwrap_or_default(),
            name: raw.name.unwrap_or_default(),
            kind: if raw.is_portal {
                PortalKind::Enterprise
            } else {
                PortalKind::Online
            },
            caller: raw.user,
        })
    }
}

impl OrgCatalog for ArcgisClient {
    async fn roles(&self) -> Result<Vec<Role>, Error> {
        self.all_pages("portals/self/roles", "roles").await
    }

    async fn user_types(&self) -> Result<Vec<UserType>, Error> {
        self.all_pages("portals/self/userLicenseTypes", "userLicenseTypes")
            .await
    }

    async fn user_defaults(&self) -> Result<UserDefaults, Error> {
        self.call(
            Api::Sharing,
            Method::Get,
            "portals/self/userDefaultSettings",
            &[],
        )
        .await
    }
}
