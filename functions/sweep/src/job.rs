//! One sweep run: check privileges, list every member, classify, act
//! (writing ahead to the state), report, summarise.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::arcgis::{
    GroupLookup, GroupMembers, Licences as LicenceCounts, MemberListing, MemberLookup,
    MemberStatus, MemberUpdate, OrgCatalog, OrgInfo, Portal, RoleAdmin,
};
use connectors::deadline::Deadline;
use connectors::mail::Mailer;
use connectors::report::ReportUpload;
use connectors::store::{MultipartUploads, ObjectStore};
use tracing::{info, warn};

use crate::act::{Ctx, Halt, Recorder};
use crate::classify::{Need, Rules};
use crate::config::{SweepAction, SweepConfig, Thresholds};
use crate::digest::{Happened, MemberTable};
use crate::listing::{Listing, ListingError, Tally};
use crate::member::report_columns;
use crate::reclaim::restore::FreeSeats;
use crate::reclaim::{self, ReclaimRecorder, Target};
use crate::rows::{breaker_note, plan_dry_run, tabulate, write_rows};
use crate::state;
use crate::templates;

pub(crate) use crate::member::{last_login, report_row, Candidate, Person};
pub use crate::outcome::{
    Action, Done, Licences, RunError, RunResult, Step, Stopped, ThresholdsView,
};

/// Every ArcGIS call the sweep makes.
pub trait SweepPorts:
    OrgInfo
    + OrgCatalog
    + MemberListing
    + MemberLookup
    + GroupLookup
    + GroupMembers
    + MemberStatus
    + MemberUpdate
    + RoleAdmin
    + LicenceCounts
{
}

impl<T> SweepPorts for T where
    T: OrgInfo
        + OrgCatalog
        + MemberListing
        + MemberLookup
        + GroupLookup
        + GroupMembers
        + MemberStatus
        + MemberUpdate
        + RoleAdmin
        + LicenceCounts
{
}
/// Privileges the signed-in account needs to list members and disable them.
pub const REQUIRED_PRIVILEGES: [&str; 2] = ["portal:admin:viewUsers", "portal:admin:disableUsers"];

/// Privileges the signed-in account needs to list members, change their
/// roles and change their user types (`SWEEP_ACTION=downgrade`).
pub const DOWNGRADE_PRIVILEGES: [&str; 3] = [
    "portal:admin:viewUsers",
    "portal:admin:changeUserRoles",
    "portal:admin:manageLicenses",
];

/// The privileges the configured action needs.
pub fn required_privileges(action: &SweepAction) -> &'static [&'static str] {
    match action {
        SweepAction::Disable => &REQUIRED_PRIVILEGES,
        SweepAction::Downgrade(_) => &DOWNGRADE_PRIVILEGES,
    }
}

/// The ports and settings of one run.
pub struct Sweep<'a, S, M, D> {
    pub store: &'a S,
    pub mailer: &'a M,
    pub arcgis: &'a D,
    pub config: &'a SweepConfig,
}

