//! Multipart uploads of the in-memory [`FakeStore`]: parts kept per
//! upload until it is completed (the object appears) or aborted.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use connectors::store::{MultipartUpload, MultipartUploads, NewUpload, UploadedPart};
use connectors::Error;

use super::{FakeObject, FakeStore};

/// The multipart uploads of a [`FakeStore`]: started, not yet completed
/// or aborted.
#[derive(Default)]
pub struct FakeMultipart {
    /// Upload id -> its target and parts.
    open: RefCell<BTreeMap<String, OpenUpload>>,
    started: Cell<u64>,
    /// The part with this number fails as if S3 were down.
    pub fail_part: Cell<Option<u32>>,
}

/// An upload's target and its parts by number.
type OpenUpload = (NewUpload, BTreeMap<u32, Vec<u8>>);

impl FakeMultipart {
    /// Uploads neither completed nor aborted.
    pub fn open(&self) -> usize {
        self.open.borrow().len()
    }

    /// Uploads started so far.
    pub fn started(&self) -> u64 {
        self.started.get()
    }
}

impl FakeStore {
    /// The metadata of the object at `key`, or `None`.
    pub fn metadata(&self, key: &str) -> Option<HashMap<String, String>> {
        self.objects.borrow().get(key).map(|o| o.metadata.clone())
    }
}

impl MultipartUploads for FakeStore {
    async fn create_upload(&self, target: &NewUpload) -> Result<MultipartUpload, Error> {
        let started = &self.multipart.started;
        started.set(started.get() + 1);
        let upload_id = format!("upload-{}", started.get());
        self.multipart
            .open
            .borrow_mut()
            .insert(upload_id.clone(), (target.clone(), BTreeMap::new()));
        Ok(MultipartUpload {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            upload_id,
        })
    }

    async fn upload_part(
        &self,
        upload: &MultipartUpload,
        number: u32,
        body: Vec<u8>,
    ) -> Result<UploadedPart, Error> {
        if self.multipart.fail_part.get() == Some(number) {
            return Err(Error::Unavailable {
                service: "S3",
                status: 503,
                attempts: 3,
            });
        }
        let mut open = self.multipart.open.borrow_mut();
        let (_, parts) = open
            .get_mut(&upload.upload_id)
            .ok_or_else(|| Error::NotFound {
                what: format!("upload {}", upload.upload_id),
            })?;
        parts.insert(number, body);
        Ok(UploadedPart {
            number,
            etag: format!("\"part-{number}\""),
        })
    }

    async fn complete_upload(
        &self,
        upload: &MultipartUpload,
        parts: &[UploadedPart],
    ) -> Result<(), Error> {
        let (target, mut uploaded) = self
            .multipart
            .open
            .borrow_mut()
            .remove(&upload.upload_id)
            .ok_or_else(|| Error::NotFound {
                what: format!("upload {}", upload.upload_id),
            })?;
        let mut body = Vec::new();
        for part in parts {
            body.extend(
                uploaded
                    .remove(&part.number)
                    .ok_or_else(|| Error::NotFound {
                        what: format!("part {} of upload {}", part.number, upload.upload_id),
                    })?,
            );
        }
        let etag = self.next_etag();
        self.objects.borrow_mut().insert(
            target.key,
            FakeObject {
                body,
                etag,
                metadata: target.metadata,
            },
        );
        Ok(())
    }

    async fn abort_upload(&self, upload: &MultipartUpload) -> Result<(), Error> {
        self.multipart.open.borrow_mut().remove(&upload.upload_id);
        Ok(())
    }

    fn abort_detached(&self, upload: &MultipartUpload) {
        self.multipart.open.borrow_mut().remove(&upload.upload_id);
    }
}
