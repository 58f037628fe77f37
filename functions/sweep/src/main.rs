//! Lambda entry point: tracing, configuration and clients once per cold
//! start, then the runtime loop.

use connectors::arcgis::{ArcgisClient, ArcgisOptions};
use connectors::aws::{AwsClients, DEFAULT_SECRET_TTL};
use connectors::config::required;
use connectors::secrets::{load_credentials, CachedSecrets};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use sweep::{Handler, SweepConfig, SweepError};
use tracing::warn;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let var = |name: &str| std::env::var(name).ok();
    let mut config = SweepConfig::from_vars(var).unwrap_or_else(|e| panic!("{e}"));
    let arcgis_url = required(&var, "ARCGIS_URL").unwrap_or_else(|e| panic!("{e}"));
    let secret_id = required(&var, "ARCGIS_SECRET_ID").unwrap_or_else(|e| panic!("{e}"));
    if config.sign_in_url.is_empty() {
        config.sign_in_url = format!("{}/home/signin.html", arcgis_url.trim_end_matches('/'));
    }

    let aws = AwsClients::from_env().await;
    let secrets = CachedSecrets::new(aws.secrets, DEFAULT_SECRET_TTL);
    let credentials = load_credentials(&secrets, &secret_id)
        .await
        .unwrap_or_else(|e| panic!("ARCGIS_SECRET_ID: {e}"));
    let arcgis = ArcgisClient::new(&arcgis_url, credentials, ArcgisOptions::default())
        .unwrap_or_else(|e| panic!("ARCGIS_URL: {e}"));

    let handler = Handler {
        store: aws.s3,
        mailer: aws.mail,
        arcgis,
        config,
    };
    let (handler, secrets, secret_id) = (&handler, &secrets, secret_id.as_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // A rotated secret is picked up once the cache's TTL has passed.
            match load_credentials(secrets, secret_id).await {
                Ok(credentials) => handler.arcgis.set_credentials(credentials).await,
                Err(e) => warn!(error = %e, "keeping the ArcGIS credentials read earlier"),
            }
            let result = handler.handle(event).await;
            if let Err(SweepError::Run(sweep::job::RunError::Service(
                connectors::Error::SignIn { .. },
            ))) = &result
            {
                secrets.invalidate(secret_id).await;
            }
            result
        },
    ))
    .await
}
