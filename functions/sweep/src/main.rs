//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use connectors::aws::AwsClients;
use connectors::config::{cold_start, or_exit};
use lambda_runtime::{service_fn, Error};
use sweep::{Handler, SweepConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = or_exit(SweepConfig::from_env(&cold_start()));
    let aws = AwsClients::from_env().await;
    let arcgis = config.arcgis.client(aws.secrets).await?;
    let handler = &Handler {
        store: aws.s3,
        mailer: aws.mail,
        arcgis,
        config,
    };
    lambda_runtime::run(service_fn(|event| handler.handle(event))).await
}
