//! Lambda entry point: tracing, configuration and clients once per cold
//! start, then the runtime loop.

use connectors::arcgis::SecretSignIn;
use connectors::aws::AwsClients;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use onboard::config::required;
use onboard::{Handler, OnboardConfig, OnboardError};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let var = |name: &str| std::env::var(name).ok();
    let config = OnboardConfig::from_vars(var).unwrap_or_else(|e| panic!("{e}"));
    let arcgis_url = required(&var, "ARCGIS_URL").unwrap_or_else(|e| panic!("{e}"));
    let secret_id = required(&var, "ARCGIS_SECRET_ID").unwrap_or_else(|e| panic!("{e}"));

    let aws = AwsClients::from_env().await;
    let sign_in = SecretSignIn::new(aws.secrets, secret_id);
    let arcgis = sign_in
        .client(&arcgis_url)
        .await
        .unwrap_or_else(|e| panic!("ARCGIS_SECRET_ID / ARCGIS_URL: {e}"));
    let handler = Handler {
        store: aws.s3,
        mailer: aws.mail,
        arcgis,
        config,
    };
    let (handler, sign_in) = (&handler, &sign_in);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        sign_in.refresh(&handler.arcgis).await;
        let result = handler.handle(event).await;
        if let Err(OnboardError::File {
            source: connectors::Error::SignIn { .. },
            ..
        }) = &result
        {
            // The retry of this event reads the secret afresh.
            sign_in.forget().await;
        }
        result
    }))
    .await
}
