//! The sweep's state, `state/sweep.json`: when each member was warned, whom
//! rollcall disabled on which day (for the daily cap), whose disable notice
//! is still due, and the actions a run had started but not yet recorded.
//!
//! Every write is a list of [`Op`]s applied to the state as it is in S3 at
//! that moment and written with a conditional put; on a lost race the state
//! is read again and the ops applied again, so no run loses another's work.
//!
//! A run writes ahead: before a batch of actions it records them as
//! *intents* (`pending`), after the batch their results. A run killed in
//! between leaves the intents, and the next run settles them: a pending
//! warning or notice counts as sent (a mail goes out at most once), a
//! pending disable is checked against the member's `disabled` flag.
//!
//! Version 1 (`{"version":1,"warned":{...}}`) reads as a state with no
//! disables, notices or intents.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use connectors::store::{written_by, NewObject, ObjectStore};
use connectors::Error;
use serde::{Deserialize, Serialize};

/// Where the state lives in the report bucket.
pub const STATE_KEY: &str = "state/sweep.json";

/// The version this code writes.
pub const STATE_VERSION: u32 = 2;

/// Days of disables kept for the daily cap (today and the six before).
const DAYS_KEPT: i64 = 7;

/// One member's warning in the current inactivity spell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warned {
    pub warned_at: DateTime<Utc>,
}

/// A member rollcall disabled whose disable notice has not been sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDue {
    pub disabled_at: DateTime<Utc>,
}

/// An action a run was about to take: which run, and its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub run: String,
    pub at: DateTime<Utc>,
}

/// Actions started and not yet recorded as done, by lower-cased username.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Warning mails about to be sent.
    #[serde(default)]
    pub warn: BTreeMap<String, Intent>,
    /// Members about to be disabled.
    #[serde(default)]
    pub disable: BTreeMap<String, Intent>,
    /// Disable notices about to be sent.
    #[serde(default)]
    pub notify: BTreeMap<String, Intent>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.warn.is_empty() && self.disable.is_empty() && self.notify.is_empty()
    }

    fn of(&mut self, kind: Kind) -> &mut BTreeMap<String, Intent> {
        match kind {
            Kind::Warn => &mut self.warn,
            Kind::Disable => &mut self.disable,
            Kind::Notify => &mut self.notify,
        }
    }
}

/// The whole state. Usernames are lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub version: u32,
    /// Warned members, with when.
    #[serde(default)]
    pub warned: BTreeMap<String, Warned>,
    /// Members rollcall disabled, by UTC day (`yyyy-mm-dd`) of the run's clock.
    #[serde(default)]
    pub disabled: BTreeMap<String, BTreeSet<String>>,
    /// Disabled members whose disable notice is still to be sent.
    #[serde(default)]
    pub notices_due: BTreeMap<String, NoticeDue>,
    /// Actions started and not yet recorded as done.
    #[serde(default)]
    pub pending: Pending,
}

impl SweepState {
    /// How many members rollcall disabled on `day`.
    pub fn disabled_on(&self, day: NaiveDate) -> usize {
        self.disabled.get(&day_key(day)).map_or(0, BTreeSet::len)
    }
}

/// Which kind of action an intent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Warn,
    Disable,
    Notify,
}

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// The member was warned at this time (or counts as warned from then).
    Warned(String, DateTime<Utc>),
    /// The member's warning is over: they signed in again, left, or were disabled.
    Unwarned(String),
    /// rollcall disabled the member at this time: counted for that day, the
    /// notice falls due and the warning is over.
    Disabled(String, DateTime<Utc>),
    /// The member's disable notice is no longer due (sent, or cannot be).
    NoticeDone(String),
    /// An action is about to start.
    Intend(Kind, String, Intent),
    /// An intent is settled: its result is recorded, or was found out.
    Settled(Kind, String),
}

