//! The licence notices: "your Creator licence was released; sign in and it
//! will be restored", and "your Creator licence is back", written ahead to
//! `state/reclaimed.json` as the disable notices are to the sweep's state.
//! A failed notice is reported and not retried; one not reached stays due.

use connectors::mail::{Mail, Mailer};
use connectors::store::ObjectStore;

use super::state::{Kind, Notice, Op};
use super::ReclaimRecorder;
use crate::act::{Ctx, Halt, Sent, MAIL_BATCH};
use crate::job::{Candidate, Done, Step, Sweep, SweepPorts};

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Sends every licence notice due, a batch at a time.
    pub(crate) async fn send_licence_notices(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        reclaim: &mut ReclaimRecorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        const CUT: &str =
            "the licence notice was not sent before the Lambda deadline; the next run sends it";
        let margin = self.config.common.deadline_margin;
        let mut mails: Vec<(usize, Mail)> = Vec::new();
        let mut no_address = Vec::new();
        for (index, c) in candidates.iter_mut().enumerate() {
            let Some(due) = c.reclaim.notice.clone() else {
                continue;
            };
            let date = due.at.format("%Y-%m-%d").to_string();
            let (template, date_key) = match due.notice {
                Notice::Released => (&ctx.templates.released, "release_date"),
                Notice::Restored => (&ctx.templates.restored, "restore_date"),
            };
            let extra = [
                ("user_type", ctx.type_name(&due.user_type)),
                ("new_user_type", ctx.type_name(&due.now_holds)),
                (date_key, date),
            ];
            match self.member_mail(template, &ctx.values, &c.user, &c.decision, None, &extra) {
                Some(mail) => mails.push((index, mail)),
                None => {
                    no_address.push(Op::NoticeDone(c.key()));
                    c.reclaim.notice = None;
                    c.note("no valid email address on the account; no licence notice sent");
                }
            }
        }
        reclaim.defer(no_address);
        let mut cut = false;
        for batch in mails.chunks(MAIL_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                for (index, _) in batch {
                    let c = &mut candidates[*index];
                    c.reclaim.notice = None;
                    c.note(CUT);
                }
                continue;
            }
            let intents: Vec<Op> = batch
                .iter()
                .map(|(i, _)| Op::IntendNotice(candidates[*i].key(), ctx.intent()))
                .collect();
            reclaim
                .record(intents)
                .await
                .map_err(|e| Halt(Step::Reclaimed, e))?;
            let mut ops = Vec::new();
            let mut unsent = Vec::new();
            for (index, sent) in self.send_all(batch, ctx.deadline).await {
                let c = &mut candidates[index];
                let key = c.key();
                let what = match c.reclaim.notice.take().map(|n| n.notice) {
                    Some(Notice::Restored) => "the licence-restored notice",
                    _ => "the licence-released notice",
                };
                ops.push(Op::Settled(Kind::Notify, key.clone()));
                match sent {
                    Sent::Delivered => {
                        ops.push(Op::NoticeDone(key));
                        done.licence_notices.push(c.user.username.clone());
                        c.note(&format!("{what} was sent"));
                    }
                    Sent::Failed(why) => {
                        ops.push(Op::NoticeDone(key));
                        c.note(&format!("{what} was not sent: {why}"));
                    }
                    Sent::NotStarted => {
                        cut = true;
                        c.note(CUT);
                        unsent.push(index);
                    }
                }
            }
            if let Err(e) = reclaim.record(ops).await {
                for index in unsent {
                    let c = &mut candidates[index];
                    c.note("the state could not record that this notice was not sent, so the next run counts it as sent");
                    done.presumed_mailed.push(c.user.username.clone());
                }
                return Err(Halt(Step::Reclaimed, e));
            }
        }
        Ok(())
    }
}