impl<S: ObjectStore + MultipartUploads, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
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
        let signed_in = check_privileges(&portal, &self.config.action)?;
        let target = self.target().await?;
        let protected_groups = self.protected_group_members().await?;
        let protected_users: HashSet<String> = self
            .config
            .protected_users
            .iter()
            .map(|u| u.to_ascii_lowercase())
            .collect();
        let loaded = state::load(self.store, bucket).await?;
        let (reclaimed, _) = reclaim::state::load(self.store, bucket).await?;
        let type_names = match &target {
            Some(t) => t.type_names.clone(),
            None if !reclaimed.members.is_empty() || !reclaimed.notices_due.is_empty() => self
                .arcgis
                .user_types()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            None => BTreeMap::new(),
        };
        let (templates, mut notes) = templates::load(self.store, bucket).await?;
        let rules = Rules {
            now,
            thresholds,
            signed_in: &signed_in,
            protected_users: &protected_users,
            protected_group_members: &protected_groups,
            downgrade_to: target.as_ref().map(|t| t.user_type.as_str()),
        };

        let mut tally = Tally::new(&rules, &loaded.state, &reclaimed, dry_run);
        // Streamed as the listing goes; the candidates' lines follow once
        // their actions are done. The report's futures are boxed to keep
        // the run's own future (and a debug build's stack) small.
        let mut report = ReportUpload::new(
            self.store,
            bucket,
            "sweep",
            today,
            run_id,
            &report_columns(target.is_some()),
        );
        let listed = match Box::pin(self.list_members(deadline, &mut tally, &mut report)).await {
            Ok(listed) => listed,
            Err(e) => {
                let _ = report.abort().await;
                return Err(match e {
                    ListingError::Portal(e) => RunError::Service(e),
                    ListingError::Report(source) => RunError::Stopped(Box::new(Stopped {
                        step: Step::Report,
                        source,
                        done: Done::default(),
                        report: None,
                        acted: MemberTable::default(),
                    })),
                });
            }
        };
        let Listing {
            classes,
            ops,
            reclaim_ops,
            mut candidates,
            planned,
            members,
            recovered,
            recovered_reclaim,
            inactivity,
            mut coming_up,
            planned_table,
        } = tally.finish(listed.complete);
        if !listed.complete {
            notes.push(format!(
                "stopped listing before the Lambda deadline after {members} of {} members; the next run starts over and continues from the saved state",
                listed.total
            ));
        }
        notes.extend(recovered.notes());
        notes.extend(recovered_reclaim.notes());
        let complete = listed.complete;

        // The day's disables and downgrades so far, with any an earlier run
        // left unrecorded.
        let mut settled = loaded.state.clone();
        state::apply(&ops, &mut settled, today);
        let mut settled_reclaim = reclaimed.clone();
        reclaim::state::apply(&reclaim_ops, &mut settled_reclaim, today);
        let disabled_today = settled.disabled_on(today);
        let downgraded_today = settled_reclaim.downgraded_on(today);
        let acted_today = disabled_today + downgraded_today;
        let would_disable = candidates
            .iter()
            .filter(|c| c.decision.need == Need::Disabling)
            .count();
        let max = thresholds.max_disables_per_run;
        let breaker_tripped = would_disable > max.saturating_sub(acted_today);
        let acting = if target.is_some() {
            "downgraded"
        } else {
            "disabled"
        };
        let mut seats = self.free_seats(&candidates, &mut notes).await;
        let mut state_saved = false;
        let mut done = Done::default();
        let mut breaker = None;
        if breaker_tripped {
            let why = breaker_note(would_disable, acted_today, max, today, acting);
            warn!(would_disable, acted_today, max, "circuit breaker tripped");
            for c in &mut candidates {
                c.reason = format!("{}; {why}", c.reason);
            }
            breaker = Some(why.clone());
            notes.push(why);
        } else if dry_run {
            plan_dry_run(&mut candidates, target.is_some(), &mut seats, &type_names);
        } else {
            let ctx = Ctx {
                templates: &templates,
                values: self.values_base(&portal),
                now,
                run_id,
                deadline,
                target: target.as_ref(),
                type_names: &type_names,
            };
            let mut recorder = Recorder::new(self.store, bucket, run_id, today, ops);
            let mut reclaim_recorder =
                ReclaimRecorder::new(self.store, bucket, run_id, today, reclaim_ops);
            let acted = self
                .act(
                    &mut candidates,
                    &ctx,
                    (&mut recorder, &mut reclaim_recorder),
                    &mut seats,
                    &mut done,
                )
                .await;
            state_saved = recorder.writes + reclaim_recorder.writes > 0;
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
                    if c.reclaim.notice.take().is_some() {
                        c.note("the licence notice is still due; the next run sends it");
                    }
                }
                let report = match Box::pin(write_rows(
                    &mut report,
                    &candidates,
                    (&planned, None),
                    target.is_some(),
                    &type_names,
                ))
                .await
                {
                    Ok(_) => Box::pin(report.finish()).await.ok(),
                    Err(_) => {
                        let _ = report.abort().await;
                        None
                    }
                };
                let acted = tabulate(&candidates, false, target.is_some());
                return Err(RunError::Stopped(Box::new(Stopped {
                    step,
                    source,
                    done,
                    report,
                    acted,
                })));
            }
        }

        let written = match Box::pin(write_rows(
            &mut report,
            &candidates,
            (&planned, breaker.as_deref()),
            target.is_some(),
            &type_names,
        ))
        .await
        {
            Ok(rows) => Box::pin(report.finish()).await.map(|uri| (rows, uri)),
            Err(e) => {
                let _ = report.abort().await;
                Err(e)
            }
        };
        let (rows, report) = match written {
            Ok(written) => written,
            Err(source) => {
                let acted = tabulate(&candidates, false, target.is_some());
                return Err(RunError::Stopped(Box::new(Stopped {
                    step: Step::Report,
                    source,
                    done,
                    report: None,
                    acted,
                })));
            }
        };
        let mut actions = rows.actions;
        *actions.entry(Action::None.as_str()).or_default() +=
            members - candidates.len() as u64 - planned.len() as u64;
        let mut licences = rows.licences;
        licences.notified = done.licence_notices.clone();
        let mut acted = planned_table;
        if breaker_tripped {
            acted.relabel(Happened::WouldWarn, Happened::WarningHeld);
        }
        acted.merge(tabulate(&candidates, breaker_tripped, target.is_some()));
        for c in candidates.iter().filter(|c| c.action == Action::Warned) {
            if let Some(on) = c.decision.disable_on {
                coming_up.push(&c.user, now, on, now);
            }
        }
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
            sweep_action: if target.is_some() {
                "downgrade"
            } else {
                "disable"
            },
            disabled_today,
            downgraded_today,
            breaker_tripped,
            report,
            state_saved,
            notes,
            warned: rows.warned,
            disabled: rows.disabled,
            notified: done.notified,
            would_disable,
            licences,
            inactivity,
            acted,
            coming_up,
            breaker_reason: breaker,
        })
    }

    /// Warns, disables or downgrades, gives licences back and sends the
    /// notices, each batch written ahead to its state; the settlement of
    /// what the listing found goes with the first write of each.
    async fn act(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        (recorder, reclaim): (&mut Recorder<'_, S>, &mut ReclaimRecorder<'_, S>),
        seats: &mut FreeSeats,
        done: &mut Done,
    ) -> Result<(), Halt> {
        self.warn_members(candidates, ctx, recorder, done).await?;
        if ctx.target.is_some() {
            self.downgrade_members(candidates, ctx, recorder, reclaim, done)
                .await?;
        } else {
            self.disable_members(candidates, ctx, recorder, done)
                .await?;
        }
        self.restore_members(candidates, ctx, reclaim, seats, done)
            .await?;
        self.send_notices(candidates, ctx, recorder, done).await?;
        self.send_licence_notices(candidates, ctx, reclaim, done)
            .await?;
        reclaim
            .record(Vec::new())
            .await
            .map_err(|e| Halt(Step::Reclaimed, e))?;
        recorder
            .record(Vec::new())
            .await
            .map_err(|e| Halt(Step::State, e))
    }

    /// What a downgrade gives, checked against the org, when the sweep downgrades.
    async fn target(&self) -> Result<Option<Target>, RunError> {
        let Some(downgrade) = self.config.action.downgrade() else {
            return Ok(None);
        };
        match reclaim::resolve(self.arcgis, downgrade).await {
            Ok(target) => Ok(Some(target)),
            Err(reclaim::ResolveError::Config(e)) => Err(RunError::Config(e)),
            Err(reclaim::ResolveError::Service(e)) => Err(RunError::Service(e)),
        }
    }

    /// The org's free licences, read when a licence is to be given back.
    /// A portal that does not say (or cannot be asked) leaves each restore
    /// to the portal, and the summary says so.
    async fn free_seats(&self, candidates: &[Candidate], notes: &mut Vec<String>) -> FreeSeats {
        let wanted = reclaim::restore::plans(candidates)
            .iter()
            .any(|(_, plan)| plan.user_type.is_some());
        if !wanted {
            return FreeSeats::new(None);
        }
        match self.arcgis.seats().await {
            Ok(Some(seats)) => FreeSeats::new(Some(seats)),
            Ok(None) => {
                notes.push(
                    "the portal does not say how many licences are free; each licence was asked back and the portal decided".into(),
                );
                FreeSeats::new(None)
            }
            Err(e) => {
                notes.push(format!(
                    "the org's licence counts could not be read ({e}); each licence was asked back and the portal decided"
                ));
                FreeSeats::new(None)
            }
        }
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
fn check_privileges(portal: &Portal, action: &SweepAction) -> Result<String, RunError> {
    let caller = portal.caller.as_ref().ok_or(RunError::NotAMember)?;
    let needs = required_privileges(action);
    for privilege in needs {
        if !caller.privileges.iter().any(|p| p == privilege) {
            return Err(RunError::MissingPrivilege { privilege, needs });
        }
    }
    Ok(caller.username.to_ascii_lowercase())
}
