//! Test harness around one shared moto server (S3, SESv2, Secrets Manager).
//!
//! The project test command (`scripts/test`) starts `moto_server` and exports
//! `ROLLCALL_MOTO_URL`. Tests run in parallel against that one server and never
//! reset it: each test works in its own buckets, secrets and mail addresses made
//! with [`unique_name`], and filters what it reads by them
//! (e.g. [`Moto::sent_mails_to`]).
//!
//! Helpers panic with a message naming what failed: they are for tests only.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_secretsmanager::primitives::Blob;
use serde_json::Value;

/// The variable naming the moto server the tests use.
pub const MOTO_URL_VAR: &str = "ROLLCALL_MOTO_URL";

/// moto's default account id (used in ARNs it returns).
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// The region every test client uses.
pub const REGION: &str = "us-east-1";

/// The moto server's base URL, from `ROLLCALL_MOTO_URL`.
///
/// # Panics
/// When the variable is unset, with instructions to start the server.
pub fn moto_url() -> String {
    match std::env::var(MOTO_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{MOTO_URL_VAR} is not set. Run the tests with the project test command \
             (`scripts/test`), which starts moto, or start one yourself: \
             `moto_server -p 5055 &` then `export {MOTO_URL_VAR}=http://127.0.0.1:5055`"
        ),
    }
}

/// An [`SdkConfig`] pointing every client at `endpoint` with static test
/// credentials in `us-east-1`.
///
/// The endpoint is set on the shared config, so a service-specific
/// `AWS_ENDPOINT_URL_<SERVICE>` in the environment would still win for clients
/// built from it; [`Moto`]'s own clients pin the endpoint on each client.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

/// A name no other call (in this or another test process) returns: the
/// lower-cased `prefix` (only `a-z`, `0-9`, `-`; at most 30 characters) plus a
/// random suffix. Valid as an S3 bucket name, a secret name and an email local
/// part.
pub fn unique_name(prefix: &str) -> String {
    let cleaned: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(30)
        .collect();
    let cleaned = cleaned.trim_matches('-');
    let cleaned = if cleaned.is_empty() { "t" } else { cleaned };
    format!("{cleaned}-{}", uuid::Uuid::new_v4().simple())
}

/// A message moto recorded as sent through SES (v1 or v2 `Simple` content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// moto's message id.
    pub id: String,
    /// The sender (`FromEmailAddress`).
    pub source: String,
    /// `ToAddresses`.
    pub to: Vec<String>,
    /// `CcAddresses`.
    pub cc: Vec<String>,
    /// `BccAddresses`.
    pub bcc: Vec<String>,
    /// The subject exactly as SES received it.
    pub subject: String,
    /// The HTML body when the message had one, otherwise the text body (moto
    /// keeps only one of them).
    pub body: String,
}

impl SentMail {
    /// Whether `address` is among the To, Cc or Bcc recipients.
    pub fn is_addressed_to(&self, address: &str) -> bool {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .any(|a| a.eq_ignore_ascii_case(address))
    }
}

/// Clients pointed at the shared moto server, plus helpers to arrange state
/// and to read what a user would see.
#[derive(Debug, Clone)]
pub struct Moto {
    /// The config the clients were built from; pass it to
    /// `connectors::aws::AwsClients::from_conf` to test the real adapters.
    pub conf: SdkConfig,
    /// S3, path-style addressing.
    pub s3: aws_sdk_s3::Client,
    /// SESv2.
    pub ses: aws_sdk_sesv2::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    url: String,
    http: reqwest::Client,
}

impl Moto {
    /// Connects to the server named by `ROLLCALL_MOTO_URL` (see [`moto_url`]).
    pub async fn connect() -> Self {
        Self::connect_to(&moto_url()).await
    }

