//! What the benchmark binaries share: their options, the sandbox process,
//! and the peak resident memory of the process being measured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The value after `name` on the command line, or `default`.
pub fn option(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// Whether `name` is on the command line (an option without a value).
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// This process's peak resident set size (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The `sandbox` binary built beside this one, started with `args` in its
/// own process (so its memory is not the benchmark's); returns the child
/// and the portal root it serves.
pub fn spawn_sandbox(args: &[&str]) -> (Child, String) {
    let binary = std::env::current_exe()
        .expect("current executable")
        .with_file_name("sandbox");
    let mut child = Command::new(&binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the sandbox prints its URL")
            .expect("sandbox output");
        if let Some(url) = line.strip_prefix("SANDBOX_URL=") {
            break url.to_string();
        }
    };
    (child, url)
}

/// The AWS side of a benchmark in moto: a bucket, a verified sender and the
/// sandbox admin's secret (named like the bucket), and the real adapters.
pub struct BenchAws {
    pub moto: crate::moto::Moto,
    pub bucket: String,
    pub aws: connectors::aws::AwsClients,
}

impl BenchAws {
    pub async fn new(prefix: &str) -> Self {
        let moto = crate::moto::Moto::connect().await;
        let bucket = crate::moto::unique_name(prefix);
        moto.create_bucket(&bucket).await;
        moto.verify_sender("rollcall@example.org").await;
        let secret =
            serde_json::json!({"username": "rollcall_admin", "password": "sandbox-password"});
        moto.create_secret(&bucket, &secret.to_string()).await;
        let aws = connectors::aws::AwsClients::from_conf(&moto.conf);
        Self { moto, bucket, aws }
    }

    /// What every function shares, live, mailing the admins.
    pub fn common(&self) -> connectors::config::Common {
        connectors::config::Common {
            mail: connectors::config::MailSettings {
                from: "rollcall@example.org".into(),
                admins: vec!["admins@example.org".into()],
            },
            ..connectors::config::Common::new(false)
        }
    }

    /// The ArcGIS client as `main` builds it, for the portal at `url`.
    pub async fn arcgis(
        &self,
        url: &str,
        concurrency: usize,
    ) -> (
        connectors::arcgis::ArcgisSettings,
        connectors::arcgis::ArcgisClient,
    ) {
        let settings = connectors::arcgis::ArcgisSettings {
            concurrency,
            ..connectors::arcgis::ArcgisSettings::new(url, &self.bucket)
        };
        let client = settings
            .client(self.aws.secrets.clone())
            .await
            .expect("sign in with the secret");
        (settings, client)
    }

    /// The AMS client as `main` builds it, for the site at `url`, signing
    /// in as the sandbox's API account through a secret in moto.
    pub async fn ams(
        &self,
        url: &str,
        concurrency: usize,
    ) -> (connectors::ams::AmsSettings, connectors::ams::AmsClient) {
        let secret_id = format!("{}-ams", self.bucket);
        let secret = serde_json::json!({
            "username": "rollcall.api",
            "password": crate::sandbox::DEFAULT_AMS_PASSWORD,
        });
        self.moto
            .create_secret(&secret_id, &secret.to_string())
            .await;
        let settings = connectors::ams::AmsSettings {
            concurrency,
            ..connectors::ams::AmsSettings::new(url, &secret_id)
        };
        let client = settings
            .client(self.aws.secrets.clone())
            .await
            .expect("read the AMS secret");
        (settings, client)
    }
}

impl crate::world::InBucket for BenchAws {
    fn moto(&self) -> &crate::moto::Moto {
        &self.moto
    }
    fn bucket_name(&self) -> &str {
        &self.bucket
    }
}

/// The least time Connect's quotas allow for the calls the sandbox served:
/// the busiest operation's calls at its rate (a throttled attempt is
/// refused before it uses the quota). Prints each operation's line.
pub fn connect_quota_floor(
    calls: &crate::sandbox::ConnectCalls,
    rates: &std::collections::BTreeMap<String, f64>,
) -> f64 {
    let mut floor: f64 = 0.0;
    for (op, n) in &calls.by_operation {
        let throttled = calls.throttled_count(op);
        let done = n - throttled;
        let rate = rates.get(op).copied().unwrap_or(f64::INFINITY);
        let seconds = done as f64 / rate;
        floor = floor.max(seconds);
        println!("    {op:<32} {done:>6} calls at {rate:>5}/s -> {seconds:>7.1} s (plus {throttled} throttled attempts)");
    }
    floor
}
