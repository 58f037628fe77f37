//! Ports and adapters shared by every rollcall function.
//!
//! Ports are small traits returning types this crate owns, so job code never
//! sees an SDK type and can be unit-tested with in-memory fakes. Real adapters
//! talk to ArcGIS over reqwest and to S3, SES and Secrets Manager through the
//! AWS SDK.

// The ports use `async fn` in traits. The jobs drive them on one task with
// `buffer_unordered`, so no `Send` bound on the returned futures is needed.
#![allow(async_fn_in_trait)]

pub mod arcgis;
pub mod aws;
pub mod config;
pub mod connect;
pub mod csvfile;
pub mod deadline;
mod error;
pub mod mail;
pub mod report;
pub mod retry;
pub mod secrets;
pub mod store;

pub use error::Error;

/// Metadata key marking objects a rollcall function wrote, so their own
/// `ObjectCreated` events are ignored (no self-trigger loops).
pub const WRITTEN_BY_METADATA: &str = "rollcall-written-by";
/// Metadata key carrying the run that wrote an object.
pub const RUN_ID_METADATA: &str = "rollcall-run-id";
