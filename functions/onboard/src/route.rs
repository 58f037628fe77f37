//! Which job an object's key asks for.

use connectors::inbox::is_csv;

/// Onboarding rows for the ArcGIS org.
pub const ARCGIS_PREFIX: &str = "inbox/arcgis/";
/// Files under here are planned, never applied.
pub const ARCGIS_DRY_RUN_PREFIX: &str = "inbox/arcgis/dry-run/";
/// Custom ArcGIS roles: `name, description, privileges`.
pub const ARCGIS_ROLES_PREFIX: &str = "inbox/arcgis/roles/";
/// Roles files under here are planned, never applied.
pub const ARCGIS_ROLES_DRY_RUN_PREFIX: &str = "inbox/arcgis/roles/dry-run/";
/// Create and update rows for Teamworks AMS.
pub const AMS_PREFIX: &str = "inbox/ams/";
/// AMS files under here are planned, never applied.
pub const AMS_DRY_RUN_PREFIX: &str = "inbox/ams/dry-run/";

/// What the function does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Arcgis {
        dry_run: bool,
    },
    ArcgisRoles {
        dry_run: bool,
    },
    Ams {
        dry_run: bool,
    },
    /// Not an onboarding file (wrong prefix or not `.csv`).
    Ignore,
}

/// Routes a decoded key by prefix and `.csv` suffix (case-insensitive).
pub fn route(key: &str) -> Route {
    if !is_csv(key) {
        return Route::Ignore;
    }
    if key.starts_with(ARCGIS_ROLES_PREFIX) {
        Route::ArcgisRoles {
            dry_run: key.starts_with(ARCGIS_ROLES_DRY_RUN_PREFIX),
        }
    } else if key.starts_with(ARCGIS_DRY_RUN_PREFIX) {
        Route::Arcgis { dry_run: true }
    } else if key.starts_with(ARCGIS_PREFIX) {
        Route::Arcgis { dry_run: false }
    } else if key.starts_with(AMS_DRY_RUN_PREFIX) {
        Route::Ams { dry_run: true }
    } else if key.starts_with(AMS_PREFIX) {
        Route::Ams { dry_run: false }
    } else {
        Route::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("inbox/arcgis/a.csv"),
            Route::Arcgis { dry_run: false }
        );
        assert_eq!(
            route("inbox/arcgis/dry-run/a.CSV"),
            Route::Arcgis { dry_run: true }
        );
        assert_eq!(
            route("inbox/arcgis/roles/a.csv"),
            Route::ArcgisRoles { dry_run: false }
        );
        assert_eq!(
            route("inbox/arcgis/roles/dry-run/a.csv"),
            Route::ArcgisRoles { dry_run: true }
        );
        assert_eq!(
            route("inbox/arcgis/dry-run/roles/a.csv"),
            Route::Arcgis { dry_run: true }
        );
        assert_eq!(route("inbox/ams/a.csv"), Route::Ams { dry_run: false });
        assert_eq!(
            route("inbox/ams/dry-run/a.csv"),
            Route::Ams { dry_run: true }
        );
        assert_eq!(route("inbox/arcgis/a.txt"), Route::Ignore);
        assert_eq!(route("reports/onboard/x.csv"), Route::Ignore);
    }
}
