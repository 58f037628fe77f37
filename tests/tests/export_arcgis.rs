//! The export function end to end for ArcGIS: the real handler with the
//! real ArcGIS client against the sandbox portal and the real S3 adapter
//! against moto. What is asserted is the CSV an admin downloads.

use chrono::{DateTime, Utc};
use connectors::error::Classified;
use connectors::store::WRITTEN_BY_METADATA;
use export::{ExportError, ExportFunction};
use lambda_runtime::{Context, LambdaEvent};
use rollcall_tests::export_world::{ExportHandler, ExportWorld};
use rollcall_tests::sandbox::{OrgSpec, SandboxConfig, SeedMember, DEFAULT_ADMIN_PASSWORD};
use rollcall_tests::world::InBucket;
use serde_json::{json, Value};

const FIELD_CREWS: &str = "a1000000000000000000000000000000";
const ANALYSTS: &str = "b2000000000000000000000000000000";
const ADMINS_ONLY: &str = "c3000000000000000000000000000000";

/// Epoch ms of an RFC 3339 time.
fn ms(at: &str) -> i64 {
    DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis()
}

/// Five members with every kind of value a users export writes, in three
/// groups, and the handler signed in (so the admin's last sign-in is the
/// one set here, not the test's clock).
async fn seeded() -> (ExportWorld, ExportHandler) {
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let sb = &w.world.sandbox;
    sb.add_role("analystRole00001", "GIS Analyst");
    sb.add_member(
        SeedMember::new("rollcall_admin")
            .role("org_admin")
            .password(DEFAULT_ADMIN_PASSWORD)
            .created(ms("2022-02-22T22:22:22Z")),
    );
    sb.add_member(SeedMember {
        first_name: "Ana".into(),
        last_name: "López".into(),
        credits: Some(500.0),
        ..SeedMember::new("ana.lopez_geo")
            .role("org_publisher")
            .email("ana.lopez@example.org")
            .groups(&[FIELD_CREWS])
            .last_login(Some(ms("2026-06-01T06:00:00Z")))
            .created(ms("2025-01-15T09:30:00Z"))
    });
    sb.add_group_owned_by(ANALYSTS, "Analysts", "ana.lopez_geo");
    sb.add_member(
        SeedMember::new("ben.viewer")
            .role("iAAAAAAAAAAAAAAA")
            .user_type("viewerUT")
            .groups(&[FIELD_CREWS])
            .last_login(None)
            .created(ms("2024-03-02T12:00:00Z")),
    );
    sb.add_member(SeedMember {
        credits: Some(100.0),
        ..SeedMember::new("cleo.disabled")
            .user_type("editorUT")
            .disabled(true)
            .last_login(Some(ms("2023-07-04T00:00:00Z")))
            .created(ms("2022-02-22T22:22:22Z"))
    });
    sb.add_member(SeedMember {
        first_name: "=HYPERLINK(\"http://x\")".into(),
        last_name: "-Dash, Jr.".into(),
        credits: Some(12.5),
        ..SeedMember::new("dan.formula")
            .role("analystRole00001")
            .user_type("fieldWorkerUT")
            .groups(&[ANALYSTS])
            .last_login(Some(ms("2026-10-05T08:15:00Z")))
            .created(ms("2025-01-15T09:30:00Z"))
    });
    sb.add_group(FIELD_CREWS, "Field Crews");
    sb.add_group(ADMINS_ONLY, "=Admins only");
    let handler = w.handler(w.config()).await;
    let arcgis = handler.service.arcgis.as_ref().expect("ArcGIS configured");
    connectors::arcgis::OrgInfo::portal(arcgis)
        .await
        .expect("sign in");
    sb.set_last_login("rollcall_admin", Some(ms("2026-11-30T07:00:00Z")));
    (w, handler)
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

/// Runs an export; returns its result as JSON and the CSV written.
async fn export(w: &ExportWorld, handler: &ExportHandler, payload: Value) -> (Value, String) {
    let result = handler.handle(event(payload)).await.expect("the export");
    let result = serde_json::to_value(result).unwrap();
    let csv = w.world.text_at(result["uri"].as_str().unwrap()).await;
    (result, csv)
}

/// The usernames (first column) of a users export, header left out.
fn usernames(csv: &str) -> Vec<&str> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect()
}

const HEADER: &str = "username,firstname,lastname,email,user type,role,credit allocation,groups,last_login,created,disabled\n";

