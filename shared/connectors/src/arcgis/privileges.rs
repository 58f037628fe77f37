//! The privilege strings a custom role may hold, as the ArcGIS REST API
//! reference for roles
//! (<https://developers.arcgis.com/rest/users-groups-and-items/role.htm>)
//! and the ArcGIS API for Python's `RoleManager` document them. A roles
//! file naming anything else fails its row before any call.

/// Every privilege rollcall accepts in a roles file.
pub const PRIVILEGES: &[&str] = &[
    // Administrative privileges.
    "portal:admin:viewUsers",
    "portal:admin:updateUsers",
    "portal:admin:deleteUsers",
    "portal:admin:inviteUsers",
    "portal:admin:disableUsers",
    "portal:admin:changeUserRoles",
    "portal:admin:manageLicenses",
    "portal:admin:updateMemberCategorySchema",
    "portal:admin:viewGroups",
    "portal:admin:updateGroups",
    "portal:admin:deleteGroups",
    "portal:admin:reassignGroups",
    "portal:admin:assignToGroups",
    "portal:admin:manageEnterpriseGroups",
    "portal:admin:createUpdateCapableGroup",
    "portal:admin:viewItems",
    "portal:admin:updateItems",
    "portal:admin:deleteItems",
    "portal:admin:reassignItems",
    "portal:admin:shareToGroup",
    "portal:admin:shareToOrg",
    "portal:admin:shareToPublic",
    "portal:admin:manageSecurity",
    "portal:admin:manageWebsite",
    "portal:admin:manageCollaborations",
    "portal:admin:manageCredits",
    "portal:admin:manageServers",
    "portal:admin:manageUtilityServices",
    "portal:admin:manageRoles",
    // General privileges.
    "portal:user:viewOrgUsers",
    "portal:user:createGroup",
    "portal:user:joinGroup",
    "portal:user:joinNonOrgGroup",
    "portal:user:viewOrgGroups",
    "portal:user:createItem",
    "portal:user:reassignItems",
    "portal:user:receiveItems",
    "portal:user:viewOrgItems",
    "portal:user:shareToGroup",
    "portal:user:shareToOrg",
    "portal:user:shareToPublic",
    "portal:user:shareGroupToOrg",
    "portal:user:shareGroupToPublic",
    "portal:publisher:publishFeatures",
    "portal:publisher:publishTiles",
    "portal:publisher:publishScenes",
    "portal:publisher:publishServerServices",
    "portal:publisher:publishDynamicImagery",
    "portal:publisher:publishTiledImagery",
    "premium:user:geocode",
    "premium:user:networkanalysis",
    "premium:user:geoenrichment",
    "premium:user:demographics",
    "premium:user:spatialanalysis",
    "premium:user:elevation",
    "premium:user:featurereport",
    "features:user:edit",
    "features:user:fullEdit",
];

/// The privilege as the catalogue spells it, matched ignoring case.
pub fn known(privilege: &str) -> Option<&'static str> {
    PRIVILEGES
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(privilege.trim()))
}

/// True for a privilege that makes its holder an administrator (the
/// ArcGIS API for Python counts any `:admin:` privilege).
pub fn is_admin(privilege: &str) -> bool {
    privilege.contains(":admin:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_match_ignoring_case() {
        assert_eq!(
            known(" PORTAL:USER:createItem "),
            Some("portal:user:createItem")
        );
        assert_eq!(known("portal:user:makeCoffee"), None);
        assert!(is_admin("portal:admin:viewUsers"));
    }
}
