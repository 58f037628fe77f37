//! Real adapters with a fault on purpose: a store whose writes under a
//! prefix fail a given number of times, and a mailer whose sends fail a
//! given number of times. Everything else passes through to moto, so a test
//! stages a failure at one step of a run and reads the outcome where a user
//! would.

use std::cell::Cell;

use connectors::mail::{Mail, Mailer};
use connectors::store::{Bounded, NewObject, ObjectStore, StoredObject};
use connectors::Error;

/// The failure a faulty adapter answers with: S3 or SES unavailable.
fn unavailable(service: &'static str) -> Error {
    Error::Unavailable {
        service,
        status: 503,
        attempts: 3,
    }
}

/// A store whose puts under `prefix` fail the next `times` times.
pub struct FaultyStore<S> {
    pub inner: S,
    prefix: String,
    times: Cell<usize>,
}

impl<S> FaultyStore<S> {
    /// No fault until [`FaultyStore::fail_puts_under`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            prefix: String::new(),
            times: Cell::new(0),
        }
    }

    /// The next `times` puts under `prefix` fail.
    pub fn fail_puts_under(mut self, prefix: &str, times: usize) -> Self {
        self.prefix = prefix.to_string();
        self.times.set(times);
        self
    }

    /// Faults still to come.
    pub fn pending(&self) -> usize {
        self.times.get()
    }
}

impl<S: ObjectStore> ObjectStore for FaultyStore<S> {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        self.inner.get(bucket, key).await
    }

    async fn get_at_most(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<Option<Bounded>, Error> {
        self.inner.get_at_most(bucket, key, limit).await
    }

    async fn put(&self, object: NewObject) -> Result<(), Error> {
        if self.times.get() > 0 && object.key.starts_with(&self.prefix) {
            self.times.set(self.times.get() - 1);
            return Err(unavailable("S3"));
        }
        self.inner.put(object).await
    }
}

/// A mailer whose next `times` sends fail.
pub struct FaultyMailer<M> {
    pub inner: M,
    times: Cell<usize>,
}

impl<M> FaultyMailer<M> {
    pub fn new(inner: M, times: usize) -> Self {
        Self {
            inner,
            times: Cell::new(times),
        }
    }
}

impl<M: Mailer> Mailer for FaultyMailer<M> {
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        if self.times.get() > 0 {
            self.times.set(self.times.get() - 1);
            return Err(unavailable("SES"));
        }
        self.inner.send(mail).await
    }
}

/// Implements [`connectors::store::MultipartUploads`] for a store wrapper
/// by passing every call to its `inner` store: for wrappers whose fault is
/// in plain puts (a small report reaches S3 as one put, not in parts).
#[macro_export]
macro_rules! multipart_through_inner {
    ($wrapper:ty) => {
        impl connectors::store::MultipartUploads for $wrapper {
            async fn create_upload(
                &self,
                target: &connectors::store::NewUpload,
            ) -> Result<connectors::store::MultipartUpload, connectors::Error> {
                self.inner.create_upload(target).await
            }

            async fn upload_part(
                &self,
                upload: &connectors::store::MultipartUpload,
                number: u32,
                body: Vec<u8>,
            ) -> Result<connectors::store::UploadedPart, connectors::Error> {
                self.inner.upload_part(upload, number, body).await
            }

            async fn complete_upload(
                &self,
                upload: &connectors::store::MultipartUpload,
                parts: &[connectors::store::UploadedPart],
            ) -> Result<(), connectors::Error> {
                self.inner.complete_upload(upload, parts).await
            }

            async fn abort_upload(
                &self,
                upload: &connectors::store::MultipartUpload,
            ) -> Result<(), connectors::Error> {
                self.inner.abort_upload(upload).await
            }

            fn abort_detached(&self, upload: &connectors::store::MultipartUpload) {
                self.inner.abort_detached(upload)
            }
        }
    };
}
