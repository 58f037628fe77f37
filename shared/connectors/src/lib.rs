//! Ports, adapters and the flows shared by every rollcall function.
//!
//! - [`inbox`]: the life of one CSV object, written once; a CSV job plugs in
//!   its rows, validation, plan and outcome words.
//! - [`config`]: the configuration core every function embeds ([`config::Common`]).
//! - [`error`]: the one error type, its [`error::ErrorKind`] and the Lambda
//!   `Diagnostic` it becomes.
//! - Ports are small traits returning types this crate owns, so job code never
//!   sees an SDK type and can be unit-tested with in-memory fakes. Adapters:
//!   [`arcgis`] (reqwest), [`connect`], [`store`], [`mail`] and [`secrets`]
//!   (AWS SDK, built from one configuration in [`aws`]).

// The ports use `async fn` in traits. The jobs drive them on one task with
// `buffer_unordered`, so no `Send` bound on the returned futures is needed.
#![allow(async_fn_in_trait)]

pub mod ams;
pub mod arcgis;
pub mod aws;
pub mod config;
pub mod connect;
pub mod csvfile;
pub mod deadline;
pub mod error;
mod http;
pub mod inbox;
pub mod lambda;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod report;
pub mod retry;
pub mod secrets;
pub mod store;

pub use error::{Error, ErrorKind};
