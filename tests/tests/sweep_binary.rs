//! The real `sweep` binary, started as Lambda starts it and driven through
//! the Lambda runtime API with the sample schedule event.

use std::time::Duration;

use rollcall_tests::lambda::{spawn_function, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::InBucket;
use rollcall_tests::world::World;

#[tokio::test]
async fn the_function_binary_sweeps_on_the_sample_schedule_event_in_dry_run() {
    // GIVEN an org with a long-idle member, and the configuration's default (dry run)
    let world = World::new(SandboxConfig::online()).await;
    let event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/sweep/scheduled.json")).unwrap();
    let now = event["time"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let idle_since = (now - chrono::Duration::days(75)).timestamp_millis();
    world.sandbox.add_member(
        SeedMember::new("idle.member")
            .email(&world.address("idle.member"))
            .last_login(Some(idle_since))
            .created(idle_since - 86_400_000 * 300),
    );
    let mut env = world.function_env();
    env.retain(|(k, _)| k != "DRY_RUN");
    env.push(("REPORT_BUCKET".into(), world.bucket.clone()));

    // WHEN Lambda would start the binary and deliver the schedule's event
    let runtime = LocalRuntime::start(Duration::from_secs(900)).await;
    let mut function = spawn_function(&workspace_binary("sweep"), &runtime, &env);
    let answer = runtime.invoke(event, Duration::from_secs(60)).await;
    let _ = function.kill().await;

    // THEN it plans the warning on the event's date and changes nothing
    let Ok(Answer::Response(summary)) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    assert_eq!(summary["dry_run"], true, "{summary}");
    assert_eq!(summary["actions"]["planned_warn"], 1, "{summary}");
    let report = summary["report"].as_str().unwrap();
    assert!(report.contains("/reports/sweep/2026-11-23/"), "{report}");
    assert!(world
        .text_at(report)
        .await
        .contains(",75,warn,planned_warn,signed in 75 days ago"));
    assert!(world
        .moto
        .sent_mails_to(&world.address("idle.member"))
        .await
        .is_empty());
    assert!(world.text("state/sweep.json").await.is_none());
}
