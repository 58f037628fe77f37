//! The real `onboard` binary, started as Lambda starts it and driven through
//! the Lambda runtime API with the sample event from `events/onboard/`.

use std::time::Duration;

use rollcall_tests::lambda::{spawn_function, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::SandboxConfig;
use rollcall_tests::world::InBucket;
use rollcall_tests::world::World;

#[tokio::test]
async fn the_function_binary_onboards_the_sample_event() {
    // GIVEN the sample event, pointed at this test's bucket, and its file
    let world = World::new(SandboxConfig::online()).await;
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/onboard/s3-put.json")).unwrap();
    event["Records"][0]["s3"]["bucket"]["name"] = world.bucket.clone().into();
    world
        .drop_csv(
            "inbox/arcgis/new starters.csv",
            "username,firstname,lastname,email\nnew.starter1,New,Starter,new.starter1@example.org\n",
        )
        .await;

    // WHEN Lambda would start the binary and deliver the event
    let runtime = LocalRuntime::start(Duration::from_secs(300)).await;
    let mut function = spawn_function(
        &workspace_binary("onboard"),
        &runtime,
        &world.function_env(),
    );
    let answer = runtime.invoke(event, Duration::from_secs(60)).await;
    let _ = function.kill().await;

    // THEN it answers with the summary, and the member is in the org
    let Ok(Answer::Response(response)) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    assert_eq!(response["counts"]["invited"], 1, "{response}");
    assert_eq!(response["csv_rewritten"], true);
    assert!(world.sandbox.member("new.starter1").unwrap().invited);
    let report = world.text_at(response["report"].as_str().unwrap()).await;
    assert_eq!(
        report,
        "line,username,outcome,groups_added,reason\n2,new.starter1,invited,,invitation sent to new.starter1@example.org\n"
    );
}

#[test]
fn a_missing_variable_stops_the_cold_start_and_names_it() {
    // GIVEN an environment without MAIL_FROM
    let output = std::process::Command::new(workspace_binary("onboard"))
        .env_clear()
        .env("ARCGIS_URL", "http://127.0.0.1:9")
        .env("ARCGIS_SECRET_ID", "rollcall/arcgis")
        .output()
        .expect("start the binary");

    // THEN it exits at once with a message naming the variable
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("environment variable MAIL_FROM: is required but not set"),
        "{stderr}"
    );
}
