//! Long jobs end to end: the real `proficiency` and `onboard` binaries,
//! started as Lambda starts them and driven through the Lambda runtime API,
//! with a Lambda timeout short enough that a file needs several
//! invocations. Each link's S3 event is delivered as S3 would deliver it:
//! a notification for the object the run wrote, with its own sequencer.

use std::collections::BTreeSet;
use std::time::Duration;

use rollcall_tests::lambda::{spawn_function, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::{ConnectConfig, SandboxConfig};
use rollcall_tests::world::{s3_event, ConnectWorld, InBucket, World};
use serde_json::{json, Value};
use tokio::process::Child;

/// The Lambda timeout each invocation is given: with the margin below, a
/// link starts agents for three seconds, and has two and a half to finish
/// those in flight and write its files.
const TIMEOUT: Duration = Duration::from_secs(8);
const MARGIN_SECONDS: &str = "5";
/// Client-side pace of each Connect operation.
const MAX_RPS: &str = "30";
/// Agents in a file (two rows each): three links' worth or more.
const AGENTS: usize = 300;
const ROWS: usize = 2 * AGENTS;

const HEADER: &str = "identifier,identifier_type,action,attribute,value,level\n";

/// A Connect instance with `agents` agents and a file giving each of them
/// two proficiencies, uploaded at `key`.
async fn proficiency_job(agents: usize, key: &str) -> (ConnectWorld, Vec<(String, String)>) {
    let world = ConnectWorld::new(ConnectConfig::new()).await;
    world
        .connect
        .add_attribute("Language", &["English", "French", "German"]);
    let agents = world.connect.generate_agents(agents, "agent");
    let mut file = HEADER.to_string();
    for (username, _) in &agents {
        file.push_str(&format!("{username},username,add,Language,English,3\n"));
        file.push_str(&format!("{username},username,add,Language,French,2\n"));
    }
    world.drop_csv(key, &file).await;
    (world, agents)
}

fn proficiency_env(world: &ConnectWorld, max_continuations: usize) -> Vec<(String, String)> {
    world.function_env(&[
        ("DRY_RUN", "false"),
        ("DEADLINE_MARGIN_SECONDS", MARGIN_SECONDS),
        ("CONNECT_MAX_RPS", MAX_RPS),
        ("MAX_CONTINUATIONS", &max_continuations.to_string()),
        // One line per agent at info would drown the test output.
        ("RUST_LOG", "warn"),
    ])
}

/// Lambda in front of `instances` copies of a function binary.
struct Lambda {
    runtime: LocalRuntime,
    processes: Vec<Child>,
}

impl Lambda {
    async fn start(function: &str, env: &[(String, String)], instances: usize) -> Self {
        let runtime = LocalRuntime::start(TIMEOUT).await;
        let processes = (0..instances)
            .map(|_| spawn_function(&workspace_binary(function), &runtime, env))
            .collect();
        Self { runtime, processes }
    }

    /// One invocation and the function's answer.
    async fn invoke(&self, payload: Value) -> Answer {
        self.runtime
            .invoke(payload, Duration::from_secs(120))
            .await
            .expect("the function answers")
    }

    /// One invocation that must succeed: its JSON answer.
    async fn run(&self, payload: Value) -> Value {
        match self.invoke(payload).await {
            Answer::Response(response) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    async fn stop(mut self) {
        for process in &mut self.processes {
            let _ = process.kill().await;
        }
    }
}

/// The notification S3 sends when `key` is written.
fn created(bucket: &str, key: &str) -> Value {
    serde_json::to_value(s3_event(bucket, key)).unwrap()
}

/// The key of an answer's `remaining` URI.
fn waiting_key(answer: &Value, bucket: &str) -> Option<String> {
    answer["remaining"].as_str().map(|uri| {
        uri.strip_prefix(&format!("s3://{bucket}/"))
            .unwrap()
            .to_string()
    })
}

async fn progress(world: &impl InBucket, job: &str) -> Value {
    let text = world
        .text(&format!("state/jobs/{job}.json"))
        .await
        .expect("the job's progress file");
    serde_json::from_str(&text).unwrap()
}

/// Each agent holds exactly its two proficiencies, written by one
/// associate call: every row was applied, and none twice.
fn every_agent_done_once(world: &ConnectWorld, agents: &[(String, String)]) {
    let calls = world.connect.calls();
    for (username, id) in agents {
        let held: BTreeSet<(String, String, String)> = world
            .connect
            .proficiencies(id)
            .into_iter()
            .map(|(a, v, l)| (a, v, l.to_string()))
            .collect();
        let expected = BTreeSet::from([
            ("Language".into(), "English".into(), "3".into()),
            ("Language".into(), "French".into(), "2".into()),
        ]);
        assert_eq!(held, expected, "{username}");
        assert_eq!(
            calls.user_count("AssociateUserProficiencies", id),
            1,
            "{username} written once"
        );
    }
}

/// Every row of the job reported `added` exactly once (the rows handed on
/// are reported `skipped` by the link that handed them on).
async fn every_row_added_once(world: &ConnectWorld, progress: &Value, agents: usize) {
    let rows = world.job_outcomes(progress).await;
    let added: usize = rows
        .values()
        .map(|outcomes| outcomes.iter().filter(|o| *o == "added").count())
        .sum();
    assert_eq!(added, 2 * agents);
    for (row, outcomes) in &rows {
        assert_eq!(
            outcomes.iter().filter(|o| *o == "added").count(),
            1,
            "{row:?}: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn a_proficiency_job_runs_link_after_link_until_every_row_is_done_once() {
    // GIVEN agents with two rows each, more than one invocation can do
    let key = "inbox/connect/reskill.csv";
    let (world, agents) = proficiency_job(AGENTS, key).await;
    let lambda = Lambda::start("proficiency", &proficiency_env(&world, 50), 1).await;

    // WHEN the upload's event runs, and then each link's event as S3 sends it
    let mut answer = lambda.run(created(&world.bucket, key)).await;
    let job = answer["files"][0]["job"]
        .as_str()
        .expect("a job")
        .to_string();
    let mut seen = vec![];
    while let Some(link) = waiting_key(&answer, &world.bucket) {
        // THEN between links the progress file tells where the job stands
        let state = progress(&world.stage, &job).await;
        assert_eq!(state["status"], "running", "{state}");
        assert_eq!(state["rows_total"], ROWS);
        assert_eq!(state["links"], seen.len() + 1);
        assert!(
            (state["rows_done"].as_u64().unwrap() as usize) < ROWS,
            "{state}"
        );
        assert!(state["estimated_finish"].is_string(), "{state}");
        assert_eq!(
            state["waiting"],
            format!("s3://{}/{link}", world.bucket),
            "{state}"
        );
        assert_eq!(
            link,
            format!("inbox/connect/continue/{job}/{}.csv", seen.len() + 2)
        );
        seen.push(state["rows_done"].as_u64().unwrap());
        answer = lambda.run(created(&world.bucket, &link)).await;
    }
    lambda.stop().await;

    // THEN it took at least three links, each doing some rows
    assert!(seen.len() >= 2, "links: {}", seen.len() + 1);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    let state = progress(&world.stage, &job).await;
    assert_eq!(state["status"], "finished", "{state}");
    assert_eq!(
        (state["rows_done"].as_u64(), state["rows_failed"].as_u64()),
        (Some(ROWS as u64), Some(0))
    );
    assert_eq!(state["links"], seen.len() + 1);
    // AND every row was done exactly once
    every_agent_done_once(&world, &agents);
    every_row_added_once(&world, &state, agents.len()).await;
    // AND the admins got one summary for the whole job, naming every report
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.contains(&format!(
            "{ROWS} successful, 0 failed, 0 skipped ({key}, finished in {} links)",
            seen.len() + 1
        )),
        "{}",
        mails[0].subject
    );
    for link in state["finished"].as_array().unwrap() {
        assert!(mails[0].body.contains(link["report"].as_str().unwrap()));
    }
    // AND the source and every link hold only their header now
    let emptied = HEADER.replace('\n', ",error\n");
    assert_eq!(world.text(key).await.unwrap(), emptied);
    for link in state["finished"].as_array().unwrap() {
        assert_eq!(
            world.text(link["key"].as_str().unwrap()).await.unwrap(),
            emptied
        );
    }
}

#[tokio::test]
async fn a_link_delivered_twice_at_once_and_a_link_that_fails_and_is_retried_still_do_each_row_once(
) {
    // GIVEN a job and two instances of the function, as Lambda scales out
    let key = "inbox/connect/twice.csv";
    let (world, agents) = proficiency_job(AGENTS, key).await;
    let lambda = Lambda::start("proficiency", &proficiency_env(&world, 50), 2).await;
    let first = lambda.run(created(&world.bucket, key)).await;
    let job = first["files"][0]["job"].as_str().unwrap().to_string();
    let link2 = waiting_key(&first, &world.bucket).expect("link 2");

    // WHEN link 2's event is delivered twice at the same time
    let event = created(&world.bucket, &link2);
    let (a, b) = tokio::join!(lambda.run(event.clone()), lambda.run(event));

    // THEN one delivery ran the link and the other left it alone
    let ran: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r["files"][0]["status"] == "processed")
        .collect();
    assert_eq!(ran.len(), 1, "{a}\n{b}");
    let other = if a["files"][0]["status"] == "processed" {
        &b
    } else {
        &a
    };
    assert!(
        ["in_progress", "duplicate", "self_written"]
            .contains(&other["files"][0]["status"].as_str().unwrap()),
        "{other}"
    );
    let mut answer = ran[0].clone();

    // WHEN the next link fails (Connect answers every call with an error)
    // and Lambda retries its event once Connect is back
    let link3 = waiting_key(&answer, &world.bucket).expect("link 3");
    world.connect.set_fault_rate(1.0);
    let failed = lambda.invoke(created(&world.bucket, &link3)).await;
    assert!(matches!(failed, Answer::Error { .. }), "{failed:?}");
    let state = progress(&world.stage, &job).await;
    assert!(
        state["last_error"]
            .as_str()
            .unwrap()
            .starts_with("link 3: "),
        "{state}"
    );
    assert_eq!(
        state["claims"],
        json!({}),
        "the failed run let go of its link"
    );
    world.connect.set_fault_rate(0.0);
    answer = lambda.run(created(&world.bucket, &link3)).await;
    assert_eq!(answer["files"][0]["status"], "processed", "{answer}");
    while let Some(link) = waiting_key(&answer, &world.bucket) {
        answer = lambda.run(created(&world.bucket, &link)).await;
    }
    lambda.stop().await;

    // THEN every row was done once, and one summary went out
    let state = progress(&world.stage, &job).await;
    assert_eq!(state["status"], "finished", "{state}");
    assert_eq!(state["rows_done"], ROWS);
    every_agent_done_once(&world, &agents);
    every_row_added_once(&world, &state, agents.len()).await;
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].body.contains("link 3: "),
        "the mail names the error that was retried"
    );
}

#[tokio::test]
async fn a_link_of_a_file_replaced_by_a_newer_upload_applies_nothing() {
    // GIVEN a job that has handed rows on to link 2
    let key = "inbox/connect/replaced.csv";
    let (world, agents) = proficiency_job(AGENTS, key).await;
    let lambda = Lambda::start("proficiency", &proficiency_env(&world, 50), 1).await;
    let first = lambda.run(created(&world.bucket, key)).await;
    let job = first["files"][0]["job"].as_str().unwrap().to_string();
    let link2 = waiting_key(&first, &world.bucket).expect("link 2");
    let untouched: Vec<&(String, String)> = agents
        .iter()
        .filter(|(_, id)| world.connect.proficiencies(id).is_empty())
        .collect();
    assert!(!untouched.is_empty());

    // WHEN the admin uploads a new version of the file before link 2 runs
    let (last, last_id) = agents.last().unwrap();
    world
        .drop_csv(
            key,
            &format!("{HEADER}{last},username,add,Language,German,1\n"),
        )
        .await;
    let answer = lambda.run(created(&world.bucket, &link2)).await;

    // THEN link 2 applies nothing, and says why
    assert_eq!(answer["files"][0]["status"], "superseded", "{answer}");
    for (username, id) in &untouched {
        assert!(world.connect.proficiencies(id).is_empty(), "{username}");
    }
    let state = progress(&world.stage, &job).await;
    assert_eq!(state["status"], "superseded", "{state}");
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].body.contains("was replaced by a newer upload"),
        "{}",
        mails[0].body
    );
    // AND the link keeps its rows for an admin who wants them anyway
    assert_eq!(
        world.text(&link2).await.unwrap().lines().count(),
        1 + 2 * untouched.len()
    );
    // AND the new upload is its own job
    let newer = lambda.run(created(&world.bucket, key)).await;
    lambda.stop().await;
    assert_eq!(newer["counts"]["added"], 1, "{newer}");
    assert!(world
        .connect
        .proficiencies(last_id)
        .iter()
        .any(|(_, v, _)| v == "German"));
}

