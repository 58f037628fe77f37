//! The real `export` binary, started as Lambda starts it (configuration from
//! the environment, both secrets read at cold start) and driven through the
//! Lambda runtime API with the sample events.

use std::time::Duration;

use rollcall_tests::export_world::ExportWorld;
use rollcall_tests::lambda::{spawn_function, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::{SandboxConfig, SeedMember, SeedPerson};
use rollcall_tests::world::InBucket;
use serde_json::Value;

#[tokio::test]
async fn the_function_binary_exports_both_sources_from_the_sample_events() {
    // GIVEN an org and a site, and the environment the stack sets
    let w = ExportWorld::new(SandboxConfig::online()).await;
    w.world
        .sandbox
        .add_member(SeedMember::new("field.worker").user_type("fieldWorkerUT"));
    let squad = w.ams.sandbox.add_person(SeedPerson::new("riley.example"));
    w.ams.sandbox.add_group("Squad A", &[squad]);
    let mut env = w.world.function_env();
    env.retain(|(k, _)| !["MAIL_FROM", "ADMIN_EMAILS", "DRY_RUN"].contains(&k.as_str()));
    env.extend([
        ("REPORT_BUCKET".to_string(), w.world.bucket.clone()),
        ("AMS_URL".to_string(), w.ams.sandbox.url()),
        ("AMS_SECRET_ID".to_string(), w.ams.secret_id.clone()),
    ]);

    // WHEN Lambda would start the binary and deliver two sample events
    let runtime = LocalRuntime::start(Duration::from_secs(900)).await;
    let mut function = spawn_function(&workspace_binary("export"), &runtime, &env);
    let sample = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let arcgis = runtime
        .invoke(
            sample(include_str!("../../events/export/arcgis-users.json")),
            Duration::from_secs(60),
        )
        .await;
    let ams = runtime
        .invoke(
            sample(include_str!("../../events/export/ams-users-by-group.json")),
            Duration::from_secs(60),
        )
        .await;
    let _ = function.kill().await;

    // THEN each answer names its CSV, which holds the accounts asked for
    let Ok(Answer::Response(arcgis)) = arcgis else {
        panic!("expected a response, got {arcgis:?}");
    };
    assert_eq!(arcgis["rows"], 2, "the admin and the member: {arcgis}");
    let csv = w.world.text_at(arcgis["uri"].as_str().unwrap()).await;
    assert!(csv.starts_with("username,firstname,lastname,email,user type,role,"));
    assert!(csv
        .contains("\nfield.worker,Field,Worker,field.worker@example.com,fieldWorkerUT,org_user,"));
    let Ok(Answer::Response(ams)) = ams else {
        panic!("expected a response, got {ams:?}");
    };
    assert_eq!(ams["rows"], 1, "{ams}");
    let csv = w.world.text_at(ams["uri"].as_str().unwrap()).await;
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{squad},Riley,Example,riley.example,")),
        "{csv}"
    );
}
