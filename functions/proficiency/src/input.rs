//! What starts a run: a console (or any caller's) invocation naming a file,
//! or an S3 `ObjectCreated` event under `inbox/connect/`.

use aws_lambda_events::s3::S3Event;
use connectors::store::decode_event_key;
use serde::Deserialize;
use serde_json::Value;

/// Files dropped here start the function and are consumed.
pub const INBOX_PREFIX: &str = "inbox/connect/";
/// Rows not reached before the deadline go under here.
pub const REMAINING_PREFIX: &str = "remaining/";

/// One file to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub key: String,
    /// `Some` when the caller chose (console); `None` follows `DRY_RUN`.
    pub dry_run: Option<bool>,
    /// Started by S3: ignore objects rollcall wrote itself.
    pub from_s3: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Console {
    bucket: String,
    key: String,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// The files an event asks for.
pub fn targets(event: &Value) -> Result<Vec<Target>, String> {
    if event.get("Records").is_some() {
        let s3: S3Event =
            serde_json::from_value(event.clone()).map_err(|e| format!("not an S3 event: {e}"))?;
        return Ok(s3
            .records
            .iter()
            .filter_map(|r| {
                Some(Target {
                    bucket: r.s3.bucket.name.clone()?,
                    key: decode_event_key(r.s3.object.key.as_deref()?),
                    dry_run: None,
                    from_s3: true,
                })
            })
            .filter(|t| {
                t.key.starts_with(INBOX_PREFIX) && t.key.to_ascii_lowercase().ends_with(".csv")
            })
            .collect());
    }
    let console: Console = serde_json::from_value(event.clone())
        .map_err(|e| format!("expected {{\"bucket\", \"key\", \"dry_run\"}}: {e}"))?;
    if console.bucket.trim().is_empty() || console.key.trim().is_empty() {
        return Err("bucket and key must not be empty".into());
    }
    Ok(vec![Target {
        bucket: console.bucket,
        key: console.key,
        dry_run: console.dry_run,
        from_s3: false,
    }])
}

/// Where rows not reached go: `remaining/<key>` (a remainder file is its own).
pub fn remaining_key(key: &str) -> String {
    if key.starts_with(REMAINING_PREFIX) {
        key.to_string()
    } else {
        format!("{REMAINING_PREFIX}{key}")
    }
}

/// Files that are consumed (finished rows taken out) by a run.
pub fn is_consumed(key: &str) -> bool {
    key.starts_with(INBOX_PREFIX) || key.starts_with(REMAINING_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn console_and_s3_events() {
        let console =
            targets(&json!({"bucket": "b", "key": "inbox/connect/a.csv", "dry_run": true}))
                .unwrap();
        assert_eq!(console[0].dry_run, Some(true));
        assert!(!console[0].from_s3);
        assert!(targets(&json!({"bucket": "b", "key": "k", "dryrun": true}))
            .unwrap_err()
            .contains("dryrun"));
        let s3 = json!({"Records": [{"eventTime": "2026-11-22T00:00:00Z", "userIdentity": {}, "requestParameters": {},
            "s3": {"bucket": {"name": "b"}, "object": {"key": "inbox/connect/team+a.csv"}}}]});
        let t = targets(&s3).unwrap();
        assert_eq!(
            (t[0].key.as_str(), t[0].from_s3),
            ("inbox/connect/team a.csv", true)
        );
    }

    #[test]
    fn remainder_keys() {
        assert_eq!(
            remaining_key("inbox/connect/a.csv"),
            "remaining/inbox/connect/a.csv"
        );
        assert_eq!(
            remaining_key("remaining/inbox/connect/a.csv"),
            "remaining/inbox/connect/a.csv"
        );
        assert!(
            is_consumed("remaining/x.csv")
                && is_consumed("inbox/connect/x.csv")
                && !is_consumed("uploads/x.csv")
        );
    }
}
