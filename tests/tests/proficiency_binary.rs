//! The real `proficiency` binary, started as Lambda starts it and driven
//! through the Lambda runtime API with the sample console event.

use std::time::Duration;

use rollcall_tests::lambda::{spawn_function, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::ConnectConfig;
use rollcall_tests::world::ConnectWorld;
use rollcall_tests::world::InBucket;

#[tokio::test]
async fn the_function_binary_plans_the_sample_console_event() {
    // GIVEN an instance, a file, and the sample console event (a dry run)
    let world = ConnectWorld::new(ConnectConfig::new()).await;
    world.connect.add_attribute("Language", &["French"]);
    let agent = world.connect.add_agent("jane.doe");
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/proficiency/console.json")).unwrap();
    event["bucket"] = world.bucket.clone().into();
    let key = event["key"].as_str().unwrap().to_string();
    world
        .drop_csv(&key, "identifier,identifier_type,action,attribute,value,level\njane.doe,username,add,Language,French,3\n")
        .await;
    let env = world.function_env(&[]);

    // WHEN Lambda would start the binary and deliver the event
    let runtime = LocalRuntime::start(Duration::from_secs(900)).await;
    let mut function = spawn_function(&workspace_binary("proficiency"), &runtime, &env);
    let answer = runtime.invoke(event, Duration::from_secs(60)).await;
    let _ = function.kill().await;

    // THEN it plans the row through Connect (reached by AWS_ENDPOINT_URL_CONNECT) and writes nothing
    let Ok(Answer::Response(response)) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    assert_eq!(response["counts"]["planned"], 1, "{response}");
    assert!(world.connect.proficiencies(&agent).is_empty());
    assert_eq!(world.connect.calls().count("SearchUsers"), 1);
    let report = world.text_at(response["report"].as_str().unwrap()).await;
    assert!(
        report
            .ends_with("2,jane.doe,username,add,Language,French,3,planned,would add at level 3\n"),
        "{report}"
    );
}
