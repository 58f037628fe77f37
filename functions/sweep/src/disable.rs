//! Bulk disables (confirmed member by member when an answer is in doubt)
//! and the disable notices, written ahead to the state.

use connectors::arcgis::{BulkResult, BULK_USERS_BATCH};
use connectors::mail::{Mail, Mailer};
use connectors::store::ObjectStore;

use crate::act::{Ctx, Halt, Recorder, Sent, MAIL_BATCH};
use crate::classify::Need;
use crate::digest::Happened;
use crate::job::{Action, Candidate, Done, Step, Sweep, SweepPorts};
use crate::state::{Kind, Op};

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// The disables, [`BULK_USERS_BATCH`] members a call: intents, the
    /// call, results. A failed call stops the run once what it did is known
    /// and recorded; members it may have disabled keep their intent, which
    /// the next run checks against their `disabled` flag.
    pub(crate) async fn disable_members(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        recorder: &mut Recorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        let margin = self.config.common.deadline_margin;
        let targets: Vec<usize> = (0..candidates.len())
            .filter(|i| candidates[*i].decision.need == Need::Disabling)
            .collect();
        let mut cut = false;
        for batch in targets.chunks(BULK_USERS_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                for index in batch {
                    let c = &mut candidates[*index];
                    c.settle("not reached before the Lambda deadline; the next run disables");
                    c.set_back(Happened::NotReached, None);
                }
                continue;
            }
            let names: Vec<String> = batch
                .iter()
                .map(|i| candidates[*i].user.username.clone())
                .collect();
            let intents: Vec<Op> = batch
                .iter()
                .map(|i| Op::Intend(Kind::Disable, candidates[*i].key(), ctx.intent()))
                .collect();
            recorder
                .record(intents)
                .await
                .map_err(|e| Halt(Step::State, e))?;
            let (results, failure) = match self.arcgis.disable_users(&names).await {
                Ok(results) => (results, None),
                Err(e) => (self.confirm_disabled(&names).await, Some(e)),
            };
            let mut ops = Vec::new();
            for index in batch {
                let c = &mut candidates[*index];
                let result = results
                    .iter()
                    .find(|r| r.username.eq_ignore_ascii_case(&c.user.username));
                match result {
                    Some(BulkResult { ok: true, .. }) => {
                        let key = c.key();
                        ops.push(Op::Disabled(key.clone(), ctx.now));
                        ops.push(Op::Settled(Kind::Disable, key));
                        c.action = Action::Disabled;
                        c.reached = true;
                        c.notice_due = Some(ctx.now);
                        done.disabled.push(c.user.username.clone());
                    }
                    other => {
                        // The intent stays: the next run checks the account.
                        let why = other
                            .and_then(|r| r.error.clone())
                            .unwrap_or_else(|| "the portal did not answer for this member".into());
                        c.settle(&format!(
                            "disabling failed: {why}; the next run checks the account and tries again"
                        ));
                        c.set_back(Happened::DisableFailed, Some(why));
                        if failure.is_some() {
                            done.unconfirmed.push(c.user.username.clone());
                        }
                    }
                }
            }
            recorder
                .record(ops)
                .await
                .map_err(|e| Halt(Step::State, e))?;
            if let Some(e) = failure {
                return Err(Halt(Step::Disable, e));
            }
        }
        Ok(())
    }

    /// After a failed disable call: whether each member is disabled now.
    pub(crate) async fn confirm_disabled(&self, usernames: &[String]) -> Vec<BulkResult> {
        let mut results = Vec::with_capacity(usernames.len());
        for name in usernames {
            let error = match self.arcgis.user(name).await {
                Ok(Some(user)) if user.disabled => None,
                Ok(Some(_)) => Some("the call failed and the account is still enabled".to_string()),
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

    /// The disable notices due: this run's disables and earlier ones not
    /// yet sent. A failed notice is reported and not retried; one not
    /// reached stays due for the next run.
    pub(crate) async fn send_notices(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        recorder: &mut Recorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        const CUT: &str =
            "the disable notice was not sent before the Lambda deadline; the next run sends it";
        let margin = self.config.common.deadline_margin;
        let mut mails: Vec<(usize, Mail)> = Vec::new();
        let mut no_address = Vec::new();
        for (index, c) in candidates.iter_mut().enumerate() {
            let Some(disabled_at) = c.notice_due else {
                continue;
            };
            match self.member_mail(
                &ctx.templates.disabled,
                &ctx.values,
                &c.user,
                &c.decision,
                Some(disabled_at),
                &[],
            ) {
                Some(mail) => mails.push((index, mail)),
                None => {
                    no_address.push(Op::NoticeDone(c.key()));
                    c.notice_due = None;
                    c.note("no valid email address on the account; no disable notice sent");
                }
            }
        }
        recorder.defer(no_address);
        let mut cut = false;
        for batch in mails.chunks(MAIL_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                for (index, _) in batch {
                    let c = &mut candidates[*index];
                    c.notice_due = None;
                    c.note(CUT);
                }
                continue;
            }
            let intents: Vec<Op> = batch
                .iter()
                .map(|(i, _)| Op::Intend(Kind::Notify, candidates[*i].key(), ctx.intent()))
                .collect();
            recorder
                .record(intents)
                .await
                .map_err(|e| Halt(Step::State, e))?;
            let mut ops = Vec::new();
            let mut unsent = Vec::new();
            for (index, sent) in self.send_all(batch, ctx.deadline).await {
                let c = &mut candidates[index];
                let key = c.key();
                c.notice_due = None;
                ops.push(Op::Settled(Kind::Notify, key.clone()));
                match sent {
                    Sent::Delivered => {
                        ops.push(Op::NoticeDone(key));
                        done.notified.push(c.user.username.clone());
                        if c.action != Action::Disabled {
                            c.note("disable notice sent");
                        }
                    }
                    Sent::Failed(why) => {
                        ops.push(Op::NoticeDone(key));
                        c.note(&format!("the disable notice was not sent: {why}"));
                    }
                    Sent::NotStarted => {
                        cut = true;
                        c.note(CUT);
                        unsent.push(index);
                    }
                }
            }
            if let Err(e) = recorder.record(ops).await {
                for index in unsent {
                    let c = &mut candidates[index];
                    c.note("the state could not record that this notice was not sent, so the next run counts it as sent");
                    done.presumed_mailed.push(c.user.username.clone());
                }
                return Err(Halt(Step::State, e));
            }
        }
        Ok(())
    }
}