#[tokio::test]
async fn a_chain_stops_at_max_continuations_and_one_console_invoke_resumes_it() {
    // GIVEN MAX_CONTINUATIONS = 1: the file may use one continuation
    let key = "inbox/connect/capped.csv";
    let (world, agents) = proficiency_job(AGENTS, key).await;
    let lambda = Lambda::start("proficiency", &proficiency_env(&world, 1), 1).await;

    // WHEN the upload and its one continuation have run
    let first = lambda.run(created(&world.bucket, key)).await;
    let job = first["files"][0]["job"].as_str().unwrap().to_string();
    let link2 = waiting_key(&first, &world.bucket).expect("link 2");
    let second = lambda.run(created(&world.bucket, &link2)).await;

    // THEN the rows left wait in the paused object, which S3's event does not start
    let paused = format!("inbox/connect/paused/{job}.csv");
    assert_eq!(waiting_key(&second, &world.bucket), Some(paused.clone()));
    let (_, metadata, _) = world.moto.get_object(&world.bucket, &paused).await.unwrap();
    assert_eq!(
        metadata.get("rollcall-paused").map(String::as_str),
        Some("true")
    );
    let ignored = lambda.run(created(&world.bucket, &paused)).await;
    assert_eq!(ignored["files"][0]["status"], "paused", "{ignored}");
    let state = progress(&world.stage, &job).await;
    assert_eq!(
        (state["status"].as_str(), state["links"].as_u64()),
        (Some("paused"), Some(2))
    );
    let waiting_rows = world.text(&paused).await.unwrap().lines().count() - 1;
    assert_eq!(
        state["rows_done"].as_u64().unwrap() as usize,
        ROWS - waiting_rows
    );
    // AND the admins are told, once, how to resume
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.contains("paused after 2 links"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0].body.contains("MAX_CONTINUATIONS"),
        "{}",
        mails[0].body
    );
    assert!(mails[0].body.contains(&paused), "{}", mails[0].body);

    // WHEN an admin invokes the function from the console on the paused object
    let mut answer = lambda
        .run(json!({"bucket": world.bucket, "key": paused, "dry_run": false}))
        .await;
    // (and again on each pause, since every resume allows one more continuation)
    loop {
        match waiting_key(&answer, &world.bucket) {
            Some(k) if k == paused => {
                answer = lambda
                    .run(json!({"bucket": world.bucket, "key": k, "dry_run": false}))
                    .await
            }
            Some(k) => answer = lambda.run(created(&world.bucket, &k)).await,
            None => break,
        }
    }
    lambda.stop().await;

    // THEN the job finishes, every row once
    let state = progress(&world.stage, &job).await;
    assert_eq!(state["status"], "finished", "{state}");
    assert_eq!(state["rows_done"], ROWS);
    every_agent_done_once(&world, &agents);
    every_row_added_once(&world, &state, agents.len()).await;
}

