//! The object-store port (S3) and its AWS SDK adapter.

use std::collections::HashMap;

use crate::Error;

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

/// The metadata marking an object `function` wrote in run `run_id`, so its
/// own `ObjectCreated` event is ignored.
pub fn written_by(function: &str, run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (crate::WRITTEN_BY_METADATA.to_string(), function.to_string()),
        (crate::RUN_ID_METADATA.to_string(), run_id.to_string()),
    ])
}

/// Reads and writes whole objects.
pub trait ObjectStore {
    /// The object, or `None` when the key does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error>;

    /// Writes the object, honouring `if_match`.
    async fn put(&self, object: NewObject) -> Result<(), Error>;
}

/// Decodes an S3 event key: form-style, so `+` is a space and `%2B` a plus.
pub fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode(&spaced)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub use crate::aws::S3Store;
