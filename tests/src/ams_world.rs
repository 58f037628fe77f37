//! Moto plus an AMS sandbox site: the set-up of the AMS end-to-end tests,
//! the benchmark and the export tests. A bucket, a verified sender and an
//! AMS secret in moto, and the real adapters pointed at both.

use std::time::Duration;

use connectors::ams::{AmsClient, AmsOptions, AmsSettings};
use connectors::aws::AwsClients;
use connectors::config::{Common, MailSettings};
use connectors::mail::SesMailer;
use connectors::retry::RetryPolicy;
use connectors::secrets::CredentialSource;
use connectors::store::S3Store;
use onboard::{Handler, OnboardConfig, Systems};
use serde_json::json;

use crate::moto::{unique_name, Moto};
use crate::sandbox::{AmsConfig, AmsSandbox};
use crate::world::InBucket;

/// The onboard handler for an AMS-only deployment, with every real adapter.
pub type AmsHandler = Handler<S3Store, SesMailer, connectors::arcgis::ArcgisClient, AmsClient>;

/// Moto plus an AMS sandbox site, named uniquely so tests run in parallel.
pub struct AmsWorld {
    pub tag: String,
    pub moto: Moto,
    pub sandbox: AmsSandbox,
    pub bucket: String,
    pub mail_from: String,
    pub admin_email: String,
    /// The secret holding the sandbox API account's credentials.
    pub secret_id: String,
}

impl AmsWorld {
    /// A fresh bucket, sender, admin address and AMS secret.
    pub async fn new(config: AmsConfig) -> Self {
        let moto = Moto::connect().await;
        let sandbox = AmsSandbox::start(config).await;
        let bucket = unique_name("rollcall");
        moto.create_bucket(&bucket).await;
        let tag = unique_name("a");
        let mail_from = format!("rollcall-{tag}@example.org");
        let admin_email = format!("admins-{tag}@example.org");
        moto.verify_sender(&mail_from).await;
        let secret_id = format!("rollcall/ams/{tag}");
        let secret =
            json!({"username": sandbox.admin_username(), "password": sandbox.admin_password()});
        moto.create_secret(&secret_id, &secret.to_string()).await;
        Self {
            tag,
            moto,
            sandbox,
            bucket,
            mail_from,
            admin_email,
            secret_id,
        }
    }

    /// The site, signed in to with this world's secret.
    pub fn settings(&self) -> AmsSettings {
        AmsSettings::new(self.sandbox.url(), &self.secret_id)
    }

    /// The settings every function of a live deployment shares, mailing
    /// this world's admin.
    pub fn common(&self) -> Common {
        Common {
            mail: MailSettings {
                from: self.mail_from.clone(),
                admins: vec![self.admin_email.clone()],
            },
            ..Common::new(false)
        }
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

    /// The real onboard handler against moto and the AMS site.
    pub async fn handler(&self, config: OnboardConfig) -> AmsHandler {
        let aws = AwsClients::from_conf(&self.moto.conf);
        Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: Systems {
                arcgis: None,
                ams: Some(self.client().await),
            },
            config,
        }
    }
}

impl InBucket for AmsWorld {
    fn moto(&self) -> &Moto {
        &self.moto
    }
    fn bucket_name(&self) -> &str {
        &self.bucket
    }
}