    /// Connects to the server at `url`.
    pub async fn connect_to(url: &str) -> Self {
        let url = url.trim_end_matches('/').to_string();
        let conf = sdk_config(&url).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .endpoint_url(&url)
                .force_path_style(true)
                .build(),
        );
        let ses = aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(&conf)
                .endpoint_url(&url)
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&conf)
                .endpoint_url(&url)
                .build(),
        );
        Moto {
            conf,
            s3,
            ses,
            secrets,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    // ------------------------------------------------------------ S3

    /// Creates a bucket with versioning enabled (as the real one is).
    pub async fn create_bucket(&self, name: &str) {
        self.s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "create bucket {name} at {}: {}",
                    self.url,
                    DisplayErrorContext(&e)
                )
            });
        self.s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("enable versioning on {name}: {}", DisplayErrorContext(&e)));
    }

    /// Uploads an object with user metadata and returns its ETag (with quotes).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        metadata: &[(&str, &str)],
    ) -> String {
        let output = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .set_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {}", DisplayErrorContext(&e)));
        output
            .e_tag()
            .unwrap_or_else(|| panic!("put s3://{bucket}/{key} returned no ETag"))
            .to_string()
    }

    /// The object's body, user metadata (lower-case keys) and ETag, or `None`
    /// when the key does not exist.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<(Vec<u8>, HashMap<String, String>, String)> {
        let output = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return None,
            Err(e) => panic!("get s3://{bucket}/{key}: {}", DisplayErrorContext(&e)),
        };
        let metadata = output
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let etag = output.e_tag().unwrap_or_default().to_string();
        let body = output
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("read body of s3://{bucket}/{key}: {e}"))
            .into_bytes()
            .to_vec();
        Some((body, metadata, etag))
    }

    /// The keys of multipart uploads started in `bucket` and neither
    /// completed nor aborted, sorted.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let output = self
            .s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("list uploads of {bucket}: {}", DisplayErrorContext(&e)));
        let mut keys: Vec<String> = output
            .uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// The keys under `prefix` (all pages), sorted.
    pub async fn list_keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| {
                panic!("list s3://{bucket}/{prefix}: {}", DisplayErrorContext(&e))
            });
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        keys
    }

    // ------------------------------------------------------------ Secrets Manager

    /// Creates a secret holding `json` as its string value; returns its ARN.
    pub async fn create_secret(&self, name: &str, json: &str) -> String {
        let output = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string(json)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create secret {name}: {}", DisplayErrorContext(&e)));
        output.arn().unwrap_or_default().to_string()
    }

    /// Creates a secret holding only binary data; returns its ARN.
    pub async fn create_binary_secret(&self, name: &str, bytes: &[u8]) -> String {
        let output = self
            .secrets
            .create_secret()
            .name(name)
            .secret_binary(Blob::new(bytes.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create secret {name}: {}", DisplayErrorContext(&e)));
        output.arn().unwrap_or_default().to_string()
    }

    /// Stores a new current value of the secret (as a rotation would).
    pub async fn put_secret_value(&self, name: &str, json: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(json)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put secret value {name}: {}", DisplayErrorContext(&e)));
    }

    // ------------------------------------------------------------ SES

    /// Makes `email` a verified SES identity, so it may send (moto verifies
    /// immediately). Idempotent.
    pub async fn verify_sender(&self, email: &str) {
        match self
            .ses
            .create_email_identity()
            .email_identity(email)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_already_exists_exception()) => {}
            Err(e) => panic!("verify sender {email}: {}", DisplayErrorContext(&e)),
        }
    }

    /// Every message moto recorded as sent, from every test (read from
    /// `GET /moto-api/data.json`, `ses.Message`). Prefer [`Moto::sent_mails_to`].
    pub async fn sent_mails(&self) -> Vec<SentMail> {
        let url = format!("{}/moto-api/data.json", self.url);
        // moto dumps every model it tracks; a write racing with the dump (from
        // a test running in parallel) can make one dump fail with HTTP 500,
        // so a failed dump is read again.
        let mut last_error = String::new();
        for _ in 0..20 {
            let response = self.http.get(&url).send().await;
            match response.and_then(|r| r.error_for_status()) {
                Ok(response) => {
                    let data: Value = response
                        .json()
                        .await
                        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
                    return parse_sent_mails(&data);
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("GET {url}: {last_error}");
    }

    /// The messages with `address` among their To, Cc or Bcc recipients, in
    /// the order they were sent.
    pub async fn sent_mails_to(&self, address: &str) -> Vec<SentMail> {
        self.sent_mails()
            .await
            .into_iter()
            .filter(|m| m.is_addressed_to(address))
            .collect()
    }
}

/// Reads `ses.Message[]` of moto's `data.json`: each entry has `id`, `source`,
/// `subject`, `body` and `destinations` (`{"ToAddresses": [...], "CcAddresses":
/// [...], ...}`; a bare list is read as To).
fn parse_sent_mails(data: &Value) -> Vec<SentMail> {
    let text = |m: &Value, field: &str| m[field].as_str().unwrap_or_default().to_string();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let Some(messages) = data["ses"]["Message"].as_array() else {
        return Vec::new();
    };
    messages
        .iter()
        .map(|m| {
            let destinations = &m["destinations"];
            let to = if destinations.is_array() {
                list(destinations)
            } else {
                list(&destinations["ToAddresses"])
            };
            SentMail {
                id: text(m, "id"),
                source: text(m, "source"),
                to,
                cc: list(&destinations["CcAddresses"]),
                bcc: list(&destinations["BccAddresses"]),
                subject: text(m, "subject"),
                body: text(m, "body"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_valid_bucket_names_and_differ() {
        let a = unique_name("My_Test Bucket!!");
        let b = unique_name("My_Test Bucket!!");
        assert_ne!(a, b);
        assert!(a.starts_with("my-test-bucket-"), "{a}");
        let long = unique_name(&"x".repeat(100));
        for name in [&a, &long, &unique_name("")] {
            assert!((3..=63).contains(&name.len()), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
        }
    }

    #[test]
    fn reads_moto_data_json_messages() {
        // Shape captured from moto 5.2.1 after an SESv2 Simple send.
        let data = serde_json::json!({"ses": {"Message": [{
            "body": "<p>h</p>",
            "destinations": {"ToAddresses": ["a@x.org", "b@x.org"], "CcAddresses": ["c@x.org"]},
            "id": "abc",
            "source": "from@example.com",
            "subject": "Hi"
        }], "RawMessage": []}});

        let mails = parse_sent_mails(&data);

        assert_eq!(
            mails,
            vec![SentMail {
                id: "abc".into(),
                source: "from@example.com".into(),
                to: vec!["a@x.org".into(), "b@x.org".into()],
                cc: vec!["c@x.org".into()],
                bcc: vec![],
                subject: "Hi".into(),
                body: "<p>h</p>".into(),
            }]
        );
        assert!(mails[0].is_addressed_to("C@x.org"));
        assert!(parse_sent_mails(&serde_json::json!({})).is_empty());
    }
}
