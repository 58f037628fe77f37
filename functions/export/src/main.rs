//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use connectors::lambda::{cold_start, serve, Function};
use export::{ExportConfig, ExportFunction};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (mut config, aws) = cold_start(ExportConfig::from_env).await;
    let sources = config.sources(aws.secrets.clone()).await?;
    config.metrics = config.metrics.metering(sources.api_meters());
    serve(&Function::new(aws, sources, config), ExportFunction::handle).await
}