#[tokio::test]
async fn an_onboarding_file_continues_until_every_member_is_created_once() {
    // GIVEN an ArcGIS Enterprise portal answering each call in 100 ms, and
    // a file of more members than one invocation can create
    let world = World::new(SandboxConfig::enterprise()).await;
    world.sandbox.set_latency(Duration::from_millis(100));
    let members = 400;
    let mut file = "username,password,firstname,lastname,email\n".to_string();
    for n in 0..members {
        file.push_str(&format!(
            "new.member{n:03},Welcome-{n:03}-Pass!,New,Member{n:03},new.member{n:03}@example.org\n"
        ));
    }
    let key = "inbox/arcgis/cohort.csv";
    world.drop_csv(key, &file).await;
    let mut env = world.function_env();
    env.push(("DEADLINE_MARGIN_SECONDS".into(), MARGIN_SECONDS.into()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let lambda = Lambda::start("onboard", &env, 1).await;

    // WHEN the upload's event runs, and then each link's event
    let mut answer = lambda.run(created(&world.bucket, key)).await;
    let job = answer["files"][0]["job"]
        .as_str()
        .expect("the file did not fit one invocation")
        .to_string();
    let mut links = 1;
    while let Some(link) = waiting_key(&answer, &world.bucket) {
        assert_eq!(
            link,
            format!("inbox/arcgis/continue/{job}/{}.csv", links + 1)
        );
        let state = progress(&world.stage, &job).await;
        assert_eq!(state["status"], "running", "{state}");
        answer = lambda.run(created(&world.bucket, &link)).await;
        links += 1;
    }
    lambda.stop().await;

    // THEN every member is in the portal, created by one call each
    assert!(links >= 2, "{links}");
    let state = progress(&world.stage, &job).await;
    assert_eq!(state["status"], "finished", "{state}");
    assert_eq!(state["rows_done"], members);
    assert_eq!(state["job"], job);
    let created_members = world
        .sandbox
        .members()
        .into_iter()
        .filter(|m| m.username.starts_with("new.member"))
        .count();
    assert_eq!(created_members, members);
    assert_eq!(world.sandbox.calls().count("createUser"), members as u64);
    // AND the source file holds only its header, and one summary went out
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,password,firstname,lastname,email,error\n"
    );
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.ends_with(&format!(
            "{members} created, 0 invited, 0 existing, 0 failed, 0 skipped ({key}, finished in {links} links)"
        )),
        "{}",
        mails[0].subject
    );
    assert!(
        !mails[0].body.contains("Welcome-"),
        "no password in the mail"
    );
}
