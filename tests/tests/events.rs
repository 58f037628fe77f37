//! The sample events in `events/` are what `cargo lambda invoke --data-file`
//! and the Lambda console send: they must stay valid Lambda payloads.

use std::path::Path;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

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
    (
        "ams-create.json",
        include_str!("../../events/onboard/ams-create.json"),
    ),
    (
        "ams-update.json",
        include_str!("../../events/onboard/ams-update.json"),
    ),
    (
        "roles.json",
        include_str!("../../events/onboard/roles.json"),
    ),
];

/// The sweep's EventBridge sample: what the daily schedule delivers.
const SWEEP_SCHEDULED: (&str, &str) = (
    "scheduled.json",
    include_str!("../../events/sweep/scheduled.json"),
);

/// The sweep's console test invocations: (file name, its text).
const SWEEP_CONSOLE_EVENTS: &[(&str, &str)] = &[
    (
        "console-dry-run.json",
        include_str!("../../events/sweep/console-dry-run.json"),
    ),
    (
        "console-overrides.json",
        include_str!("../../events/sweep/console-overrides.json"),
    ),
];

/// The proficiency function's S3 sample: what an upload under inbox/connect/
/// delivers.
const PROFICIENCY_S3_PUT: (&str, &str) = (
    "s3-put.json",
    include_str!("../../events/proficiency/s3-put.json"),
);

/// The proficiency function's console test invocation.
const PROFICIENCY_CONSOLE: (&str, &str) = (
    "console.json",
    include_str!("../../events/proficiency/console.json"),
);

/// The export's console events: (file name, its text).
const EXPORT_EVENTS: &[(&str, &str)] = &[
    (
        "ams-users.json",
        include_str!("../../events/export/ams-users.json"),
    ),
    (
        "ams-users-by-group.json",
        include_str!("../../events/export/ams-users-by-group.json"),
    ),
    (
        "ams-groups.json",
        include_str!("../../events/export/ams-groups.json"),
    ),
    (
        "arcgis-users.json",
        include_str!("../../events/export/arcgis-users.json"),
    ),
    (
        "arcgis-users-filtered.json",
        include_str!("../../events/export/arcgis-users-filtered.json"),
    ),
    (
        "arcgis-groups.json",
        include_str!("../../events/export/arcgis-groups.json"),
    ),
];

/// The keys a console invocation of the sweep may hold (all optional).
const SWEEP_CONSOLE_KEYS: &[&str] = &[
    "dry_run",
    "now",
    "notify_after_days",
    "disable_after_days",
    "notice_days",
    "new_account_grace_days",
    "max_disables_per_run",
];

