//! The set-up the end-to-end tests, the benchmarks and the local run share: a bucket, a verified sender and an ArcGIS secret in moto, a
//! sandbox portal, and the real adapters pointed at both.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use connectors::ams::AmsClient;
use connectors::arcgis::{ArcgisClient, ArcgisOptions, ArcgisSettings};
use connectors::aws::AwsClients;
use connectors::config::{Common, MailSettings};
use connectors::connect::ConnectSettings;
use connectors::mail::SesMailer;
use connectors::retry::RetryPolicy;
use connectors::secrets::CredentialSource;
use connectors::store::S3Store;
use lambda_runtime::{Context, LambdaEvent};
use onboard::{Handler, OnboardConfig, Systems};
use serde_json::{json, Value};

use crate::moto::{unique_name, Moto};
use crate::sandbox::{ArcgisSandbox, SandboxConfig};

/// The onboard handler with every real adapter.
pub type RealHandler = Handler<S3Store, SesMailer, ArcgisClient, AmsClient>;
/// The sweep handler with every real adapter.
pub type SweepHandler = sweep::Handler<S3Store, SesMailer, ArcgisClient>;

/// What every test world has in moto, named uniquely so tests run in
/// parallel: a bucket, a verified sender and an admins' address.
pub struct Stage {
    /// Unique to this world: in its bucket, addresses and secret names.
    pub tag: String,
    pub moto: Moto,
    pub bucket: String,
    pub mail_from: String,
    pub admin_email: String,
}

impl Stage {
    /// A fresh bucket and sender, tagged `<tag_prefix>-…`.
    pub async fn new(tag_prefix: &str) -> Self {
        let moto = Moto::connect().await;
        let bucket = unique_name("rollcall");
        moto.create_bucket(&bucket).await;
        let tag = unique_name(tag_prefix);
        let mail_from = format!("rollcall-{tag}@example.org");
        let admin_email = format!("admins-{tag}@example.org");
        moto.verify_sender(&mail_from).await;
        Self {
            tag,
            moto,
            bucket,
            mail_from,
            admin_email,
        }
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

    /// Stores an account's `{"username","password"}` as the secret
    /// `rollcall/<system>/<tag>`; returns its id.
    pub async fn account_secret(&self, system: &str, username: &str, password: &str) -> String {
        let secret_id = format!("rollcall/{system}/{}", self.tag);
        let secret = json!({"username": username, "password": password});
        self.moto
            .create_secret(&secret_id, &secret.to_string())
            .await;
        secret_id
    }
}

impl InBucket for Stage {
    fn moto(&self) -> &Moto {
        &self.moto
    }
    fn bucket_name(&self) -> &str {
        &self.bucket
    }
}

/// Moto plus a sandbox portal; the [`Stage`]'s fields and helpers are
/// reached through it (`world.bucket`, `world.drop_csv(..)`).
pub struct World {
    pub stage: Stage,
    pub sandbox: ArcgisSandbox,
    pub secret_id: String,
}

impl std::ops::Deref for World {
    type Target = Stage;
    fn deref(&self) -> &Stage {
        &self.stage
    }
}

impl World {
    /// A fresh stage and a secret holding the sandbox admin's credentials.
    pub async fn new(config: SandboxConfig) -> Self {
        let stage = Stage::new("t").await;
        let sandbox = ArcgisSandbox::start(config).await;
        let secret_id = stage
            .account_secret("arcgis", sandbox.admin_username(), sandbox.admin_password())
            .await;
        Self {
            stage,
            sandbox,
            secret_id,
        }
    }

    /// The sandbox org, signed in to with this world's secret.
    pub fn arcgis_settings(&self) -> ArcgisSettings {
        ArcgisSettings::new(self.sandbox.url(), &self.secret_id)
    }

    /// The configuration a deployment would have, mailing this world's admin.
    pub fn config(&self) -> OnboardConfig {
        OnboardConfig::new(self.common(), self.arcgis_settings())
    }

