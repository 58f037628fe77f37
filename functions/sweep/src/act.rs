//! Acting on the members who need it: warning mails, bulk disables and the
//! disable notices. Each batch is written ahead to the state (its intents
//! before, its results after), and no batch or mail starts within the
//! deadline margin; what is not reached stays for the next run.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use connectors::arcgis::{BulkResult, Portal, BULK_USERS_BATCH};
use connectors::config::is_email_shape;
use connectors::deadline::Deadline;
use connectors::mail::{Mail, Mailer};
use connectors::store::ObjectStore;
use connectors::Error;
use futures::stream::{self, StreamExt};

use crate::classify::{Decision, Need};
use crate::job::{last_login, Action, Candidate, Done, Person, Step, Sweep, SweepPorts};
use crate::state::{self, Intent, Kind, Op};
use crate::templates::{self, Template, Templates};

/// Member mails per state write: the intents before, the results after.
const MAIL_BATCH: usize = 100;

/// A step that failed, stopping the run.
#[derive(Debug)]
pub(crate) struct Halt(pub(crate) Step, pub(crate) Error);

/// What every action of a live run shares.
pub(crate) struct Ctx<'a> {
    pub(crate) templates: &'a Templates,
    pub(crate) values: HashMap<&'static str, String>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) run_id: &'a str,
    pub(crate) deadline: Deadline,
}

impl Ctx<'_> {
    fn intent(&self) -> Intent {
        Intent {
            run: self.run_id.to_string(),
            at: self.now,
        }
    }
}

/// Writes the state ahead of and after each batch. The settlement of what
/// the listing found is held back and goes with the first write.
pub(crate) struct Recorder<'a, S> {
    store: &'a S,
    bucket: &'a str,
    run_id: &'a str,
    today: NaiveDate,
    unsaved: Vec<Op>,
    /// State writes made.
    pub(crate) writes: usize,
}

impl<'a, S: ObjectStore> Recorder<'a, S> {
    pub(crate) fn new(
        store: &'a S,
        bucket: &'a str,
        run_id: &'a str,
        today: NaiveDate,
        settlement: Vec<Op>,
    ) -> Self {
        Self {
            store,
            bucket,
            run_id,
            today,
            unsaved: settlement,
            writes: 0,
        }
    }

    /// Writes `ops`, with anything held back; nothing when there is nothing.
    pub(crate) async fn record(&mut self, ops: impl IntoIterator<Item = Op>) -> Result<(), Error> {
        self.unsaved.extend(ops);
        if self.unsaved.is_empty() {
            return Ok(());
        }
        state::update(
            self.store,
            self.bucket,
            self.run_id,
            self.today,
            &self.unsaved,
        )
        .await?;
        self.unsaved.clear();
        self.writes += 1;
        Ok(())
    }

    /// Holds `ops` back for the next write.
    fn defer(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.unsaved.extend(ops);
    }
}