/// GIVEN a sample file (`events/<function>/<name>`) WHEN it is parsed as the
/// function's payload type THEN it has exactly one record, as S3 sends.
fn single_record(function: &str, name: &str, text: &str) -> S3EventRecord {
    let event: S3Event = serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("events/{function}/{name} is not an S3Event: {err}"));
    let [record] = <[S3EventRecord; 1]>::try_from(event.records).unwrap_or_else(|records| {
        panic!(
            "events/{function}/{name} has {} records, expected 1",
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
        let record = single_record("onboard", name, text);
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
    let record = single_record("onboard", "s3-put.json", ONBOARD_S3_EVENTS[0].1);
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
    let objects =
        connectors::inbox::requested(&serde_json::from_str(ONBOARD_S3_EVENTS[0].1).unwrap())
            .unwrap();
    assert_eq!(objects[0].key, "inbox/arcgis/new starters.csv");
    assert_eq!(
        onboard::route::route(&objects[0].key),
        onboard::route::Route::Arcgis { dry_run: false }
    );
}

#[test]
fn s3_put_dry_run_is_under_the_dry_run_folder() {
    let record = single_record("onboard", "s3-put-dry-run.json", ONBOARD_S3_EVENTS[1].1);
    assert_eq!(record.s3.bucket.name.as_deref(), Some("rollcall-local"));
    assert_eq!(
        record.s3.object.key.as_deref(),
        Some("inbox/arcgis/dry-run/new+starters.csv")
    );
    let objects =
        connectors::inbox::requested(&serde_json::from_str(ONBOARD_S3_EVENTS[1].1).unwrap())
            .unwrap();
    assert_eq!(objects[0].key, "inbox/arcgis/dry-run/new starters.csv");
    assert_eq!(
        onboard::route::route(&objects[0].key),
        onboard::route::Route::Arcgis { dry_run: true }
    );
}

#[test]
fn ams_samples_name_files_under_the_ams_inbox() {
    for (index, key) in [
        (2, "inbox/ams/new athletes.csv"),
        (3, "inbox/ams/updates.csv"),
    ] {
        let (name, text) = ONBOARD_S3_EVENTS[index];
        let objects = connectors::inbox::requested(&serde_json::from_str(text).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(objects[0].key, key, "{name}");
        assert_eq!(
            onboard::route::route(&objects[0].key),
            onboard::route::Route::Ams { dry_run: false },
            "{name}"
        );
    }
}

#[test]
fn roles_sample_names_a_file_under_the_roles_inbox() {
    // GIVEN events/onboard/roles.json WHEN its object is read as onboard reads it
    let (name, text) = ONBOARD_S3_EVENTS[4];
    let record = single_record("onboard", name, text);
    assert_eq!(
        record.s3.object.key.as_deref(),
        Some("inbox/arcgis/roles/custom+roles.csv")
    );
    let objects = connectors::inbox::requested(&serde_json::from_str(text).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // THEN it is the decoded key of a roles file, which goes to the roles job, live
    assert_eq!(objects[0].key, "inbox/arcgis/roles/custom roles.csv");
    assert_eq!(
        onboard::route::route(&objects[0].key),
        onboard::route::Route::ArcgisRoles { dry_run: false }
    );
}

fn sweep_scheduled_event() -> EventBridgeEvent<Value> {
    let (name, text) = SWEEP_SCHEDULED;
    serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("events/sweep/{name} is not an EventBridgeEvent: {err}"))
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|err| panic!("{rfc3339:?} is not RFC 3339: {err}"))
        .with_timezone(&Utc)
}

#[test]
fn sweep_scheduled_event_is_the_envelope_an_eventbridge_rule_delivers() {
    // GIVEN events/sweep/scheduled.json WHEN it is parsed as an EventBridge event
    let event = sweep_scheduled_event();

    // THEN it is a scheduled rule's "Scheduled Event" at 06:00 UTC, the default
    // schedule, with the rule's ARN and an empty detail.
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.time, Some(at("2026-11-23T06:00:00Z")));
    let resources = event.resources.as_deref().unwrap_or_default();
    assert!(
        matches!(resources, [rule] if rule.starts_with("arn:aws:events:") && rule.contains(":rule/")),
        "events/sweep/scheduled.json: resources must be the one rule ARN: {resources:?}"
    );
    assert_eq!(event.detail, json!({}));
}

#[test]
fn sweep_scheduled_event_loses_no_field_when_parsed() {
    // A misspelt key (`detail_type`, `Time`) would parse and read as absent.
    let (name, text) = SWEEP_SCHEDULED;
    let original: Value = serde_json::from_str(text).unwrap();
    let round_trip = serde_json::to_value(sweep_scheduled_event()).unwrap();
    if let Some(path) = first_difference(&original, &round_trip, "$") {
        panic!("events/sweep/{name}: {path} is not a field of EventBridgeEvent (or changed)");
    }
}

#[test]
fn sweep_console_events_hold_only_documented_keys_with_valid_values() {
    for (name, text) in SWEEP_CONSOLE_EVENTS {
        // GIVEN a console sample WHEN it is read as JSON
        let value: Value = serde_json::from_str(text)
            .unwrap_or_else(|err| panic!("events/sweep/{name} is not JSON: {err}"));
        let Value::Object(fields) = value else {
            panic!("events/sweep/{name} is not a JSON object");
        };
        // THEN every key is one the sweep accepts, with a value of its type
        for (key, value) in &fields {
            assert!(
                SWEEP_CONSOLE_KEYS.contains(&key.as_str()),
                "events/sweep/{name}: unknown key {key:?}; the sweep accepts {SWEEP_CONSOLE_KEYS:?}"
            );
            match key.as_str() {
                "dry_run" => assert!(value.is_boolean(), "events/sweep/{name}: {key} is a bool"),
                "now" => {
                    let text = value.as_str().unwrap_or_else(|| {
                        panic!("events/sweep/{name}: {key} is an RFC 3339 string")
                    });
                    at(text);
                }
                _ => assert!(
                    value.is_u64(),
                    "events/sweep/{name}: {key} is a whole number of days/accounts, not {value}"
                ),
            }
        }
    }
}

#[test]
fn sweep_console_samples_are_dry_runs_at_the_scheduled_time() {
    // A console sample must never disable anyone when tried on a live stack.
    let [(_, dry_run), (_, overrides)] = SWEEP_CONSOLE_EVENTS else {
        panic!("two console samples");
    };
    let dry_run: Value = serde_json::from_str(dry_run).unwrap();
    assert_eq!(
        dry_run,
        json!({"dry_run": true, "now": "2026-11-23T06:00:00Z"})
    );
    let overrides: Value = serde_json::from_str(overrides).unwrap();
    assert_eq!(
        overrides,
        json!({
            "dry_run": true,
            "now": "2026-11-23T06:00:00Z",
            "notify_after_days": 30,
            "disable_after_days": 45,
            "notice_days": 7,
        })
    );
}

#[test]
fn proficiency_console_event_names_a_csv_in_the_connect_inbox_as_a_dry_run() {
    // GIVEN events/proficiency/console.json WHEN it is read as JSON
    let (name, text) = PROFICIENCY_CONSOLE;
    let value: Value = serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("events/proficiency/{name} is not JSON: {err}"));
    let Value::Object(fields) = &value else {
        panic!("events/proficiency/{name} is not a JSON object");
    };

    // THEN it holds exactly the three keys a console invoke takes, each of its type
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["bucket", "dry_run", "key"],
        "events/proficiency/{name}: a console invoke is {{\"bucket\", \"key\", \"dry_run\"}}"
    );
    assert!(value["bucket"].is_string(), "{name}: bucket is a string");
    assert!(value["key"].is_string(), "{name}: key is a string");
    assert!(value["dry_run"].is_boolean(), "{name}: dry_run is a bool");

    // AND it is a dry run (safe to try on a live stack) of a CSV where an
    // upload would trigger the function; the key is the object's own name,
    // not S3's form-encoding of it.
    assert_eq!(
        value,
        json!({
            "bucket": "rollcall-local",
            "key": "inbox/connect/proficiencies.csv",
            "dry_run": true,
        })
    );
}