    /// The ArcGIS client as `main` builds it: credentials from Secrets
    /// Manager, with quick retries for the tests.
    pub async fn arcgis_client(&self) -> ArcgisClient {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let credentials = CredentialSource::secret(aws.secrets, &self.secret_id);
        credentials.current().await.expect("read the secret");
        let options = ArcgisOptions {
            retry: RetryPolicy {
                min_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..ArcgisOptions::default()
        };
        ArcgisClient::with_source(&self.sandbox.url(), credentials, options).expect("client")
    }

    /// The real handler against moto and the sandbox.
    /// Its metrics count the client's calls, as `main` sets them up.
    pub async fn handler(&self, mut config: OnboardConfig) -> RealHandler {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let arcgis = self.arcgis_client().await;
        config.common.metrics = config.common.metrics.metering([arcgis.api_meter()]);
        Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: Systems {
                arcgis: Some(arcgis),
                ams: None,
            },
            config,
        }
    }

    /// The real sweep handler against moto and the sandbox, live (not dry
    /// run) unless `config` says otherwise, reporting into this world's bucket.
    /// Its metrics count the client's calls, as `main` sets them up.
    pub async fn sweep_handler(&self, mut config: sweep::SweepConfig) -> SweepHandler {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let arcgis = self.arcgis_client().await;
        config.common.metrics = config.common.metrics.metering([arcgis.api_meter()]);
        sweep::Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: arcgis,
            config,
        }
    }

    /// The sweep configuration a deployment would have, live, mailing this world's admin.
    pub fn sweep_config(&self) -> sweep::SweepConfig {
        sweep::SweepConfig {
            sign_in_url: "https://example.maps.arcgis.com/home/signin.html".into(),
            support_contact: "gis-help@example.org".into(),
            ..sweep::SweepConfig::new(self.common(), self.arcgis_settings(), &self.bucket)
        }
    }

    /// An address unique to this world, for a member's mail.
    pub fn address(&self, local: &str) -> String {
        format!("{local}@{}.example.org", self.tag)
    }

    /// Environment for the function binary, as the SAM template sets it.
    pub fn function_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.moto.url()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("ARCGIS_URL", &self.sandbox.url()),
            ("ARCGIS_SECRET_ID", &self.secret_id),
            ("MAIL_FROM", &self.mail_from),
            ("ADMIN_EMAILS", &self.admin_email),
            ("DRY_RUN", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// An S3 `ObjectCreated:Put` notification for `key`, encoded as S3 does
/// (form-style: space as `+`, other reserved bytes percent-encoded).
pub fn s3_event(bucket: &str, key: &str) -> S3Event {
    let value = json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.5"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "onboard",
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": encode_key(key), "size": 1, "sequencer": sequencer()}
        }
    }]});
    serde_json::from_value(value).expect("a valid S3 event")
}

/// A new S3 event `sequencer`: hex, growing with each event, as S3's are.
pub fn sequencer() -> String {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let previous = LAST.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
    let next = now.max(previous + 1);
    LAST.fetch_max(next, std::sync::atomic::Ordering::SeqCst);
    format!("{next:016X}")
}

/// Encodes a key the way S3 event notifications do.
pub fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for byte in key.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Moto plus a Connect sandbox, for the proficiency tests and benchmark.
pub struct ConnectWorld {
    pub stage: Stage,
    pub connect: crate::sandbox::ConnectSandbox,
}

impl std::ops::Deref for ConnectWorld {
    type Target = Stage;
    fn deref(&self) -> &Stage {
        &self.stage
    }
}

/// The proficiency handler with every real adapter.
pub type ProficiencyHandler =
    proficiency::Handler<S3Store, SesMailer, connectors::connect::ConnectClient>;

impl ConnectWorld {
    /// A fresh stage and a Connect sandbox.
    pub async fn new(config: crate::sandbox::ConnectConfig) -> Self {
        Self {
            stage: Stage::new("c").await,
            connect: crate::sandbox::ConnectSandbox::start(config).await,
        }
    }

    /// The configuration a deployment would have (live), pacing at `max_rps`.
    pub fn config(&self, max_rps: f64) -> proficiency::ProficiencyConfig {
        let common = self.common();
        let connect = ConnectSettings {
            max_rps,
            ..ConnectSettings::new(self.connect.instance_id())
        };
        proficiency::ProficiencyConfig::new(common, connect)
    }

