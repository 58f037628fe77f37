//! Benchmark: a 1,000-row Teamworks AMS create file against the sandbox
//! site with 50 ms latency on every AMS call. Run by `scripts/bench`.
//!
//! The sandbox runs as its own process, so the peak RSS reported is the
//! job's alone (the handler with its real S3, SES, Secrets Manager and AMS
//! adapters). Reports wall time, AMS calls by endpoint, the most calls in
//! flight at once, and peak RSS (VmHWM), beside two yardsticks: the public
//! client's one-save-at-a-time loop (rows × latency) and the floor of
//! `AMS_CONCURRENCY` saves in flight (rows / concurrency × latency).

use std::time::Instant;

use connectors::inbox::Outcome;
use rollcall_tests::bench::{option, peak_rss_kib, spawn_sandbox, BenchAws};
use rollcall_tests::world::InBucket;

#[tokio::main]
async fn main() {
    let rows: usize = option("--rows", "1000").parse().expect("--rows N");
    let latency_ms: u64 = option("--latency-ms", "50")
        .parse()
        .expect("--latency-ms N");
    let concurrency: usize = option("--concurrency", "8")
        .parse()
        .expect("--concurrency N");

    // The sandbox AMS site in its own process.
    let latency = latency_ms.to_string();
    let (mut sandbox, url) = spawn_sandbox(&["--service", "ams", "--latency-ms", &latency]);
    let control = {
        let parsed = reqwest::Url::parse(&url).expect("a site URL");
        format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(80)
        )
    };

    // S3, SES and the secret in moto; the file to create.
    let bench = BenchAws::new("bench-ams").await;
    let mut csv = String::from("first_name,last_name,username,email,dob,password,active,sex\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Bench,Athlete{i:05},bench.athlete{i:05},bench.athlete{i:05}@example.org,2001-02-03,Bench-Password1!,true,female\n"
        ));
    }
    let key = "inbox/ams/bench.csv";
    bench.drop_csv(key, &csv).await;

    // The handler exactly as main builds it, with the deployment's defaults.
    let (settings, ams) = bench.ams(&url, concurrency).await;
    let config = onboard::OnboardConfig::for_ams(bench.common(), settings);
    let event = bench.s3_event(key);
    let handler = onboard::Handler {
        store: bench.aws.s3,
        mailer: bench.aws.mail,
        service: onboard::Systems {
            arcgis: None::<connectors::arcgis::ArcgisClient>,
            ams: Some(ams),
        },
        config,
    };
    let rss_before = peak_rss_kib();

    let started = Instant::now();
    let response = handler.handle(event).await.expect("the run succeeds");
    let wall = started.elapsed();
    let peak_rss = peak_rss_kib();

    let calls: serde_json::Value = reqwest::get(format!("{control}/sandbox/calls"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let created = response.counts.get(Outcome::Created);
    assert_eq!(created, rows, "every row created: {:?}", response.counts);
    let sequential = rows as f64 * latency_ms as f64 / 1000.0;
    let floor = rows as f64 / concurrency as f64 * latency_ms as f64 / 1000.0;
    let summary = serde_json::json!({
        "rows": rows,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "wall_s": (wall.as_secs_f64() * 100.0).round() / 100.0,
        "created": created,
        "calls": calls["total"],
        "by_endpoint": calls["by_endpoint"],
        "max_in_flight": calls["max_in_flight"],
        "peak_rss_mib": (peak_rss as f64 / 1024.0 * 10.0).round() / 10.0,
        "rss_before_run_mib": (rss_before as f64 / 1024.0 * 10.0).round() / 10.0,
        "one_at_a_time_s": sequential,
        "concurrency_floor_s": floor,
        "times_floor": (wall.as_secs_f64() / floor * 100.0).round() / 100.0,
    });
    println!("onboard AMS benchmark: {rows} create rows, {latency_ms} ms per AMS call, AMS_CONCURRENCY {concurrency}");
    println!("  wall time          {:.2} s", wall.as_secs_f64());
    println!("  one-at-a-time loop {sequential:.1} s (rows x latency, as the public client saves)");
    println!(
        "  concurrency floor  {floor:.2} s (rows / {concurrency} in flight x latency): {:.2}x",
        wall.as_secs_f64() / floor
    );
    println!("  AMS calls          {}", calls["total"]);
    for (endpoint, n) in calls["by_endpoint"].as_object().unwrap() {
        println!("    {endpoint:<20} {n}");
    }
    println!("  most in flight     {}", calls["max_in_flight"]);
    println!(
        "  peak RSS           {:.1} MiB (before the run: {:.1} MiB)",
        peak_rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!("{summary}");
}
