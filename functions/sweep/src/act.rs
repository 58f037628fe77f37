//! Acting on the members who need it: warning mails, bulk disables and the
//! disable notices, each kept within the Lambda deadline.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use connectors::arcgis::{BulkResult, Portal, BULK_USERS_BATCH};
use connectors::config::is_email_shape;
use connectors::deadline::Deadline;
use connectors::mail::{Mail, Mailer};
use connectors::store::ObjectStore;
use futures::stream::{self, StreamExt};

use crate::classify::{Decision, Need};
use crate::job::{last_login, Action, Candidate, Person, Sweep, SweepPorts};
use crate::state::{Changes, Warned};
use crate::templates::{self, Template, Templates};

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

    pub(crate) async fn warn_members(
        &self,
        candidates: &mut [Candidate],
        templates: &Templates,
        base: &HashMap<&'static str, String>,
        now: DateTime<Utc>,
        deadline: Deadline,
        changes: &mut Changes,
    ) {
        let margin = self.config.common.deadline_margin;
        let jobs: Vec<(usize, Option<Mail>)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.decision.need == Need::Warning)
            .map(|(i, c)| {
                (
                    i,
                    self.member_mail(&templates.warn, base, &c.user, &c.decision),
                )
            })
            .collect();
        let sent: Vec<(usize, Result<(), String>)> = stream::iter(jobs)
            .map(|(index, mail)| async move {
                let Some(mail) = mail else {
                    return (
                        index,
                        Err("no valid email address on the account; not warned".to_string()),
                    );
                };
                if !deadline.allows(margin) {
                    return (
                        index,
                        Err("not reached before the Lambda deadline; the next run warns".into()),
                    );
                }
                let result = self
                    .mailer
                    .send(&mail)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("warning mail failed: {e}"));
                (index, result)
            })
            .buffer_unordered(self.config.mail_concurrency.max(1))
            .collect()
            .await;
        for (index, result) in sent {
            let c = &mut candidates[index];
            match result {
                Ok(()) => {
                    c.action = Action::Warned;
                    changes.set.insert(
                        c.user.username.to_ascii_lowercase(),
                        Warned { warned_at: now },
                    );
                }
                Err(why) => c.reason = format!("{}; {why}", c.decision.reason),
            }
        }
    }

    pub(crate) async fn disable_members(
        &self,
        candidates: &mut [Candidate],
        templates: &Templates,
        base: &HashMap<&'static str, String>,
        deadline: Deadline,
        changes: &mut Changes,
    ) {
        let margin = self.config.common.deadline_margin;
        let targets: Vec<usize> = (0..candidates.len())
            .filter(|i| candidates[*i].decision.need == Need::Disabling)
            .collect();
        for batch in targets.chunks(BULK_USERS_BATCH) {
            if !deadline.allows(margin) {
                for index in batch {
                    let c = &mut candidates[*index];
                    c.reason = format!(
                        "{}; not reached before the Lambda deadline",
                        c.decision.reason
                    );
                }
                continue;
            }
            let names: Vec<String> = batch
                .iter()
                .map(|i| candidates[*i].user.username.clone())
                .collect();
            let results = match self.arcgis.disable_users(&names).await {
                Ok(results) => results,
                Err(e) => names
                    .iter()
                    .map(|n| BulkResult {
                        username: n.clone(),
                        ok: false,
                        error: Some(e.to_string()),
                    })
                    .collect(),
            };
            for (index, result) in batch.iter().zip(results) {
                let c = &mut candidates[*index];
                if result.ok {
                    c.action = Action::Disabled;
                    changes.set.remove(&c.user.username.to_ascii_lowercase());
                    changes.remove.insert(c.user.username.to_ascii_lowercase());
                } else {
                    c.reason = format!(
                        "{}; disabling failed: {}",
                        c.decision.reason,
                        result.error.unwrap_or_default()
                    );
                }
            }
        }
        // The disable notices: a failed notice is reported, the disable stands.
        let notices: Vec<(usize, Mail)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.action == Action::Disabled)
            .filter_map(|(i, c)| {
                self.member_mail(&templates.disabled, base, &c.user, &c.decision)
                    .map(|m| (i, m))
            })
            .collect();
        let failed: Vec<(usize, String)> = stream::iter(notices)
            .map(|(index, mail)| async move { (index, self.mailer.send(&mail).await) })
            .buffer_unordered(self.config.mail_concurrency.max(1))
            .filter_map(
                |(index, result)| async move { result.err().map(|e| (index, e.to_string())) },
            )
            .collect()
            .await;
        for (index, why) in failed {
            let c = &mut candidates[index];
            c.reason = format!(
                "{}; the disable notice was not sent: {why}",
                c.decision.reason
            );
        }
    }

    /// The member's mail from `template`, or `None` without a usable address.
    fn member_mail(
        &self,
        template: &Template,
        base: &HashMap<&'static str, String>,
        user: &Person,
        decision: &Decision,
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
            decision
                .disable_on
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
