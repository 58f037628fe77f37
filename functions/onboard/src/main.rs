//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use connectors::lambda::{cold_start, serve, Function};
use onboard::{OnboardConfig, Systems};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (mut config, aws) = cold_start(OnboardConfig::from_env).await;
    let systems = Systems::connect(&config, &aws.secrets).await?;
    config.common.metrics = config.common.metrics.metering(systems.api_meters());
    serve(&Function::new(aws, systems, config), Function::handle).await
}
