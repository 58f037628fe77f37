//! The rollcall sandbox and test harness.
//!
//! - [`sandbox`]: a local simulator of the ArcGIS portal REST API (and later
//!   Teamworks AMS and Amazon Connect), run in-process by tests or as the
//!   `sandbox` binary for the local run.
//! - [`moto`]: helpers that point the real AWS SDK at a moto server and read
//!   what a user would see (objects, mails).
//! - [`lambda`]: a local Lambda runtime API that drives the real function
//!   binaries.
//! - [`world`]: the moto + sandbox set-up shared by the onboarding tests,
//!   the benchmark and the local run.

// The test helpers use `async fn` in traits on one task; no `Send` bound is needed.
#![allow(async_fn_in_trait)]

pub mod ams_world;
pub mod bench;
pub mod capture;
pub mod export_world;
pub mod fakes;
pub mod faulty;
pub mod lambda;
pub mod mail;
pub mod mail_samples;
pub mod moto;
pub mod sandbox;
pub mod world;
