//! Benchmark: a contact centre re-skilling 20,000 agents (two rows each)
//! at Connect's real quotas, in compressed time. The Connect sandbox
//! enforces Connect's per-operation rates × `--factor` (default 50), the
//! client paces at `CONNECT_MAX_RPS` = 2 × factor, and the Lambda timeout
//! is 900 s ÷ factor, so each invocation does what a 15-minute one would do
//! at the real rates. The real `proficiency` binary runs behind a local
//! Lambda runtime API; each continuation link's S3 event is delivered as S3
//! would deliver it. Reports the links, whether every row was done exactly
//! once, and the wall time against the floor the quotas set.
//!
//! Run by `scripts/bench proficiency-continuation [--agents N] [--factor F]
//! [--margin S]`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rollcall_tests::bench::option;
use rollcall_tests::lambda::{spawn_function_writing_to, workspace_binary, Answer, LocalRuntime};
use rollcall_tests::sandbox::ConnectConfig;
use rollcall_tests::world::{s3_event, ConnectWorld, InBucket};
use serde_json::Value;

const KEY: &str = "inbox/connect/reskill.csv";

#[tokio::main]
async fn main() {
    let agents_wanted: usize = option("--agents", "20000").parse().expect("--agents N");
    let factor: f64 = option("--factor", "50").parse().expect("--factor F");
    let margin: u64 = option("--margin", "2").parse().expect("--margin seconds");
    let timeout = Duration::from_secs_f64(900.0 / factor);

    let world = ConnectWorld::new(ConnectConfig::new().with_connect_rates(factor)).await;
    world
        .connect
        .add_attribute("Language", &["English", "French", "German"]);
    let agents = world.connect.generate_agents(agents_wanted, "agent");
    let mut csv = String::from("identifier,identifier_type,action,attribute,value,level\n");
    for (username, _) in &agents {
        csv.push_str(&format!("{username},username,add,Language,English,3\n"));
        csv.push_str(&format!("{username},username,add,Language,French,2\n"));
    }
    let rows = 2 * agents.len();
    world.drop_csv(KEY, &csv).await;
    let (margin, rps) = (margin.to_string(), (2.0 * factor).to_string());
    let env = world.function_env(&[
        ("DRY_RUN", "false"),
        ("DEADLINE_MARGIN_SECONDS", &margin),
        ("CONNECT_MAX_RPS", &rps),
        ("MAX_CONTINUATIONS", "50"),
        ("RUST_LOG", "warn"),
    ]);
    let runtime = LocalRuntime::start(timeout).await;
    let mut function = spawn_function_writing_to(
        &workspace_binary("proficiency"),
        &runtime,
        &env,
        Stdio::null(),
    );
    world.connect.reset_calls();

    let started = Instant::now();
    let mut key = KEY.to_string();
    let mut links: Vec<(String, f64)> = Vec::new();
    let answer = loop {
        let link_started = Instant::now();
        let event = serde_json::to_value(s3_event(&world.bucket, &key)).unwrap();
        let answer = match runtime.invoke(event, timeout * 2).await {
            Ok(Answer::Response(answer)) => answer,
            other => panic!("link {} of {key} failed: {other:?}", links.len() + 1),
        };
        links.push((
            answer["files"][0]["status"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            link_started.elapsed().as_secs_f64(),
        ));
        match answer["remaining"].as_str() {
            Some(uri) => {
                key = uri
                    .strip_prefix(&format!("s3://{}/", world.bucket))
                    .unwrap()
                    .to_string()
            }
            None => break answer,
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let _ = function.kill().await;

    // Every row exactly once: the sandbox's state, its per-agent calls, and
    // the outcomes the links reported.
    let calls = world.connect.calls();
    let mut wrong_state = 0;
    let mut written_twice = 0;
    for (_, id) in &agents {
        if world.connect.proficiencies(id).len() != 2 {
            wrong_state += 1;
        }
        if calls.user_count("AssociateUserProficiencies", id) != 1 {
            written_twice += 1;
        }
    }
    // A file done in one invocation starts no job: its one report is all.
    let progress: Value = match answer["files"][0]["job"].as_str() {
        Some(job) => serde_json::from_str(
            &world
                .text(&format!("state/jobs/{job}.json"))
                .await
                .expect("the job's progress file"),
        )
        .unwrap(),
        None => serde_json::json!({
            "status": "finished in one invocation",
            "finished": [{"report": answer["report"]}],
        }),
    };
    let outcomes = world.job_outcomes(&progress).await;
    let added_once = outcomes
        .values()
        .filter(|o| o.iter().filter(|w| *w == "added").count() == 1)
        .count();
    let added_total: usize = outcomes
        .values()
        .map(|o| o.iter().filter(|w| *w == "added").count())
        .sum();

    let rates = ConnectConfig::new().with_connect_rates(factor).rates;
    println!(
        "proficiency continuation benchmark: {} agents, {rows} rows, Connect rates x{factor}, Lambda timeout {:.1} s, margin {margin} s",
        agents.len(),
        timeout.as_secs_f64()
    );
    let floor = rollcall_tests::bench::connect_quota_floor(&calls, &rates);
    println!("  links              {}", links.len());
    for (n, (status, seconds)) in links.iter().enumerate() {
        println!("    link {:>2}  {status:<10} {seconds:>6.1} s", n + 1);
    }
    println!(
        "  job                {} (progress: rows_done {} of {}, failed {})",
        progress["status"], progress["rows_done"], progress["rows_total"], progress["rows_failed"]
    );
    println!(
        "  rows added         {added_total} of {rows}; rows added exactly once {added_once}; agents not holding both {wrong_state}; agents written other than once {written_twice}"
    );
    println!(
        "  mails to the admins {}",
        world.moto.sent_mails_to(&world.admin_email).await.len()
    );
    println!("  floor              {floor:.1} s (busiest operation at its rate)");
    println!(
        "  wall time          {wall:.1} s ({:.3}x the floor); at the real rates: {:.2} h against a floor of {:.2} h",
        wall / floor,
        wall * factor / 3600.0,
        floor * factor / 3600.0
    );
    let exact = added_total == rows && added_once == rows && wrong_state == 0 && written_twice == 0;
    println!(
        "  every row exactly once: {}",
        if exact { "yes" } else { "NO" }
    );
    if !exact {
        std::process::exit(1);
    }
}
