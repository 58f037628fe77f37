//! Every member of the org, a page at a time, classified as it arrives:
//! memory holds the pages in flight and the members awaiting an action, not
//! the org.

use std::collections::{BTreeMap, HashSet};

use connectors::arcgis::{User, UserPage};
use connectors::deadline::Deadline;
use connectors::mail::Mailer;
use connectors::report::ReportWriter;
use connectors::store::ObjectStore;
use connectors::Error;
use futures::stream::{self, StreamExt};

use crate::classify::{Need, Rules};
use crate::job::{write_row, Action, Candidate, Person, Sweep, SweepPorts};
use crate::state::{Changes, SweepState};

/// Members per `portals/self/users` page (the most the portal gives).
const PAGE_SIZE: u64 = 100;

/// How far the listing got.
pub(crate) struct Listed {
    /// Members the portal counted at the start.
    pub total: u64,
    /// Every member was listed (false when the deadline cut it short).
    pub complete: bool,
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> Sweep<'_, S, M, D> {
    /// Hands every member to `visit`, page by page in order. Page 1 gives
    /// the total; the other pages are fetched in parallel at fixed offsets.
    pub(crate) async fn list_members(
        &self,
        deadline: Deadline,
        mut visit: impl FnMut(Vec<User>),
    ) -> Result<Listed, Error> {
        let margin = self.config.common.deadline_margin;
        let first = self.arcgis.users_page(1, PAGE_SIZE).await?;
        let total = first.total;
        let mut next_start = first.next_start;
        visit(first.users);
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
            visit(page.users);
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
            visit(page.users);
        }
        Ok(Listed { total, complete })
    }
}

/// What the listing has found so far: the report of every member needing
/// nothing, the candidates for an action, and the state's changes.
pub(crate) struct Tally<'r> {
    rules: &'r Rules<'r>,
    state: &'r SweepState,
    pub report: ReportWriter,
    pub classes: BTreeMap<&'static str, u64>,
    pub changes: Changes,
    pub candidates: Vec<Candidate>,
    /// Warned members still in the org.
    pub seen_warned: HashSet<String>,
    pub members: u64,
    last_username: String,
}

impl<'r> Tally<'r> {
    pub fn new(rules: &'r Rules<'r>, state: &'r SweepState) -> Self {
        Self {
            rules,
            state,
            report: ReportWriter::new(&[
                "username",
                "email",
                "last_login",
                "days_inactive",
                "classification",
                "action",
                "reason",
            ]),
            classes: BTreeMap::new(),
            changes: Changes::default(),
            candidates: Vec::new(),
            seen_warned: HashSet::new(),
            members: 0,
            last_username: String::new(),
        }
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
            let warned = self.state.warned.get(&key);
            if warned.is_some() {
                self.seen_warned.insert(key.clone());
            }
            let decision = self.rules.classify(&user, warned);
            *self.classes.entry(decision.class.as_str()).or_default() += 1;
            if warned.is_some() && !decision.keep_warning {
                self.changes.remove.insert(key);
            }
            let user = Person::from(user);
            match decision.need {
                Need::Nothing => write_row(
                    &mut self.report,
                    &user,
                    &decision,
                    Action::None,
                    &decision.reason,
                ),
                Need::Warning | Need::Disabling => self.candidates.push(Candidate {
                    reason: decision.reason.clone(),
                    user,
                    decision,
                    action: Action::None,
                }),
            }
        }
    }
}
