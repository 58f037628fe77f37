//! Benchmark: the inactivity sweep over a generated 100,000-member org in
//! the sandbox, with 50 ms latency on every portal call. Run by
//! `scripts/bench sweep`.
//!
//! The sandbox runs as its own process, so the peak RSS reported is the
//! sweep's alone (the handler with its real S3, SES and ArcGIS adapters).
//! The run is a dry run, as the sweep's first unattended run is: every
//! member is listed, classified and reported; nobody is mailed or disabled.

use std::time::Instant;
use sweep::SweepFunction;

use rollcall_tests::bench::{option, peak_rss_kib, spawn_sandbox, BenchAws};

#[tokio::main]
async fn main() {
    let members = option("--members", "100000");
    let latency = option("--latency-ms", "50");
    let concurrency: usize = option("--concurrency", "8")
        .parse()
        .expect("--concurrency N");

    let (mut sandbox, url) =
        spawn_sandbox(&["--latency-ms", &latency, "--generate-members", &members]);
    let control = url.trim_end_matches("/portal").to_string();

    let bench = BenchAws::new("bench-sweep").await;
    let (settings, arcgis) = bench.arcgis(&url, concurrency).await;
    let mut config = sweep::SweepConfig::new(bench.common(), settings, &bench.bucket);
    config.common.dry_run = true;
    let handler = sweep::Handler {
        store: bench.aws.s3,
        mailer: bench.aws.mail,
        service: arcgis,
        config,
    };
    let http = reqwest::Client::new();
    http.post(format!("{control}/sandbox/reset-calls"))
        .send()
        .await
        .unwrap();
    let rss_before = peak_rss_kib();

    let started = Instant::now();
    let event =
        lambda_runtime::LambdaEvent::new(serde_json::json!({}), lambda_runtime::Context::default());
    let result = handler.handle(event).await.expect("the sweep succeeds");
    let wall = started.elapsed();
    let peak_rss = peak_rss_kib();

    let state: serde_json::Value = http
        .get(format!("{control}/sandbox/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let report = bench
        .moto
        .get_object(
            &bench.bucket,
            result
                .report
                .trim_start_matches(&format!("s3://{}/", bench.bucket)),
        )
        .await
        .unwrap()
        .0;
    println!("sweep benchmark: {} members, {latency} ms per portal call, {concurrency} pages at once, dry run", result.members);
    println!("  wall time          {:.2} s", wall.as_secs_f64());
    println!("  complete           {}", result.complete);
    println!("  classes            {:?}", result.classes);
    println!("  actions            {:?}", result.actions);
    println!("  portal calls       {}", state["total"]);
    for (operation, n) in state["by_operation"].as_object().unwrap() {
        println!("    {operation:<20} {n}");
    }
    println!(
        "  report             {} lines, {:.1} MiB",
        report.iter().filter(|b| **b == b'\n').count(),
        report.len() as f64 / 1048576.0
    );
    println!(
        "  peak RSS           {:.1} MiB (before the run: {:.1} MiB)",
        peak_rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
