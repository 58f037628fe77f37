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
            default_user_credit_assignment: Option<f64>,
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
            default_credits: raw.default_user_credit_assignment.filter(|c| *c >= 0.0),
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

    /// `portals/self/userDefaultSettings` (Online, Enterprise 10.8+); an
    /// Enterprise portal without it (before 10.8) keeps its defaults in the
    /// portaladmin security configuration (`defaultRoleForUser`,
    /// `defaultUserTypeIdForUser`), as the ArcGIS API for Python reads them.
    async fn user_defaults(&self) -> Result<UserDefaults, Error> {
        let settings = self
            .call(
                Api::Sharing,
                Method::Get,
                "portals/self/userDefaultSettings",
                &[],
            )
            .await;
        match settings {
            Err(Error::NotFound { .. } | Error::Api { .. }) => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct SecurityConfig {
                    #[serde(default)]
                    default_role_for_user: Option<String>,
                    #[serde(default)]
                    default_user_type_id_for_user: Option<String>,
                }
                let config: SecurityConfig = self
                    .call(Api::PortalAdmin, Method::Get, "security/config", &[])
                    .await?;
                Ok(UserDefaults {
                    role: config.default_role_for_user.filter(|r| !r.is_empty()),
                    user_license_type: config
                        .default_user_type_id_for_user
                        .filter(|t| !t.is_empty()),
                    groups: Vec::new(),
                })
            }
            other => other,
        }
    }
}
