//! Every member of the org, a page at a time, classified as it arrives and
//! its report line streamed to S3: memory holds the pages in flight and the
//! members awaiting an action, not the org or its report.

use std::collections::{BTreeMap, HashSet};

use connectors::arcgis::{User, UserPage};
use connectors::deadline::Deadline;
use connectors::mail::Mailer;
use connectors::report::ReportUpload;
use connectors::store::{MultipartUploads, ObjectStore};
use connectors::Error;
use futures::stream::{self, StreamExt};

use crate::classify::{Class, Need, Rules};
use crate::digest::{ComingUp, Happened, Inactivity, MemberLine, MemberTable};
use crate::job::{report_row, Action, Candidate, Person, Sweep, SweepPorts};
use crate::planned::PlannedWarnings;
use crate::reclaim::settle::{settle, RecoveredReclaim};
use crate::reclaim::state::{self as reclaimed, Change, ReclaimState};
use crate::state::{Kind, Op, SweepState, Warned};

/// Members per `portals/self/users` page (the most the portal gives).
const PAGE_SIZE: u64 = 100;

/// How far the listing got.
pub(crate) struct Listed {
    /// Members the portal counted at the start.
    pub total: u64,
    /// Every member was listed (false when the deadline cut it short).
    pub complete: bool,
}

/// Why the listing stopped: the portal failed, or the report could not be
/// written.
pub(crate) enum ListingError {
    Portal(Error),
    Report(Error),
}

impl From<Error> for ListingError {
    fn from(e: Error) -> Self {
        ListingError::Portal(e)
    }
}

impl<S: ObjectStore + MultipartUploads, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Hands every member to `tally`, page by page in order, and streams
    /// the report lines of the members needing nothing to `report` after
    /// each page. Page 1 gives the total; the other pages are fetched in
    /// parallel at fixed offsets.
    pub(crate) async fn list_members(
        &self,
        deadline: Deadline,
        tally: &mut Tally<'_>,
        report: &mut ReportUpload<'_, S>,
    ) -> Result<Listed, ListingError> {
        let margin = self.config.common.deadline_margin;
        let first = self.arcgis.users_page(1, PAGE_SIZE).await?;
        let total = first.total;
        let mut next_start = first.next_start;
        tally.page(first.users);
        tally.stream_rows(report).await?;
        let starts = (1..).map(|i| 1 + i * PAGE_SIZE).take_while(|s| *s <= total);
        let mut pages = stream::iter(starts)
            .map(|start| async move {
                if !deadline.allows(margin) {
                    return Ok::<Option<UserPage>, Error>(None);
                }
                self.arcgis.users_page(start, PAGE_SIZE).await.map(Some)
            })
            .buffered(self.config.arcgis.concurrency.max(1));
        let mut complete = true;
        while let Some(page) = pages.next().await {
            let Some(page) = page? else {
                complete = false;
                break;
            };
            next_start = page.next_start;
            tally.page(page.users);
            tally.stream_rows(report).await?;
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
            tally.page(page.users);
            tally.stream_rows(report).await?;
        }
        Ok(Listed { total, complete })
    }
}

/// What the listing has found so far: the report lines of the last page's
/// members needing nothing (until they are streamed), the candidates for an
/// action, and the state's changes, among them the settlement of what an
/// earlier run started and did not record.
pub(crate) struct Tally<'r> {
    rules: &'r Rules<'r>,
    state: &'r SweepState,
    reclaim: &'r ReclaimState,
    /// Report lines not yet streamed: at most a page's.
    rows: Vec<Vec<String>>,
    classes: BTreeMap<&'static str, u64>,
    ops: Vec<Op>,
    reclaim_ops: Vec<reclaimed::Op>,
    /// Members listed that `state/reclaimed.json` knows.
    reclaim_seen: HashSet<String>,
    recovered_reclaim: RecoveredReclaim,
    candidates: Vec<Candidate>,
    /// A dry run: members who would only be warned are kept as lines.
    dry_run: bool,
    planned: PlannedWarnings,
    /// Members listed that the state knows.
    seen: HashSet<String>,
    members: u64,
    recovered: Recovered,
    last_username: String,
    /// Members by days since the last sign-in.
    inactivity: Inactivity,
    /// Warned members due to be disabled (or downgraded) at a later run.
    coming_up: ComingUp,
    /// A dry run's members who would only be warned, for the summary.
    planned_table: MemberTable,
}

