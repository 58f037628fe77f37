//! Each run's CloudWatch metrics: the real handlers against moto and the
//! sandboxes, their Embedded Metric Format lines captured and parsed. A line
//! must be a valid EMF document (the `_aws` envelope names the namespace,
//! the dimension and a definition for every value,
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
//! and its values must be the run's own counts: the rows per outcome of the
//! answer, the members the sweep warned and disabled, and the calls the
//! sandbox saw.

use chrono::{DateTime, Duration as Days, Utc};
use connectors::inbox::Counts;
use connectors::metrics::{Metric, Metrics};
use export::ExportFunction;
use lambda_runtime::{Context, LambdaEvent};
use rollcall_tests::ams_world::AmsWorld;
use rollcall_tests::export_world::ExportWorld;
use rollcall_tests::lambda::{spawn_function_writing_to, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::{AmsConfig, ConnectConfig, SandboxConfig, SeedMember};
use rollcall_tests::world::{ConnectWorld, InBucket, World};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use sweep::SweepFunction;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The one EMF line a run wrote, checked against the specification: a JSON
/// object with `_aws.Timestamp` and one directive in the `Rollcall`
/// namespace whose dimension is a string member and whose every metric
/// names a number member, with every number member defined.
fn only_document(metrics: &Metrics) -> Value {
    let lines = metrics.lines();
    assert_eq!(lines.len(), 1, "one line per run: {lines:#?}");
    let doc: Value = serde_json::from_str(&lines[0]).expect("the line is a JSON object");
    let aws = &doc["_aws"];
    assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 0), "{doc}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert_eq!(directives.len(), 1, "{doc}");
    let directive = &directives[0];
    assert_eq!(directive["Namespace"], "Rollcall");
    assert_eq!(directive["Dimensions"], serde_json::json!([["Function"]]));
    assert!(doc["Function"].is_string(), "{doc}");
    let defined: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metric definitions")
        .iter()
        .map(|definition| {
            let unit = definition["Unit"].as_str().expect("a unit");
            assert!(["Count", "Milliseconds"].contains(&unit), "{definition}");
            definition["Name"].as_str().expect("a name")
        })
        .collect();
    for name in &defined {
        assert!(
            doc[*name].is_u64(),
            "{name} is defined but has no value: {doc}"
        );
    }
    let numbers = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, value)| value.is_number());
    for (name, _) in numbers {
        assert!(
            defined.contains(&name.as_str()),
            "{name} has no definition: {doc}"
        );
    }
    doc
}

fn value(doc: &Value, metric: Metric) -> u64 {
    doc[metric.name()]
        .as_u64()
        .unwrap_or_else(|| panic!("no {} in {doc}", metric.name()))
}

/// Every outcome of the answer is a `Rows<Outcome>` value, and no other is.
fn assert_rows(doc: &Value, counts: &Counts) {
    for (outcome, n) in counts.each() {
        assert_eq!(value(doc, Metric::Rows(outcome)), n as u64, "{outcome:?}");
    }
    let rows = doc
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("Rows"))
        .count();
    assert_eq!(rows, counts.each().count(), "{doc}");
}

const FILE: &str = "\
username,password,firstname,lastname,email,user type,role,credit allocation,groups
ahmed.khan_geo,Welcome-2026!,Ahmed,Khan,ahmed.khan@example.org,Creator,Publisher,,
bea.lopez_geo,,Bea,López,bea.lopez@example.org,Viewer,Viewer,,
dana.existing,,Dana,Existing,dana@example.org,Creator,User,,
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,,
";

#[tokio::test]
async fn an_onboarding_run_reports_its_rows_calls_and_duration() {
    // GIVEN an org with one member and a file creating, inviting, finding and failing a row
    let world = World::new(SandboxConfig::online()).await;
    world.sandbox.add_member(SeedMember::new("dana.existing"));
    let key = "inbox/arcgis/starters.csv";
    world.drop_csv(key, FILE).await;
    let metrics = Metrics::in_memory();
    let mut config = world.config();
    config.common.metrics = metrics.clone();
    let handler = world.handler(config).await;
    world.sandbox.reset_calls();

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN one EMF line for the run, with the answer's rows per outcome
    let doc = only_document(&metrics);
    assert_eq!(doc["Function"], "onboard");
    assert_eq!(response.counts.total(), 4);
    assert_rows(&doc, &response.counts);
    assert_eq!(
        value(&doc, Metric::Rows(connectors::inbox::Outcome::Failed)),
        1
    );
    // AND every call the portal answered, none throttled, and the run's time
    let calls = world.sandbox.calls();
    assert!(calls.total > 4, "{calls:?}");
    assert_eq!(
        value(&doc, Metric::ApiCalls(connectors::metrics::Service::ArcGIS)),
        calls.total
    );
    assert_eq!(
        value(
            &doc,
            Metric::Throttled(connectors::metrics::Service::ArcGIS)
        ),
        0
    );
    assert!(doc.get("DurationMs").is_some_and(Value::is_u64), "{doc}");
    assert!(doc.get("ApiCallsAMS").is_none(), "no AMS client: {doc}");
}

