//! Passwords never reach the logs, at any level: at TRACE the AWS SDK can
//! print whole requests and answers (a secret's value, a rewritten CSV with
//! its passwords), so the functions' logging cuts the HTTP stacks' TRACE
//! events off whatever the level says.

use connectors::aws::AwsClients;
use connectors::logging;
use connectors::secrets::SecretSource;
use connectors::store::{NewObject, ObjectStore};
use lambda_runtime::tracing::subscriber::filter::EnvFilter;
use lambda_runtime::tracing::subscriber::fmt;
use lambda_runtime::tracing::subscriber::layer::SubscriberExt;
use lambda_runtime::tracing::subscriber::util::SubscriberInitExt;
use lambda_runtime::tracing::subscriber::{Layer, Registry};
use rollcall_tests::capture::CapturedLog;
use rollcall_tests::moto::{unique_name, Moto};

const PASSWORD: &str = "Sup3r-Secret-Pw-4711";

/// What a run does with a password: reads the ArcGIS secret at cold start
/// through the real Secrets Manager adapter, and writes a CSV holding a
/// password to S3 through the real S3 adapter, as the inbox does when it
/// rewrites a file.
async fn handle_a_password() {
    let moto = Moto::connect().await;
    let name = unique_name("logs");
    let secret = format!(r#"{{"username":"rollcall_admin","password":"{PASSWORD}"}}"#);
    moto.create_secret(&name, &secret).await;
    moto.create_bucket(&name).await;
    let aws = AwsClients::from_conf(&moto.conf);
    let read = aws.secrets.secret_string(&name).await.expect("the secret");
    assert_eq!(read.expose(), secret);
    let body = format!("username,password,error\njane.doe_geo,{PASSWORD},a reason\n");
    aws.s3
        .put(NewObject::csv(
            &name,
            "inbox/arcgis/f.csv",
            body.into_bytes(),
            "onboard",
            "run-1",
        ))
        .await
        .expect("the put succeeds");
}

#[tokio::test]
async fn at_trace_no_password_reaches_the_log() {
    // GIVEN the SDK told to print sensitive bodies (as a debugging admin
    // might), a plain TRACE subscriber shows the secret: the control, so
    // this test cannot pass by logging nothing
    std::env::set_var("LOG_SENSITIVE_BODIES", "true");
    std::env::set_var("LOG_SIGNABLE_BODY", "true");
    let plain_log = CapturedLog::default();
    let writer = plain_log.clone();
    let plain = fmt::layer()
        .with_writer(move || writer.clone())
        .with_filter(EnvFilter::new("trace"));
    let guard = set_default(Registry::default().with(plain));
    handle_a_password().await;
    drop(guard);
    assert!(
        plain_log.text().contains(PASSWORD),
        "the control run should have logged the secret"
    );

    // WHEN the same run logs through the functions' logging at TRACE
    let log = CapturedLog::default();
    let writer = log.clone();
    let guard = set_default(logging::subscriber("trace", false, move || writer.clone()));
    handle_a_password().await;
    drop(guard);

    // THEN the log follows the run through the SDK (at DEBUG), and holds no password
    let text = log.text();
    assert!(text.contains("GetSecretValue"), "{text}");
    assert!(!text.contains(PASSWORD), "the password was logged:\n{text}");
}

fn set_default(
    subscriber: impl lambda_runtime::tracing::Subscriber + Send + Sync + 'static,
) -> lambda_runtime::tracing::dispatcher::DefaultGuard {
    subscriber.set_default()
}
