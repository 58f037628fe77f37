//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use connectors::lambda::{cold_start, serve, Function};
use sweep::reclaim::{self, ResolveError};
use sweep::{SweepConfig, SweepFunction};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (mut config, aws) = cold_start(SweepConfig::from_env).await;
    let arcgis = config.arcgis.client(aws.secrets.clone()).await?;
    config.common.metrics = config.common.metrics.metering([arcgis.api_meter()]);
    // DOWNGRADE_TO and DOWNGRADE_ROLE must name what the org has: a cold
    // start that finds otherwise fails, saying what is wrong. A portal that
    // cannot be asked now is asked again by every run.
    if let Some(downgrade) = config.action.downgrade() {
        match reclaim::resolve(&arcgis, downgrade).await {
            Ok(_) => {}
            Err(ResolveError::Config(e)) => return Err(e.into()),
            Err(ResolveError::Service(e)) => {
                tracing::warn!(error = %e, "the downgrade settings could not be checked at cold start; each run checks them")
            }
        }
    }
    serve(&Function::new(aws, arcgis, config), SweepFunction::handle).await
}
