//! The sample events in `events/` are what `cargo lambda invoke --data-file`
//! and the Lambda console send: they must stay valid Lambda payloads.

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use serde_json::Value;

/// Every sample event of the onboard function: (file name, its text).
const ONBOARD_S3_EVENTS: &[(&str, &str)] = &[
    (
        "s3-put.json",
        include_str!("../../events/onboard/s3-put.json"),
    ),
    (
        "s3-put-dry-run.json",
        include_str!("../../events/onboard/s3-put-dry-run.json"),
    ),
];

/// GIVEN a sample file WHEN it is parsed as the function's payload type THEN it
/// has exactly one record, as S3 sends.
fn single_record(name: &str, text: &str) -> S3EventRecord {
    let event: S3Event = serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("events/onboard/{name} is not an S3Event: {err}"));
    let [record] = <[S3EventRecord; 1]>::try_from(event.records).unwrap_or_else(|records| {
        panic!(
            "events/onboard/{name} has {} records, expected 1",
            records.len()
        )
    });
    record
}

/// Where `sub` holds a value that `full` does not, the JSON path to it.
fn first_difference(sub: &Value, full: &Value, path: &str) -> Option<String> {
    match (sub, full) {
        (Value::Object(sub), Value::Object(full)) => sub.iter().find_map(|(key, value)| {
            let path = format!("{path}.{key}");
            match full.get(key) {
                Some(other) => first_difference(value, other, &path),
                None => Some(path),
            }
        }),
        (Value::Array(sub), Value::Array(full)) if sub.len() == full.len() => sub
            .iter()
            .zip(full)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, &format!("{path}[{i}]"))),
        _ if sub == full => None,
        _ => Some(path.to_owned()),
    }
}

#[test]
fn onboard_s3_events_lose_no_field_when_parsed() {
    // serde ignores unknown fields, so a misspelt field name would parse and
    // then read as absent: every field of the file must survive a round trip.
    for (name, text) in ONBOARD_S3_EVENTS {
        let original: Value = serde_json::from_str(text).unwrap();
        let event: S3Event = serde_json::from_str(text)
            .unwrap_or_else(|err| panic!("events/onboard/{name} is not an S3Event: {err}"));
        let round_trip = serde_json::to_value(&event).unwrap();
        if let Some(path) = first_difference(&original, &round_trip, "$") {
            panic!("events/onboard/{name}: {path} is not a field of S3Event (or changed)");
        }
    }
}

#[test]
fn onboard_s3_events_are_object_created_with_a_versioned_object() {
    for (name, text) in ONBOARD_S3_EVENTS {
        let record = single_record(name, text);
        assert_eq!(record.event_source.as_deref(), Some("aws:s3"), "{name}");
        assert_eq!(
            record.event_name.as_deref(),
            Some("ObjectCreated:Put"),
            "{name}"
        );
        let object = &record.s3.object;
        assert!(object.e_tag.is_some(), "{name}: eTag");
        assert!(object.version_id.is_some(), "{name}: versionId");
        assert!(object.sequencer.is_some(), "{name}: sequencer");
        assert!(object.size.is_some_and(|size| size > 0), "{name}: size");
    }
}

#[test]
fn s3_put_names_the_bucket_and_the_encoded_key() {
    let record = single_record("s3-put.json", ONBOARD_S3_EVENTS[0].1);
    assert_eq!(record.s3.bucket.name.as_deref(), Some("rollcall-local"));
    assert_eq!(
        record.s3.bucket.arn.as_deref(),
        Some("arn:aws:s3:::rollcall-local")
    );
    // As S3 sends it: form-encoded, a space is `+`. The object is
    // `inbox/arcgis/new starters.csv`.
    assert_eq!(
        record.s3.object.key.as_deref(),
        Some("inbox/arcgis/new+starters.csv")
    );
    let objects = onboard::event::objects(&serde_json::from_str(ONBOARD_S3_EVENTS[0].1).unwrap());
    assert_eq!(objects[0].key, "inbox/arcgis/new starters.csv");
    assert_eq!(
        onboard::event::route(&objects[0].key),
        onboard::event::Route::Arcgis { dry_run: false }
    );
}

#[test]
fn s3_put_dry_run_is_under_the_dry_run_folder() {
    let record = single_record("s3-put-dry-run.json", ONBOARD_S3_EVENTS[1].1);
    assert_eq!(record.s3.bucket.name.as_deref(), Some("rollcall-local"));
    assert_eq!(
        record.s3.object.key.as_deref(),
        Some("inbox/arcgis/dry-run/new+starters.csv")
    );
    let objects = onboard::event::objects(&serde_json::from_str(ONBOARD_S3_EVENTS[1].1).unwrap());
    assert_eq!(objects[0].key, "inbox/arcgis/dry-run/new starters.csv");
    assert_eq!(
        onboard::event::route(&objects[0].key),
        onboard::event::Route::Arcgis { dry_run: true }
    );
}

#[test]
fn every_onboard_sample_is_checked_here() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/onboard");
    for entry in std::fs::read_dir(&folder).expect("events/onboard/ exists") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            ONBOARD_S3_EVENTS.iter().any(|(listed, _)| *listed == name),
            "events/onboard/{name} is not in ONBOARD_S3_EVENTS, so no test parses it"
        );
    }
}
