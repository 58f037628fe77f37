//! Lambda entry point: tracing, configuration and clients once per cold
//! start, then the runtime loop.

use connectors::arcgis::{ArcgisClient, ArcgisOptions};
use connectors::aws::{AwsClients, DEFAULT_SECRET_TTL};
use connectors::secrets::{load_credentials, CachedSecrets};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use onboard::config::required;
use onboard::{Handler, OnboardConfig, OnboardError};
use tracing::warn;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let var = |name: &str| std::env::var(name).ok();
    let config = OnboardConfig::from_vars(var).unwrap_or_else(|e| panic!("{e}"));
    let arcgis_url = required(&var, "ARCGIS_URL").unwrap_or_else(|e| panic!("{e}"));
    let secret_id = required(&var, "ARCGIS_SECRET_ID").unwrap_or_else(|e| panic!("{e}"));

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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        // A rotated secret is picked up once the cache's TTL has passed.
        match load_credentials(secrets, secret_id).await {
            Ok(credentials) => handler.arcgis.set_credentials(credentials).await,
            Err(e) => warn!(error = %e, "keeping the ArcGIS credentials read earlier"),
        }
        let result = handler.handle(event).await;
        if let Err(OnboardError::File {
            source: connectors::Error::SignIn { .. },
            ..
        }) = &result
        {
            // The retry of this event reads the secret afresh.
            secrets.invalidate(secret_id).await;
        }
        result
    }))
    .await
}
