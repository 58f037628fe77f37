//! The org's licences per user type: what it holds and what is assigned.
//!
//! What the org holds is read where the portal says it, in one of two
//! documented shapes:
//!
//! 1. `portals/self/purchases` (*Purchases*,
//!    <https://developers.arcgis.com/rest/users-groups-and-items/purchases.htm>):
//!    `purchases[]` and `trials[]`, each a `provision` whose
//!    `orgEntitlements.entitlements` maps an entitlement to `{"num": N}`, as
//!    the ArcGIS API for Python's `License.report` reads it (PyPI `arcgis`
//!    2.4.4, `arcgis/gis/admin/_license.py`; `LicenseManager` is built on
//!    `portals/self/purchases`). The entitlements that are user types (ids
//!    of `portals/self/userLicenseTypes`) are the user-type licences; the
//!    others (ArcGIS Pro extensions…) are not counted.
//! 2. On ArcGIS Enterprise, when the purchases name no user type, the
//!    Portal Administrator `license` resource (*License*,
//!    <https://developers.arcgis.com/rest/enterprise-administration/portal/license.htm>):
//!    `userTypes[]` with `id` and `maximumRegisteredMembers`.
//!
//! A portal that says neither (no user type among the purchases; Online, or
//! an Enterprise portal whose `license` answers an error or no `userTypes`)
//! gives `None`: the caller cannot check seats.
//!
//! What is assigned is `portals/self/users/counts?type=userLicenseType`
//! (paged `results[]` of `{"key": "<user type>", "count": N}`, as the ArcGIS
//! API for Python's `UserManager.counts('user_type')` reads it).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::transport::{Api, Method};
use super::{ArcgisClient, Licences, OrgCatalog, OrgInfo, PortalKind, Seats};
use crate::Error;

impl Licences for ArcgisClient {
    async fn seats(&self) -> Result<Option<Vec<Seats>>, Error> {
        let user_types: Vec<String> = self.user_types().await?.into_iter().map(|t| t.id).collect();
        let mut held = self.held_by_purchases(&user_types).await?;
        if held.is_empty() {
            match self.held_by_enterprise_licence().await? {
                Some(found) => held = found,
                None => return Ok(None),
            }
        }
        let assigned = self.assigned_per_type().await?;
        Ok(Some(
            held.into_iter()
                .map(|(user_type, purchased)| Seats {
                    assigned: assigned
                        .iter()
                        .filter(|(key, _)| key.eq_ignore_ascii_case(&user_type))
                        .map(|(_, count)| *count)
                        .sum(),
                    user_type,
                    purchased,
                })
                .collect(),
        ))
    }
}

impl ArcgisClient {
    /// User-type licences in `portals/self/purchases`, summed over the
    /// purchases and trials, by the org's spelling of each type id.
    async fn held_by_purchases(
        &self,
        user_types: &[String],
    ) -> Result<BTreeMap<String, u64>, Error> {
        let reply: Value = self
            .call(Api::Sharing, Method::Get, "portals/self/purchases", &[])
            .await?;
        Ok(user_type_entitlements(&reply, user_types))
    }

    /// An Enterprise portal's `license` resource; `None` on ArcGIS Online,
    /// or where the resource answers an error or names no user type.
    async fn held_by_enterprise_licence(&self) -> Result<Option<BTreeMap<String, u64>>, Error> {
        if self.portal().await?.kind != PortalKind::Enterprise {
            return Ok(None);
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LicensedType {
            id: String,
            #[serde(default)]
            maximum_registered_members: Option<i64>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Licence {
            #[serde(default)]
            user_types: Vec<LicensedType>,
        }
        let licence: Licence = match self
            .call(Api::PortalAdmin, Method::Get, "license", &[])
            .await
        {
            Ok(licence) => licence,
            Err(Error::NotFound { .. } | Error::Api { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        let mut held = BTreeMap::new();
        for licensed in licence.user_types {
            if let Some(max) = licensed.maximum_registered_members.filter(|m| *m >= 0) {
                *held.entry(licensed.id).or_insert(0) += max as u64;
            }
        }
        Ok((!held.is_empty()).then_some(held))
    }

    /// Members per user type (`portals/self/users/counts?type=userLicenseType`).
    async fn assigned_per_type(&self) -> Result<Vec<(String, u64)>, Error> {
        #[derive(Deserialize)]
        struct Count {
            key: String,
            #[serde(default)]
            count: u64,
        }
        let mut counts = Vec::new();
        self.for_each_page_with(
            "portals/self/users/counts",
            &[("type", "userLicenseType".into())],
            "results",
            |batch: Vec<Count>, _| counts.extend(batch.into_iter().map(|c| (c.key, c.count))),
        )
        .await?;
        Ok(counts)
    }
}

/// The user types among `provision.orgEntitlements.entitlements` of every
/// purchase and trial, with their `num` summed.
fn user_type_entitlements(reply: &Value, user_types: &[String]) -> BTreeMap<String, u64> {
    let mut held = BTreeMap::new();
    let listings = ["purchases", "trials"]
        .iter()
        .filter_map(|key| reply.get(key).and_then(Value::as_array))
        .flatten();
    for listing in listings {
        let Some(entitlements) = listing
            .pointer("/provision/orgEntitlements/entitlements")
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, value) in entitlements {
            let Some(user_type) = user_types.iter().find(|t| t.eq_ignore_ascii_case(name)) else {
                continue;
            };
            let Some(num) = value.get("num").and_then(Value::as_u64) else {
                continue;
            };
            *held.entry(user_type.clone()).or_insert(0) += num;
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_types_count_among_entitlements() {
        let reply = serde_json::json!({
            "purchases": [
                {"listing": {"title": "ArcGIS Online"},
                 "provision": {"orgEntitlements": {"maxUsers": 60, "entitlements": {
                     "creatorUT": {"num": 50}, "viewerUT": {"num": 10}}}}},
                {"listing": {"title": "ArcGIS Pro"},
                 "provision": {"orgEntitlements": {"entitlements": {"desktopAdvN": {"num": 5}}}}}
            ],
            "trials": [
                {"provision": {"orgEntitlements": {"entitlements": {"CreatorUT": {"num": 2}}}}}
            ]
        });
        let types = vec!["creatorUT".to_string(), "viewerUT".to_string()];
        let held = user_type_entitlements(&reply, &types);
        assert_eq!(
            held.into_iter().collect::<Vec<_>>(),
            vec![("creatorUT".to_string(), 52), ("viewerUT".to_string(), 10)]
        );
        assert!(user_type_entitlements(&serde_json::json!({"purchases": []}), &types).is_empty());
    }
}
