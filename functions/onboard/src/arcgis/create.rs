//! Who exists already, and creating the rest: Online by invitation lists
//! (a refused list is split until the refused invitations are found),
//! Enterprise one `createUser` each.

use std::collections::{HashMap, HashSet};

use connectors::arcgis::{
    Invitation, Portal, PortalKind, User, UsernameAvailability, CHECK_USERNAMES_BATCH,
};
use connectors::inbox::Run;
use connectors::Error;
use futures::stream::{self, StreamExt};
use tracing::warn;

use super::{MemberOnboarding, OnboardingPorts, Work};

/// The rows one invite call covered, and the names it did not create, or
/// why the whole call failed.
type InviteResult = (Vec<usize>, Result<Vec<String>, Error>);

/// What a lookup says of a username that exists somewhere.
enum Taken<'a> {
    /// A member of this org.
    Ours(&'a User),
    /// Someone else's (on Online, usernames are global), or an answer that
    /// does not say which org it is: never taken as ours.
    NotOurs,
}

fn taken<'a>(user: &'a User, portal: &Portal) -> Taken<'a> {
    match user.org_id.as_deref() {
        Some(org) if org == portal.id => Taken::Ours(user),
        _ => Taken::NotOurs,
    }
}

impl<D: OnboardingPorts> MemberOnboarding<'_, D> {
    /// Marks rows whose username is already taken: members of this org become
    /// `exists` (their groups are still ensured); anyone else's name fails.
    pub(super) async fn find_existing(&self, work: &mut [Work], portal: &Portal) {
        let names: Vec<String> = work
            .iter()
            .filter(|w| w.pending())
            .map(|w| w.username.clone())
            .collect();
        let checked: Vec<Result<Vec<(String, UsernameAvailability)>, Error>> =
            stream::iter(names.chunks(CHECK_USERNAMES_BATCH).map(<[String]>::to_vec))
                .map(|chunk| async move { self.arcgis.check_usernames(&chunk).await })
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;
        let mut taken_names = Vec::new();
        for answer in checked {
            match answer {
                Ok(list) => taken_names.extend(
                    list.into_iter()
                        .filter(|(_, a)| *a == UsernameAvailability::Taken)
                        .map(|(name, _)| name),
                ),
                // The create calls still refuse existing names; go on without the hint.
                Err(e) => warn!(error = %e, "checkUsernames failed; relying on the create answers"),
            }
        }
        let found = self.lookup(taken_names).await;
        for w in work.iter_mut().filter(|w| w.pending()) {
            match found.get(&w.username.to_ascii_lowercase()) {
                Some(Ok(Some(user))) => match taken(user, portal) {
                    Taken::Ours(user) => w.exists(user),
                    Taken::NotOurs => w.fail(outside(&w.username)),
                },
                Some(Ok(None)) => w.fail(outside(&w.username)),
                Some(Err(e)) => w.fail(format!("looking up the existing account failed: {e}")),
                None => {}
            }
        }
    }

    /// Looks members up by username, concurrently; keys are lower-cased.
    async fn lookup(&self, usernames: Vec<String>) -> HashMap<String, Result<Option<User>, Error>> {
        stream::iter(usernames)
            .map(|name| async move {
                let user = self.arcgis.user(&name).await;
                (name.to_ascii_lowercase(), user)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await
    }

    /// Creates the new members. Rows not started before the deadline stay pending.
    pub(super) async fn create(&self, work: &mut [Work], portal: &Portal, run: &Run) {
        let refused = match portal.kind {
            PortalKind::Online => self.create_online(work, run).await,
            PortalKind::Enterprise => self.create_enterprise(work, run).await,
        };
        // A name the portal would not create: someone took it meanwhile, or
        // the portal refused the values. Look it up to tell which.
        let names = refused.iter().map(|i| work[*i].username.clone()).collect();
        let found = self.lookup(names).await;
        for index in refused {
            let w = &mut work[index];
            match found.get(&w.username.to_ascii_lowercase()) {
                Some(Ok(Some(user))) => match taken(user, portal) {
                    Taken::Ours(user) => w.exists(user),
                    Taken::NotOurs => w.fail(outside(&w.username)),
                },
                Some(Err(e)) => w.fail(format!(
                    "the portal did not create the account, and looking it up failed: {e}"
                )),
                _ => w.fail(
                    "the portal did not create the account (username taken or a value refused); check the row",
                ),
            }
        }
    }

    /// Online: invitation lists of `ARCGIS_INVITE_BATCH`. Returns the rows
    /// whose names the portal listed as not invited.
    async fn create_online(&self, work: &mut [Work], run: &Run) -> Vec<usize> {
        let pending: Vec<usize> = (0..work.len()).filter(|i| work[*i].pending()).collect();
        let batches: Vec<(Vec<usize>, Vec<Invitation>)> = pending
            .chunks(self.config.invite_batch.max(1))
            .map(|chunk| {
                let invitations = chunk
                    .iter()
                    .filter_map(|i| work[*i].member.as_ref().map(|m| m.account.clone()))
                    .collect();
                (chunk.to_vec(), invitations)
            })
            .collect();
        let results: Vec<Vec<InviteResult>> = stream::iter(batches)
            .map(|(indices, invitations)| self.invite_bisecting(indices, invitations, run))
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let mut refused = Vec::new();
        for (indices, result) in results.into_iter().flatten() {
            match result {
                Ok(not_invited) => {
                    let not_invited: HashSet<String> =
                        not_invited.iter().map(|n| n.to_ascii_lowercase()).collect();
                    for index in indices {
                        if not_invited.contains(&work[index].username.to_ascii_lowercase()) {
                            refused.push(index);
                        } else {
                            work[index].created(None);
                        }
                    }
                }
                Err(e) => {
                    for index in indices {
                        work[index].fail(format!("not created: {e}"));
                    }
                }
            }
        }
        refused
    }

    /// One invite call; when the portal refuses the whole list (one bad
    /// invitation can), the list is split in halves and each half sent, down
    /// to single invitations, so only the refused rows fail. Calls not
    /// started before the deadline leave their rows pending.
    async fn invite_bisecting(
        &self,
        indices: Vec<usize>,
        invitations: Vec<Invitation>,
        run: &Run,
    ) -> Vec<InviteResult> {
        if !run.may_start() {
            return Vec::new();
        }
        match self.arcgis.invite(&invitations).await {
            Err(Error::Api { .. }) if invitations.len() > 1 => {
                let half = invitations.len() / 2;
                let (left, right) = indices.split_at(half);
                let (first, second) = invitations.split_at(half);
                let mut results =
                    Box::pin(self.invite_bisecting(left.to_vec(), first.to_vec(), run)).await;
                results.extend(
                    Box::pin(self.invite_bisecting(right.to_vec(), second.to_vec(), run)).await,
                );
                results
            }
            answer => vec![(indices, answer)],
        }
    }

    /// Enterprise: one `createUser` each. Returns the rows whose names
    /// already exist.
    async fn create_enterprise(&self, work: &mut [Work], run: &Run) -> Vec<usize> {
        let members: Vec<(usize, Invitation)> = (0..work.len())
            .filter(|i| work[*i].pending())
            .filter_map(|i| work[i].member.as_ref().map(|m| (i, m.account.clone())))
            .collect();
        // `None`: not started before the deadline.
        type Created = Option<Result<String, Error>>;
        let results: Vec<(usize, Created)> = stream::iter(members)
            .map(|(index, member)| async move {
                if !run.may_start() {
                    return (index, None);
                }
                (
                    index,
                    Some(self.arcgis.create_enterprise_member(&member).await),
                )
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let mut refused = Vec::new();
        for (index, result) in results {
            match result {
                None => {}
                Some(Ok(stored)) => work[index].created(Some(stored)),
                Some(Err(Error::AlreadyExists { .. })) => refused.push(index),
                Some(Err(e)) => work[index].fail(format!("not created: {e}")),
            }
        }
        refused
    }
}

fn outside(username: &str) -> String {
    format!("username: {username:?} is taken by an account outside this organisation")
}
