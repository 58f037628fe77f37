//! What a sweep run did: the action per member, the result of a run, and
//! why a run stopped (before doing anything, or part-way with what it had done).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use connectors::Error;
use serde::Serialize;

use crate::digest::{ComingUp, Inactivity, MemberTable};

/// What was done (or planned) for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Warned,
    Disabled,
    /// The licence was released: the member holds the downgrade's user type.
    Downgraded,
    /// The member got back the user type and role rollcall took.
    Restored,
    /// A downgrade or restore the portal refused for now; later runs try again.
    Waiting,
    PlannedWarn,
    PlannedDisable,
    PlannedDowngrade,
    PlannedRestore,
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Warned => "warned",
            Action::Disabled => "disabled",
            Action::Downgraded => "downgraded",
            Action::Restored => "restored",
            Action::Waiting => "waiting",
            Action::PlannedWarn => "planned_warn",
            Action::PlannedDisable => "planned_disable",
            Action::PlannedDowngrade => "planned_downgrade",
            Action::PlannedRestore => "planned_restore",
            Action::None => "none",
        }
    }
}

/// Why a run stopped: before doing anything, or part-way ([`Stopped`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the signed-in account lacks the privilege {privilege} (the sweep needs {})", needs.join(" and "))]
    MissingPrivilege {
        privilege: &'static str,
        /// Every privilege the configured action needs.
        needs: &'static [&'static str],
    },
    #[error("the sweep must sign in as an org administrator; app credentials cannot list and disable members")]
    NotAMember,
    #[error("PROTECTED_GROUPS names group {0:?}, which does not exist or is not visible")]
    ProtectedGroupMissing(String),
    /// `DOWNGRADE_TO` or `DOWNGRADE_ROLE` names what the org does not have.
    #[error(transparent)]
    Config(#[from] connectors::config::ConfigError),
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
    /// Writing `state/reclaimed.json` (an intent or a result).
    Reclaimed,
    /// An `updateUserLicenseType` call of a downgrade.
    Downgrade,
    /// An `updateUserLicenseType` call of a restore.
    Restore,
    /// Writing the report.
    Report,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::State => "recording the state in state/sweep.json",
            Step::Disable => "disabling members",
            Step::Reclaimed => "recording the licences in state/reclaimed.json",
            Step::Downgrade => "changing user types to release licences",
            Step::Restore => "giving licences back",
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
    /// Members whose licence was released (confirmed by the portal).
    pub downgraded: Vec<String>,
    /// Members given their licence back.
    pub restored: Vec<String>,
    /// Members mailed that their licence was released or given back.
    pub licence_notices: Vec<String>,
    /// Members the portal was asked to disable, or to change the user type
    /// of, without confirming it; the next run checks each account.
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
            && self.downgraded.is_empty()
            && self.restored.is_empty()
            && self.licence_notices.is_empty()
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
    /// What became of the members the run reached, for the admins' mail.
    pub acted: MemberTable,
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
    /// `disable` or `downgrade` (`SWEEP_ACTION`).
    pub sweep_action: &'static str,
    /// Members rollcall had disabled earlier on the run's day (UTC).
    pub disabled_today: usize,
    /// Members rollcall had downgraded earlier on the run's day (UTC).
    pub downgraded_today: usize,
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
    /// Members past the notice period this run (to disable or downgrade).
    #[serde(skip)]
    pub would_disable: usize,
    /// Licences released, given back and waiting, per user type.
    pub licences: Licences,
    /// Members by days since the last sign-in.
    pub inactivity: Inactivity,
    /// The members acted on (or tried, planned, held), for the summary.
    #[serde(skip)]
    pub acted: MemberTable,
    /// Warned members due to be disabled (or downgraded) at a later run.
    #[serde(skip)]
    pub coming_up: ComingUp,
    /// Why the circuit breaker tripped, when it did.
    #[serde(skip)]
    pub breaker_reason: Option<String>,
}

/// The licences a run released, gave back, and could not give back or
/// release yet, per user type id (planned ones in a dry run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Licences {
    pub reclaimed: BTreeMap<String, u64>,
    pub restored: BTreeMap<String, u64>,
    pub waiting: BTreeMap<String, u64>,
    /// Who waits, and why (the report has the same).
    #[serde(skip)]
    pub waiting_members: Vec<String>,
    #[serde(skip)]
    pub reclaimed_members: Vec<String>,
    #[serde(skip)]
    pub restored_members: Vec<String>,
    /// Members mailed that their licence was released or given back.
    #[serde(skip)]
    pub notified: Vec<String>,
    /// User type names for the summary: id → name.
    #[serde(skip)]
    pub type_names: BTreeMap<String, String>,
}

impl Licences {
    /// `Creator 2, Viewer 1` (names where the org gave them).
    pub fn per_type(&self, counts: &BTreeMap<String, u64>) -> String {
        if counts.is_empty() {
            return "none".into();
        }
        counts
            .iter()
            .map(|(id, n)| {
                let name = self
                    .type_names
                    .get(id)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(id);
                format!("{name} {n}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
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
