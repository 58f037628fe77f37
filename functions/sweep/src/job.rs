//! One sweep run: check privileges, list every member, classify, act,
//! report, summarise.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::arcgis::{
    ArcgisAdmin, ArcgisDirectory, BulkResult, Portal, User, BULK_USERS_BATCH,
};
use connectors::config::is_email_shape;
use connectors::deadline::Deadline;
use connectors::mail::{Mail, Mailer};
use connectors::report::{put_report, ReportWriter};
use connectors::store::ObjectStore;
use connectors::Error;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::classify::{Decision, Need, Rules};
use crate::config::{SweepConfig, Thresholds};
use crate::state::{self, Changes, Warned};
use crate::templates::{self, Template, Templates};

const PAGE_SIZE: u64 = 100;
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
struct Person {
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    last_login: Option<i64>,
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
struct Candidate {
    user: Person,
    decision: Decision,
    action: Action,
    reason: String,
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

impl<S: ObjectStore, M: Mailer, D: ArcgisDirectory + ArcgisAdmin> Sweep<'_, S, M, D> {
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

        let mut report = ReportWriter::new(&[
            "username",
            "email",
            "last_login",
            "days_inactive",
            "classification",
            "action",
            "reason",
        ]);
        let mut classes: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut changes = Changes::default();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut seen_warned: HashSet<String> = HashSet::new();
        let mut members = 0u64;
        let mut last_username = String::new();

        let mut handle_page = |users: Vec<User>| {
            for user in users {
                let key = user.username.to_ascii_lowercase();
                // Offsets shift if members join mid-run; skip a repeat at a page edge.
                if key == last_username {
                    continue;
                }
                last_username.clone_from(&key);
                members += 1;
                let warned = loaded.state.warned.get(&key);
                if warned.is_some() {
                    seen_warned.insert(key.clone());
                }
                let decision = rules.classify(&user, warned);
                *classes.entry(decision.class.as_str()).or_default() += 1;
                if warned.is_some() && !decision.keep_warning {
                    changes.remove.insert(key);
                }
                let user = Person::from(user);
                match decision.need {
                    Need::Nothing => write_row(
                        &mut report,
                        &user,
                        &decision,
                        Action::None,
                        &decision.reason,
                    ),
                    Need::Warning | Need::Disabling => candidates.push(Candidate {
                        reason: decision.reason.clone(),
                        user,
                        decision,
                        action: Action::None,
                    }),
                }
            }
        };

        // Page 1 gives the total; the other pages are fetched in parallel at
        // fixed offsets and handled in order, so memory holds only the pages
        // in flight, not the org.
        let margin = self.config.deadline_margin;
        let first = self.arcgis.users_page(1, PAGE_SIZE).await?;
        let total = first.total;
        let mut next_start = first.next_start;
        handle_page(first.users);
        let starts = (1..).map(|i| 1 + i * PAGE_SIZE).take_while(|s| *s <= total);
        let mut pages = stream::iter(starts)
            .map(|start| async move {
                if !deadline.allows(margin) {
                    return Ok(None);
                }
                self.arcgis.users_page(start, PAGE_SIZE).await.map(Some)
            })
            .buffered(self.config.page_concurrency.max(1));
        let mut complete = true;
        while let Some(page) = pages.next().await {
            match page? {
                Some(page) => {
                    next_start = page.next_start;
                    handle_page(page.users);
                }
                None => {
                    complete = false;
                    break;
                }
            }
        }
        drop(pages);
        // Members who joined after the total was read: follow nextStart to the end.
        while let Some(start) = next_start.filter(|_| complete) {
            if !deadline.allows(margin) {
                complete = false;
                break;
            }
            let page = self.arcgis.users_page(start, PAGE_SIZE).await?;
            next_start = page.next_start.filter(|n| *n > start);
            handle_page(page.users);
        }
        if complete {
            // Members who left the org: their warnings go too.
            for name in loaded.state.warned.keys() {
                if !seen_warned.contains(name) {
                    changes.remove.insert(name.clone());
                }
            }
        } else {
            notes.push(format!(
                "stopped listing before the Lambda deadline after {members} of {total} members; the next run starts over and continues from the saved warnings"
            ));
        }

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

    fn values_base(&self, portal: &Portal) -> HashMap<&'static str, String> {
        let contact = if self.config.support_contact.is_empty() {
            self.config
                .admin_emails
                .first()
                .cloned()
                .unwrap_or_else(|| "your ArcGIS administrator".into())
        } else {
            self.config.support_contact.clone()
        };
        HashMap::from([
            ("org_name", portal.name.clone()),
            ("sign_in_url", self.config.sign_in_url.clone()),
            ("support_contact", contact),
        ])
    }

    async fn warn_members(
        &self,
        candidates: &mut [Candidate],
        templates: &Templates,
        base: &HashMap<&'static str, String>,
        now: DateTime<Utc>,
        deadline: Deadline,
        changes: &mut Changes,
    ) {
        let margin = self.config.deadline_margin;
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

    async fn disable_members(
        &self,
        candidates: &mut [Candidate],
        templates: &Templates,
        base: &HashMap<&'static str, String>,
        deadline: Deadline,
        changes: &mut Changes,
    ) {
        let margin = self.config.deadline_margin;
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
            from: self.config.mail_from.clone(),
            to: vec![email.to_string()],
            subject: templates::render_subject(&template.subject, &values),
            text: templates::render(&template.text, &values, false),
            html: templates::render(&template.html, &values, true),
        })
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

fn last_login(user: &Person) -> String {
    user.last_login
        .and_then(DateTime::from_timestamp_millis)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "never".into())
}

fn write_row(
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
