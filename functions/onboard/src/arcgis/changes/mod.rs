//! The rows of a member file that change existing members: `update`,
//! `disable`, `enable` and `delete`. Each member is looked up first; the
//! safety rails and the delete cap are applied before anything is written;
//! then each action runs with the portal's batch calls where it has them.

mod delete;
mod rails;
mod status;
mod update;

use std::collections::HashMap;

use connectors::arcgis::{
    GroupLeaving, GroupLookup, GroupMembership, MemberContent, MemberDeletion, MemberLookup,
    MemberStatus, MemberUpdate, Portal, User,
};
use connectors::inbox::{Outcome, RowResult, Run};
use futures::stream::{self, StreamExt};

use super::catalog::Catalog;
use super::request::Change;
use super::MemberOnboarding;

/// Every ArcGIS call the change rows make.
pub trait ChangePorts:
    MemberLookup
    + MemberUpdate
    + MemberStatus
    + GroupLookup
    + GroupMembership
    + GroupLeaving
    + MemberContent
    + MemberDeletion
{
}

impl<T> ChangePorts for T where
    T: MemberLookup
        + MemberUpdate
        + MemberStatus
        + GroupLookup
        + GroupMembership
        + GroupLeaving
        + MemberContent
        + MemberDeletion
{
}

/// One change row on its way through the run.
pub(super) struct ChangeWork {
    pub username: String,
    pub change: Change,
    /// The member as the portal describes it, once looked up.
    pub member: Option<User>,
    /// Set once the row is settled; `None` at the end means not reached.
    pub outcome: Option<Outcome>,
    pub reason: String,
}

impl ChangeWork {
    pub fn new(username: String, change: Change) -> Self {
        Self {
            username,
            change,
            member: None,
            outcome: None,
            reason: String::new(),
        }
    }

    /// Looked up and not settled.
    fn pending(&self) -> bool {
        self.outcome.is_none() && self.member.is_some()
    }

    fn settle(&mut self, outcome: Outcome, reason: impl Into<String>) {
        self.outcome = Some(outcome);
        self.reason = reason.into();
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.settle(Outcome::Failed, reason);
    }

    /// The row's result: failures stay in the file, the rest leave it.
    pub fn result(self) -> RowResult {
        match self.outcome {
            Some(Outcome::Failed) => RowResult::failed(self.reason),
            Some(outcome) => RowResult::done(outcome, self.reason),
            None => RowResult::deferred(),
        }
    }
}

/// What the change rows are checked and applied against.
pub(super) struct Org<'c> {
    pub portal: &'c Portal,
    pub catalog: &'c Catalog,
}

impl<D: ChangePorts> MemberOnboarding<'_, D> {
    /// Looks every member up, applies the rails and the delete cap, then
    /// applies (or, in a dry run, plans) each row.
    pub(super) async fn change(&self, work: &mut [ChangeWork], org: &Org<'_>, run: &Run) {
        if work.is_empty() {
            return;
        }
        rails::cap_deletes(work, self.config.max_deletes_per_run);
        self.look_up(work, org.portal).await;
        rails::refuse_guarded(work, org.portal, &self.config.protected_users);
        self.update(work, org, run).await;
        self.set_status(work, run).await;
        self.delete(work, org.portal, run).await;
    }

    /// Finds each row's member; a username that is not a member of this
    /// org fails its row.
    async fn look_up(&self, work: &mut [ChangeWork], portal: &Portal) {
        let names: Vec<String> = work
            .iter()
            .filter(|w| w.outcome.is_none())
            .map(|w| w.username.clone())
            .collect();
        let found = self.members(names, portal).await;
        for w in work.iter_mut().filter(|w| w.outcome.is_none()) {
            match found.get(&w.username.to_lowercase()) {
                Some(Ok(Some(user))) => w.member = Some(user.clone()),
                Some(Ok(None)) | None => w.fail(format!(
                    "username: no member {:?} in this organisation",
                    w.username
                )),
                Some(Err(e)) => w.fail(format!("looking the member up failed: {e}")),
            }
        }
    }

    /// Members of this org by username (lower-cased keys), concurrently;
    /// `None` for a name that is nobody's here.
    async fn members(
        &self,
        usernames: Vec<String>,
        portal: &Portal,
    ) -> HashMap<String, Result<Option<User>, connectors::Error>> {
        stream::iter(usernames)
            .map(|name| async move {
                let user = self.arcgis.user(&name).await.map(|found| {
                    found.filter(|u| u.org_id.as_deref().is_none_or(|org| org == portal.id))
                });
                (name.to_lowercase(), user)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await
    }
}

/// `1 item`, `3 items`.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
