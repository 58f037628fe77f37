//! `sweep`: the inactivity sweep of an ArcGIS organisation.
//!
//! Run daily by an EventBridge schedule, it lists every member, classifies
//! each by days since the last sign-in, warns the newly inactive by mail,
//! disables those still inactive after the notice period (or, with
//! `SWEEP_ACTION=downgrade`, takes back their paid licence and gives it back
//! when they sign in again: [`reclaim`]), writes a report of every member and
//! mails the admins a summary. It is dry-run by default and refuses to touch
//! protected accounts or to disable (or downgrade) more than a set number in
//! one run or one day.

#![allow(async_fn_in_trait)]

mod act;
pub mod classify;
pub mod config;
pub mod digest;
mod disable;
pub mod handler;
pub mod input;
pub mod job;
mod listing;
mod mails;
mod member;
mod outcome;
mod planned;
pub mod reclaim;
mod rows;
mod samples;
pub mod state;
pub mod templates;
mod warn;

pub use config::{Downgrade, SweepAction, SweepConfig, Thresholds};
pub use handler::{Handler, SweepError, SweepFunction, SweepSummary};
pub use samples::sample_mails;
