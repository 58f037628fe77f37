//! The export function's set-up: a [`World`] (moto, a bucket and the
//! ArcGIS sandbox) and an [`AmsWorld`] (the AMS sandbox and its secret), and
//! the real export handler over both, writing to the [`World`]'s bucket.

use connectors::ams::AmsClient;
use connectors::arcgis::ArcgisClient;
use connectors::aws::AwsClients;
use connectors::mail::SesMailer;
use connectors::store::S3Store;

use crate::ams_world::AmsWorld;
use crate::sandbox::{AmsConfig, SandboxConfig};
use crate::world::World;

/// The export handler with every real adapter.
pub type ExportHandler = export::Handler<S3Store, SesMailer, ArcgisClient, AmsClient>;

/// Moto, the ArcGIS sandbox and an AMS sandbox.
pub struct ExportWorld {
    /// The ArcGIS org, and the bucket exports go to.
    pub world: World,
    /// The AMS site (its own bucket serves AMS onboarding files).
    pub ams: AmsWorld,
}

impl ExportWorld {
    /// Fresh buckets, both sandboxes, and a secret for each.
    pub async fn new(arcgis: SandboxConfig) -> Self {
        Self {
            world: World::new(arcgis).await,
            ams: AmsWorld::new(AmsConfig::new()).await,
        }
    }

    /// The configuration of a deployment with both sources, writing to the
    /// [`World`]'s bucket.
    pub fn config(&self) -> export::ExportConfig {
        export::ExportConfig {
            arcgis: Some(self.world.arcgis_settings()),
            ams: Some(self.ams.settings()),
            ..export::ExportConfig::new(&self.world.bucket)
        }
    }

    /// The real handler against moto and the sandboxes, with the sources
    /// `config` configures; its metrics count the clients' calls, as `main`
    /// sets them up.
    pub async fn handler(&self, mut config: export::ExportConfig) -> ExportHandler {
        let aws = AwsClients::from_conf(&self.world.moto.conf);
        let arcgis = match config.arcgis {
            Some(_) => Some(self.world.arcgis_client().await),
            None => None,
        };
        let ams = match config.ams {
            Some(_) => Some(self.ams.client().await),
            None => None,
        };
        let sources = export::Sources { arcgis, ams };
        config.metrics = config.metrics.metering(sources.api_meters());
        export::Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: sources,
            config,
        }
    }
}
