//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use connectors::lambda::{cold_start, serve, Function};
use onboard::OnboardConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (config, aws) = cold_start(OnboardConfig::from_env).await;
    let arcgis = config.arcgis.client(aws.secrets.clone()).await?;
    serve(&Function::new(aws, arcgis, config), Function::handle).await
}
