//! Streaming writers: an object written as it is produced, a part at a time,
//! so an output larger than memory can hold still reaches S3.
//!
//! [`Upload`] buffers bytes up to a part size and uploads each part as it
//! fills; an output smaller than one part is written with one plain put
//! instead (no multipart upload is started). [`CsvUpload`] is the same for
//! CSV records. Whatever goes wrong, no partial object appears: a failed
//! part aborts the upload, and a writer dropped before [`Upload::finish`]
//! aborts it in the background (logged).

use std::mem;

use super::multipart::{
    MultipartUpload, MultipartUploads, NewUpload, UploadedPart, MAX_PARTS, MIN_PART_SIZE,
};
use super::{NewObject, ObjectStore};
use crate::Error;

/// The part size writers use unless told otherwise: above S3's 5 MiB least
/// part, small enough to keep a Lambda's memory low.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// What a finished upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    /// The object's size.
    pub bytes: u64,
    /// Parts uploaded; 0 when the object was written with one plain put.
    pub parts: u32,
}

impl Uploaded {
    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Where an upload is in its life.
enum Stage {
    /// Nothing sent yet: the whole output so far is in the buffer.
    Buffering,
    /// A multipart upload is open with these parts uploaded.
    Open {
        upload: MultipartUpload,
        parts: Vec<UploadedPart>,
    },
    /// Finished, aborted, or failed (and aborted): nothing more is written.
    Closed,
}

/// An object written a part at a time. Build it, [`Upload::write`] bytes,
/// then [`Upload::finish`]; after an error the upload is aborted and the
/// writer refuses further writes.
pub struct Upload<'s, S: ObjectStore + MultipartUploads> {
    store: &'s S,
    target: NewUpload,
    part_size: usize,
    buffer: Vec<u8>,
    stage: Stage,
    bytes: u64,
}

impl<'s, S: ObjectStore + MultipartUploads> Upload<'s, S> {
    /// A writer of `target` with parts of [`DEFAULT_PART_SIZE`].
    pub fn new(store: &'s S, target: NewUpload) -> Self {
        Self::with_part_size(store, target, DEFAULT_PART_SIZE)
    }

    /// A writer with parts of `part_size` bytes (at least S3's 5 MiB).
    pub fn with_part_size(store: &'s S, target: NewUpload, part_size: usize) -> Self {
        Self {
            store,
            target,
            part_size: part_size.max(MIN_PART_SIZE),
            buffer: Vec::new(),
            stage: Stage::Buffering,
            bytes: 0,
        }
    }

