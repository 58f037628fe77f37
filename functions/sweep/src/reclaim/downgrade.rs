//! Downgrades: [`BULK_USERS_BATCH`] members a batch, written ahead to
//! `state/reclaimed.json` (what each member had, before any change; the
//! results after). The role goes first, where one is due, then the user
//! type in one call; a member whose type change the portal refuses gets
//! their role back.

use std::collections::HashSet;

use connectors::arcgis::{BulkResult, BULK_USERS_BATCH};
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use connectors::Error;

use super::state::{Change, DowngradeIntent, Kind, Notice, NoticeDue, Op, Waiting};
use super::{date_in, next_change_day, ReclaimRecorder, Refusal, Target, TYPE_CHANGE_DAYS};
use crate::act::{Ctx, Halt, Recorder};
use crate::classify::Need;
use crate::digest::Happened;
use crate::job::{Action, Candidate, Done, Step, Sweep, SweepPorts};
use crate::state::Op as SweepOp;

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Downgrades every member past the notice period. A failed type call
    /// stops the run once what it did is known and recorded; members it
    /// may have changed keep their intent, which the next run checks
    /// against the member's user type.
    pub(crate) async fn downgrade_members(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        recorder: &mut Recorder<'_, S>,
        reclaim: &mut ReclaimRecorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        let Some(target) = ctx.target else {
            return Ok(());
        };
        let margin = self.config.common.deadline_margin;
        let due: Vec<usize> = (0..candidates.len())
            .filter(|i| candidates[*i].decision.need == Need::Disabling)
            .collect();
        let mut cut = false;
        for batch in due.chunks(BULK_USERS_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                for index in batch {
                    let c = &mut candidates[*index];
                    c.settle("not reached before the Lambda deadline; the next run downgrades");
                    c.set_back(Happened::NotReached, None);
                }
                continue;
            }
            let intents: Vec<Op> = batch
                .iter()
                .map(|i| {
                    let c = &candidates[*i];
                    Op::IntendDowngrade(c.key(), intent(c, ctx, target))
                })
                .collect();
            reclaim
                .record(intents)
                .await
                .map_err(|e| Halt(Step::Reclaimed, e))?;
            let mut ops = Vec::new();
            let (ready, role_changed) = self
                .downgrade_roles(candidates, batch, target, &mut ops, done)
                .await;
            let names: Vec<String> = ready
                .iter()
                .map(|i| candidates[*i].user.username.clone())
                .collect();
            let (results, failure) = if names.is_empty() {
                (Vec::new(), None)
            } else {
                match self
                    .arcgis
                    .update_user_type(&names, &target.user_type)
                    .await
                {
                    Ok(results) => (results, None),
                    Err(e) => (
                        self.confirm_user_type(&names, &target.user_type).await,
                        Some(e),
                    ),
                }
            };
            let mut sweep_ops = Vec::new();
            for index in ready {
                let c = &mut candidates[index];
                let key = c.key();
                let result = results
                    .iter()
                    .find(|r| r.username.eq_ignore_ascii_case(&c.user.username));
                if let Some(BulkResult { ok: true, .. }) = result {
                    let record = intent(c, ctx, target).reclaimed();
                    ops.push(Op::Downgraded(key.clone(), record.clone()));
                    ops.push(Op::Settled(Kind::Downgrade, key.clone()));
                    sweep_ops.push(SweepOp::Unwarned(key));
                    c.action = Action::Downgraded;
                    c.reached = true;
                    c.reclaim.notice = Some(NoticeDue {
                        notice: Notice::Released,
                        at: ctx.now,
                        user_type: record.user_type.clone(),
                        now_holds: target.user_type.clone(),
                    });
                    c.reclaim.user_type = Some(target.user_type.clone());
                    if let Some(role) = &target.role {
                        c.reclaim.role = Some(role.clone());
                    }
                    c.reclaim.record = Some(record);
                    c.reclaim.repair_role = None;
                    c.reclaim.waiting = None;
                    done.downgraded.push(c.user.username.clone());
                    continue;
                }
                let why = result
                    .and_then(|r| r.error.clone())
                    .unwrap_or_else(|| "the portal did not answer for this member".into());
                if failure.is_some() {
                    // The intent stays: the next run checks the member's type.
                    c.settle(&format!(
                        "downgrading failed: {why}; the next run checks the account and tries again"
                    ));
                    c.set_back(Happened::DowngradeFailed, Some(why));
                    done.unconfirmed.push(c.user.username.clone());
                    continue;
                }
                // Refused: the member keeps the role they had.
                if role_changed.contains(&index) || c.reclaim.repair_role.is_some() {
                    let had = c.reclaim.had_role().unwrap_or_default();
                    if let Err(e) = self.arcgis.update_role(&c.user.username, &had).await {
                        c.settle(&format!(
                            "not downgraded: {why}; putting the role {had} back failed too ({e}); the next run puts it back"
                        ));
                        c.set_back(Happened::DowngradeFailed, Some(why));
                        continue;
                    }
                }
                ops.push(Op::Settled(Kind::Downgrade, key.clone()));
                match Refusal::of(&why) {
                    Refusal::TooSoon => {
                        // The portal's date, or at the latest 30 days after
                        // the first refusal (the last change was not ours).
                        let said = date_in(&why);
                        let until = said
                            .or_else(|| c.reclaim.waiting.as_ref().and_then(|w| w.until))
                            .filter(|d| *d > ctx.now.date_naive())
                            .unwrap_or_else(|| next_change_day(ctx.now));
                        let when = if said.is_some() {
                            format!("possible from {}", until.format("%Y-%m-%d"))
                        } else {
                            format!("possible by {} at the latest", until.format("%Y-%m-%d"))
                        };
                        let waiting = Waiting {
                            change: Change::Downgrade,
                            since: ctx.now,
                            until: Some(until),
                            reason: why.clone(),
                        };
                        ops.push(Op::Wait(key, waiting.clone()));
                        c.reclaim.waiting = Some(waiting);
                        c.action = Action::Waiting;
                        c.settle(&format!(
                            "waiting: the portal allows one user-type change in {TYPE_CHANGE_DAYS} days ({why}); each run tries again, {when}"
                        ));
                    }
                    Refusal::NoLicence | Refusal::Other => {
                        c.settle(&format!("not downgraded: the portal refused: {why}"));
                        c.set_back(Happened::DowngradeFailed, Some(why));
                    }
                }
            }
            reclaim
                .record(ops)
                .await
                .map_err(|e| Halt(Step::Reclaimed, e))?;
            recorder.defer(sweep_ops);
            if let Some(e) = failure {
                return Err(Halt(Step::Downgrade, e));
            }
        }
        Ok(())
    }

    /// Gives the batch's members the downgrade role where one is due.
    /// Returns the members ready for the type change and those whose role
    /// changed; a refused role change settles the member's intent, a call
    /// whose outcome is unknown leaves it for the next run to check.
    async fn downgrade_roles(
        &self,
        candidates: &mut [Candidate],
        batch: &[usize],
        target: &Target,
        ops: &mut Vec<Op>,
        done: &mut Done,
    ) -> (Vec<usize>, HashSet<usize>) {
        let mut ready = Vec::new();
        let mut changed = HashSet::new();
        for index in batch {
            let c = &mut candidates[*index];
            let due = target
                .role
                .as_deref()
                .filter(|role| c.reclaim.role.as_deref() != Some(*role));
            let Some(role) = due else {
                ready.push(*index);
                continue;
            };
            match self.arcgis.update_role(&c.user.username, role).await {
                Ok(()) => {
                    ready.push(*index);
                    changed.insert(*index);
                }
                Err(Error::Api { message, .. }) => {
                    ops.push(Op::Settled(Kind::Downgrade, c.key()));
                    c.settle(&format!(
                        "not downgraded: the portal refused the role {role}: {message}"
                    ));
                    c.set_back(Happened::DowngradeFailed, Some(message));
                }
                Err(e) => {
                    c.settle(&format!(
                        "not downgraded: changing the role to {role} failed ({e}); the next run checks the account"
                    ));
                    c.set_back(Happened::DowngradeFailed, Some(e.to_string()));
                    done.unconfirmed.push(c.user.username.clone());
                }
            }
        }
        (ready, changed)
    }

    /// After a failed type call: whether each member holds `user_type` now.
    pub(crate) async fn confirm_user_type(
        &self,
        usernames: &[String],
        user_type: &str,
    ) -> Vec<BulkResult> {
        let mut results = Vec::with_capacity(usernames.len());
        for name in usernames {
            let error = match self.arcgis.user(name).await {
                Ok(Some(user)) if user.user_license_type_id.as_deref() == Some(user_type) => None,
                Ok(Some(user)) => Some(format!(
                    "the call failed and the member still holds {}",
                    user.user_license_type_id
                        .as_deref()
                        .unwrap_or("no user type")
                )),
                Ok(None) => Some("the call failed and no such member was found".to_string()),
                Err(e) => Some(format!(
                    "the call failed and looking the member up failed too: {e}"
                )),
            };
            results.push(BulkResult {
                username: name.clone(),
                ok: error.is_none(),
                error,
            });
        }
        results
    }
}

/// The intent of downgrading `c`: what they hold now, and what they get.
fn intent(c: &Candidate, ctx: &Ctx<'_>, target: &Target) -> DowngradeIntent {
    DowngradeIntent {
        run: ctx.run_id.to_string(),
        at: ctx.now,
        user_type: c.reclaim.user_type.clone().unwrap_or_default(),
        role: c.reclaim.had_role().unwrap_or_default(),
        to: target.user_type.clone(),
    }
}
