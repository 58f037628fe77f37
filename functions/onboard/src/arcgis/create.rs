//! Who exists already, and creating the rest: Online by invitation lists,
//! Enterprise one `createUser` each.

use std::collections::{HashMap, HashSet};

use connectors::arcgis::{Portal, PortalKind, User, UsernameAvailability, CHECK_USERNAMES_BATCH};
use connectors::inbox::{Outcome, Run};
use connectors::Error;
use futures::stream::{self, StreamExt};
use tracing::warn;

use super::{MemberOnboarding, OnboardingPorts, Work};

/// The rows one portal call covered, and the names it did not create, or
/// why the whole call failed.
type BatchResult = (Vec<usize>, Result<Vec<String>, Error>);

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
                .buffer_unordered(self.config.arcgis.concurrency)
                .collect()
                .await;
        let mut taken = Vec::new();
        for answer in checked {
            match answer {
                Ok(list) => taken.extend(
                    list.into_iter()
                        .filter(|(_, a)| *a == UsernameAvailability::Taken)
                        .map(|(name, _)| name),
                ),
                // The create calls still refuse existing names; go on without the hint.
                Err(e) => warn!(error = %e, "checkUsernames failed; relying on the create answers"),
            }
        }
        let found = self.lookup(taken).await;
        for w in work.iter_mut().filter(|w| w.pending()) {
            match found.get(&w.username.to_ascii_lowercase()) {
                Some(Ok(Some(user)))
                    if user.org_id.as_deref().is_none_or(|org| org == portal.id) =>
                {
                    w.outcome = Some(Outcome::Exists);
                    w.current_groups = user.groups.clone();
                    w.reason = "already a member".into();
                }
                Some(Ok(_)) => w.fail(format!(
                    "username: {:?} is taken by an account outside this organisation",
                    w.username
                )),
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
            .buffer_unordered(self.config.arcgis.concurrency)
            .collect()
            .await
    }

    /// Creates the new members. Rows not started before the deadline stay pending.
    pub(super) async fn create(&self, work: &mut [Work], kind: PortalKind, run: &Run) {
        let pending: Vec<usize> = (0..work.len()).filter(|i| work[*i].pending()).collect();
        let concurrency = self.config.arcgis.concurrency;
        let results: Vec<BatchResult> = match kind {
            PortalKind::Online => {
                let batches: Vec<(Vec<usize>, Vec<_>)> = pending
                    .chunks(self.config.invite_batch.max(1))
                    .map(|chunk| {
                        let invitations = chunk
                            .iter()
                            .filter_map(|i| work[*i].member.as_ref().map(|m| m.account.clone()))
                            .collect();
                        (chunk.to_vec(), invitations)
                    })
                    .collect();
                stream::iter(batches)
                    .map(|(indices, invitations)| async move {
                        if !run.may_start() {
                            return (Vec::new(), Ok(Vec::new()));
                        }
                        (indices, self.arcgis.invite(&invitations).await)
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await
            }
            PortalKind::Enterprise => {
                let members: Vec<(usize, _)> = pending
                    .iter()
                    .filter_map(|i| work[*i].member.as_ref().map(|m| (*i, m.account.clone())))
                    .collect();
                stream::iter(members)
                    .map(|(index, member)| async move {
                        if !run.may_start() {
                            return (Vec::new(), Ok(Vec::new()));
                        }
                        let result = match self.arcgis.create_enterprise_member(&member).await {
                            Ok(()) => Ok(Vec::new()),
                            Err(Error::AlreadyExists { .. }) => Ok(vec![member.username.clone()]),
                            Err(e) => Err(e),
                        };
                        (vec![index], result)
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await
            }
        };
        let mut refused = Vec::new();
        for (indices, result) in results {
            match result {
                Ok(not_created) => {
                    let not_created: HashSet<String> =
                        not_created.iter().map(|n| n.to_ascii_lowercase()).collect();
                    for index in indices {
                        let w = &mut work[index];
                        if not_created.contains(&w.username.to_ascii_lowercase()) {
                            refused.push(index);
                        } else if let Some(member) = &w.member {
                            let (outcome, reason) =
                                match (&member.account.password, &member.account.provider) {
                                    (Some(_), None) => (Outcome::Created, "created".to_string()),
                                    (_, Some(_)) => (
                                        Outcome::Created,
                                        "created for the identity provider login".to_string(),
                                    ),
                                    (None, None) => (
                                        Outcome::Invited,
                                        format!("invitation sent to {}", member.account.email),
                                    ),
                                };
                            w.outcome = Some(outcome);
                            w.reason = reason;
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
        // A name the portal would not create: someone took it meanwhile, or the
        // portal refused the values. Look it up to tell which.
        let names = refused.iter().map(|i| work[*i].username.clone()).collect();
        let found = self.lookup(names).await;
        for index in refused {
            let w = &mut work[index];
            match found.get(&w.username.to_ascii_lowercase()) {
                Some(Ok(Some(user))) => {
                    w.outcome = Some(Outcome::Exists);
                    w.current_groups = user.groups.clone();
                    w.reason = "already a member".into();
                }
                Some(Err(e)) => w.fail(format!("the portal did not create the account, and looking it up failed: {e}")),
                _ => w.fail(
                    "the portal did not create the account (username taken or a value refused); check the row",
                ),
            }
        }
    }
}