#[tokio::test]
async fn a_users_export_is_every_member_in_onboarding_columns() {
    // GIVEN the seeded org
    let (w, handler) = seeded().await;
    let before = Utc::now();

    // WHEN the users are exported
    let (result, csv) = export(&w, &handler, json!({"source": "arcgis", "what": "users"})).await;

    // THEN the CSV holds every member, ids where onboarding takes ids, free
    // text neutralised for spreadsheets, times in UTC
    assert_eq!(
        csv,
        format!(
            "{HEADER}\
             ana.lopez_geo,Ana,López,ana.lopez@example.org,creatorUT,org_publisher,500,{FIELD_CREWS};{ANALYSTS},2026-06-01T06:00:00Z,2025-01-15T09:30:00Z,false\n\
             ben.viewer,Ben,Viewer,ben.viewer@example.com,viewerUT,iAAAAAAAAAAAAAAA,unlimited,{FIELD_CREWS},,2024-03-02T12:00:00Z,false\n\
             cleo.disabled,Cleo,Disabled,cleo.disabled@example.com,editorUT,org_user,100,,2023-07-04T00:00:00Z,2022-02-22T22:22:22Z,true\n\
             dan.formula,\"'=HYPERLINK(\"\"http://x\"\")\",\"'-Dash, Jr.\",dan.formula@example.com,fieldWorkerUT,analystRole00001,12.5,{ANALYSTS},2026-10-05T08:15:00Z,2025-01-15T09:30:00Z,false\n\
             rollcall_admin,Rollcall,Admin,rollcall_admin@example.com,creatorUT,org_admin,unlimited,{FIELD_CREWS};{ADMINS_ONLY},2026-11-30T07:00:00Z,2022-02-22T22:22:22Z,false\n"
        )
    );
    // AND the answer says where it is and how many rows it has
    let uri = result["uri"].as_str().unwrap();
    assert_eq!(
        result,
        json!({"uri": uri, "rows": 5, "source": "arcgis", "what": "users"})
    );
    let key = uri
        .strip_prefix(&format!("s3://{}/", w.world.bucket))
        .unwrap();
    let stamp = key
        .strip_prefix("exports/arcgis-users-")
        .and_then(|k| k.strip_suffix(".csv"))
        .unwrap_or_else(|| panic!("key {key}"));
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    assert!(
        at.timestamp() >= before.timestamp() && at <= Utc::now(),
        "{key}"
    );
    // AND the object is marked as rollcall's own, so it triggers nothing
    let (_, metadata, _) = w.world.moto.get_object(&w.world.bucket, key).await.unwrap();
    assert_eq!(metadata[WRITTEN_BY_METADATA], "export");
    assert_eq!(
        w.world.moto.list_keys(&w.world.bucket, "").await,
        [key.to_string()]
    );
}

#[tokio::test]
async fn each_filter_keeps_the_members_it_names() {
    // GIVEN the seeded org
    let (w, handler) = seeded().await;
    let cases = [
        (json!({"role": "Viewer"}), vec!["ben.viewer"]),
        (json!({"role": "analystRole00001"}), vec!["dan.formula"]),
        (json!({"role": "gis analyst"}), vec!["dan.formula"]),
        (json!({"role": "org_publisher"}), vec!["ana.lopez_geo"]),
        (
            json!({"user_type": "Creator"}),
            vec!["ana.lopez_geo", "rollcall_admin"],
        ),
        (json!({"user_type": "fieldWorkerUT"}), vec!["dan.formula"]),
        (
            json!({"group": ANALYSTS}),
            vec!["ana.lopez_geo", "dan.formula"],
        ),
        (json!({"disabled": true}), vec!["cleo.disabled"]),
        (
            json!({"disabled": "false"}),
            vec![
                "ana.lopez_geo",
                "ben.viewer",
                "dan.formula",
                "rollcall_admin",
            ],
        ),
        (
            json!({"user_type": "creatorUT", "group": FIELD_CREWS}),
            vec!["ana.lopez_geo", "rollcall_admin"],
        ),
        (json!({"role": "User", "disabled": false}), vec![]),
    ];
    for (filter, expected) in cases {
        // WHEN the users are exported with the filter
        let (result, csv) = export(
            &w,
            &handler,
            json!({"source": "arcgis", "what": "users", "filter": filter}),
        )
        .await;

        // THEN only the members it names are in the CSV, whole rows
        assert_eq!(usernames(&csv), expected, "{filter}");
        assert_eq!(result["rows"], expected.len(), "{filter}");
        assert!(csv.starts_with(HEADER));
    }
    let (_, csv) = export(
        &w,
        &handler,
        json!({"source": "arcgis", "what": "users", "filter": {"role": "Viewer"}}),
    )
    .await;
    assert_eq!(
        csv,
        format!("{HEADER}ben.viewer,Ben,Viewer,ben.viewer@example.com,viewerUT,iAAAAAAAAAAAAAAA,unlimited,{FIELD_CREWS},,2024-03-02T12:00:00Z,false\n")
    );
}

