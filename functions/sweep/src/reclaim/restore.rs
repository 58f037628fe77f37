//! Restores: members who signed in after their licence was released get
//! back the user type and role they had, when the org has the licence free
//! (`Licences::seats`; when the portal does not say, the portal decides).
//! The type goes first, [`BULK_USERS_BATCH`] members of one type a call,
//! then the role; each batch is written ahead to `state/reclaimed.json`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use connectors::arcgis::{BulkResult, Seats, BULK_USERS_BATCH};
use connectors::mail::Mailer;
use connectors::store::ObjectStore;

use super::settle::Restore;
use super::state::{Change, Kind, Notice, NoticeDue, Op, Waiting};
use super::{date_in, next_change_day, ReclaimRecorder, Refusal, TYPE_CHANGE_DAYS};
use crate::act::{Ctx, Halt};
use crate::classify::Need;
use crate::digest::Happened;
use crate::job::{Action, Candidate, Done, Step, Sweep, SweepPorts};

/// Free licences per user type, as the run hands them out.
pub(crate) struct FreeSeats(BTreeMap<String, Seats>);

impl FreeSeats {
    pub(crate) fn new(seats: Option<Vec<Seats>>) -> Self {
        Self(
            seats
                .unwrap_or_default()
                .into_iter()
                .map(|s| (s.user_type.clone(), s))
                .collect(),
        )
    }

