//! `disable` and `enable` rows: the portal's bulk calls, 25 members each
//! (`portals/self/disableUsers`, `portals/self/enableUsers`).

use connectors::arcgis::{BulkResult, BULK_USERS_BATCH};
use connectors::inbox::{Outcome, Run};
use connectors::Error;
use futures::stream::{self, StreamExt};

use super::super::request::Change;
use super::{ChangePorts, ChangeWork, MemberOnboarding};

impl<D: ChangePorts> MemberOnboarding<'_, D> {
    /// Disables and enables the members whose rows ask for it; a member
    /// already so is `unchanged`.
    pub(super) async fn set_status(&self, work: &mut [ChangeWork], run: &Run) {
        for disable in [true, false] {
            let wanted = |w: &ChangeWork| {
                w.pending()
                    && match w.change {
                        Change::Disable => disable,
                        Change::Enable => !disable,
                        _ => false,
                    }
            };
            let (word, done, outcome) = if disable {
                ("disable", "disabled", Outcome::Disabled)
            } else {
                ("enable", "enabled", Outcome::Enabled)
            };
            let mut due = Vec::new();
            for (i, w) in work.iter_mut().enumerate().filter(|(_, w)| wanted(w)) {
                let is_disabled = w.member.as_ref().is_some_and(|m| m.disabled);
                if is_disabled == disable {
                    w.settle(Outcome::Unchanged, format!("already {done}"));
                } else if run.dry_run {
                    w.settle(Outcome::Planned, format!("would {word} the member"));
                } else {
                    due.push(i);
                }
            }
            let batches: Vec<Vec<usize>> = due
                .chunks(BULK_USERS_BATCH)
                .map(<[usize]>::to_vec)
                .collect();
            // `None`: not started before the deadline.
            type Answer = Option<Result<Vec<BulkResult>, Error>>;
            let answers: Vec<(Vec<usize>, Answer)> = stream::iter(batches)
                .map(|batch| {
                    let names: Vec<String> =
                        batch.iter().map(|i| work[*i].username.clone()).collect();
                    async move {
                        if !run.may_start() {
                            return (batch, None);
                        }
                        let answer = if disable {
                            self.arcgis.disable_users(&names).await
                        } else {
                            self.arcgis.enable_users(&names).await
                        };
                        (batch, Some(answer))
                    }
                })
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;
            for (batch, answer) in answers {
                for i in batch {
                    let w = &mut work[i];
                    match &answer {
                        None => {}
                        Some(Err(e)) => w.fail(format!("not {done}: {e}")),
                        Some(Ok(results)) => {
                            let result = results
                                .iter()
                                .find(|r| r.username.eq_ignore_ascii_case(&w.username));
                            match result {
                                Some(BulkResult { ok: true, .. }) => w.settle(outcome, done),
                                Some(BulkResult { error, .. }) => w.fail(format!(
                                    "not {done}: {}",
                                    error.as_deref().unwrap_or("the portal refused")
                                )),
                                None => w.fail(format!(
                                    "not {done}: the portal's answer did not mention the member"
                                )),
                            }
                        }
                    }
                }
            }
        }
    }
}