#[test]
fn proficiency_s3_put_is_an_upload_to_the_connect_inbox() {
    // GIVEN events/proficiency/s3-put.json WHEN it is parsed as an S3Event
    let (name, text) = PROFICIENCY_S3_PUT;
    let record = single_record("proficiency", name, text);

    // THEN it is one ObjectCreated:Put of a versioned CSV under inbox/connect/,
    // the prefix and suffix that trigger the function
    assert_eq!(record.event_source.as_deref(), Some("aws:s3"), "{name}");
    assert_eq!(
        record.event_name.as_deref(),
        Some("ObjectCreated:Put"),
        "{name}"
    );
    assert_eq!(record.s3.bucket.name.as_deref(), Some("rollcall-local"));
    assert_eq!(
        record.s3.bucket.arn.as_deref(),
        Some("arn:aws:s3:::rollcall-local")
    );
    let object = &record.s3.object;
    assert_eq!(
        object.key.as_deref(),
        Some("inbox/connect/proficiencies.csv")
    );
    assert!(object.e_tag.is_some(), "{name}: eTag");
    assert!(object.version_id.is_some(), "{name}: versionId");
    assert!(object.sequencer.is_some(), "{name}: sequencer");
    assert!(object.size.is_some_and(|size| size > 0), "{name}: size");
}

#[test]
fn proficiency_s3_put_loses_no_field_when_parsed() {
    // A misspelt field name would parse and then read as absent.
    let (name, text) = PROFICIENCY_S3_PUT;
    let original: Value = serde_json::from_str(text).unwrap();
    let event: S3Event = serde_json::from_str(text).unwrap();
    let round_trip = serde_json::to_value(&event).unwrap();
    if let Some(path) = first_difference(&original, &round_trip, "$") {
        panic!("events/proficiency/{name}: {path} is not a field of S3Event (or changed)");
    }
}

#[test]
fn proficiency_samples_name_the_same_object() {
    // The console sample previews, as a dry run, the upload of the S3 sample.
    let console: Value = serde_json::from_str(PROFICIENCY_CONSOLE.1).unwrap();
    let record = single_record("proficiency", PROFICIENCY_S3_PUT.0, PROFICIENCY_S3_PUT.1);
    assert_eq!(console["bucket"].as_str(), record.s3.bucket.name.as_deref());
    assert_eq!(console["key"].as_str(), record.s3.object.key.as_deref());
}

/// GIVEN a folder of samples THEN each file in it is one a test here parses.
fn assert_every_sample_is_listed(function: &str, listed: &[&str]) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function);
    let entries = std::fs::read_dir(&folder)
        .unwrap_or_else(|err| panic!("events/{function}/ cannot be read: {err}"));
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            listed.contains(&name.as_str()),
            "events/{function}/{name} is not listed in tests/tests/events.rs, so no test parses it"
        );
    }
}

#[test]
fn every_onboard_sample_is_checked_here() {
    let listed: Vec<&str> = ONBOARD_S3_EVENTS.iter().map(|(name, _)| *name).collect();
    assert_every_sample_is_listed("onboard", &listed);
}

