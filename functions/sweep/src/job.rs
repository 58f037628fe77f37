//! One sweep run: check privileges, list every member, classify, act,
//! report, summarise.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::arcgis::{
    GroupLookup, GroupMembers, LastLogin, MemberListing, MemberStatus, OrgInfo, Portal, User,
};
use connectors::deadline::Deadline;
use connectors::mail::Mailer;
use connectors::report::{put_report, ReportWriter};
use connectors::store::ObjectStore;
use connectors::Error;
use serde::Serialize;
use tracing::{info, warn};

use crate::classify::{Decision, Need, Rules};
use crate::config::{SweepConfig, Thresholds};
use crate::listing::Tally;
use crate::state;
use crate::templates;

/// Every ArcGIS call the sweep makes.
pub trait SweepPorts: OrgInfo + MemberListing + GroupLookup + GroupMembers + MemberStatus {}

impl<T> SweepPorts for T where T: OrgInfo + MemberListing + GroupLookup + GroupMembers + MemberStatus
{}
/// Privileges the signed-in account needs: to list members and to disable them.
pub const REQUIRED_PRIVILEGES: [&str; 2] = ["portal:admin:viewUsers", "portal:admin:disableUsers"];

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

/// Why a run stopped before doing anything.
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
}

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

/// A member needing a warning or disabling, kept until the actions are done.
pub(crate) struct Candidate {
    pub(crate) user: Person,
    pub(crate) decision: Decision,
    pub(crate) action: Action,
    pub(crate) reason: String,
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
    pub breaker_tripped: bool,
    pub report: String,
    pub state_saved: bool,
    pub notes: Vec<String>,
    #[serde(skip)]
    pub warned: Vec<String>,
    #[serde(skip)]
    pub disabled: Vec<String>,
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

/// The ports and settings of one run.
pub struct Sweep<'a, S, M, D> {
    pub store: &'a S,
    pub mailer: &'a M,
    pub arcgis: &'a D,
    pub config: &'a SweepConfig,
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Runs the sweep at `now` with `thresholds`; `dry_run` plans only.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        thresholds: Thresholds,
        dry_run: bool,
        run_id: &str,
        deadline: Deadline,
    ) -> Result<RunResult, RunError> {
        let bucket = self.config.report_bucket.as_str();
        let portal = self.arcgis.portal().await?;
        let signed_in = check_privileges(&portal)?;
        let protected_groups = self.protected_group_members().await?;
        let protected_users: HashSet<String> = self
            .config
            .protected_users
            .iter()
            .map(|u| u.to_ascii_lowercase())
            .collect();
        let loaded = state::load(self.store, bucket).await?;
        let (templates, mut notes) = templates::load(self.store, bucket).await?;
        let rules = Rules {
            now,
            thresholds,
            signed_in: &signed_in,
            protected_users: &protected_users,
            protected_group_members: &protected_groups,
        };

        let mut tally = Tally::new(&rules, &loaded.state);
        let listed = self
            .list_members(deadline, |users| tally.page(users))
            .await?;
        let Tally {
            mut report,
            classes,
            mut changes,
            mut candidates,
            seen_warned,
            members,
            ..
        } = tally;
        if listed.complete {
            // Members who left the org: their warnings go too.
            for name in loaded.state.warned.keys() {
                if !seen_warned.contains(name) {
                    changes.remove.insert(name.clone());
                }
            }
        } else {
            notes.push(format!(
                "stopped listing before the Lambda deadline after {members} of {} members; the next run starts over and continues from the saved warnings",
                listed.total
            ));
        }
        let complete = listed.complete;

        let would_disable = candidates
            .iter()
            .filter(|c| c.decision.need == Need::Disabling)
            .count();
        let breaker_tripped = would_disable > thresholds.max_disables_per_run;
        if breaker_tripped {
            let why = format!(
                "circuit breaker: {would_disable} members would be disabled, more than MAX_DISABLES_PER_RUN ({}); nobody was warned or disabled",
                thresholds.max_disables_per_run
            );
            warn!(
                would_disable,
                max = thresholds.max_disables_per_run,
                "circuit breaker tripped"
            );
            for c in &mut candidates {
                c.reason = format!("{}; {why}", c.decision.reason);
            }
            notes.push(why);
        } else if dry_run {
            for c in &mut candidates {
                c.action = match c.decision.need {
                    Need::Warning => Action::PlannedWarn,
                    _ => Action::PlannedDisable,
                };
            }
        } else {
            let values = self.values_base(&portal);
            self.warn_members(
                &mut candidates,
                &templates,
                &values,
                now,
                deadline,
                &mut changes,
            )
            .await;
            self.disable_members(&mut candidates, &templates, &values, deadline, &mut changes)
                .await;
        }

        let mut actions: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut warned = Vec::new();
        let mut disabled = Vec::new();
        for c in &candidates {
            write_row(&mut report, &c.user, &c.decision, c.action, &c.reason);
            *actions.entry(c.action.as_str()).or_default() += 1;
            match c.action {
                Action::Warned | Action::PlannedWarn => warned.push(c.user.username.clone()),
                Action::Disabled | Action::PlannedDisable => disabled.push(c.user.username.clone()),
                Action::None => {}
            }
        }
        *actions.entry(Action::None.as_str()).or_default() += members - candidates.len() as u64;

        let mut state_saved = false;
        if !dry_run && !breaker_tripped && !changes.is_empty() {
            state::save(self.store, bucket, loaded, &changes, run_id).await?;
            state_saved = true;
        }

        let report = put_report(
            self.store,
            bucket,
            "sweep",
            now.date_naive(),
            run_id,
            report,
        )
        .await?;
        info!(members, complete, breaker_tripped, dry_run, "sweep done");
        Ok(RunResult {
            now,
            dry_run,
            thresholds: ThresholdsView {
                notify_after_days: thresholds.notify_after_days,
                disable_after_days: thresholds.disable_after_days,
                notice_days: thresholds.notice_days,
                new_account_grace_days: thresholds.new_account_grace_days,
                max_disables_per_run: thresholds.max_disables_per_run,
            },
            members,
            complete,
            classes,
            actions,
            breaker_tripped,
            report,
            state_saved,
            notes,
            warned,
            disabled,
            would_disable,
        })
    }

    async fn protected_group_members(&self) -> Result<HashSet<String>, RunError> {
        let mut members = HashSet::new();
        for group in &self.config.protected_groups {
            if self.arcgis.group(group).await?.is_none() {
                return Err(RunError::ProtectedGroupMissing(group.clone()));
            }
            for name in self.arcgis.group_members(group).await? {
                members.insert(name.to_ascii_lowercase());
            }
        }
        Ok(members)
    }
}

/// The signed-in username, lower-cased, if it holds every needed privilege.
fn check_privileges(portal: &Portal) -> Result<String, RunError> {
    let caller = portal.caller.as_ref().ok_or(RunError::NotAMember)?;
    for privilege in REQUIRED_PRIVILEGES {
        if !caller.privileges.iter().any(|p| p == privilege) {
            return Err(RunError::MissingPrivilege { privilege });
        }
    }
    Ok(caller.username.to_ascii_lowercase())
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

pub(crate) fn write_row(
    report: &mut ReportWriter,
    user: &Person,
    decision: &Decision,
    action: Action,
    reason: &str,
) {
    report.row([
        user.username.as_str(),
        user.email.as_deref().unwrap_or(""),
        &last_login(user),
        &decision
            .days_inactive
            .map(|d| d.to_string())
            .unwrap_or_default(),
        decision.class.as_str(),
        action.as_str(),
        reason,
    ]);
}