#[tokio::test]
async fn retries_are_calls_and_throttled_answers_are_counted() {
    // GIVEN a portal that answers a fifth of its calls with throttling or unavailability
    let world = World::new(SandboxConfig::online()).await;
    world.sandbox.set_retry_after(0);
    let key = "inbox/arcgis/starters.csv";
    world.drop_csv(key, FILE).await;
    let metrics = Metrics::in_memory();
    let mut config = world.config();
    config.common.metrics = metrics.clone();
    let handler = world.handler(config).await;
    world.sandbox.reset_calls();
    world.sandbox.set_fault_rate(0.2);

    // WHEN the file is onboarded
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN every attempt the portal saw is a call, and the throttled ones are among its faults
    let doc = only_document(&metrics);
    assert_rows(&doc, &response.counts);
    let calls = world.sandbox.calls();
    let arcgis = connectors::metrics::Service::ArcGIS;
    assert_eq!(value(&doc, Metric::ApiCalls(arcgis)), calls.total);
    assert!(
        value(&doc, Metric::Throttled(arcgis)) <= calls.faults,
        "{calls:?} {doc}"
    );
}

/// Day 0 of the sweep tests: 2026-06-01 06:00 UTC.
fn day(n: i64) -> DateTime<Utc> {
    "2026-06-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Days::days(n)
}

fn scheduled(at: DateTime<Utc>) -> LambdaEvent<Value> {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/sweep/scheduled.json")).unwrap();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    LambdaEvent::new(event, Context::default())
}

fn member(world: &World, name: &str, last_login_day: i64) -> SeedMember {
    SeedMember::new(name)
        .email(&world.address(name))
        .created(day(-400).timestamp_millis())
        .last_login(Some(day(last_login_day).timestamp_millis()))
}

#[tokio::test]
async fn each_sweep_reports_who_it_warned_and_disabled() {
    // GIVEN two inactive members and a live sweep whose metrics are captured
    let world = World::new(SandboxConfig::online()).await;
    world.sandbox.add_member(member(&world, "idle.member", -80));
    world.sandbox.add_member(member(&world, "back.member", -80));
    world
        .sandbox
        .add_member(member(&world, "active.member", -2));
    let mut config = world.sweep_config();
    let day0 = Metrics::in_memory();
    config.common.metrics = day0.clone();
    let handler = world.sweep_handler(config.clone()).await;
    world.sandbox.reset_calls();

    // WHEN day 0's sweep runs
    let result = handler.handle(scheduled(day(0))).await.unwrap();

    // THEN its line says both were warned, nobody disabled, and the calls the portal saw
    let doc = only_document(&day0);
    assert_eq!(doc["Function"], "sweep");
    assert_eq!(result.actions.get("warned"), Some(&2));
    assert_eq!(value(&doc, Metric::MembersWarned), 2);
    assert_eq!(value(&doc, Metric::MembersDisabled), 0);
    assert_eq!(value(&doc, Metric::MembersReclaimed), 0);
    assert_eq!(value(&doc, Metric::BreakerTripped), 0);
    let arcgis = connectors::metrics::Service::ArcGIS;
    assert_eq!(
        value(&doc, Metric::ApiCalls(arcgis)),
        world.sandbox.calls().total
    );

    // WHEN back.member signs in and day 14's sweep runs (with fresh metrics)
    world
        .sandbox
        .set_last_login("back.member", Some(day(5).timestamp_millis()));
    let day14 = Metrics::in_memory();
    config.common.metrics = day14.clone();
    let handler = world.sweep_handler(config).await;
    world.sandbox.reset_calls();
    let result = handler.handle(scheduled(day(14))).await.unwrap();

    // THEN its line says the one still inactive was disabled
    let doc = only_document(&day14);
    assert_eq!(result.disabled, ["idle.member"]);
    assert_eq!(value(&doc, Metric::MembersDisabled), 1);
    assert_eq!(value(&doc, Metric::MembersWarned), 0);
    assert_eq!(
        value(&doc, Metric::ApiCalls(arcgis)),
        world.sandbox.calls().total
    );
}

