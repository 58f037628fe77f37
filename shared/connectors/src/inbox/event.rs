//! Which objects an invocation asks for: an S3 `ObjectCreated` notification,
//! or a console (or any caller's) `{"bucket", "key", "dry_run"}`.

use aws_lambda_events::s3::S3Event;
use serde::Deserialize;
use serde_json::Value;

use super::InboxError;
use crate::store::decode_event_key;

/// One object an invocation names, its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub bucket: String,
    pub key: String,
    /// The caller's choice (console); `None` follows the configuration.
    pub dry_run: Option<bool>,
    /// Named by an S3 notification (so objects rollcall wrote are ignored).
    pub from_s3: bool,
    /// S3's `sequencer` of the object's event.
    pub sequencer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Console {
    bucket: String,
    key: String,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// The objects an event names. S3 keys are decoded once (`+` is a space,
/// then percent-decoding); records without a bucket or key are dropped.
pub fn requested(event: &Value) -> Result<Vec<Requested>, InboxError> {
    if event.get("Records").is_some() {
        let s3: S3Event = serde_json::from_value(event.clone())
            .map_err(|e| InboxError::InvalidEvent(format!("not an S3 event: {e}")))?;
        return Ok(s3
            .records
            .iter()
            .filter_map(|record| {
                Some(Requested {
                    bucket: record.s3.bucket.name.clone()?,
                    key: decode_event_key(record.s3.object.key.as_deref()?),
                    dry_run: None,
                    from_s3: true,
                    sequencer: record.s3.object.sequencer.clone(),
                })
            })
            .collect());
    }
    let console: Console = serde_json::from_value(event.clone()).map_err(|e| {
        InboxError::InvalidEvent(format!(
            "expected an S3 notification or {{\"bucket\", \"key\", \"dry_run\"}}: {e}"
        ))
    })?;
    if console.bucket.trim().is_empty() || console.key.trim().is_empty() {
        return Err(InboxError::InvalidEvent(
            "bucket and key must not be empty".into(),
        ));
    }
    Ok(vec![Requested {
        bucket: console.bucket,
        key: console.key,
        dry_run: console.dry_run,
        from_s3: false,
        sequencer: None,
    }])
}

/// True for a `.csv` key (any case).
pub fn is_csv(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with(".csv")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn console_and_s3_events() {
        let console =
            requested(&json!({"bucket": "b", "key": "inbox/connect/a.csv", "dry_run": true}))
                .unwrap();
        assert_eq!(console[0].dry_run, Some(true));
        assert!(!console[0].from_s3);
        let typo = requested(&json!({"bucket": "b", "key": "k", "dryrun": true})).unwrap_err();
        assert!(typo.to_string().contains("dryrun"), "{typo}");
        let s3 = json!({"Records": [{"eventTime": "2026-11-22T00:00:00Z", "userIdentity": {}, "requestParameters": {},
            "s3": {"bucket": {"name": "b"}, "object": {"key": "inbox/connect/team+a.csv"}}}]});
        let objects = requested(&s3).unwrap();
        assert_eq!(
            (objects[0].key.as_str(), objects[0].from_s3),
            ("inbox/connect/team a.csv", true)
        );
        assert!(is_csv("a.CSV") && !is_csv("a.txt"));
    }
}
