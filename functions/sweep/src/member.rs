//! What the sweep keeps of a member awaiting an action, and the member's
//! line in the report.

use chrono::{DateTime, Utc};
use connectors::arcgis::{LastLogin, User};

use crate::classify::Decision;
use crate::digest::{Happened, Setback};
use crate::outcome::Action;
use crate::reclaim::MemberReclaim;

/// What the report and the mails need of a member: kept for the members
/// awaiting an action instead of the whole listing entry.
pub(crate) struct Person {
    pub(crate) username: String,
    pub(crate) email: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) full_name: Option<String>,
    pub(crate) last_login: LastLogin,
}

impl From<User> for Person {
    fn from(user: User) -> Self {
        Self {
            username: user.username,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            full_name: user.full_name,
            last_login: user.last_login,
        }
    }
}

/// A member needing a warning, disabling or a disable notice, kept until
/// the actions are done.
pub(crate) struct Candidate {
    pub(crate) user: Person,
    pub(crate) decision: Decision,
    pub(crate) action: Action,
    pub(crate) reason: String,
    /// When rollcall disabled the member, while their disable notice is due.
    pub(crate) notice_due: Option<DateTime<Utc>>,
    /// The run got to this member's warning or disabling (done, failed or cut short).
    pub(crate) reached: bool,
    /// The member's licence reclamation.
    pub(crate) reclaim: MemberReclaim,
    /// Why the member's action was not done, for the admins' summary.
    pub(crate) setback: Option<Box<Setback>>,
}

impl Candidate {
    /// The state's key of the member.
    pub(crate) fn key(&self) -> String {
        self.user.username.to_ascii_lowercase()
    }

    /// Adds `why` to the reason.
    pub(crate) fn note(&mut self, why: &str) {
        self.reason = format!("{}; {why}", self.reason);
    }

    /// Marks the member's action as reached, with `why` it was not done.
    pub(crate) fn settle(&mut self, why: &str) {
        self.reached = true;
        self.note(why);
    }

    /// Records for the summary that the action was not done: what, and
    /// the service's reason for a failure.
    pub(crate) fn set_back(&mut self, happened: Happened, why: Option<String>) {
        self.setback = Some(Box::new(Setback { happened, why }));
    }
}

pub(crate) fn last_login(user: &Person) -> String {
    match user.last_login {
        LastLogin::At(ms) => DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into()),
        LastLogin::Never => "never".into(),
        LastLogin::Unknown => "unknown".into(),
    }
}

/// The report's columns; a sweep that downgrades adds the last three.
pub(crate) fn report_columns(downgrades: bool) -> Vec<&'static str> {
    let mut columns = vec![
        "username",
        "email",
        "last_login",
        "days_inactive",
        "classification",
        "action",
        "reason",
    ];
    if downgrades {
        columns.extend(["user_type", "previous_user_type", "possible_from"]);
    }
    columns
}

/// One member's line; `reclaim` (a sweep that downgrades) fills the
/// user type held, the one rollcall gives back, and the day a waiting
/// change becomes possible.
pub(crate) fn report_row(
    user: &Person,
    decision: &Decision,
    action: Action,
    reason: &str,
    reclaim: Option<&MemberReclaim>,
) -> Vec<String> {
    let mut row = vec![
        user.username.clone(),
        user.email.clone().unwrap_or_default(),
        last_login(user),
        decision
            .days_inactive
            .map(|d| d.to_string())
            .unwrap_or_default(),
        decision.class.as_str().to_string(),
        action.as_str().to_string(),
        reason.to_string(),
    ];
    if let Some(r) = reclaim {
        row.push(r.user_type.clone().unwrap_or_default());
        row.push(
            r.record
                .as_ref()
                .map(|rec| rec.user_type.clone())
                .unwrap_or_default(),
        );
        row.push(
            r.waiting
                .as_ref()
                .and_then(|w| w.until)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
    }
    row
}
