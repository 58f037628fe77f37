//! `proficiency`: bulk add / remove / update / set of Amazon Connect agents'
//! routing proficiencies from a CSV.
//!
//! Every row is validated (actions, levels, predefined attributes and
//! values, conflicts) before any call. Each agent is resolved once, its
//! proficiencies read once, and the change written with at most one
//! disassociate, one update and one associate call, paced under Connect's
//! quotas. Rows not reached before the Lambda deadline go to
//! `remaining/<key>`, which a second invocation finishes.

#![allow(async_fn_in_trait)]

pub mod config;
pub mod handler;
pub mod input;
pub mod job;
pub mod plan;
pub mod rows;

pub use config::ProficiencyConfig;
pub use handler::{Handler, ProficiencyError, ProficiencyResponse};
