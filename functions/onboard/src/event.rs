//! Which objects an S3 event asks the job to process.

use aws_lambda_events::s3::S3Event;

/// Onboarding rows for the ArcGIS org.
pub const ARCGIS_PREFIX: &str = "inbox/arcgis/";
/// Files under here are planned, never applied.
pub const ARCGIS_DRY_RUN_PREFIX: &str = "inbox/arcgis/dry-run/";
/// Onboarding rows for Teamworks AMS.
pub const AMS_PREFIX: &str = "inbox/ams/";

/// One object named by an event record, key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

/// The objects of an event, keys decoded once (`+` is a space, then
/// percent-decoding). Records without a bucket or key are dropped.
pub fn objects(event: &S3Event) -> Vec<ObjectRef> {
    event
        .records
        .iter()
        .filter_map(|record| {
            let bucket = record.s3.bucket.name.clone()?;
            let key = record.s3.object.key.as_deref()?;
            Some(ObjectRef {
                bucket,
                key: decode_key(key),
            })
        })
        .collect()
}

/// Decodes an S3 event key: form-style, so `+` is a space and `%2B` a plus.
pub fn decode_key(raw: &str) -> String {
    connectors::store::decode_event_key(raw)
}

/// What the function does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Arcgis {
        dry_run: bool,
    },
    Ams,
    /// Not an onboarding file (wrong prefix or not `.csv`).
    Ignore,
}

/// Routes a decoded key by prefix and `.csv` suffix (case-insensitive).
pub fn route(key: &str) -> Route {
    if !key.to_ascii_lowercase().ends_with(".csv") {
        return Route::Ignore;
    }
    if key.starts_with(ARCGIS_DRY_RUN_PREFIX) {
        Route::Arcgis { dry_run: true }
    } else if key.starts_with(ARCGIS_PREFIX) {
        Route::Arcgis { dry_run: false }
    } else if key.starts_with(AMS_PREFIX) {
        Route::Ams
    } else {
        Route::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_once() {
        assert_eq!(
            decode_key("inbox/arcgis/new+starters.csv"),
            "inbox/arcgis/new starters.csv"
        );
        assert_eq!(
            decode_key("inbox%2Farcgis%2Fa%2Bb.csv"),
            "inbox/arcgis/a+b.csv"
        );
        assert_eq!(
            decode_key("inbox/arcgis/caf%C3%A9.csv"),
            "inbox/arcgis/café.csv"
        );
        assert_eq!(
            decode_key("inbox/arcgis/100%25.csv"),
            "inbox/arcgis/100%.csv"
        );
        assert_eq!(decode_key("inbox/arcgis/bad%zz%2"), "inbox/arcgis/bad%zz%2");
    }

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
        assert_eq!(route("inbox/ams/a.csv"), Route::Ams);
        assert_eq!(route("inbox/arcgis/a.txt"), Route::Ignore);
        assert_eq!(route("reports/onboard/x.csv"), Route::Ignore);
    }
}
