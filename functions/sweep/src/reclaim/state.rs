//! The licence reclamation's state, `state/reclaimed.json`: each member
//! rollcall downgraded with the user type and role they had and when, the
//! downgrades per day (for the daily cap), who waits for a change the portal
//! refused for now, the member notices still due, and the changes a run had
//! started and not yet recorded.
//!
//! It is written as `state/sweep.json` is ([`crate::state`]): each write is
//! a list of [`Op`]s applied to the object as it is in S3 and put on the
//! condition of its ETag, read again and re-applied on a lost race; a run
//! records its intents before the changes and the results after, and the
//! next run settles intents a killed run left behind.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use connectors::store::{written_by, NewObject, ObjectStore};
use connectors::Error;
use serde::{Deserialize, Serialize};

use crate::state::Intent;

/// Where the state lives in the report bucket.
pub const RECLAIMED_KEY: &str = "state/reclaimed.json";

/// The version this code writes.
pub const RECLAIMED_VERSION: u32 = 1;

/// Days of downgrades kept for the daily cap (today and the six before).
const DAYS_KEPT: i64 = 7;

/// A member rollcall downgraded: what they had, what they got, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reclaimed {
    /// The user type they had (and get back), e.g. `creatorUT`.
    pub user_type: String,
    /// The role id they had (and get back), e.g. `org_publisher`.
    pub role: String,
    /// The user type they were given.
    pub downgraded_to: String,
    pub downgraded_at: DateTime<Utc>,
}

/// A downgrade about to be made: the run, its clock, and what the member
/// had (so a run killed after the change still knows what to give back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DowngradeIntent {
    pub run: String,
    pub at: DateTime<Utc>,
    pub user_type: String,
    pub role: String,
    /// The user type being given.
    pub to: String,
}

impl DowngradeIntent {
    /// The record once the downgrade is made.
    pub fn reclaimed(&self) -> Reclaimed {
        Reclaimed {
            user_type: self.user_type.clone(),
            role: self.role.clone(),
            downgraded_to: self.to.clone(),
            downgraded_at: self.at,
        }
    }
}

/// Which change waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Downgrade,
    Restore,
}

/// A change the portal refused for now (the 30-day rule, or no licence
/// free); later runs try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub change: Change,
    /// When the portal first refused.
    pub since: DateTime<Utc>,
    /// The day from which the portal allows the change, when known (the
    /// 30-day rule); `None` while it waits for a free licence.
    pub until: Option<NaiveDate>,
    /// The portal's reason, or rollcall's (no licence free).
    pub reason: String,
}

/// Which member notice is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The licence was released.
    Released,
    /// The licence was given back.
    Restored,
}

/// A member notice not yet sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDue {
    pub notice: Notice,
    pub at: DateTime<Utc>,
    /// The user type released or given back (for the mail).
    pub user_type: String,
    /// The user type the member holds after the change.
    pub now_holds: String,
}

/// Changes started and not yet recorded as done, by lower-cased username.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(default)]
    pub downgrade: BTreeMap<String, DowngradeIntent>,
    #[serde(default)]
    pub restore: BTreeMap<String, Intent>,
    #[serde(default)]
    pub notify: BTreeMap<String, Intent>,
}

/// The whole state. Usernames are lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimState {
    pub version: u32,
    /// Members downgraded and not yet given their licence back.
    #[serde(default)]
    pub members: BTreeMap<String, Reclaimed>,
    /// Members downgraded, by UTC day (`yyyy-mm-dd`) of the run's clock.
    #[serde(default)]
    pub downgraded: BTreeMap<String, BTreeSet<String>>,
    /// Changes the portal refused for now.
    #[serde(default)]
    pub waiting: BTreeMap<String, Waiting>,
    #[serde(default)]
    pub notices_due: BTreeMap<String, NoticeDue>,
    #[serde(default)]
    pub pending: Pending,
}

impl ReclaimState {
    /// How many members rollcall downgraded on `day`.
    pub fn downgraded_on(&self, day: NaiveDate) -> usize {
        self.downgraded.get(&day_key(day)).map_or(0, BTreeSet::len)
    }

