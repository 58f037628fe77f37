//! The S3 adapter of [`ObjectStore`]: whole-object get and (conditional) put
//! (its multipart uploads are in `s3_multipart`).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

use super::{Bounded, NewObject, ObjectStore, StoredObject};
use crate::aws::{attempts_of, sdk_error};
use crate::deadline::{within, Budget};
use crate::Error;

const S3: &str = "S3";

/// S3 adapter of [`ObjectStore`]: whole-object get and (conditional) put.
#[derive(Clone, Debug)]
pub struct S3Store {
    pub(super) client: aws_sdk_s3::Client,
    pub(super) attempts: u32,
}

impl S3Store {
    /// Wraps a client; build it with `force_path_style(true)` for emulators
    /// (as [`crate::aws::AwsClients::from_conf`] does).
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        let attempts = attempts_of(client.config().retry_config());
        S3Store { client, attempts }
    }
}

impl S3Store {
    /// GetObject; with a `limit`, a larger object's body is not read.
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        limit: Option<u64>,
    ) -> Result<Option<Bounded>, Error> {
        let sent = self.client.get_object().bucket(bucket).key(key).send();
        let output = match within(Budget::Finish, sent).await? {
            Ok(output) => output,
            Err(err) => {
                return match err.code() {
                    Some("NoSuchKey") => Ok(None),
                    Some("NoSuchBucket") => Err(Error::NotFound {
                        what: format!("bucket {bucket}"),
                    }),
                    _ => Err(sdk_error(S3, "GetObject", self.attempts, err)),
                };
            }
        };
        let size = output.content_length().unwrap_or(0).max(0) as u64;
        if limit.is_some_and(|limit| size > limit) {
            tracing::warn!(bytes = size, "object larger than the limit; not read");
            return Ok(Some(Bounded::TooLarge { size }));
        }
        let etag = output
            .e_tag()
            .map(str::to_string)
            .ok_or_else(|| Error::Decode {
                service: S3,
                operation: "GetObject".into(),
                path: "ETag".into(),
                message: format!("s3://{bucket}/{key} was returned without an ETag"),
            })?;
        let metadata = output
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let version_id = output.version_id().map(str::to_string);
        let body = within(Budget::Finish, output.body.collect())
            .await?
            .map_err(|e| Error::Transport {
                service: S3,
                operation: "GetObject".into(),
                source: Box::new(e),
            })?
            .into_bytes()
            .to_vec();
        tracing::debug!(bytes = body.len(), "read object");
        Ok(Some(Bounded::Whole(StoredObject {
            body,
            etag,
            metadata,
            version_id,
        })))
    }
}

impl ObjectStore for S3Store {
    /// A presigned GetObject URL (SigV4: at most seven days, and no longer
    /// than the credentials that sign it last).
    async fn download_link(
        &self,
        bucket: &str,
        key: &str,
        valid: std::time::Duration,
    ) -> Result<Option<String>, Error> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(valid).map_err(|e| {
            Error::Config(crate::config::ConfigError::new(
                "REPORT_LINK_DAYS",
                format!("a link cannot be valid for {valid:?}: {e}"),
            ))
        })?;
        let presigned = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| sdk_error(S3, "presign GetObject", 1, e))?;
        Ok(Some(presigned.uri().to_string()))
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        Ok(match self.fetch(bucket, key, None).await? {
            Some(Bounded::Whole(object)) => Some(object),
            _ => None,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn get_at_most(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<Option<Bounded>, Error> {
        self.fetch(bucket, key, Some(limit)).await
    }

    #[tracing::instrument(
        skip(self, object),
        fields(bucket = %object.bucket, key = %object.key, conditional = object.if_match.is_some() || object.if_absent)
    )]
    async fn put(&self, object: NewObject) -> Result<(), Error> {
        let NewObject {
            bucket,
            key,
            body,
            content_type,
            metadata,
            if_match,
            if_absent,
        } = object;
        let conditional = if_match.is_some() || if_absent;
        let request = self
            .client
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type(content_type)
            .set_metadata((!metadata.is_empty()).then_some(metadata))
            .set_if_match(if_match)
            .set_if_none_match(if_absent.then(|| "*".to_string()))
            .body(ByteStream::from(body))
            .send();
        match within(Budget::Finish, request).await? {
            Ok(_) => Ok(()),
            Err(err) => Err(match err.code() {
                // 412: the object has another ETag now.
                // 409 ConditionalRequestConflict: a concurrent conditional
                // write to the same key; either way it is not what we read.
                Some("PreconditionFailed") | Some("ConditionalRequestConflict") => {
                    Error::PreconditionFailed { bucket, key }
                }
                // If-Match on a key that is gone: the object we read no longer exists.
                Some("NoSuchKey") if conditional => Error::PreconditionFailed { bucket, key },
                Some("NoSuchBucket") => Error::NotFound {
                    what: format!("bucket {bucket}"),
                },
                _ => sdk_error(S3, "PutObject", self.attempts, err),
            }),
        }
    }
}
