//! The object-store port (S3): whole objects with their ETag and metadata,
//! conditional writes, and objects streamed in parts ([`multipart`],
//! [`upload`]: [`Upload`], [`CsvUpload`]).

pub mod multipart;
mod s3;
mod s3_multipart;
pub mod upload;

use std::collections::HashMap;

pub use multipart::{MultipartUpload, MultipartUploads, NewUpload, UploadedPart};
pub use s3::S3Store;
pub use upload::{CsvUpload, Upload, Uploaded, DEFAULT_PART_SIZE};

use crate::Error;

/// Metadata key marking objects a rollcall function wrote, so their own
/// `ObjectCreated` events are ignored (no self-trigger loops).
pub const WRITTEN_BY_METADATA: &str = "rollcall-written-by";
/// Metadata key carrying the run that wrote an object.
pub const RUN_ID_METADATA: &str = "rollcall-run-id";

/// An object read from the store, with what a conditional rewrite needs.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub body: Vec<u8>,
    /// The ETag exactly as the store returned it (quotes included).
    pub etag: String,
    /// User metadata (`x-amz-meta-*`), keys in lower case without the prefix.
    pub metadata: HashMap<String, String>,
    pub version_id: Option<String>,
}

/// An object to write.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: String,
    /// User metadata to attach (keys without the `x-amz-meta-` prefix).
    pub metadata: HashMap<String, String>,
    /// Write only if the current object still has this ETag; a mismatch is
    /// `Error::PreconditionFailed` and nothing is written.
    pub if_match: Option<String>,
    /// Write only if no object exists at the key yet (a first state file);
    /// an existing object is `Error::PreconditionFailed`.
    pub if_absent: bool,
}

impl NewObject {
    /// A CSV written by `function` in run `run_id`, unconditionally.
    pub fn csv(bucket: &str, key: &str, body: Vec<u8>, function: &str, run_id: &str) -> Self {
        Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
            body,
            content_type: "text/csv; charset=utf-8".into(),
            metadata: written_by(function, run_id),
            if_match: None,
            if_absent: false,
        }
    }
}

/// The metadata marking an object `function` wrote in run `run_id`, so its
/// own `ObjectCreated` event is ignored.
pub fn written_by(function: &str, run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (WRITTEN_BY_METADATA.to_string(), function.to_string()),
        (RUN_ID_METADATA.to_string(), run_id.to_string()),
    ])
}

/// An object read only when it is no larger than a limit.
#[derive(Debug, Clone)]
pub enum Bounded {
    Whole(StoredObject),
    /// Larger than the limit; its body was not read.
    TooLarge {
        size: u64,
    },
}

/// Reads and writes whole objects.
pub trait ObjectStore {
    /// The object, or `None` when the key does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error>;

    /// The object when it has at most `limit` bytes; a larger one is not
    /// read whole (an adapter checks the size first; this default reads it).
    async fn get_at_most(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<Option<Bounded>, Error> {
        Ok(self.get(bucket, key).await?.map(|object| {
            let size = object.body.len() as u64;
            if size > limit {
                Bounded::TooLarge { size }
            } else {
                Bounded::Whole(object)
            }
        }))
    }

    /// Writes the object, honouring `if_match` and `if_absent`.
    async fn put(&self, object: NewObject) -> Result<(), Error>;

    /// A link that downloads the object over HTTPS until `valid` has
    /// passed, for a mail; `None` when the store cannot make one.
    async fn download_link(
        &self,
        _bucket: &str,
        _key: &str,
        _valid: std::time::Duration,
    ) -> Result<Option<String>, Error> {
        Ok(None)
    }
}

/// Decodes an S3 event key: form-style, so `+` is a space and `%2B` a plus.
/// Invalid escapes are kept as written; bytes that are not UTF-8 become U+FFFD.
pub fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_decoded_once() {
        assert_eq!(
            decode_event_key("inbox/arcgis/new+starters.csv"),
            "inbox/arcgis/new starters.csv"
        );
        assert_eq!(
            decode_event_key("inbox%2Farcgis%2Fa%2Bb.csv"),
            "inbox/arcgis/a+b.csv"
        );
        assert_eq!(
            decode_event_key("inbox/arcgis/caf%C3%A9.csv"),
            "inbox/arcgis/café.csv"
        );
        assert_eq!(
            decode_event_key("inbox/arcgis/100%25.csv"),
            "inbox/arcgis/100%.csv"
        );
        assert_eq!(decode_event_key("inbox/a%2B"), "inbox/a+");
        assert_eq!(
            decode_event_key("inbox/arcgis/bad%zz%2"),
            "inbox/arcgis/bad%zz%2"
        );
    }
}
