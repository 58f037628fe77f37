//! The export function's set-up: a [`World`] (moto and the ArcGIS sandbox)
//! plus, for AMS exports, an AMS sandbox whose API account's credentials
//! are in a moto secret, and the real handler over both.

use std::time::Duration;

use connectors::ams::{AmsClient, AmsOptions, AmsSettings};
use connectors::arcgis::ArcgisClient;
use connectors::aws::AwsClients;
use connectors::mail::SesMailer;
use connectors::retry::RetryPolicy;
use connectors::secrets::CredentialSource;
use connectors::store::S3Store;
use serde_json::json;

use crate::sandbox::{AmsConfig, AmsSandbox, SandboxConfig};
use crate::world::World;

/// The export handler with every real adapter.
pub type ExportHandler = export::Handler<S3Store, SesMailer, ArcgisClient, AmsClient>;
/// The onboard handler with every real adapter.
pub type OnboardHandler = onboard::Handler<S3Store, SesMailer, ArcgisClient, AmsClient>;

/// Moto, the ArcGIS sandbox and an AMS sandbox.
pub struct ExportWorld {
    pub world: World,
    pub ams: AmsSandbox,
    /// The secret holding the AMS API account's credentials.
    pub ams_secret_id: String,
}

impl ExportWorld {
    /// A fresh bucket, both sandboxes, and a secret for each.
    pub async fn new(arcgis: SandboxConfig) -> Self {
        let world = World::new(arcgis).await;
        let ams = AmsSandbox::start(AmsConfig::new()).await;
        let ams_secret_id = format!("rollcall/ams/{}", world.tag);
        let secret = json!({"username": ams.admin_username(), "password": ams.admin_password()});
        world
            .moto
            .create_secret(&ams_secret_id, &secret.to_string())
            .await;
        Self {
            world,
            ams,
            ams_secret_id,
        }
    }

    /// The configuration of a deployment with both sources, writing to this
    /// world's bucket.
    pub fn config(&self) -> export::ExportConfig {
        export::ExportConfig {
            arcgis: Some(self.world.arcgis_settings()),
            ams: Some(AmsSettings::new(self.ams.url(), &self.ams_secret_id)),
            ..export::ExportConfig::new(&self.world.bucket)
        }
    }

    /// The AMS client as `main` builds it: credentials from Secrets Manager,
    /// with quick retries for the tests.
    pub async fn ams_client(&self) -> AmsClient {
        let aws = AwsClients::from_conf(&self.world.moto.conf);
        let credentials = CredentialSource::secret(aws.secrets, &self.ams_secret_id);
        credentials.current().await.expect("read the AMS secret");
        let options = AmsOptions {
            retry: RetryPolicy {
                min_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..AmsOptions::default()
        };
        AmsClient::with_source(&self.ams.url(), credentials, options).expect("AMS client")
    }

    /// The real handler against moto and the sandboxes, with the sources
    /// `config` configures.
    pub async fn handler(&self, config: export::ExportConfig) -> ExportHandler {
        let aws = AwsClients::from_conf(&self.world.moto.conf);
        let arcgis = match config.arcgis {
            Some(_) => Some(self.world.arcgis_client().await),
            None => None,
        };
        let ams = match config.ams {
            Some(_) => Some(self.ams_client().await),
            None => None,
        };
        export::Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: export::Sources { arcgis, ams },
            config,
        }
    }

    /// The real onboard handler of an AMS-only deployment, live, for files
    /// made from exports.
    pub async fn onboard_handler(&self) -> OnboardHandler {
        let aws = AwsClients::from_conf(&self.world.moto.conf);
        let ams = AmsSettings::new(self.ams.url(), &self.ams_secret_id);
        onboard::Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: onboard::Systems {
                arcgis: None,
                ams: Some(self.ams_client().await),
            },
            config: onboard::OnboardConfig::for_ams(self.world.common(), ams),
        }
    }
}