/// What the listing found, once it is over.
pub(crate) struct Listing {
    pub classes: BTreeMap<&'static str, u64>,
    /// The state's changes: warnings over, and earlier intents settled.
    pub ops: Vec<Op>,
    /// `state/reclaimed.json`'s changes, likewise.
    pub reclaim_ops: Vec<reclaimed::Op>,
    pub candidates: Vec<Candidate>,
    /// A dry run's members who would only be warned, among the candidates.
    pub planned: PlannedWarnings,
    pub members: u64,
    pub recovered: Recovered,
    pub recovered_reclaim: RecoveredReclaim,
    pub inactivity: Inactivity,
    pub coming_up: ComingUp,
    /// A dry run's members who would only be warned, as the summary lists them.
    pub planned_table: MemberTable,
}

/// Intents an earlier run left in the state, as this run settled them.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Warning mails started and not recorded: they count as sent.
    pub warned: Vec<String>,
    /// Disables started and not recorded that did happen.
    pub disabled: Vec<String>,
    /// Disables started and not recorded that did not happen.
    pub not_disabled: Vec<String>,
    /// Disable notices started and not recorded: they count as sent.
    pub notified: Vec<String>,
}

impl Recovered {
    /// The notes for the summary.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut note = |names: &[String], what: &str| {
            if !names.is_empty() {
                notes.push(format!("{} {what}: {}", names.len(), names.join(", ")));
            }
        };
        note(
            &self.warned,
            "member(s) whose warning an earlier run started without recording it count as warned (a mail is sent at most once)",
        );
        note(
            &self.disabled,
            "member(s) an earlier run disabled without recording it are now recorded as disabled",
        );
        note(
            &self.not_disabled,
            "member(s) an earlier run set out to disable were not disabled; they were classified afresh",
        );
        note(
            &self.notified,
            "disable notice(s) an earlier run started without recording it count as sent",
        );
        notes
    }
}

impl<'r> Tally<'r> {
    /// A tally for a run with `rules` over the two states; a `dry_run`
    /// keeps the members it would only warn as their report lines.
    pub fn new(
        rules: &'r Rules<'r>,
        state: &'r SweepState,
        reclaim: &'r ReclaimState,
        dry_run: bool,
    ) -> Self {
        Self {
            rules,
            state,
            reclaim,
            rows: Vec::new(),
            classes: BTreeMap::new(),
            ops: Vec::new(),
            reclaim_ops: Vec::new(),
            reclaim_seen: HashSet::new(),
            recovered_reclaim: RecoveredReclaim::default(),
            candidates: Vec::new(),
            dry_run,
            planned: PlannedWarnings::default(),
            seen: HashSet::new(),
            members: 0,
            recovered: Recovered::default(),
            last_username: String::new(),
            inactivity: Inactivity::default(),
            coming_up: ComingUp::default(),
            planned_table: MemberTable::default(),
        }
    }

    /// Streams the report lines gathered since the last call.
    async fn stream_rows<S: ObjectStore + MultipartUploads>(
        &mut self,
        report: &mut ReportUpload<'_, S>,
    ) -> Result<(), ListingError> {
        for row in self.rows.drain(..) {
            report.row(&row).await.map_err(ListingError::Report)?;
        }
        Ok(())
    }

