//! Lambda entry point: tracing, configuration and clients once per cold
//! start, then the runtime loop.

// The handler's future (per-agent streams over paced SDK calls) nests deeper
// than rustc's default layout depth.
#![recursion_limit = "256"]

use connectors::aws::{load_sdk_config, AwsClients};
use connectors::connect::{ConnectClient, ConnectRates};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use proficiency::{Handler, ProficiencyConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = ProficiencyConfig::from_vars(|name| std::env::var(name).ok())
        .unwrap_or_else(|e| panic!("{e}"));
    let sdk = load_sdk_config().await;
    let aws = AwsClients::from_conf(&sdk);
    let connect = ConnectClient::from_conf(
        &sdk,
        &config.instance_id,
        &ConnectRates {
            max_rps: config.max_rps,
        },
    );
    let handler = Handler {
        store: aws.s3,
        mailer: aws.mail,
        connect,
        config,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { handler.handle(event).await },
    ))
    .await
}
