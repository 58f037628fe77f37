//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

// The handler's future (per-agent streams over paced SDK calls, inside the
// runtime's service) nests deeper than rustc's default layout depth.
#![recursion_limit = "256"]

use connectors::lambda::{cold_start, serve, Function};
use proficiency::ProficiencyConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (mut config, aws) = cold_start(ProficiencyConfig::from_env).await;
    let connect = config.connect.client(&aws.conf);
    config.common.metrics = config.common.metrics.metering([connect.api_meter()]);
    serve(&Function::new(aws, connect, config), Function::handle).await
}