#[test]
fn every_sweep_sample_is_checked_here() {
    let listed: Vec<&str> = std::iter::once(SWEEP_SCHEDULED.0)
        .chain(SWEEP_CONSOLE_EVENTS.iter().map(|(name, _)| *name))
        .collect();
    assert_every_sample_is_listed("sweep", &listed);
}

#[test]
fn the_sweep_reads_every_sample_as_its_clock_and_overrides() {
    let wall = "2030-01-01T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let scheduled: Value = serde_json::from_str(SWEEP_SCHEDULED.1).unwrap();
    let run = sweep::input::parse(&scheduled, wall).unwrap();
    assert_eq!(run.now.to_rfc3339(), "2026-11-23T06:00:00+00:00");
    assert_eq!(run.dry_run, None, "the schedule follows DRY_RUN");
    for (name, text) in SWEEP_CONSOLE_EVENTS {
        let event: Value = serde_json::from_str(text).unwrap();
        let run = sweep::input::parse(&event, wall).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(run.dry_run, Some(true), "{name}");
        assert_eq!(run.now.to_rfc3339(), "2026-11-23T06:00:00+00:00", "{name}");
    }
    let overrides: Value = serde_json::from_str(
        SWEEP_CONSOLE_EVENTS
            .iter()
            .find(|(n, _)| n.contains("overrides"))
            .unwrap()
            .1,
    )
    .unwrap();
    let thresholds = sweep::input::parse(&overrides, wall)
        .unwrap()
        .overrides
        .apply(sweep::Thresholds::default());
    assert_eq!(
        (
            thresholds.notify_after_days,
            thresholds.disable_after_days,
            thresholds.notice_days
        ),
        (30, 45, 7)
    );
}

#[test]
fn every_proficiency_sample_is_checked_here() {
    assert_every_sample_is_listed(
        "proficiency",
        &[PROFICIENCY_S3_PUT.0, PROFICIENCY_CONSOLE.0],
    );
}

#[test]
fn the_proficiency_function_reads_both_samples_as_the_same_file() {
    let console =
        connectors::inbox::requested(&serde_json::from_str(PROFICIENCY_CONSOLE.1).unwrap())
            .unwrap();
    let s3 =
        connectors::inbox::requested(&serde_json::from_str(PROFICIENCY_S3_PUT.1).unwrap()).unwrap();
    assert_eq!(console.len(), 1);
    assert_eq!(s3.len(), 1);
    assert_eq!(
        (console[0].bucket.as_str(), console[0].key.as_str()),
        ("rollcall-local", "inbox/connect/proficiencies.csv")
    );
    assert_eq!(
        (s3[0].bucket.as_str(), s3[0].key.as_str()),
        ("rollcall-local", "inbox/connect/proficiencies.csv")
    );
    assert_eq!(console[0].dry_run, Some(true));
    assert!(s3[0].from_s3 && !console[0].from_s3);
}

#[test]
fn every_export_sample_is_checked_here() {
    let listed: Vec<&str> = EXPORT_EVENTS.iter().map(|(name, _)| *name).collect();
    assert_every_sample_is_listed("export", &listed);
}

#[test]
fn the_export_reads_every_sample_as_the_export_its_name_says() {
    use export::event::{parse, AmsFilter, ArcgisFilter, Export};
    for (name, text) in EXPORT_EVENTS {
        // GIVEN a sample WHEN the export reads it
        let value: Value = serde_json::from_str(text)
            .unwrap_or_else(|err| panic!("events/export/{name} is not JSON: {err}"));
        let export = parse(&value).unwrap_or_else(|e| panic!("events/export/{name}: {e}"));

        // THEN it is the source and kind its name starts with
        let prefix = format!("{}-{}", export.source().name(), export.what().name());
        assert!(
            name.starts_with(&prefix),
            "events/export/{name} reads as {prefix}"
        );
        let expected = match *name {
            "ams-users-by-group.json" => Export::AmsUsers(AmsFilter {
                group: Some("Squad A".into()),
                ..AmsFilter::default()
            }),
            "arcgis-users-filtered.json" => Export::ArcgisUsers(ArcgisFilter {
                role: Some("Publisher".into()),
                user_type: Some("Creator".into()),
                group: None,
                disabled: Some(false),
            }),
            "ams-users.json" => Export::AmsUsers(AmsFilter::default()),
            "arcgis-users.json" => Export::ArcgisUsers(ArcgisFilter::default()),
            "ams-groups.json" => Export::AmsGroups,
            "arcgis-groups.json" => Export::ArcgisGroups,
            other => panic!("events/export/{other} has no expectation here"),
        };
        assert_eq!(export, expected, "events/export/{name}");
    }
}
