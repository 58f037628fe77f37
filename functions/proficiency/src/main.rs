//! Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

// The handler's future (per-agent streams over paced SDK calls, inside the
// runtime's service) nests deeper than rustc's default layout depth.
#![recursion_limit = "256"]

use connectors::aws::AwsClients;
use connectors::config::{cold_start, or_exit};
use lambda_runtime::{service_fn, Error};
use proficiency::{Handler, ProficiencyConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = or_exit(ProficiencyConfig::from_env(&cold_start()));
    let aws = AwsClients::from_env().await;
    let connect = config.connect.client(&aws.conf);
    let handler = &Handler {
        store: aws.s3,
        mailer: aws.mail,
        connect,
        config,
    };
    lambda_runtime::run(service_fn(|event| handler.handle(event))).await
}