    /// The real aws-sdk-connect client pointed at the sandbox, as
    /// `AWS_ENDPOINT_URL_CONNECT` would point it.
    pub fn connect_client(&self, max_rps: f64) -> connectors::connect::ConnectClient {
        let conf = aws_sdk_connect::config::Builder::from(&self.moto.conf)
            .endpoint_url(self.connect.url())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
            .build();
        connectors::connect::ConnectClient::new(
            aws_sdk_connect::Client::from_conf(conf),
            self.connect.instance_id(),
            &connectors::connect::ConnectRates { max_rps },
        )
    }

    /// The environment of the `proficiency` binary in this world (moto,
    /// the Connect sandbox, this world's sender and admins), plus `extra`.
    pub fn function_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", self.moto.url().to_string()),
            ("AWS_ENDPOINT_URL_CONNECT", self.connect.url()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("MAIL_FROM", self.mail_from.clone()),
            ("ADMIN_EMAILS", self.admin_email.clone()),
            (
                "CONNECT_INSTANCE_ID",
                self.connect.instance_id().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Every row of a proficiency job's reports, link after link, as
    /// (identifier, value) → the outcomes reported for it: a row done
    /// exactly once has one `added` (or updated, removed) among them.
    pub async fn job_outcomes(
        &self,
        progress: &Value,
    ) -> std::collections::BTreeMap<(String, String), Vec<String>> {
        let mut rows: std::collections::BTreeMap<(String, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for link in progress["finished"].as_array().into_iter().flatten() {
            let Some(uri) = link["report"].as_str() else {
                continue;
            };
            let report = self.text_at(uri).await;
            // line,identifier,identifier_type,action,attribute,value,level,outcome,reason
            for line in report.lines().skip(1) {
                let cells: Vec<&str> = line.split(',').collect();
                rows.entry((cells[1].to_string(), cells[5].to_string()))
                    .or_default()
                    .push(cells[7].to_string());
            }
        }
        rows
    }

    /// The real handler against moto and the Connect sandbox.
    /// Its metrics count the client's calls, as `main` sets them up.
    pub fn handler(&self, mut config: proficiency::ProficiencyConfig) -> ProficiencyHandler {
        let aws = AwsClients::from_conf(&self.moto.conf);
        let connect = self.connect_client(config.connect.max_rps);
        config.common.metrics = config.common.metrics.metering([connect.api_meter()]);
        proficiency::Handler {
            store: aws.s3,
            mailer: aws.mail,
            service: connect,
            config,
        }
    }
}

/// A world with a bucket in moto: what an admin does to it and sees in it.
/// One helper for every test world.
pub trait InBucket {
    fn moto(&self) -> &Moto;
    fn bucket_name(&self) -> &str;

    /// Uploads a CSV as an admin would; returns its ETag.
    async fn drop_csv(&self, key: &str, body: &str) -> String {
        self.moto()
            .put_object(self.bucket_name(), key, body.as_bytes(), &[])
            .await
    }

    /// The object's text, or `None` when it is gone.
    async fn text(&self, key: &str) -> Option<String> {
        self.moto()
            .get_object(self.bucket_name(), key)
            .await
            .map(|(body, _, _)| String::from_utf8(body).expect("UTF-8 object"))
    }

    /// The text of an `s3://bucket/key` URI from this world's bucket.
    async fn text_at(&self, uri: &str) -> String {
        let prefix = format!("s3://{}/", self.bucket_name());
        let key = uri
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{uri} is not in {prefix}"));
        self.text(key)
            .await
            .unwrap_or_else(|| panic!("{uri} does not exist"))
    }

    /// The S3 notification Lambda would deliver for `key`.
    fn s3_event(&self, key: &str) -> LambdaEvent<Value> {
        let event = serde_json::to_value(s3_event(self.bucket_name(), key))
            .expect("an S3 event serialises");
        LambdaEvent::new(event, Context::default())
    }

    /// A console invocation for `key`.
    fn console(&self, key: &str, dry_run: bool) -> LambdaEvent<Value> {
        LambdaEvent::new(
            json!({"bucket": self.bucket_name(), "key": key, "dry_run": dry_run}),
            Context::default(),
        )
    }
}
