//! Lambda entry point: tracing, configuration and clients once per cold
//! start, then the runtime loop.

use connectors::arcgis::{ArcgisClient, ArcgisOptions};
use connectors::aws::AwsClients;
use connectors::secrets::{Credentials, SecretSource};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use onboard::config::required;
use onboard::{Handler, OnboardConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let var = |name: &str| std::env::var(name).ok();
    let config = OnboardConfig::from_vars(var).unwrap_or_else(|e| panic!("{e}"));
    let arcgis_url = required(&var, "ARCGIS_URL").unwrap_or_else(|e| panic!("{e}"));
    let secret_id = required(&var, "ARCGIS_SECRET_ID").unwrap_or_else(|e| panic!("{e}"));

    let aws = AwsClients::from_env().await;
    let secret = aws
        .secrets
        .secret_string(&secret_id)
        .await
        .unwrap_or_else(|e| panic!("reading ARCGIS_SECRET_ID: {e}"));
    let credentials = Credentials::from_secret(&secret_id, &secret)
        .unwrap_or_else(|e| panic!("ARCGIS_SECRET_ID: {e}"));
    let arcgis = ArcgisClient::new(&arcgis_url, credentials, ArcgisOptions::default())
        .unwrap_or_else(|e| panic!("ARCGIS_URL: {e}"));

    let handler = Handler {
        store: aws.s3,
        mailer: aws.mail,
        arcgis,
        config,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        handler.handle(event).await
    }))
    .await
}