#[tokio::test]
async fn a_filter_the_org_cannot_satisfy_is_refused_and_writes_nothing() {
    // GIVEN the seeded org
    let (w, handler) = seeded().await;
    let refused = |filter: Value| {
        let handler = &handler;
        async move {
            let payload = json!({"source": "arcgis", "what": "users", "filter": filter});
            handler.handle(event(payload)).await.unwrap_err()
        }
    };

    // WHEN a role, user type or group the org does not have is asked for
    let role = refused(json!({"role": "Wizard"})).await;
    let user_type = refused(json!({"user_type": "Sorcerer"})).await;
    let group = refused(json!({"group": "ffff0000000000000000000000000000"})).await;
    let key = refused(json!({"email": "x@example.org"})).await;

    // THEN each is an invalid event naming the filter key, and nothing is written
    assert!(
        matches!(role, ExportError::Filter { key: "role", .. }),
        "{role}"
    );
    assert!(role.to_string().contains("\"Wizard\""), "{role}");
    assert!(role.to_string().contains("GIS Analyst"), "{role}");
    assert!(matches!(
        user_type,
        ExportError::Filter {
            key: "user_type",
            ..
        }
    ));
    assert_eq!(
        group.to_string(),
        "filter group: no group with id \"ffff0000000000000000000000000000\" is visible in the org"
    );
    assert!(key.to_string().contains("\"email\""), "{key}");
    for error in [&role, &user_type, &group, &key] {
        assert_eq!(error.kind().error_type(), "InvalidEvent");
    }
    assert!(w.world.moto.list_keys(&w.world.bucket, "").await.is_empty());
    assert!(w.world.moto.open_uploads(&w.world.bucket).await.is_empty());
}

#[tokio::test]
async fn a_groups_export_lists_each_group_with_its_owner_and_member_count() {
    // GIVEN the seeded org
    let (w, handler) = seeded().await;

    // WHEN the groups are exported
    let (result, csv) = export(&w, &handler, json!({"source": "arcgis", "what": "groups"})).await;

    // THEN every group is there by title, the owner counted as a member
    assert_eq!(
        csv,
        format!(
            "id,title,owner,member_count\n\
             {ADMINS_ONLY},'=Admins only,rollcall_admin,1\n\
             {ANALYSTS},Analysts,ana.lopez_geo,2\n\
             {FIELD_CREWS},Field Crews,rollcall_admin,3\n"
        )
    );
    assert_eq!(result["rows"], 3);
    assert_eq!(result["what"], "groups");
    assert!(result["uri"]
        .as_str()
        .unwrap()
        .contains("/exports/arcgis-groups-"));
}

#[tokio::test]
async fn a_large_org_is_streamed_to_s3_in_parts() {
    // GIVEN an org of 80,000 generated members, a CSV of more than one 8 MiB part
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let now = ms("2026-12-01T06:00:00Z");
    w.world.sandbox.generate_org(OrgSpec {
        members: 80_000,
        seed: 11,
        now_ms: now,
    });
    let handler = w.handler(w.config()).await;

    // WHEN the users are exported
    let (result, csv) = export(&w, &handler, json!({"source": "arcgis", "what": "users"})).await;

    // THEN the object was uploaded in parts and holds every member once, as
    // the portal describes them
    let key = result["uri"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("s3://{}/", w.world.bucket))
        .unwrap()
        .to_string();
    let (_, _, etag) = w
        .world
        .moto
        .get_object(&w.world.bucket, &key)
        .await
        .unwrap();
    assert!(csv.len() > 8 * 1024 * 1024, "{} bytes", csv.len());
    assert!(etag.ends_with("-2\""), "a two-part upload: {etag}");
    assert_eq!(result["rows"], 80_001);
    let names = usernames(&csv);
    assert_eq!(names.len(), 80_001);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    sorted.dedup();
    assert_eq!(sorted.len(), 80_001, "every member once");
    let member = w.world.sandbox.member("member.040000").unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with("member.040000,"))
        .unwrap();
    let last_login = member
        .last_login
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let created = DateTime::<Utc>::from_timestamp_millis(member.created)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ");
    assert_eq!(
        line,
        format!(
            "member.040000,{},{},{},{},{},unlimited,,{last_login},{created},{}",
            member.first_name,
            member.last_name,
            member.email,
            member.user_type,
            member.role_id.as_deref().unwrap_or(&member.role),
            member.disabled
        )
    );
    assert!(w.world.moto.open_uploads(&w.world.bucket).await.is_empty());
}

#[tokio::test]
async fn a_portal_that_keeps_failing_fails_the_export_and_leaves_nothing() {
    // GIVEN a portal answering every call with a server error
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let handler = w.handler(w.config()).await;
    w.world.sandbox.set_fault_rate(1.0);

    // WHEN the users are exported
    let error = handler
        .handle(event(json!({"source": "arcgis", "what": "users"})))
        .await
        .unwrap_err();

    // THEN the invocation fails as the portal being unavailable, with no object
    assert_eq!(error.kind().error_type(), "ServiceUnavailable", "{error}");
    assert!(error
        .to_string()
        .starts_with("the export failed and nothing was written"));
    assert!(w.world.moto.list_keys(&w.world.bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_source_that_is_not_configured_is_refused_naming_its_variables() {
    // GIVEN a deployment with ArcGIS only
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let config = export::ExportConfig {
        ams: None,
        ..w.config()
    };
    let handler = w.handler(config).await;

    // WHEN an AMS export is asked for
    let error = handler
        .handle(event(json!({"source": "ams", "what": "users"})))
        .await
        .unwrap_err();

    // THEN it is refused as a configuration problem naming what to set
    assert_eq!(error.kind().error_type(), "InvalidConfiguration");
    assert_eq!(
        error.to_string(),
        "Teamworks AMS is not configured for this function: AMS_URL and AMS_SECRET_ID must be set"
    );
    assert!(w.world.moto.list_keys(&w.world.bucket, "").await.is_empty());
}
