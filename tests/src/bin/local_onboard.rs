//! Runs onboarding end to end on this machine and prints what an admin would
//! see. Started by `scripts/demo`, which runs moto and builds the binaries.
//!
//! It starts the sandbox portal (an org with two groups and one existing
//! member), puts the bucket, the sender identity and the ArcGIS secret into
//! moto, uploads the sample CSV under the sample event's key, then starts the
//! real `onboard` binary against a local Lambda runtime API and delivers the
//! sample S3 event to it.

use std::path::PathBuf;
use std::time::Duration;

use rollcall_tests::lambda::{spawn_function, Answer, LocalRuntime};
use rollcall_tests::moto::Moto;
use rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember};
use serde_json::Value;

const FIELD_GROUP: &str = "f1e1d0c0a0b0c0d0e0f0a1b2c3d4e5f6";
const STAFF_GROUP: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

struct Args {
    function: PathBuf,
    event: PathBuf,
    csv: PathBuf,
}

fn args() -> Args {
    let mut function = None;
    let mut event = None;
    let mut csv = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().map(PathBuf::from);
        match flag.as_str() {
            "--function" => function = value,
            "--event" => event = value,
            "--csv" => csv = value,
            other => {
                panic!("unknown argument {other}; use --function PATH --event PATH --csv PATH")
            }
        }
    }
    Args {
        function: function.expect("--function PATH of the onboard binary"),
        event: event.expect("--event PATH of an S3 event"),
        csv: csv.expect("--csv PATH of the file to onboard"),
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(&args.event).expect("read the event"))
            .expect("the event is JSON");
    let bucket = event["Records"][0]["s3"]["bucket"]["name"]
        .as_str()
        .expect("bucket in event")
        .to_string();
    let raw_key = event["Records"][0]["s3"]["object"]["key"]
        .as_str()
        .expect("key in event");
    let key = connectors::store::decode_event_key(raw_key);
    let csv = std::fs::read(&args.csv).expect("read the CSV");

    // The org: two groups, one existing member.
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_group(FIELD_GROUP, "Field Crews");
    sandbox.add_group(STAFF_GROUP, "All Staff");
    sandbox.add_member(SeedMember::new("dana.existing").groups(&[STAFF_GROUP]));

    // AWS in moto: bucket, sender, secret, and the admin's upload.
    let moto = Moto::connect().await;
    moto.create_bucket(&bucket).await;
    let mail_from = "rollcall@example.org";
    let admins = "gis-admins@example.org";
    moto.verify_sender(mail_from).await;
    let secret_id = "rollcall/arcgis";
    let secret = serde_json::json!({"username": sandbox.admin_username(), "password": sandbox.admin_password()});
    moto.create_secret(secret_id, &secret.to_string()).await;
    moto.put_object(&bucket, &key, &csv, &[]).await;
    println!("uploaded {} to s3://{bucket}/{key}\n", args.csv.display());

    // The real function binary, driven through the Lambda runtime API.
    let runtime = LocalRuntime::start(Duration::from_secs(300)).await;
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("ARCGIS_URL", &sandbox.url()),
        ("ARCGIS_SECRET_ID", secret_id),
        ("ARCGIS_DEFAULT_GROUPS", STAFF_GROUP),
        ("MAIL_FROM", mail_from),
        ("ADMIN_EMAILS", admins),
        (
            "DRY_RUN",
            &std::env::var("DRY_RUN").unwrap_or_else(|_| "false".into()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut function = spawn_function(&args.function, &runtime, &env);
    let answer = runtime.invoke(event, Duration::from_secs(120)).await;
    let _ = function.kill().await;

    match answer {
        Ok(Answer::Response(response)) => {
            println!(
                "\n== the function returned\n{}",
                serde_json::to_string_pretty(&response).unwrap()
            );
            if let Some(report) = response["report"].as_str() {
                let report_key = report.trim_start_matches(&format!("s3://{bucket}/"));
                print_object(&moto, &bucket, report_key, "the report").await;
            }
        }
        Ok(Answer::Error {
            error_type,
            error_message,
        }) => {
            eprintln!("\nthe function failed: {error_type}: {error_message}");
            std::process::exit(1);
        }
        Err(problem) => {
            eprintln!("\n{problem}");
            std::process::exit(1);
        }
    }
    print_object(&moto, &bucket, &key, "the CSV after the run").await;
    for mail in moto.sent_mails_to(admins).await {
        // moto keeps the HTML part; shown here as its cells, one per line
        // (scripts/mails renders every kind of mail for a browser).
        let shown: Vec<String> = rollcall_tests::mail::cells(&mail.body)
            .split('|')
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_string)
            .collect();
        println!(
            "\n== mail to {}: {}\n{}",
            mail.to.join(", "),
            mail.subject,
            shown.join("\n")
        );
    }
    println!("\n== the org now");
    for member in sandbox.members() {
        println!(
            "{:<16} {:<14} {:<17} {:<9} invited={:<5} groups={}",
            member.username,
            member.role,
            member.role_id.as_deref().unwrap_or("-"),
            member.user_type,
            member.invited,
            member.groups.join(";")
        );
    }
}

async fn print_object(moto: &Moto, bucket: &str, key: &str, title: &str) {
    match moto.get_object(bucket, key).await {
        Some((body, _, _)) => println!(
            "\n== {title} (s3://{bucket}/{key})\n{}",
            String::from_utf8_lossy(&body)
        ),
        None => println!("\n== {title}: s3://{bucket}/{key} does not exist"),
    }
}