#[tokio::test]
async fn a_tripped_breaker_is_a_metric_before_the_error() {
    // GIVEN three members warned long ago and a cap of two disables
    let world = World::new(SandboxConfig::online()).await;
    for name in ["gone.one", "gone.two", "gone.three"] {
        world.sandbox.add_member(member(&world, name, -120));
    }
    let mut config = world.sweep_config();
    config.thresholds.max_disables_per_run = 2;
    let handler = world.sweep_handler(config.clone()).await;
    handler
        .handle(scheduled(day(-30)))
        .await
        .expect("the warnings");
    let metrics = Metrics::in_memory();
    config.common.metrics = metrics.clone();
    let handler = world.sweep_handler(config).await;

    // WHEN the sweep would disable three
    let error = handler.handle(scheduled(day(0))).await.unwrap_err();

    // THEN the run fails as CircuitBreakerTripped, and its line says so
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "CircuitBreakerTripped");
    let doc = only_document(&metrics);
    assert_eq!(value(&doc, Metric::BreakerTripped), 1);
    assert_eq!(value(&doc, Metric::MembersDisabled), 0);
    assert_eq!(value(&doc, Metric::MembersWarned), 0);
}

#[tokio::test]
async fn a_proficiency_run_counts_connect_attempts_and_throttling() {
    // GIVEN a Connect instance that takes one SearchUsers a second, two
    // agents, and a client paced far faster than that
    let world = ConnectWorld::new(ConnectConfig::new().with_rate("SearchUsers", 1.0)).await;
    world
        .connect
        .add_attribute("Language", &["English", "French", "German"]);
    world.connect.add_agent("jane.doe");
    world.connect.add_agent("li.wei");
    let key = "inbox/connect/team.csv";
    world
        .drop_csv(
            key,
            "identifier,identifier_type,action,attribute,value,level\n\
             jane.doe,username,add,Language,French,3\n\
             li.wei,username,add,Language,German,2\n\
             li.wei,username,add,Language,Klingon,2\n",
        )
        .await;
    let metrics = Metrics::in_memory();
    let mut config = world.config(50.0);
    config.common.metrics = metrics.clone();
    let handler = world.handler(config);

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN the line has the rows per outcome and every attempt the instance saw
    let doc = only_document(&metrics);
    assert_eq!(doc["Function"], "proficiency");
    assert_rows(&doc, &response.counts);
    let calls = world.connect.calls();
    let connect = connectors::metrics::Service::Connect;
    assert_eq!(value(&doc, Metric::ApiCalls(connect)), calls.total);
    let throttled = calls.throttled_total();
    assert!(throttled > 0, "{calls:?}");
    assert_eq!(value(&doc, Metric::Throttled(connect)), throttled);
}

#[tokio::test]
async fn the_binary_writes_its_metrics_as_a_line_of_their_own_beside_json_logs() {
    // GIVEN the onboard binary as Lambda starts it, with JSON logs, and a file
    let world = World::new(SandboxConfig::online()).await;
    let key = "inbox/arcgis/new starters.csv";
    world
        .drop_csv(
            key,
            "username,firstname,lastname,email\nnew.starter1,New,Starter,new.starter1@example.org\n",
        )
        .await;
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/onboard/s3-put.json")).unwrap();
    event["Records"][0]["s3"]["bucket"]["name"] = world.bucket.clone().into();
    let mut env = world.function_env();
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    let runtime = LocalRuntime::start(Duration::from_secs(300)).await;
    let mut function =
        spawn_function_writing_to(&workspace_binary("onboard"), &runtime, &env, Stdio::piped());
    let stdout = function.stdout.take().expect("piped stdout");

    // WHEN the event is delivered
    let answer = runtime.invoke(event, Duration::from_secs(60)).await;
    let _ = function.kill().await;
    let Ok(Answer::Response(response)) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut written = Vec::new();
    while let Some(line) = lines.next_line().await.expect("the function's output") {
        written.push(line);
    }

    // THEN every line is a JSON object, and exactly one is the EMF document,
    // on its own (no log event holds it)
    let objects: Vec<Value> = written
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let (emf, logs): (Vec<&Value>, Vec<&Value>) =
        objects.iter().partition(|o| o.get("_aws").is_some());
    assert_eq!(emf.len(), 1, "{written:#?}");
    assert!(!logs.is_empty(), "the run logs too");
    for log in &logs {
        assert!(!log.to_string().contains("CloudWatchMetrics"), "{log}");
    }
    // AND it is the run's: the function Lambda named, its row, the portal's calls
    let doc = emf[0];
    assert_eq!(doc["Function"], "onboard");
    assert_eq!(response["counts"]["invited"], 1, "{response}");
    assert_eq!(
        value(doc, Metric::Rows(connectors::inbox::Outcome::Invited)),
        1
    );
    let arcgis = connectors::metrics::Service::ArcGIS;
    assert_eq!(
        value(doc, Metric::ApiCalls(arcgis)),
        world.sandbox.calls().total
    );
}

