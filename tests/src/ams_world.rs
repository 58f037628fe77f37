//! Moto plus an AMS sandbox site: the set-up of the AMS end-to-end tests,
//! the benchmark and the export tests. A bucket, a verified sender and an
//! AMS secret in moto, and the real adapters pointed at both.

use std::time::Duration;

use connectors::ams::{AmsClient, AmsOptions, AmsSettings};
use connectors::aws::AwsClients;
use connectors::mail::SesMailer;
use connectors::retry::RetryPolicy;
use connectors::secrets::CredentialSource;
use connectors::store::S3Store;
use onboard::{Handler, OnboardConfig, Systems};

use crate::sandbox::{AmsConfig, AmsSandbox};
use crate::world::Stage;

/// The onboard handler for an AMS-only deployment, with every real adapter.
pub type AmsHandler = Handler<S3Store, SesMailer, connectors::arcgis::ArcgisClient, AmsClient>;

/// Moto plus an AMS sandbox site; the [`Stage`]'s fields and helpers are
/// reached through it.
pub struct AmsWorld {
    pub stage: Stage,
    pub sandbox: AmsSandbox,
    /// The secret holding the sandbox API account's credentials.
    pub secret_id: String,
}

impl std::ops::Deref for AmsWorld {
    type Target = Stage;
    fn deref(&self) -> &Stage {
        &self.stage
    }
}

impl AmsWorld {
    /// A fresh stage and an AMS secret.
    pub async fn new(config: AmsConfig) -> Self {
        let stage = Stage::new("a").await;
        let sandbox = AmsSandbox::start(config).await;
        let secret_id = stage
            .account_secret("ams", sandbox.admin_username(), sandbox.admin_password())
            .await;
        Self {
            stage,
            sandbox,
            secret_id,
        }
    }

    /// The site, signed in to with this world's secret.
    pub fn settings(&self) -> AmsSettings {
        AmsSettings::new(self.sandbox.url(), &self.secret_id)
    }

    /// An AMS-only onboard deployment, live.
    pub fn config(&self) -> OnboardConfig {
        OnboardConfig::for_ams(self.common(), self.settings())
    }

    /// The AMS client as `main` builds it (credentials from Secrets
    /// Manager), with quick retries for the tests.
    pub async fn client(&self) -> AmsClient {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let credentials = CredentialSource::secret(aws.secrets, &self.secret_id);
        credentials.current().await.expect("read the secret");
        let options = AmsOptions {
            retry: RetryPolicy {
                min_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..AmsOptions::default()
        };
        AmsClient::with_source(&self.sandbox.url(), credentials, options).expect("client")
    }

    /// The real onboard handler against moto and the AMS site; its metrics
    /// count the client's calls, as `main` sets them up.
    pub async fn handler(&self, mut config: OnboardConfig) -> AmsHandler {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let ams = self.client().await;
        config.common.metrics = config.common.metrics.metering([ams.api_meter()]);
        Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: Systems {
                arcgis: None,
                ams: Some(ams),
            },
            config,
        }
    }
}
