//! Warning mails to members newly inactive, written ahead to the state.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use connectors::arcgis::{LastLogin, Portal};
use connectors::config::is_email_shape;
use connectors::deadline::Deadline;
use connectors::mail::{Mail, Mailer};
use connectors::store::ObjectStore;
use futures::stream::{self, StreamExt};

use crate::act::{Ctx, Halt, Recorder, Sent, MAIL_BATCH};
use crate::classify::{Decision, Need};
use crate::config::SweepConfig;
use crate::digest::{long_date, Happened};
use crate::job::{last_login, Action, Candidate, Done, Person, Step, Sweep, SweepPorts};
use crate::state::{Kind, Op};
use crate::templates::{self, Template};

/// The values every member mail shares: the org's name (the portal's, or
/// its host when the portal gives none), where to sign in, and whom to
/// contact (`SUPPORT_CONTACT`, by default the first of `ADMIN_EMAILS`).
pub(crate) fn base_values(
    config: &SweepConfig,
    portal_name: &str,
) -> HashMap<&'static str, String> {
    let contact = if config.support_contact.is_empty() {
        "your ArcGIS administrator".to_string()
    } else {
        config.support_contact.clone()
    };
    let org_name = if portal_name.trim().is_empty() {
        portal_host(&config.arcgis.url)
    } else {
        portal_name.to_string()
    };
    HashMap::from([
        ("org_name", org_name),
        ("sign_in_url", config.sign_in_url.clone()),
        ("support_contact", contact),
    ])
}

/// `gis.example.org` of `https://gis.example.org/portal`.
fn portal_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', ':', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

/// The member's mail from `template` with the `base` values, the member's,
/// the `disable_date` and `extra` values; `None` without a usable address.
/// Every date comes as an ISO date and in words (`{{disable_date_long}}`).
pub(crate) fn member_mail(
    from: &str,
    template: &Template,
    base: &HashMap<&'static str, String>,
    user: &Person,
    decision: &Decision,
    disable_date: Option<DateTime<Utc>>,
    extra: &[(&'static str, String)],
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
        "last_login_long",
        match user.last_login {
            LastLogin::At(ms) => DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%-d %B %Y").to_string())
                .unwrap_or_else(|| "unknown".into()),
            LastLogin::Never => "never".into(),
            LastLogin::Unknown => "unknown".into(),
        },
    );
    values.insert(
        "disable_date",
        disable_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    );
    values.insert(
        "disable_date_long",
        disable_date
            .map(|d| long_date(d.date_naive()))
            .unwrap_or_default(),
    );
    for (key, value) in extra {
        values.insert(key, value.clone());
        let long = match *key {
            "release_date" => "release_date_long",
            "restore_date" => "restore_date_long",
            _ => continue,
        };
        let words = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(long_date)
            .unwrap_or_else(|_| value.clone());
        values.insert(long, words);
    }
    Some(Mail {
        from: from.to_string(),
        to: vec![email.to_string()],
        subject: templates::render_subject(&template.subject, &values),
        text: templates::render(&template.text, &values, false),
        html: templates::render(&template.html, &values, true),
    })
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    pub(crate) fn values_base(&self, portal: &Portal) -> HashMap<&'static str, String> {
        base_values(self.config, &portal.name)
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
            // When the sweep downgrades, the warning says the licence goes.
            let (template, extra) = match ctx.target {
                None => (&ctx.templates.warn, Vec::new()),
                Some(target) => (
                    &ctx.templates.release_warn,
                    vec![
                        (
                            "user_type",
                            ctx.type_name(c.reclaim.user_type.as_deref().unwrap_or_default()),
                        ),
                        ("new_user_type", ctx.type_name(&target.user_type)),
                        (
                            "release_date",
                            disable_on
                                .map(|d| d.format("%Y-%m-%d").to_string())
                                .unwrap_or_default(),
                        ),
                    ],
                ),
            };
            match self.member_mail(
                template,
                &ctx.values,
                &c.user,
                &c.decision,
                disable_on,
                &extra,
            ) {
                Some(mail) => mails.push((index, mail)),
                None => {
                    c.settle("no valid email address on the account; not warned");
                    c.set_back(Happened::NoAddress, None);
                }
            }
        }
        let mut cut = false;
        for batch in mails.chunks(MAIL_BATCH) {
            if cut || !ctx.deadline.allows(margin) {
                cut = true;
                for (i, _) in batch {
                    candidates[*i].settle(CUT);
                    candidates[*i].set_back(Happened::NotReached, None);
                }
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
                        c.set_back(Happened::WarningFailed, Some(why));
                        unsent.push(index);
                    }
                    Sent::NotStarted => {
                        cut = true;
                        c.settle(CUT);
                        c.set_back(Happened::NotReached, None);
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

    /// Sends a batch of mails, a few at once; none starts within the
    /// deadline margin.
    pub(crate) async fn send_all(
        &self,
        batch: &[(usize, Mail)],
        deadline: Deadline,
    ) -> Vec<(usize, Sent)> {
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

    /// The member's mail from `template`, with `extra` values, or `None`
    /// without a usable address.
    pub(crate) fn member_mail(
        &self,
        template: &Template,
        base: &HashMap<&'static str, String>,
        user: &Person,
        decision: &Decision,
        disable_date: Option<DateTime<Utc>>,
        extra: &[(&'static str, String)],
    ) -> Option<Mail> {
        member_mail(
            &self.config.common.mail.from,
            template,
            base,
            user,
            decision,
            disable_date,
            extra,
        )
    }
}
