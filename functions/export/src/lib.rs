//! `export`: the users or groups of the ArcGIS org or the Teamworks AMS site
//! as a CSV in S3, for a console invocation.
//!
//! The event names the source, what to export and an optional filter
//! ([`event`]); the CSV goes to `exports/<source>-<what>-<yyyymmddThhmmssZ>.csv`
//! in the report bucket, streamed a part at a time as the rows arrive
//! ([`connectors::store::CsvUpload`]), so a large org never sits whole in
//! memory. A users export is a starting point for an update file: its
//! columns are the ones those files take, with values they take back
//! ([`cells`] says which cells are neutralised for spreadsheets and why).
//! Nothing is changed anywhere, so there is no dry run.

#![allow(async_fn_in_trait)]

pub mod ams;
pub mod arcgis;
pub mod cells;
pub mod config;
pub mod event;
pub mod handler;

pub use config::{ExportConfig, Sources};
pub use handler::{ExportError, ExportFunction, ExportResult, Handler};
