//! The S3 adapter of [`MultipartUploads`]: `CreateMultipartUpload`,
//! `UploadPart`, `CompleteMultipartUpload` and `AbortMultipartUpload`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>
//! and the pages beside it). Checksums are left to the SDK's defaults (a
//! CRC32 per part), as the SDK's own transfer manager does.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::multipart::{MultipartUpload, MultipartUploads, NewUpload, UploadedPart};
use super::S3Store;
use crate::aws::sdk_error;
use crate::deadline::{within, Budget};
use crate::Error;

const S3: &str = "S3";

/// A missing bucket is `NotFound`; every other failure goes through the
/// one SDK-error mapping.
fn mapped<E>(
    bucket: &str,
    operation: &'static str,
    attempts: u32,
    err: aws_sdk_s3::error::SdkError<E>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some("NoSuchBucket") => Error::NotFound {
            what: format!("bucket {bucket}"),
        },
        _ => sdk_error(S3, operation, attempts, err),
    }
}

impl MultipartUploads for S3Store {
    #[tracing::instrument(skip_all, fields(bucket = %target.bucket, key = %target.key))]
    async fn create_upload(&self, target: &NewUpload) -> Result<MultipartUpload, Error> {
        let request = self
            .client
            .create_multipart_upload()
            .bucket(&target.bucket)
            .key(&target.key)
            .content_type(&target.content_type)
            .set_metadata((!target.metadata.is_empty()).then(|| target.metadata.clone()))
            .send();
        let output = within(Budget::Finish, request)
            .await?
            .map_err(|e| mapped(&target.bucket, "CreateMultipartUpload", self.attempts, e))?;
        let upload_id = output.upload_id().ok_or_else(|| Error::Decode {
            service: S3,
            operation: "CreateMultipartUpload".into(),
            path: "UploadId".into(),
            message: format!("no upload id for s3://{}/{}", target.bucket, target.key),
        })?;
        Ok(MultipartUpload {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            upload_id: upload_id.to_string(),
        })
    }

    #[tracing::instrument(skip(self, upload, body), fields(key = %upload.key, bytes = body.len()))]
    async fn upload_part(
        &self,
        upload: &MultipartUpload,
        number: u32,
        body: Vec<u8>,
    ) -> Result<UploadedPart, Error> {
        let request = self
            .client
            .upload_part()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .part_number(number as i32)
            .body(ByteStream::from(body))
            .send();
        let output = within(Budget::Finish, request)
            .await?
            .map_err(|e| mapped(&upload.bucket, "UploadPart", self.attempts, e))?;
        let etag = output.e_tag().ok_or_else(|| Error::Decode {
            service: S3,
            operation: "UploadPart".into(),
            path: "ETag".into(),
            message: format!(
                "part {number} of s3://{}/{} has no ETag",
                upload.bucket, upload.key
            ),
        })?;
        Ok(UploadedPart {
            number,
            etag: etag.to_string(),
        })
    }

    #[tracing::instrument(skip_all, fields(key = %upload.key, parts = parts.len()))]
    async fn complete_upload(
        &self,
        upload: &MultipartUpload,
        parts: &[UploadedPart],
    ) -> Result<(), Error> {
        let parts: Vec<CompletedPart> = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number as i32)
                    .e_tag(&p.etag)
                    .build()
            })
            .collect();
        let request = self
            .client
            .complete_multipart_upload()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send();
        within(Budget::Finish, request)
            .await?
            .map_err(|e| mapped(&upload.bucket, "CompleteMultipartUpload", self.attempts, e))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(key = %upload.key))]
    async fn abort_upload(&self, upload: &MultipartUpload) -> Result<(), Error> {
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .send();
        match within(Budget::Finish, request).await? {
            Ok(_) => Ok(()),
            // Already gone (aborted or completed meanwhile): nothing to abort.
            Err(e) if e.code() == Some("NoSuchUpload") => Ok(()),
            Err(e) => Err(mapped(
                &upload.bucket,
                "AbortMultipartUpload",
                self.attempts,
                e,
            )),
        }
    }

    fn abort_detached(&self, upload: &MultipartUpload) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(key = %upload.key, upload_id = %upload.upload_id,
                "no runtime to abort the upload; the bucket's lifecycle rule will remove its parts");
            return;
        };
        let store = self.clone();
        let upload = upload.clone();
        runtime.spawn(async move {
            if let Err(e) = store.abort_upload(&upload).await {
                tracing::error!(key = %upload.key, upload_id = %upload.upload_id, error = %e,
                    "the dropped upload could not be aborted; the bucket's lifecycle rule will remove its parts");
            }
        });
    }
}
