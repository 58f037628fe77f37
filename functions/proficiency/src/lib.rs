//! `proficiency`: bulk add / remove / update / set of Amazon Connect agents'
//! routing proficiencies from a CSV.
//!
//! The file goes through the shared inbox pipeline (`connectors::inbox`);
//! the [`job::ProficiencyUpdate`] job validates every row (actions, levels,
//! predefined attributes and values, conflicts) before any call, resolves
//! each agent once, reads its proficiencies once, and writes the change with
//! at most one disassociate, one update and one associate call, paced under
//! Connect's quotas. Rows not reached before the Lambda deadline are handed
//! on to the next invocation through a continuation link under
//! `inbox/connect/continue/` (`connectors::inbox::chain`).

#![allow(async_fn_in_trait)]

pub mod config;
pub mod handler;
pub mod job;
pub mod plan;
mod resolve;
pub mod rows;

pub use config::ProficiencyConfig;
pub use handler::{Handler, FUNCTION};