    /// Appends `bytes`; uploads a part when the buffer holds a part's worth.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.check_writable()?;
        self.buffer.extend_from_slice(bytes);
        self.bytes += bytes.len() as u64;
        self.flush_full_parts().await
    }

    /// [`Upload::write`] taking the bytes out of `bytes` (left empty).
    pub async fn append(&mut self, bytes: &mut Vec<u8>) -> Result<(), Error> {
        self.check_writable()?;
        self.bytes += bytes.len() as u64;
        if self.buffer.is_empty() {
            mem::swap(&mut self.buffer, bytes);
        } else {
            self.buffer.append(bytes);
        }
        self.flush_full_parts().await
    }

    /// Writes what is left and makes the object appear: one plain put when
    /// no part was uploaded, else the last part and the completion. On an
    /// error the upload is aborted and no object appears.
    pub async fn finish(mut self) -> Result<Uploaded, Error> {
        let body = mem::take(&mut self.buffer);
        let parts = match mem::replace(&mut self.stage, Stage::Closed) {
            Stage::Buffering => {
                let NewUpload {
                    bucket,
                    key,
                    content_type,
                    metadata,
                } = self.target.clone();
                self.store
                    .put(NewObject {
                        bucket,
                        key,
                        body,
                        content_type,
                        metadata,
                        if_match: None,
                        if_absent: false,
                    })
                    .await?;
                0
            }
            Stage::Open { upload, mut parts } => {
                let finished = async {
                    if !body.is_empty() {
                        let number = parts.len() as u32 + 1;
                        parts.push(self.store.upload_part(&upload, number, body).await?);
                    }
                    self.store.complete_upload(&upload, &parts).await
                };
                if let Err(e) = finished.await {
                    self.abort_after(&upload, &e).await;
                    return Err(e);
                }
                parts.len() as u32
            }
            Stage::Closed => return Err(self.closed()),
        };
        tracing::debug!(key = %self.target.key, bytes = self.bytes, parts, "object uploaded");
        Ok(Uploaded {
            bucket: self.target.bucket.clone(),
            key: self.target.key.clone(),
            bytes: self.bytes,
            parts,
        })
    }

    /// Gives up: an open multipart upload is aborted (no object appears).
    pub async fn abort(mut self) -> Result<(), Error> {
        self.buffer = Vec::new();
        match mem::replace(&mut self.stage, Stage::Closed) {
            Stage::Open { upload, .. } => self.store.abort_upload(&upload).await,
            Stage::Buffering | Stage::Closed => Ok(()),
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn check_writable(&self) -> Result<(), Error> {
        match self.stage {
            Stage::Closed => Err(self.closed()),
            _ => Ok(()),
        }
    }

    /// What a write to a failed (and aborted) upload gets.
    fn closed(&self) -> Error {
        Error::Aws {
            service: "S3",
            operation: "UploadPart",
            code: "UploadAborted".into(),
            message: format!(
                "the upload of s3://{}/{} failed earlier and was aborted",
                self.target.bucket, self.target.key
            ),
        }
    }

    /// Uploads the buffer as a part while it holds a part's worth.
    async fn flush_full_parts(&mut self) -> Result<(), Error> {
        while self.buffer.len() >= self.part_size {
            if let Err(e) = self.upload_buffer().await {
                self.buffer = Vec::new();
                if let Stage::Open { upload, .. } = mem::replace(&mut self.stage, Stage::Closed) {
                    self.abort_after(&upload, &e).await;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Starts the multipart upload if needed and uploads the buffer as its
    /// next part.
    async fn upload_buffer(&mut self) -> Result<(), Error> {
        if matches!(self.stage, Stage::Buffering) {
            let upload = self.store.create_upload(&self.target).await?;
            tracing::debug!(key = %self.target.key, "multipart upload started");
            self.stage = Stage::Open {
                upload,
                parts: Vec::new(),
            };
        }
        let Stage::Open { upload, parts } = &mut self.stage else {
            return Err(self.closed());
        };
        let number = parts.len() as u32 + 1;
        if number >= MAX_PARTS {
            // The last part is kept for `finish`.
            return Err(Error::Aws {
                service: "S3",
                operation: "UploadPart",
                code: "TooManyParts".into(),
                message: format!(
                    "s3://{}/{} would need more than {MAX_PARTS} parts of {} bytes",
                    self.target.bucket, self.target.key, self.part_size
                ),
            });
        }
        let body = mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        let part = self.store.upload_part(upload, number, body).await?;
        parts.push(part);
        Ok(())
    }

    /// Aborts after `cause`; an abort that fails too is logged (the
    /// bucket's lifecycle rule removes the parts).
    async fn abort_after(&self, upload: &MultipartUpload, cause: &Error) {
        tracing::warn!(key = %upload.key, error = %cause, "upload failed; aborting it");
        if let Err(e) = self.store.abort_upload(upload).await {
            tracing::error!(key = %upload.key, upload_id = %upload.upload_id, error = %e,
                "the failed upload could not be aborted; the bucket's lifecycle rule will remove its parts");
        }
    }
}

impl<S: ObjectStore + MultipartUploads> Drop for Upload<'_, S> {
    fn drop(&mut self) {
        if let Stage::Open { upload, parts } = mem::replace(&mut self.stage, Stage::Closed) {
            tracing::warn!(key = %upload.key, parts = parts.len(),
                "upload dropped before it finished; aborting it");
            self.store.abort_detached(&upload);
        }
    }
}

/// CSV records streamed to an object: a header, then rows, each uploaded as
/// its part fills. Values are written as given: neutralising spreadsheet
/// formulas ([`crate::report::neutralise_formula`]) is the caller's choice
/// per column.
pub struct CsvUpload<'s, S: ObjectStore + MultipartUploads> {
    upload: Upload<'s, S>,
    /// The header, until the first row or the finish sends it.
    pending: Vec<u8>,
    rows: u64,
}

impl<'s, S: ObjectStore + MultipartUploads> CsvUpload<'s, S> {
    /// A CSV with these column names, in parts of [`DEFAULT_PART_SIZE`].
    pub fn new(store: &'s S, target: NewUpload, columns: &[&str]) -> Self {
        Self::from_upload(Upload::new(store, target), columns)
    }

    /// A CSV written through `upload` (e.g. one with another part size).
    pub fn from_upload(upload: Upload<'s, S>, columns: &[&str]) -> Self {
        Self {
            upload,
            pending: record(columns),
            rows: 0,
        }
    }

    /// Appends one record.
    pub async fn row<I, V>(&mut self, values: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = V>,
        V: AsRef<[u8]>,
    {
        let mut bytes = record(values);
        if !self.pending.is_empty() {
            self.pending.append(&mut bytes);
            bytes = mem::take(&mut self.pending);
        }
        self.rows += 1;
        self.upload.append(&mut bytes).await
    }

    /// Records written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is left and makes the object appear (see [`Upload::finish`]).
    pub async fn finish(mut self) -> Result<Uploaded, Error> {
        self.upload.append(&mut self.pending).await?;
        self.upload.finish().await
    }

    /// Gives up: no object appears.
    pub async fn abort(self) -> Result<(), Error> {
        self.upload.abort().await
    }
}

/// One CSV record with its line end, quoted as the `csv` crate quotes.
fn record<I, V>(values: I) -> Vec<u8>
where
    I: IntoIterator<Item = V>,
    V: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(512)
        .from_writer(Vec::new());
    writer.write_record(values).expect("write to memory");
    writer.into_inner().expect("flush to memory")
}
