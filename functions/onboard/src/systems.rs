//! Connecting to the systems a deployment has, once per cold start.

use connectors::ams::AmsClient;
use connectors::arcgis::ArcgisClient;
use connectors::metrics::ApiMeter;
use connectors::secrets::SecretsManagerSource;
use connectors::Error;

use crate::{OnboardConfig, Systems};

impl Systems<ArcgisClient, AmsClient> {
    /// The clients of every system `config` names, their credentials read
    /// now (a missing or malformed secret fails the cold start).
    pub async fn connect(
        config: &OnboardConfig,
        secrets: &SecretsManagerSource,
    ) -> Result<Self, Error> {
        let arcgis = match &config.arcgis {
            Some(settings) => Some(settings.client(secrets.clone()).await?),
            None => None,
        };
        let ams = match &config.ams {
            Some(settings) => Some(settings.client(secrets.clone()).await?),
            None => None,
        };
        Ok(Self { arcgis, ams })
    }

    /// The call counters of the systems' clients.
    pub fn api_meters(&self) -> Vec<ApiMeter> {
        let arcgis = self.arcgis.as_ref().map(ArcgisClient::api_meter);
        let ams = self.ams.as_ref().map(AmsClient::api_meter);
        arcgis.into_iter().chain(ams).collect()
    }
}