/// What became of one member mail.
enum Sent {
    Delivered,
    Failed(String),
    /// Not started: the deadline margin was reached.
    NotStarted,
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    pub(crate) fn values_base(&self, portal: &Portal) -> HashMap<&'static str, String> {
        let contact = if self.config.support_contact.is_empty() {
            "your ArcGIS administrator".to_string()
        } else {
            self.config.support_contact.clone()
        };
        HashMap::from([
            ("org_name", portal.name.clone()),
            ("sign_in_url", self.config.sign_in_url.clone()),
            ("support_contact", contact),
        ])
    }

    /// The warning mails, a batch at a time: intents, mails, results.
    pub(crate) async fn warn_members(
        &self,
        candidates: &mut [Candidate],
        ctx: &Ctx<'_>,
        recorder: &mut Recorder<'_, S>,
        done: &mut Done,
    ) -> Result<(), Halt> {
        const CUT: &str = "not reached before the Lambda deadline; the next run warns";
        let margin = self.config.common.deadline_margin;
        let mut mails: Vec<(usize, Mail)> = Vec::new();
        for (index, c) in candidates.iter_mut().enumerate() {
            if c.decision.need != Need::Warning {
                continue;
            }
            let disable_on = c.decision.disable_on;
            match self.member_mail(
                &ctx.templates.warn,
                &ctx.values,
                &c.user,
                &c.decision,
                disable_on,
            ) {
                Some(mail) => mails.push((index, mail)),
                None => c.settle("no valid email address on the account; not warned"),
            }
        }
        let mut cut = false;
        for batch in mails.chunks(MAIL_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                batch.iter().for_each(|(i, _)| candidates[*i].settle(CUT));
                continue;
            }
            let intents = batch
                .iter()
                .map(|(i, _)| Op::Intend(Kind::Warn, candidates[*i].key(), ctx.intent()));
            recorder
                .record(intents.collect::<Vec<_>>())
                .await
                .map_err(|e| Halt(Step::State, e))?;
            let mut ops = Vec::new();
            let mut unsent = Vec::new();
            for (index, sent) in self.send_all(batch, ctx.deadline).await {
                let c = &mut candidates[index];
                let key = c.key();
                ops.push(Op::Settled(Kind::Warn, key.clone()));
                match sent {
                    Sent::Delivered => {
                        ops.push(Op::Warned(key, ctx.now));
                        c.action = Action::Warned;
                        c.reached = true;
                        done.warned.push(c.user.username.clone());
                    }
                    Sent::Failed(why) => {
                        c.settle(&format!("warning mail failed: {why}"));
                        unsent.push(index);
                    }
                    Sent::NotStarted => {
                        cut = true;
                        c.settle(CUT);
                        unsent.push(index);
                    }
                }
            }
            if let Err(e) = recorder.record(ops).await {
                for index in unsent {
                    let c = &mut candidates[index];
                    c.note("the state could not record that this mail was not sent, so the next run counts the member as warned");
                    done.presumed_mailed.push(c.user.username.clone());
                }
                return Err(Halt(Step::State, e));
            }
        }
        Ok(())
    }

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
                    candidates[*index]
                        .settle("not reached before the Lambda deadline; the next run disables");
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
    async fn confirm_disabled(&self, usernames: &[String]) -> Vec<BulkResult> {
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

    /// Sends a batch of mails, a few at once; none starts within the
    /// deadline margin.
    async fn send_all(&self, batch: &[(usize, Mail)], deadline: Deadline) -> Vec<(usize, Sent)> {
        let margin = self.config.common.deadline_margin;
        stream::iter(batch)
            .map(|(index, mail)| async move {
                if !deadline.allows(margin) {
                    return (*index, Sent::NotStarted);
                }
                match self.mailer.send(mail).await {
                    Ok(_) => (*index, Sent::Delivered),
                    Err(e) => (*index, Sent::Failed(e.to_string())),
                }
            })
            .buffer_unordered(self.config.mail_concurrency.max(1))
            .collect()
            .await
    }

    /// The member's mail from `template`, or `None` without a usable address.
    fn member_mail(
        &self,
        template: &Template,
        base: &HashMap<&'static str, String>,
        user: &Person,
        decision: &Decision,
        disable_date: Option<DateTime<Utc>>,
    ) -> Option<Mail> {
        let email = user
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| is_email_shape(e))?;
        let mut values = base.clone();
        let first = user.first_name.clone().unwrap_or_default();
        let last = user.last_name.clone().unwrap_or_default();
        let full = user
            .full_name
            .clone()
            .unwrap_or_else(|| format!("{first} {last}").trim().to_string());
        values.insert(
            "first_name",
            if first.is_empty() {
                user.username.clone()
            } else {
                first
            },
        );
        values.insert("last_name", last);
        values.insert("full_name", full);
        values.insert("username", user.username.clone());
        values.insert(
            "days_inactive",
            decision
                .days_inactive
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
        values.insert("last_login", last_login(user));
        values.insert(
            "disable_date",
            disable_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
        Some(Mail {
            from: self.config.common.mail.from.clone(),
            to: vec![email.to_string()],
            subject: templates::render_subject(&template.subject, &values),
            text: templates::render(&template.text, &values, false),
            html: templates::render(&template.html, &values, true),
        })
    }
}
