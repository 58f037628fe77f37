//! Benchmark: onboarding a 1,000-row file against the sandbox portal with
//! 50 ms latency on every portal call. Run by `scripts/bench`.
//!
//! The sandbox runs as its own process, so the peak RSS reported is the
//! onboarding job's alone (the handler with its real S3, SES, Secrets
//! Manager and ArcGIS adapters). Reports wall time of the handler, portal
//! calls by operation, and peak RSS (VmHWM).

use std::time::Instant;

use rollcall_tests::bench::{option, peak_rss_kib, spawn_sandbox};
use rollcall_tests::moto::{unique_name, Moto};
use rollcall_tests::world::s3_event;

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
    let moto = Moto::connect().await;
    let bucket = unique_name("bench");
    moto.create_bucket(&bucket).await;
    moto.verify_sender("rollcall@example.org").await;
    let secret = serde_json::json!({"username": "rollcall_admin", "password": "sandbox-password"});
    moto.create_secret(&bucket, &secret.to_string()).await;
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
            "bench.user{i:05},{password},Bench,User{i},bench.user{i}@example.org,Creator,User,{GROUP}\n"
        ));
    }
    let key = "inbox/arcgis/bench.csv";
    moto.put_object(&bucket, key, csv.as_bytes(), &[]).await;

    // The handler exactly as main builds it, with the deployment's defaults.
    let aws = connectors::aws::AwsClients::from_conf(&moto.conf);
    use connectors::secrets::SecretSource;
    let secret = aws.secrets.secret_string(&bucket).await.unwrap();
    let credentials = connectors::secrets::Credentials::from_secret(&bucket, &secret).unwrap();
    let arcgis =
        connectors::arcgis::ArcgisClient::new(&url, credentials, Default::default()).unwrap();
    let config = onboard::OnboardConfig {
        mail_from: "rollcall@example.org".into(),
        admin_emails: vec!["admins@example.org".into()],
        concurrency,
        ..Default::default()
    };
    let handler = onboard::Handler {
        store: aws.s3,
        mailer: aws.mail,
        arcgis,
        config,
    };
    let event = lambda_runtime::LambdaEvent::new(
        s3_event(&bucket, key),
        lambda_runtime::Context::default(),
    );
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
    assert_eq!(
        counts.created + counts.invited,
        rows,
        "every row onboarded: {counts:?}"
    );
    println!("onboard benchmark: {rows} rows, {mode}, {latency} ms per portal call, concurrency {concurrency}");
    println!("  wall time          {:.2} s", wall.as_secs_f64());
    println!(
        "  outcomes           created {} invited {} failed {}",
        counts.created, counts.invited, counts.failed
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