/// Applies `ops` in order, and forgets disables older than the days kept
/// before `today`.
pub fn apply(ops: &[Op], state: &mut SweepState, today: NaiveDate) {
    state.version = STATE_VERSION;
    for op in ops {
        match op {
            Op::Warned(name, at) => {
                state.warned.insert(name.clone(), Warned { warned_at: *at });
            }
            Op::Unwarned(name) => {
                state.warned.remove(name);
            }
            Op::Disabled(name, at) => {
                state.warned.remove(name);
                state
                    .disabled
                    .entry(day_key(at.date_naive()))
                    .or_default()
                    .insert(name.clone());
                state
                    .notices_due
                    .insert(name.clone(), NoticeDue { disabled_at: *at });
            }
            Op::NoticeDone(name) => {
                state.notices_due.remove(name);
            }
            Op::Intend(kind, name, intent) => {
                state.pending.of(*kind).insert(name.clone(), intent.clone());
            }
            Op::Settled(kind, name) => {
                state.pending.of(*kind).remove(name);
            }
        }
    }
    let oldest = day_key(today - Duration::days(DAYS_KEPT - 1));
    state
        .disabled
        .retain(|day, names| *day >= oldest && !names.is_empty());
}

fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The state as read, with the ETag a rewrite must match.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub state: SweepState,
    pub etag: Option<String>,
}

/// Reads the state; a missing object is an empty state.
pub async fn load<S: ObjectStore>(store: &S, bucket: &str) -> Result<Loaded, Error> {
    let Some(object) = store.get(bucket, STATE_KEY).await? else {
        return Ok(Loaded::default());
    };
    let state = serde_json::from_slice(&object.body).map_err(|e| Error::Decode {
        service: "S3",
        operation: format!("s3://{bucket}/{STATE_KEY}"),
        path: format!("line {} column {}", e.line(), e.column()),
        message: e.to_string(),
    })?;
    Ok(Loaded {
        state,
        etag: Some(object.etag),
    })
}

/// Applies `ops` to the state as it is now and writes it with a conditional
/// put; when another run wrote in between, reads again and re-applies them
/// (a few times), so neither run's changes are lost. Returns what was written.
pub async fn update<S: ObjectStore>(
    store: &S,
    bucket: &str,
    run_id: &str,
    today: NaiveDate,
    ops: &[Op],
) -> Result<SweepState, Error> {
    for _ in 0..4 {
        let loaded = load(store, bucket).await?;
        let mut state = loaded.state;
        apply(ops, &mut state, today);
        let body = serde_json::to_vec_pretty(&state).expect("state serialises");
        let put = store
            .put(NewObject {
                bucket: bucket.to_string(),
                key: STATE_KEY.to_string(),
                body,
                content_type: "application/json".into(),
                metadata: written_by("sweep", run_id),
                if_absent: loaded.etag.is_none(),
                if_match: loaded.etag,
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
        key: STATE_KEY.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn version_1_reads_as_a_state_with_only_warnings() {
        let state: SweepState = serde_json::from_str(
            r#"{"version":1,"warned":{"idle.member":{"warned_at":"2026-06-01T06:00:00Z"}}}"#,
        )
        .unwrap();
        assert_eq!(state.warned.len(), 1);
        assert!(state.pending.is_empty() && state.disabled.is_empty());
    }

    #[test]
    fn a_disable_counts_for_its_day_and_old_days_are_forgotten() {
        let mut state = SweepState::default();
        let today = at("2026-06-10T06:00:00Z");
        apply(
            &[
                Op::Warned("a".into(), at("2026-05-20T06:00:00Z")),
                Op::Disabled("a".into(), today),
                Op::Disabled("b".into(), at("2026-06-01T06:00:00Z")),
            ],
            &mut state,
            today.date_naive(),
        );
        assert!(state.warned.is_empty());
        assert_eq!(state.disabled_on(today.date_naive()), 1);
        assert_eq!(state.disabled.len(), 1, "2026-06-01 is over a week old");
        assert_eq!(state.notices_due["a"].disabled_at, today);
        assert_eq!(state.version, STATE_VERSION);
    }
}
