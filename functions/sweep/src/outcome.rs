//! What a sweep run did: the action per member, the result of a run, and
//! why a run stopped (before doing anything, or part-way with what it had done).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use connectors::Error;
use serde::Serialize;

use crate::job::REQUIRED_PRIVILEGES;

/// What was done (or planned) for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Warned,
    Disabled,
    PlannedWarn,
    PlannedDisable,
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Warned => "warned",
            Action::Disabled => "disabled",
            Action::PlannedWarn => "planned_warn",
            Action::PlannedDisable => "planned_disable",
            Action::None => "none",
        }
    }
}

/// Why a run stopped: before doing anything, or part-way ([`Stopped`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the signed-in account lacks the privilege {privilege} (the sweep needs {})", REQUIRED_PRIVILEGES.join(" and "))]
    MissingPrivilege { privilege: &'static str },
    #[error("the sweep must sign in as an org administrator; app credentials cannot list and disable members")]
    NotAMember,
    #[error("PROTECTED_GROUPS names group {0:?}, which does not exist or is not visible")]
    ProtectedGroupMissing(String),
    #[error(transparent)]
    Service(#[from] Error),
    /// A step failed once the run had started acting.
    #[error(transparent)]
    Stopped(Box<Stopped>),
}

/// The step of a live run that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Writing `state/sweep.json` (an intent or a result).
    State,
    /// A `disableUsers` call.
    Disable,
    /// Writing the report.
    Report,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::State => "recording the state in state/sweep.json",
            Step::Disable => "disabling members",
            Step::Report => "writing the report",
        })
    }
}

/// What a run had done when it stopped: what the admins must be told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// Members mailed a warning.
    pub warned: Vec<String>,
    /// Members disabled (confirmed by the portal).
    pub disabled: Vec<String>,
    /// Members mailed a disable notice.
    pub notified: Vec<String>,
    /// Members the portal was asked to disable without confirming it; the
    /// next run checks each account.
    pub unconfirmed: Vec<String>,
    /// Members whose mail was not sent but whose intent the state still
    /// holds (the state could not be corrected): the next run counts their
    /// mail as sent.
    pub presumed_mailed: Vec<String>,
}

impl Done {
    pub fn is_empty(&self) -> bool {
        self.warned.is_empty()
            && self.disabled.is_empty()
            && self.notified.is_empty()
            && self.unconfirmed.is_empty()
    }
}

/// A live run that failed part-way, with what it had done.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}")]
pub struct Stopped {
    pub step: Step,
    pub source: Error,
    pub done: Done,
    /// Where the report is, if it could be written.
    pub report: Option<String>,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    pub thresholds: ThresholdsView,
    pub members: u64,
    /// Every member was listed (false when the deadline cut the listing short).
    pub complete: bool,
    pub classes: BTreeMap<&'static str, u64>,
    pub actions: BTreeMap<&'static str, u64>,
    /// Members rollcall had disabled earlier on the run's day (UTC).
    pub disabled_today: usize,
    pub breaker_tripped: bool,
    pub report: String,
    pub state_saved: bool,
    pub notes: Vec<String>,
    #[serde(skip)]
    pub warned: Vec<String>,
    #[serde(skip)]
    pub disabled: Vec<String>,
    /// Members mailed a disable notice.
    #[serde(skip)]
    pub notified: Vec<String>,
    #[serde(skip)]
    pub would_disable: usize,
}

/// The thresholds in force, as the summary shows them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ThresholdsView {
    pub notify_after_days: u32,
    pub disable_after_days: u32,
    pub notice_days: u32,
    pub new_account_grace_days: u32,
    pub max_disables_per_run: usize,
}