    /// Whether the state knows `name` at all.
    pub fn knows(&self, name: &str) -> bool {
        self.members.contains_key(name)
            || self.waiting.contains_key(name)
            || self.notices_due.contains_key(name)
            || self.pending.downgrade.contains_key(name)
            || self.pending.restore.contains_key(name)
            || self.pending.notify.contains_key(name)
    }
}

/// Which kind of intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Downgrade,
    Restore,
    Notify,
}

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A downgrade is about to be made.
    IntendDowngrade(String, DowngradeIntent),
    /// A restore is about to be made.
    IntendRestore(String, Intent),
    /// A notice is about to be sent.
    IntendNotice(String, Intent),
    /// An intent is settled: its result is recorded, or was found out.
    Settled(Kind, String),
    /// The member was downgraded: recorded, counted for its day, its
    /// notice falls due, and it waits no more.
    Downgraded(String, Reclaimed),
    /// The member got back what they had (at this time, this type, now
    /// holding that type); the notice falls due when `notify`.
    Restored {
        name: String,
        at: DateTime<Utc>,
        user_type: String,
        notify: bool,
    },
    /// The record is dropped without a restore (the member left, or an
    /// admin changed their user type since).
    Forget(String),
    /// The change waits (or waits again, keeping the first refusal's time).
    Wait(String, Waiting),
    /// The member waits no more.
    Unwait(String),
    /// The member's notice is no longer due (sent, or cannot be).
    NoticeDone(String),
}

/// Applies `ops` in order, and forgets downgrade days older than the days
/// kept before `today`.
pub fn apply(ops: &[Op], state: &mut ReclaimState, today: NaiveDate) {
    state.version = RECLAIMED_VERSION;
    for op in ops {
        match op {
            Op::IntendDowngrade(name, intent) => {
                state.pending.downgrade.insert(name.clone(), intent.clone());
            }
            Op::IntendRestore(name, intent) => {
                state.pending.restore.insert(name.clone(), intent.clone());
            }
            Op::IntendNotice(name, intent) => {
                state.pending.notify.insert(name.clone(), intent.clone());
            }
            Op::Settled(kind, name) => {
                match kind {
                    Kind::Downgrade => state.pending.downgrade.remove(name).map(|_| ()),
                    Kind::Restore => state.pending.restore.remove(name).map(|_| ()),
                    Kind::Notify => state.pending.notify.remove(name).map(|_| ()),
                };
            }
            Op::Downgraded(name, record) => {
                state
                    .downgraded
                    .entry(day_key(record.downgraded_at.date_naive()))
                    .or_default()
                    .insert(name.clone());
                state.notices_due.insert(
                    name.clone(),
                    NoticeDue {
                        notice: Notice::Released,
                        at: record.downgraded_at,
                        user_type: record.user_type.clone(),
                        now_holds: record.downgraded_to.clone(),
                    },
                );
                state.members.insert(name.clone(), record.clone());
                state.waiting.remove(name);
            }
            Op::Restored {
                name,
                at,
                user_type,
                notify,
            } => {
                let record = state.members.remove(name);
                state.waiting.remove(name);
                state.notices_due.remove(name);
                if *notify {
                    let user_type = record.map_or_else(|| user_type.clone(), |r| r.user_type);
                    state.notices_due.insert(
                        name.clone(),
                        NoticeDue {
                            notice: Notice::Restored,
                            at: *at,
                            now_holds: user_type.clone(),
                            user_type,
                        },
                    );
                }
            }
            Op::Forget(name) => {
                state.members.remove(name);
                state.waiting.remove(name);
            }
            Op::Wait(name, waiting) => {
                let since = state
                    .waiting
                    .get(name)
                    .filter(|w| w.change == waiting.change)
                    .map_or(waiting.since, |w| w.since);
                state.waiting.insert(
                    name.clone(),
                    Waiting {
                        since,
                        ..waiting.clone()
                    },
                );
            }
            Op::Unwait(name) => {
                state.waiting.remove(name);
            }
            Op::NoticeDone(name) => {
                state.notices_due.remove(name);
            }
        }
    }
    let oldest = day_key(today - Duration::days(DAYS_KEPT - 1));
    state
        .downgraded
        .retain(|day, names| *day >= oldest && !names.is_empty());
}

fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Reads the state; a missing object is an empty state.
pub async fn load<S: ObjectStore>(
    store: &S,
    bucket: &str,
) -> Result<(ReclaimState, Option<String>), Error> {
    let Some(object) = store.get(bucket, RECLAIMED_KEY).await? else {
        return Ok((ReclaimState::default(), None));
    };
    let state = serde_json::from_slice(&object.body).map_err(|e| Error::Decode {
        service: "S3",
        operation: format!("s3://{bucket}/{RECLAIMED_KEY}"),
        path: format!("line {} column {}", e.line(), e.column()),
        message: e.to_string(),
    })?;
    Ok((state, Some(object.etag)))
}

/// Applies `ops` to the state as it is now and writes it with a conditional
/// put; on a lost race reads again and re-applies them (a few times).
pub async fn update<S: ObjectStore>(
    store: &S,
    bucket: &str,
    run_id: &str,
    today: NaiveDate,
    ops: &[Op],
) -> Result<ReclaimState, Error> {
    for _ in 0..4 {
        let (mut state, etag) = load(store, bucket).await?;
        apply(ops, &mut state, today);
        let body = serde_json::to_vec_pretty(&state).expect("state serialises");
        let put = store
            .put(NewObject {
                bucket: bucket.to_string(),
                key: RECLAIMED_KEY.to_string(),
                body,
                content_type: "application/json".into(),
                metadata: written_by("sweep", run_id),
                if_absent: etag.is_none(),
                if_match: etag,
            })
            .await;
        match put {
            Ok(()) => return Ok(state),
            Err(Error::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::PreconditionFailed {
        bucket: bucket.to_string(),
        key: RECLAIMED_KEY.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn record(on: &str) -> Reclaimed {
        Reclaimed {
            user_type: "creatorUT".into(),
            role: "org_publisher".into(),
            downgraded_to: "viewerUT".into(),
            downgraded_at: at(on),
        }
    }

    #[test]
    fn a_downgrade_then_a_restore_leave_only_the_day_count_and_the_notice() {
        let mut state = ReclaimState::default();
        let day = at("2026-06-10T06:00:00Z");
        apply(
            &[
                Op::Wait(
                    "a".into(),
                    Waiting {
                        change: Change::Downgrade,
                        since: at("2026-06-01T06:00:00Z"),
                        until: None,
                        reason: "r".into(),
                    },
                ),
                Op::Downgraded("a".into(), record("2026-06-10T06:00:00Z")),
            ],
            &mut state,
            day.date_naive(),
        );
        assert_eq!(state.members["a"].role, "org_publisher");
        assert_eq!(state.downgraded_on(day.date_naive()), 1);
        assert_eq!(state.notices_due["a"].notice, Notice::Released);
        assert!(state.waiting.is_empty());
        apply(
            &[Op::Restored {
                name: "a".into(),
                at: at("2026-06-12T06:00:00Z"),
                user_type: String::new(),
                notify: true,
            }],
            &mut state,
            day.date_naive(),
        );
        assert!(state.members.is_empty());
        let due = &state.notices_due["a"];
        assert_eq!(
            (due.notice, due.user_type.as_str()),
            (Notice::Restored, "creatorUT")
        );
        assert_eq!(state.downgraded_on(day.date_naive()), 1, "still counted");
    }

    #[test]
    fn waiting_again_keeps_the_first_refusal() {
        let mut state = ReclaimState::default();
        let wait = |since: &str| Waiting {
            change: Change::Restore,
            since: at(since),
            until: None,
            reason: "no Creator licence free (0 of 1)".into(),
        };
        let today = at("2026-06-12T06:00:00Z").date_naive();
        apply(
            &[Op::Wait("a".into(), wait("2026-06-10T06:00:00Z"))],
            &mut state,
            today,
        );
        apply(
            &[Op::Wait("a".into(), wait("2026-06-11T06:00:00Z"))],
            &mut state,
            today,
        );
        assert_eq!(state.waiting["a"].since, at("2026-06-10T06:00:00Z"));
    }
}