    /// Takes a licence of `user_type`; `Err` with the reason when none is
    /// free. A type the portal did not count is left to the portal.
    pub(crate) fn take(&mut self, user_type: &str, name: &str) -> Result<(), String> {
        match self.0.get_mut(user_type) {
            Some(seats) if seats.free() == 0 => Err(format!(
                "no {name} licence free ({} of {})",
                seats.free(),
                seats.purchased
            )),
            Some(seats) => {
                seats.assigned += 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The members to restore: who signed in after a downgrade, and whose role
/// a failed downgrade left changed (unless this run downgrades them again,
/// recording the role they had).
pub(crate) fn plans(candidates: &[Candidate]) -> Vec<(usize, Restore)> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.decision.need == Need::Restoring
                || (c.reclaim.repair_role.is_some() && c.decision.need != Need::Disabling)
        })
        .filter_map(|(i, c)| c.reclaim.restore().map(|r| (i, r)))
        .filter(|(_, r)| r.user_type.is_some() || r.role.is_some())
        .collect()
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Gives back what rollcall took, a batch at a time: intents, the type
    /// call, the roles, results. A failed type call stops the run once what
    /// it did is known and recorded.
    pub(crate) async fn restore_members(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        reclaim: &mut ReclaimRecorder<'_, S>,
        seats: &mut FreeSeats,
        done: &mut Done,
    ) -> Result<(), Halt> {
        let margin = self.config.common.deadline_margin;
        let mut batches: BTreeMap<Option<String>, Vec<(usize, Restore)>> = BTreeMap::new();
        let mut waits = Vec::new();
        for (index, plan) in plans(candidates) {
            if let Some(user_type) = &plan.user_type {
                if let Err(why) = seats.take(user_type, &ctx.type_name(user_type)) {
                    let c = &mut candidates[index];
                    let waiting = Waiting {
                        change: Change::Restore,
                        since: ctx.now,
                        until: None,
                        reason: why.clone(),
                    };
                    waits.push(Op::Wait(c.key(), waiting.clone()));
                    c.reclaim.waiting = Some(waiting);
                    c.action = Action::Waiting;
                    c.settle(&format!(
                        "waiting: {why}; each run tries again while the member is waiting"
                    ));
                    continue;
                }
            }
            batches
                .entry(plan.user_type.clone())
                .or_default()
                .push((index, plan));
        }
        reclaim.defer(waits);
        let mut cut = false;
        for (user_type, members) in batches {
            for batch in members.chunks(BULK_USERS_BATCH) {
                if cut || !ctx.deadline.allows(margin) {
                    cut = true;
                    for (index, _) in batch {
                        let c = &mut candidates[*index];
                        c.settle(
                            "not reached before the Lambda deadline; the next run gives the licence back",
                        );
                        c.set_back(Happened::NotReached, None);
                    }
                    continue;
                }
                let intents: Vec<Op> = batch
                    .iter()
                    .map(|(i, _)| Op::IntendRestore(candidates[*i].key(), ctx.intent()))
                    .collect();
                reclaim
                    .record(intents)
                    .await
                    .map_err(|e| Halt(Step::Reclaimed, e))?;
                let failure = self
                    .restore_batch(candidates, batch, user_type.as_deref(), ctx, reclaim, done)
                    .await?;
                if let Some(e) = failure {
                    return Err(Halt(Step::Restore, e));
                }
            }
        }
        Ok(())
    }

    /// One batch: the type call (when one is due), then each role, then
    /// the results. Returns the type call's error, once recorded.
    async fn restore_batch(
        &self,
        candidates: &mut [Candidate],
        batch: &[(usize, Restore)],
        user_type: Option<&str>,
        ctx: &Ctx<'_>,
        reclaim: &mut ReclaimRecorder<'_, S>,
        done: &mut Done,
    ) -> Result<Option<connectors::Error>, Halt> {
        let names: Vec<String> = batch
            .iter()
            .map(|(i, _)| candidates[*i].user.username.clone())
            .collect();
        let (results, failure) = match user_type {
            None => (Vec::new(), None),
            Some(t) => match self.arcgis.update_user_type(&names, t).await {
                Ok(results) => (results, None),
                Err(e) => (self.confirm_user_type(&names, t).await, Some(e)),
            },
        };
        let mut ops = Vec::new();
        for (index, plan) in batch {
            let c = &mut candidates[*index];
            let key = c.key();
            if plan.user_type.is_some() {
                let result = results
                    .iter()
                    .find(|r| r.username.eq_ignore_ascii_case(&c.user.username));
                if !matches!(result, Some(BulkResult { ok: true, .. })) {
                    let why = result
                        .and_then(|r| r.error.clone())
                        .unwrap_or_else(|| "the portal did not answer for this member".into());
                    if failure.is_some() {
                        c.settle(&format!(
                            "giving the licence back failed: {why}; the next run checks the account and tries again"
                        ));
                        c.set_back(Happened::RestoreFailed, Some(why));
                        done.unconfirmed.push(c.user.username.clone());
                        continue;
                    }
                    ops.push(Op::Settled(Kind::Restore, key.clone()));
                    refused(c, ctx, &why, &mut ops);
                    continue;
                }
                c.reclaim.user_type = plan.user_type.clone();
            }
            if let Some(role) = &plan.role {
                if let Err(e) = self.arcgis.update_role(&c.user.username, role).await {
                    ops.push(Op::Settled(Kind::Restore, key));
                    let what = if plan.user_type.is_some() {
                        "the user type was given back, but "
                    } else {
                        ""
                    };
                    c.settle(&format!(
                        "{what}giving the role {role} back failed: {e}; the next run tries again"
                    ));
                    c.set_back(Happened::RestoreFailed, Some(e.to_string()));
                    continue;
                }
                c.reclaim.role = Some(role.clone());
            }
            ops.push(Op::Restored {
                name: key.clone(),
                at: ctx.now,
                user_type: plan.had.clone(),
                notify: plan.notify,
            });
            if c.reclaim.repair_role.is_some() {
                // The unfinished downgrade is settled by putting the role back.
                ops.push(Op::Settled(Kind::Downgrade, key.clone()));
            }
            ops.push(Op::Settled(Kind::Restore, key));
            c.reached = true;
            c.reclaim.record = None;
            c.reclaim.repair_role = None;
            c.reclaim.waiting = None;
            if plan.notify {
                c.action = Action::Restored;
                c.reclaim.notice = Some(NoticeDue {
                    notice: Notice::Restored,
                    at: ctx.now,
                    user_type: plan.had.clone(),
                    now_holds: plan.had.clone(),
                });
                done.restored.push(c.user.username.clone());
            } else {
                c.note("the role an unfinished downgrade had changed was put back");
            }
        }
        reclaim
            .record(ops)
            .await
            .map_err(|e| Halt(Step::Reclaimed, e))?;
        Ok(failure)
    }
}

/// A type change the portal refused: waits (30 days, or a licence), or fails.
fn refused(c: &mut Candidate, ctx: &Ctx<'_>, why: &str, ops: &mut Vec<Op>) {
    let today = ctx.now.date_naive();
    let until: Option<NaiveDate> = match Refusal::of(why) {
        Refusal::TooSoon => Some(
            date_in(why)
                .filter(|d| *d > today)
                .or_else(|| {
                    c.reclaim
                        .record
                        .as_ref()
                        .map(|r| next_change_day(r.downgraded_at))
                })
                .filter(|d| *d > today)
                .or_else(|| c.reclaim.waiting.as_ref().and_then(|w| w.until))
                .filter(|d| *d > today)
                .unwrap_or_else(|| next_change_day(ctx.now)),
        ),
        Refusal::NoLicence => None,
        Refusal::Other => {
            c.settle(&format!(
                "the licence was not given back: the portal refused: {why}"
            ));
            c.set_back(Happened::RestoreFailed, Some(why.to_string()));
            return;
        }
    };
    let waiting = Waiting {
        change: Change::Restore,
        since: ctx.now,
        until,
        reason: why.to_string(),
    };
    ops.push(Op::Wait(c.key(), waiting.clone()));
    c.reclaim.waiting = Some(waiting);
    c.action = Action::Waiting;
    match until {
        Some(day) => c.settle(&format!(
            "waiting: the portal allows one user-type change in {TYPE_CHANGE_DAYS} days ({why}); each run tries again, possible from {}",
            day.format("%Y-%m-%d")
        )),
        None => c.settle(&format!(
            "waiting: the portal has no licence free ({why}); each run tries again"
        )),
    }
}
