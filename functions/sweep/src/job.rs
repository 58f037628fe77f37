//! One sweep run: check privileges, list every member, classify, act
//! (writing ahead to the state), report, summarise.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use connectors::arcgis::{
    GroupLookup, GroupMembers, MemberListing, MemberLookup, MemberStatus, OrgInfo, Portal,
};
use connectors::deadline::Deadline;
use connectors::mail::Mailer;
use connectors::report::{put_report, ReportWriter};
use connectors::store::ObjectStore;
use tracing::{info, warn};

use crate::act::{Ctx, Halt, Recorder};
use crate::classify::{Need, Rules};
use crate::config::{SweepConfig, Thresholds};
use crate::listing::{Listing, Tally};
use crate::state;
use crate::templates;

pub(crate) use crate::member::{last_login, write_row, Candidate, Person};
pub use crate::outcome::{Action, Done, RunError, RunResult, Step, Stopped, ThresholdsView};

/// Every ArcGIS call the sweep makes.
pub trait SweepPorts:
    OrgInfo + MemberListing + MemberLookup + GroupLookup + GroupMembers + MemberStatus
{
}

impl<T> SweepPorts for T where
    T: OrgInfo + MemberListing + MemberLookup + GroupLookup + GroupMembers + MemberStatus
{
}
/// Privileges the signed-in account needs: to list members and to disable them.
pub const REQUIRED_PRIVILEGES: [&str; 2] = ["portal:admin:viewUsers", "portal:admin:disableUsers"];

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
        let today = now.date_naive();
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
        let Listing {
            mut report,
            classes,
            ops,
            mut candidates,
            members,
            recovered,
        } = tally.finish(listed.complete);
        if !listed.complete {
            notes.push(format!(
                "stopped listing before the Lambda deadline after {members} of {} members; the next run starts over and continues from the saved state",
                listed.total
            ));
        }
        notes.extend(recovered.notes());
        let complete = listed.complete;

        // The day's disables so far, with any an earlier run left unrecorded.
        let mut settled = loaded.state.clone();
        state::apply(&ops, &mut settled, today);
        let disabled_today = settled.disabled_on(today);
        let would_disable = candidates
            .iter()
            .filter(|c| c.decision.need == Need::Disabling)
            .count();
        let max = thresholds.max_disables_per_run;
        let breaker_tripped = would_disable > max.saturating_sub(disabled_today);
        let mut state_saved = false;
        let mut done = Done::default();
        if breaker_tripped {
            let why = breaker_note(would_disable, disabled_today, max, today);
            warn!(
                would_disable,
                disabled_today, max, "circuit breaker tripped"
            );
            for c in &mut candidates {
                c.reason = format!("{}; {why}", c.reason);
            }
            notes.push(why);
        } else if dry_run {
            for c in &mut candidates {
                match c.decision.need {
                    Need::Warning => c.action = Action::PlannedWarn,
                    Need::Disabling => c.action = Action::PlannedDisable,
                    Need::Nothing => c.note("the disable notice is due (not sent in a dry run)"),
                }
            }
        } else {
            let ctx = Ctx {
                templates: &templates,
                values: self.values_base(&portal),
                now,
                run_id,
                deadline,
            };
            let mut recorder = Recorder::new(self.store, bucket, run_id, today, ops);
            let acted = self
                .act(&mut candidates, &ctx, &mut recorder, &mut done)
                .await;
            state_saved = recorder.writes > 0;
            if let Err(Halt(step, source)) = acted {
                warn!(%step, error = %source, "sweep stopped part-way");
                let why = format!("not done: the run stopped when {step} failed");
                for c in &mut candidates {
                    if !c.reached && c.decision.need != Need::Nothing {
                        c.note(&why);
                    }
                    if c.notice_due.take().is_some() {
                        c.note("the disable notice is still due; the next run sends it");
                    }
                }
                write_rows(&mut report, &candidates);
                let report = put_report(self.store, bucket, "sweep", today, run_id, report)
                    .await
                    .ok();
                return Err(RunError::Stopped(Box::new(Stopped {
                    step,
                    source,
                    done,
                    report,
                })));
            }
        }

        let (actions, warned, disabled) = write_rows(&mut report, &candidates);
        let mut actions = actions;
        *actions.entry(Action::None.as_str()).or_default() += members - candidates.len() as u64;

        let report = match put_report(self.store, bucket, "sweep", today, run_id, report).await {
            Ok(report) => report,
            Err(source) => {
                return Err(RunError::Stopped(Box::new(Stopped {
                    step: Step::Report,
                    source,
                    done,
                    report: None,
                })))
            }
        };
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
            disabled_today,
            breaker_tripped,
            report,
            state_saved,
            notes,
            warned,
            disabled,
            notified: done.notified,
            would_disable,
        })
    }

    /// Warns, disables and sends the disable notices, each batch written
    /// ahead to the state; the settlement of what the listing found goes
    /// with the first write.
    async fn act(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        recorder: &mut Recorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        self.warn_members(candidates, ctx, recorder, done).await?;
        self.disable_members(candidates, ctx, recorder, done)
            .await?;
        self.send_notices(candidates, ctx, recorder, done).await?;
        recorder
            .record(Vec::new())
            .await
            .map_err(|e| Halt(Step::State, e))
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

/// Why the breaker tripped: too many for one run, or for the day.
fn breaker_note(
    would_disable: usize,
    disabled_today: usize,
    max: usize,
    today: NaiveDate,
) -> String {
    if disabled_today == 0 {
        format!(
            "circuit breaker: {would_disable} members would be disabled, more than MAX_DISABLES_PER_RUN ({max}); nobody was warned or disabled"
        )
    } else {
        format!(
            "circuit breaker: {would_disable} members would be disabled after {disabled_today} already disabled on {today}, more than the daily cap MAX_DISABLES_PER_RUN ({max}); nobody was warned or disabled"
        )
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

/// Writes every candidate's row; returns the actions counted and who was
/// warned and disabled (or would be).
fn write_rows(
    report: &mut ReportWriter,
    candidates: &[Candidate],
) -> (BTreeMap<&'static str, u64>, Vec<String>, Vec<String>) {
    let mut actions: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut warned = Vec::new();
    let mut disabled = Vec::new();
    for c in candidates {
        write_row(report, &c.user, &c.decision, c.action, &c.reason);
        *actions.entry(c.action.as_str()).or_default() += 1;
        match c.action {
            Action::Warned | Action::PlannedWarn => warned.push(c.user.username.clone()),
            Action::Disabled | Action::PlannedDisable => disabled.push(c.user.username.clone()),
            Action::None => {}
        }
    }
    (actions, warned, disabled)
}
