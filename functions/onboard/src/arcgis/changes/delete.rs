//! `delete` rows. A member who owns nothing is deleted. A member who owns
//! items or groups is deleted only with `reassign_to`: every item (root
//! and every folder) moves into a folder of the receiver named after the
//! departing member, every group they own goes to the receiver, the
//! holdings are read again to see that nothing is left, and only then is
//! the member deleted (`community/users/{u}/delete`, which the portal
//! refuses while anything remains). The sequence is the one the ArcGIS API
//! for Python's `User.delete(reassign_to=…)` follows, with the items moved
//! one by one so each lands in the named folder
//! (<https://developers.arcgis.com/rest/users-groups-and-items/reassign-item/>).

use std::collections::HashMap;

use connectors::arcgis::{Holdings, Portal, User};
use connectors::inbox::{Outcome, Run};
use futures::stream::{self, StreamExt};

use super::super::request::Change;
use super::{count, ChangePorts, ChangeWork, MemberOnboarding};

/// User types that cannot own items or groups (*User types, roles, and
/// privileges*, <https://doc.arcgis.com/en/arcgis-online/reference/roles.htm>).
const CANNOT_OWN_CONTENT: [&str; 3] = ["viewerUT", "editorUT", "fieldWorkerUT"];

/// The privilege that lets a member own items.
const CREATE_ITEM: &str = "portal:user:createItem";

/// Why `user` cannot receive a departing member's content, if it cannot.
fn unfit_receiver(user: &User) -> Option<String> {
    if user.disabled {
        return Some(format!("{} is disabled", user.username));
    }
    let user_type = user.user_license_type_id.as_deref().unwrap_or_default();
    if CANNOT_OWN_CONTENT.contains(&user_type) {
        return Some(format!(
            "{} cannot own content (user type {user_type})",
            user.username
        ));
    }
    if !user.privileges.is_empty() && !user.privileges.iter().any(|p| p == CREATE_ITEM) {
        return Some(format!(
            "{} cannot own content (its role lacks {CREATE_ITEM})",
            user.username
        ));
    }
    None
}

/// `3 items ("Roads" (Web Map), …) and 1 group ("Field crew")`.
fn holdings_words(holdings: &Holdings) -> String {
    let mut parts = Vec::new();
    if !holdings.items.is_empty() {
        let titles: Vec<String> = holdings
            .items
            .iter()
            .map(|i| format!("{:?} ({})", i.title, i.item_type))
            .collect();
        parts.push(format!(
            "{} ({})",
            count(holdings.items.len(), "item", "items"),
            titles.join(", ")
        ));
    }
    if !holdings.groups.is_empty() {
        let titles: Vec<String> = holdings
            .groups
            .iter()
            .map(|g| format!("{:?}", g.title))
            .collect();
        parts.push(format!(
            "{} ({})",
            count(holdings.groups.len(), "group", "groups"),
            titles.join(", ")
        ));
    }
    parts.join(" and ")
}

