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

/// Reads and writes whole objects.
pub trait ObjectStore {
    /// The object, or `None` when the key does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error>;

    /// Writes the object, honouring `if_match`.
    async fn put(&self, object: NewObject) -> Result<(), Error>;
}

pub use crate::aws::S3Store;
