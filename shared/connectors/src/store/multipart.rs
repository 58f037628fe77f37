//! The multipart-upload port: an object written in parts, so a large
//! output is streamed to S3 instead of held whole in memory.
//!
//! S3's rules, from *Uploading and copying objects using multipart upload*
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>)
//! and *Amazon S3 multipart upload limits*
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>):
//! parts are numbered 1 to 10,000, every part but the last holds at least
//! 5 MiB, the object exists only once the upload is completed with the
//! list of part numbers and ETags, and an upload neither completed nor
//! aborted keeps its parts (and their cost) until a lifecycle rule
//! removes it.

use std::collections::HashMap;

use crate::Error;

/// The least size of every part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The most parts one upload may have.
pub const MAX_PARTS: u32 = 10_000;

/// An object to be written in parts: where, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub bucket: String,
    pub key: String,
    pub content_type: String,
    /// User metadata to attach (keys without the `x-amz-meta-` prefix).
    pub metadata: HashMap<String, String>,
}

impl NewUpload {
    /// A CSV written by `function` in run `run_id`, marked as its own
    /// ([`super::written_by`]) like every object rollcall writes.
    pub fn csv(bucket: &str, key: &str, function: &str, run_id: &str) -> Self {
        Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
            content_type: "text/csv; charset=utf-8".into(),
            metadata: super::written_by(function, run_id),
        }
    }
}

/// A multipart upload the store has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    pub bucket: String,
    pub key: String,
    /// The id the store gave the upload.
    pub upload_id: String,
}

/// One uploaded part, as completing the upload names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// 1 to [`MAX_PARTS`].
    pub number: u32,
    /// The part's ETag exactly as the store returned it.
    pub etag: String,
}

/// Writes an object in parts.
pub trait MultipartUploads {
    /// Starts an upload of `target` (its content type and metadata are set
    /// now and carried by the completed object).
    async fn create_upload(&self, target: &NewUpload) -> Result<MultipartUpload, Error>;

    /// Uploads part `number` of `upload`.
    async fn upload_part(
        &self,
        upload: &MultipartUpload,
        number: u32,
        body: Vec<u8>,
    ) -> Result<UploadedPart, Error>;

    /// Completes `upload` from `parts` (in order): the object appears.
    async fn complete_upload(
        &self,
        upload: &MultipartUpload,
        parts: &[UploadedPart],
    ) -> Result<(), Error>;

    /// Aborts `upload`: its parts are discarded and no object appears.
    async fn abort_upload(&self, upload: &MultipartUpload) -> Result<(), Error>;

    /// Aborts `upload` without waiting for the answer, for a writer dropped
    /// before it finished (a `Drop` cannot wait). Best effort: what fails
    /// here is logged, and the bucket's lifecycle rule removes the rest.
    fn abort_detached(&self, upload: &MultipartUpload);
}