impl<D: ChangePorts> MemberOnboarding<'_, D> {
    /// Deletes (or plans deleting) every `delete` row still pending.
    pub(super) async fn delete(&self, work: &mut [ChangeWork], portal: &Portal, run: &Run) {
        let due: Vec<usize> = (0..work.len())
            .filter(|i| work[*i].pending() && matches!(work[*i].change, Change::Delete { .. }))
            .collect();
        if due.is_empty() {
            return;
        }
        let receivers = self.receivers(work, &due, portal).await;
        let jobs: Vec<(usize, String, Option<String>)> = due
            .iter()
            .filter_map(|i| {
                let w = &work[*i];
                let Change::Delete { reassign_to } = &w.change else {
                    return None;
                };
                Some((*i, w.username.clone(), reassign_to.clone()))
            })
            .collect();
        let answers: Vec<(usize, Option<(Outcome, String)>)> = stream::iter(jobs)
            .map(|(i, username, reassign_to)| {
                let receiver = reassign_to.as_ref().map(|r| {
                    receivers
                        .get(&r.to_lowercase())
                        .cloned()
                        .unwrap_or_else(|| Err(format!("{r} was not looked up")))
                });
                async move {
                    if !run.may_start() {
                        return (i, None);
                    }
                    let answer = self
                        .delete_one(&username, reassign_to.as_deref(), receiver, run)
                        .await;
                    (i, Some(answer))
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        for (i, answer) in answers {
            if let Some((outcome, reason)) = answer {
                work[i].settle(outcome, reason);
            }
        }
    }

    /// Each receiver named, checked once: `Ok(())` or why it cannot receive.
    async fn receivers(
        &self,
        work: &[ChangeWork],
        due: &[usize],
        portal: &Portal,
    ) -> HashMap<String, Result<(), String>> {
        let mut names: Vec<String> = due
            .iter()
            .filter_map(|i| match &work[*i].change {
                Change::Delete {
                    reassign_to: Some(r),
                } => Some(r.clone()),
                _ => None,
            })
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        names.dedup_by_key(|n| n.to_lowercase());
        let deleted: Vec<String> = work
            .iter()
            .filter(|w| matches!(w.change, Change::Delete { .. }))
            .map(|w| w.username.to_lowercase())
            .collect();
        let found = self.members(names, portal).await;
        found
            .into_iter()
            .map(|(name, user)| {
                let verdict = match user {
                    _ if deleted.contains(&name) => {
                        Err(format!("{name} is deleted by this file too"))
                    }
                    Ok(Some(user)) => unfit_receiver(&user).map_or(Ok(()), Err),
                    Ok(None) => Err(format!("no member {name:?} in this organisation")),
                    Err(e) => Err(format!("looking {name} up failed: {e}")),
                };
                (name, verdict)
            })
            .collect()
    }

    /// One member: read what it owns, move it, check, delete.
    async fn delete_one(
        &self,
        username: &str,
        reassign_to: Option<&str>,
        receiver: Option<Result<(), String>>,
        run: &Run,
    ) -> (Outcome, String) {
        let failed = |why: String| (Outcome::Failed, why);
        let holdings = match self.arcgis.holdings(username).await {
            Ok(h) => h,
            Err(e) => {
                return failed(format!(
                    "not deleted: reading what the member owns failed: {e}"
                ))
            }
        };
        if holdings.is_empty() {
            return if run.dry_run {
                (
                    Outcome::Planned,
                    "would delete the member (owns no items or groups)".into(),
                )
            } else {
                match self.arcgis.delete_user(username).await {
                    Ok(()) => (
                        Outcome::Deleted,
                        "deleted (owned no items or groups)".into(),
                    ),
                    Err(e) => failed(format!("not deleted: {e}")),
                }
            };
        }
        let Some(target) = reassign_to else {
            return failed(format!(
                "not deleted: owns {}, {} in the way; give reassign_to to move them",
                holdings_words(&holdings),
                if holdings.items.len() + holdings.groups.len() == 1 {
                    "which is"
                } else {
                    "which are"
                }
            ));
        };
        if let Some(Err(why)) = receiver {
            return failed(format!("{}: {why}", super::super::rows::REASSIGN_TO));
        }
        let moving = holdings_words(&holdings);
        if run.dry_run {
            let mut plan = Vec::new();
            if !holdings.items.is_empty() {
                plan.push(format!(
                    "move {} into {target}'s folder {username:?}",
                    count(holdings.items.len(), "item", "items")
                ));
            }
            if !holdings.groups.is_empty() {
                plan.push(format!(
                    "give {} to {target}",
                    count(holdings.groups.len(), "group", "groups")
                ));
            }
            return (
                Outcome::Planned,
                format!(
                    "would {}, then delete the member; owns {moving}",
                    plan.join(" and ")
                ),
            );
        }
        for item in &holdings.items {
            if let Err(e) = self
                .arcgis
                .reassign_item(username, item, target, username)
                .await
            {
                return failed(format!(
                    "not deleted: moving item {:?} to {target} failed: {e}",
                    item.title
                ));
            }
        }
        for group in &holdings.groups {
            if let Err(e) = self.arcgis.reassign_group(&group.id, target).await {
                return failed(format!(
                    "not deleted: giving group {:?} to {target} failed: {e}",
                    group.title
                ));
            }
        }
        match self.arcgis.holdings(username).await {
            Ok(left) if left.is_empty() => {}
            Ok(left) => {
                return failed(format!(
                    "not deleted: after the move the member still owns {}",
                    holdings_words(&left)
                ))
            }
            Err(e) => {
                return failed(format!(
                    "not deleted: checking that nothing is left failed: {e}"
                ))
            }
        }
        match self.arcgis.delete_user(username).await {
            Ok(()) => (
                Outcome::Deleted,
                format!("deleted; moved {moving} to {target} (items in folder {username:?})"),
            ),
            Err(e) => failed(format!("moved {moving} to {target}, but not deleted: {e}")),
        }
    }
}