    /// Classifies one page of members.
    pub fn page(&mut self, users: Vec<User>) {
        for user in users {
            let key = user.username.to_ascii_lowercase();
            // Offsets shift if members join mid-run; skip a repeat at a page edge.
            if key == self.last_username {
                continue;
            }
            self.last_username.clone_from(&key);
            self.members += 1;
            self.member(key, user);
        }
    }

    fn member(&mut self, key: String, user: User) {
        let state = self.state;
        let pending = &state.pending;
        if state.warned.contains_key(&key)
            || state.notices_due.contains_key(&key)
            || pending.warn.contains_key(&key)
            || pending.disable.contains_key(&key)
            || pending.notify.contains_key(&key)
        {
            self.seen.insert(key.clone());
        }
        let mut warned = state.warned.get(&key).cloned();
        let mut notice_due = state.notices_due.get(&key).map(|n| n.disabled_at);
        // A warning started and not recorded counts as sent (it may be a
        // new spell's, after an older warning the member signed in since).
        if let Some(intent) = pending.warn.get(&key) {
            self.ops.push(Op::Settled(Kind::Warn, key.clone()));
            if warned.as_ref().is_none_or(|w| w.warned_at < intent.at) {
                self.ops.push(Op::Warned(key.clone(), intent.at));
                warned = Some(Warned {
                    warned_at: intent.at,
                });
                self.recovered.warned.push(user.username.clone());
            }
        }
        // A disable started and not recorded: the member's flag says whether it happened.
        if let Some(intent) = pending.disable.get(&key) {
            self.ops.push(Op::Settled(Kind::Disable, key.clone()));
            if user.disabled {
                self.ops.push(Op::Disabled(key.clone(), intent.at));
                warned = None;
                notice_due = Some(intent.at);
                self.recovered.disabled.push(user.username.clone());
            } else {
                self.recovered.not_disabled.push(user.username.clone());
            }
        }
        // A disable notice started and not recorded counts as sent.
        if pending.notify.contains_key(&key) {
            self.ops.push(Op::Settled(Kind::Notify, key.clone()));
            self.ops.push(Op::NoticeDone(key.clone()));
            notice_due = None;
            self.recovered.notified.push(user.username.clone());
        }
        if notice_due.is_some() && !user.disabled {
            // Enabled again since: no notice.
            self.ops.push(Op::NoticeDone(key.clone()));
            notice_due = None;
        }
        if self.reclaim.knows(&key) {
            self.reclaim_seen.insert(key.clone());
        }
        let mut reclaim = settle(
            self.reclaim,
            &key,
            &user,
            &mut self.reclaim_ops,
            &mut self.recovered_reclaim,
        );
        let mut decision =
            self.rules
                .classify_with(&user, warned.as_ref(), reclaim.record.as_ref());
        *self.classes.entry(decision.class.as_str()).or_default() += 1;
        let now = self.rules.now;
        self.inactivity.count(user.last_login, now);
        if warned.is_some() && !decision.keep_warning {
            self.ops.push(Op::Unwarned(key.clone()));
        }
        // A change that waits is dropped once the member no longer needs it.
        if let Some(waiting) = &reclaim.waiting {
            let needed = match waiting.change {
                Change::Downgrade => decision.need == Need::Disabling,
                Change::Restore => decision.need == Need::Restoring,
            };
            if !needed {
                self.reclaim_ops.push(reclaimed::Op::Unwait(key.clone()));
                reclaim.waiting = None;
            }
        }
        let user = Person::from(user);
        // Warned earlier and still inactive: due at a later run.
        if let (Class::Warn, Need::Nothing, Some(on), Some(w)) = (
            decision.class,
            decision.need,
            decision.disable_on,
            warned.as_ref().filter(|_| decision.keep_warning),
        ) {
            self.coming_up.push(&user, w.warned_at, on, now);
        }
        let acts = decision.need != Need::Nothing
            || notice_due.is_some()
            || reclaim.notice.is_some()
            || reclaim.repair_role.is_some();
        let reached = decision.need == Need::Nothing;
        let only_a_planned_warning = self.dry_run
            && decision.need == Need::Warning
            && notice_due.is_none()
            && reclaim.notice.is_none()
            && reclaim.repair_role.is_none();
        if only_a_planned_warning {
            let line = report_row(
                &user,
                &decision,
                Action::PlannedWarn,
                &decision.reason,
                self.rules.downgrade_to.map(|_| &reclaim),
            );
            self.planned.push(&line, self.candidates.len());
            self.planned_table.record(Happened::WouldWarn, || {
                MemberLine::of(
                    &user,
                    Happened::WouldWarn,
                    decision.disable_on.map(|d| d.date_naive()),
                    None,
                )
            });
            return;
        }
        match (acts, notice_due) {
            (false, _) => self.rows.push(report_row(
                &user,
                &decision,
                Action::None,
                &decision.reason,
                self.rules.downgrade_to.map(|_| &reclaim),
            )),
            (true, notice_due) => self.candidates.push(Candidate {
                // The decision's reason moves to the candidate (one copy per
                // candidate: an org of 1,000,000 may hold 250,000).
                reason: match notice_due {
                    Some(at) => format!(
                        "{}; rollcall disabled the account on {}",
                        decision.reason,
                        at.format("%Y-%m-%d")
                    ),
                    None => std::mem::take(&mut decision.reason),
                },
                user,
                decision,
                action: Action::None,
                notice_due,
                reached,
                reclaim,
                setback: None,
            }),
        }
    }