#[tokio::test]
async fn an_ams_onboarding_run_counts_the_site_s_calls() {
    // GIVEN an AMS site and a file creating one account and failing another
    let world = AmsWorld::new(AmsConfig::new()).await;
    let key = "inbox/ams/athletes.csv";
    world
        .drop_csv(
            key,
            "first_name,last_name,username,email,dob,password,active\n\
             Ahmed,Khan,ahmed.khan,ahmed@example.org,1994-07-30,Welcome-2026!,true\n\
             Bea,López,bea.lopez,bea.example.org,2001-02-03,Welcome-2026!,yes\n",
        )
        .await;
    let metrics = Metrics::in_memory();
    let mut config = world.config();
    config.common.metrics = metrics.clone();
    let handler = world.handler(config).await;
    world.sandbox.reset_calls();

    // WHEN the S3 event arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the line has the rows per outcome and every call the site saw
    let doc = only_document(&metrics);
    assert_rows(&doc, &response.counts);
    assert_eq!(response.counts.total(), 2);
    let ams = connectors::metrics::Service::Ams;
    let calls = world.sandbox.calls();
    assert!(calls.total > 0);
    assert_eq!(value(&doc, Metric::ApiCalls(ams)), calls.total);
    assert_eq!(value(&doc, Metric::Throttled(ams)), 0);
    assert!(
        doc.get("ApiCallsArcGIS").is_none(),
        "no ArcGIS client: {doc}"
    );
}

#[tokio::test]
async fn an_export_reports_the_rows_it_wrote_and_the_calls_it_made() {
    // GIVEN an org with three members and an export deployment
    let export_world = ExportWorld::new(SandboxConfig::online()).await;
    let world = &export_world.world;
    for name in ["ana.lopez_geo", "ben.viewer", "cleo.member"] {
        world.sandbox.add_member(SeedMember::new(name));
    }
    let metrics = Metrics::in_memory();
    let mut config = export_world.config();
    config.metrics = metrics.clone();
    let handler = export_world.handler(config).await;
    world.sandbox.reset_calls();

    // WHEN the users are exported
    let payload = serde_json::json!({"source": "arcgis", "what": "users"});
    let result = handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
        .expect("the export");

    // THEN its line has the rows written and every call the portal saw, for ArcGIS and AMS
    let doc = only_document(&metrics);
    assert_eq!(doc["Function"], "export");
    assert!(result.rows >= 3, "{result:?}");
    assert_eq!(value(&doc, Metric::RowsExported), result.rows);
    let arcgis = connectors::metrics::Service::ArcGIS;
    assert_eq!(
        value(&doc, Metric::ApiCalls(arcgis)),
        world.sandbox.calls().total
    );
    let ams = connectors::metrics::Service::Ams;
    assert_eq!(
        value(&doc, Metric::ApiCalls(ams)),
        0,
        "nothing asked of AMS"
    );
}

#[tokio::test]
async fn a_chain_stopped_at_max_continuations_is_counted_in_the_run_that_stopped_it() {
    // GIVEN MAX_CONTINUATIONS = 0 and a proficiency run with no time left
    let world = ConnectWorld::new(ConnectConfig::new()).await;
    world.connect.add_attribute("Language", &["English"]);
    world.connect.add_agent("jane.doe");
    let key = "inbox/connect/capped.csv";
    world
        .drop_csv(
            key,
            "identifier,identifier_type,action,attribute,value,level\njane.doe,username,add,Language,English,3\n",
        )
        .await;
    let metrics = Metrics::in_memory();
    let mut config = world.config(50.0);
    config.common.metrics = metrics.clone();
    config.limits.max_continuations = 0;
    let handler = world.handler(config);
    let mut event = world.s3_event(key);
    let margin = handler.config.common.deadline_margin.as_millis() as u64;
    event.context.deadline = Utc::now().timestamp_millis() as u64 + margin - 1_000;

    // WHEN it runs
    let response = handler.handle(event).await.expect("the run succeeds");

    // THEN the row waits in the paused object, and the run's one EMF line
    // says the chain stopped, beside the row it handed on
    let job = response.files[0].job.clone().unwrap();
    let paused = format!("s3://{}/inbox/connect/paused/{job}.csv", world.bucket);
    assert_eq!(response.remaining.as_deref(), Some(paused.as_str()));
    let doc = only_document(&metrics);
    assert_eq!(value(&doc, Metric::ContinuationLimitReached), 1);
    assert_rows(&doc, &response.counts);
    assert_eq!(
        value(&doc, Metric::Rows(connectors::inbox::Outcome::Skipped)),
        1
    );
}
