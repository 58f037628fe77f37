//! Groups: every group a file names must exist, and every created or
//! existing member is added to the groups it lacks, 25 a call.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use connectors::arcgis::{GroupLookup, ADD_USERS_BATCH};
use connectors::inbox::Run;
use connectors::Error;
use futures::stream::{self, StreamExt};

use super::{MemberOnboarding, OnboardingPorts, Work};

impl<D: GroupLookup> MemberOnboarding<'_, D> {
    /// Whether each group exists (and is visible), one lookup per group,
    /// concurrently.
    pub(super) async fn groups_exist(
        &self,
        ids: BTreeSet<String>,
    ) -> Vec<(String, Result<bool, Error>)> {
        stream::iter(ids)
            .map(|id| async move {
                let exists = self.arcgis.group(&id).await.map(|g| g.is_some());
                (id, exists)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await
    }
}

impl<D: OnboardingPorts> MemberOnboarding<'_, D> {
    /// Fails rows naming a group that does not exist (one lookup per group).
    pub(super) async fn check_groups(&self, work: &mut [Work]) -> Result<(), Error> {
        let wanted: BTreeSet<String> = work
            .iter()
            .filter_map(|w| w.member.as_ref())
            .flat_map(|m| m.groups.iter().cloned())
            .collect();
        let found = self.groups_exist(wanted).await;
        let mut missing = HashSet::new();
        for (id, exists) in found {
            if !exists? {
                missing.insert(id);
            }
        }
        for w in work.iter_mut() {
            let Some(member) = &w.member else { continue };
            let bad: Vec<&String> = member
                .groups
                .iter()
                .filter(|g| missing.contains(*g))
                .collect();
            if bad.is_empty() {
                continue;
            }
            let from_defaults = bad.iter().any(|g| self.config.default_groups.contains(g));
            let reason = format!(
                "groups: {} {} not exist or {} not visible to the signed-in account{}",
                bad.iter()
                    .map(|g| format!("{g:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if bad.len() == 1 { "does" } else { "do" },
                if bad.len() == 1 { "is" } else { "are" },
                if from_defaults {
                    " (check ARCGIS_DEFAULT_GROUPS)"
                } else {
                    ""
                },
            );
            w.fail(reason);
        }
        Ok(())
    }

    /// Adds every created or existing member to the groups it lacks.
    pub(super) async fn ensure_groups(&self, work: &mut [Work], run: &Run) {
        let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, w) in work.iter().enumerate() {
            let Some(member) = w.member.as_ref().filter(|_| w.finished()) else {
                continue;
            };
            for group in &member.groups {
                if !w.current_groups.iter().any(|g| g == group) {
                    by_group.entry(group.clone()).or_default().push(index);
                }
            }
        }
        let calls: Vec<(String, Vec<usize>, Vec<String>)> = by_group
            .iter()
            .flat_map(|(group, indices)| {
                indices.chunks(ADD_USERS_BATCH).map(|chunk| {
                    let names = chunk.iter().map(|i| work[*i].username.clone()).collect();
                    (group.clone(), chunk.to_vec(), names)
                })
            })
            .collect();
        // `None`: not reached before the deadline.
        type Added = Option<Result<Vec<String>, Error>>;
        let results: Vec<(String, Vec<usize>, Added)> = stream::iter(calls)
            .map(|(group, indices, names)| async move {
                if !run.may_start() {
                    return (group, indices, None);
                }
                let result = self.arcgis.add_to_group(&group, &names).await;
                (group, indices, Some(result))
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        for (group, indices, result) in results {
            let not_added: HashSet<String> = match &result {
                Some(Ok(names)) => names.iter().map(|n| n.to_ascii_lowercase()).collect(),
                _ => HashSet::new(),
            };
            for index in indices {
                let w = &mut work[index];
                let failure = match &result {
                    None => Some("not reached before the Lambda deadline".to_string()),
                    Some(Err(e)) => Some(e.to_string()),
                    Some(Ok(_)) if not_added.contains(&w.username.to_ascii_lowercase()) => {
                        Some("the portal listed the member in notAdded".to_string())
                    }
                    Some(Ok(_)) => None,
                };
                match failure {
                    Some(why) => w.groups_failed.push((group.clone(), why)),
                    None => w.groups_added.push(group.clone()),
                }
            }
        }
    }
}
