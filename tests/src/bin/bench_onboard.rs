//! Benchmark: onboarding a 1,000-row file (`--rows N`, e.g. 100,000) against
//! the sandbox portal with 50 ms latency on every portal call. Run by
//! `scripts/bench`. The run has no Lambda deadline: the wall time says how
//! many 15-minute invocations a file of that size would need.
//!
//! The sandbox runs as its own process, so the peak RSS reported is the
//! onboarding job's alone (the handler with its real S3, SES, Secrets
//! Manager and ArcGIS adapters). Reports wall time of the handler, portal
//! calls by operation, and peak RSS (VmHWM).

use std::time::Instant;

use connectors::inbox::Outcome;
use rollcall_tests::bench::{option, peak_rss_kib, spawn_sandbox, BenchAws};
use rollcall_tests::world::InBucket;

const GROUP: &str = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

#[tokio::main]
async fn main() {
    let rows: usize = option("--rows", "1000").parse().expect("--rows N");
    let latency = option("--latency-ms", "50");
    let mode = option("--mode", "online");
    let concurrency: usize = option("--concurrency", "8")
        .parse()
        .expect("--concurrency N");

    // The sandbox portal in its own process.
    let (mut sandbox, url) = spawn_sandbox(&[
        "--mode",
        &mode,
        "--latency-ms",
        &latency,
        "--seed-groups",
        GROUP,
    ]);
    let control = url.trim_end_matches("/portal").to_string();

    // S3, SES and the secret in moto; the file to onboard.
    let bench = BenchAws::new("bench").await;
    let mut csv =
        String::from("username,password,firstname,lastname,email,user type,role,groups\n");
    for i in 0..rows {
        // Online: half create directly, half get invitations. Enterprise
        // built-in accounts always need a password.
        let password = if i % 2 == 0 || mode == "enterprise" {
            "Bench-Password1!"
        } else {
            ""
        };
        csv.push_str(&format!(
            "bench.user{i:06},{password},Bench,User{i},bench.user{i}@example.org,Creator,User,{GROUP}\n"
        ));
    }
    let key = "inbox/arcgis/bench.csv";
    bench.drop_csv(key, &csv).await;

    // The handler exactly as main builds it, with the deployment's defaults.
    let (settings, arcgis) = bench.arcgis(&url, concurrency).await;
    let config = onboard::OnboardConfig::new(bench.common(), settings);
    let event = bench.s3_event(key);
    let handler = onboard::Handler {
        store: bench.aws.s3,
        mailer: bench.aws.mail,
        service: onboard::Systems {
            arcgis: Some(arcgis),
            ams: None::<connectors::ams::AmsClient>,
        },
        config,
    };
    let rss_before = peak_rss_kib();

    let started = Instant::now();
    let response = handler.handle(event).await.expect("the run succeeds");
    let wall = started.elapsed();
    let peak_rss = peak_rss_kib();

    let state: serde_json::Value = reqwest::get(format!("{control}/sandbox/calls"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let counts = &response.counts;
    let (created, invited, failed) = (
        counts.get(Outcome::Created),
        counts.get(Outcome::Invited),
        counts.get(Outcome::Failed),
    );
    assert_eq!(created + invited, rows, "every row onboarded: {counts:?}");
    println!("onboard benchmark: {rows} rows, {mode}, {latency} ms per portal call, concurrency {concurrency}");
    println!("  wall time          {:.2} s", wall.as_secs_f64());
    println!("  outcomes           created {created} invited {invited} failed {failed}");
    println!(
        "  15-minute links    {} (900 s each, at this wall time)",
        (wall.as_secs_f64() / 900.0).ceil().max(1.0)
    );
    println!("  portal calls       {}", state["total"]);
    for (operation, n) in state["by_operation"].as_object().unwrap() {
        println!("    {operation:<20} {n}");
    }
    println!(
        "  peak RSS           {:.1} MiB (before the run: {:.1} MiB)",
        peak_rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!("  csv rewritten      {}", response.csv_rewritten);
}
