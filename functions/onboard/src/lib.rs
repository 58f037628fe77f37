//! `onboard`: creates ArcGIS members from a CSV dropped under `inbox/arcgis/`.
//!
//! The job reads the CSV, validates every row against the org (roles, user
//! types, groups), creates the new members with the portal's batch calls,
//! ensures group memberships, then rewrites the CSV so only the rows that did
//! not finish remain (each with its reason), writes a per-row report to S3
//! and mails the admins a summary. All I/O goes through the ports of the
//! `connectors` crate, which `main.rs` builds once per cold start.

#![allow(async_fn_in_trait)]

pub mod config;
pub mod event;
pub mod handler;
pub mod job;
pub mod rows;
pub mod summary;

pub use config::OnboardConfig;
pub use handler::{Handler, OnboardError, OnboardResponse};
pub use job::{Deadline, FileStatus, FileSummary, Outcome};