    /// The listing's findings; when it was `complete`, the state forgets
    /// the members no longer in the org.
    pub fn finish(mut self, complete: bool) -> Listing {
        if complete {
            let state = self.state;
            let gone = |keys: Vec<&String>| -> Vec<String> {
                keys.into_iter()
                    .filter(|k| !self.seen.contains(*k))
                    .cloned()
                    .collect()
            };
            let mut ops = Vec::new();
            for key in gone(state.warned.keys().collect()) {
                ops.push(Op::Unwarned(key));
            }
            for key in gone(state.notices_due.keys().collect()) {
                ops.push(Op::NoticeDone(key));
            }
            for (kind, intents) in [
                (Kind::Warn, &state.pending.warn),
                (Kind::Disable, &state.pending.disable),
                (Kind::Notify, &state.pending.notify),
            ] {
                for key in gone(intents.keys().collect()) {
                    ops.push(Op::Settled(kind, key));
                }
            }
            self.ops.extend(ops);
            self.forget_the_gone();
        }
        Listing {
            classes: self.classes,
            ops: self.ops,
            reclaim_ops: self.reclaim_ops,
            candidates: self.candidates,
            planned: self.planned,
            members: self.members,
            recovered: self.recovered,
            recovered_reclaim: self.recovered_reclaim,
            inactivity: self.inactivity,
            coming_up: self.coming_up,
            planned_table: self.planned_table,
        }
    }
}

impl Tally<'_> {
    /// After a complete listing, `state/reclaimed.json` forgets the members
    /// no longer in the org.
    fn forget_the_gone(&mut self) {
        use reclaimed::{Kind as R, Op as O};
        let state = self.reclaim;
        let mut gone: Vec<&String> = state
            .members
            .keys()
            .chain(state.waiting.keys())
            .chain(state.notices_due.keys())
            .chain(state.pending.downgrade.keys())
            .chain(state.pending.restore.keys())
            .chain(state.pending.notify.keys())
            .filter(|k| !self.reclaim_seen.contains(*k))
            .collect();
        gone.sort();
        gone.dedup();
        for key in gone {
            self.reclaim_ops.extend([
                O::Forget(key.clone()),
                O::NoticeDone(key.clone()),
                O::Settled(R::Downgrade, key.clone()),
                O::Settled(R::Restore, key.clone()),
                O::Settled(R::Notify, key.clone()),
            ]);
        }
    }
}
