//! The Lambda deadline, so long jobs stop cleanly before they are killed,
//! and every remote call ends before it.
//!
//! A function runs each invocation inside [`Deadline::scope`]; the clients
//! bound every call with [`bounded`]: a call doing the work (ArcGIS, Connect)
//! must end half the margin before the deadline, so the finishing writes
//! (report, CSV, mail) keep time; those must end a second before it.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::{Either, FutureExt};

use crate::Error;

tokio::task_local! {
    static CURRENT: Scope;
}

/// The deadline and margin of the invocation in progress.
#[derive(Debug, Clone, Copy, Default)]
struct Scope {
    deadline: Deadline,
    margin: Duration,
}

/// How much of the time left a call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Work (an ArcGIS or Connect call): it must end half the margin before
    /// the deadline, leaving time to record, report and mail.
    Work,
    /// A finishing write (S3, SES): it must end a second before the deadline.
    Finish,
}

/// Runs `call` within the time the current invocation allows a call of
/// this kind; when the time runs out first the call is dropped and the
/// answer is [`Error::Deadline`]. Outside an invocation's scope (tests,
/// local runs without a deadline) the call runs unbounded.
///
/// A plain combinator rather than an `async fn`, so the bounded call's
/// future is not copied into a second state machine (an SDK call's future
/// is large).
pub fn within<F: Future>(
    budget: Budget,
    call: F,
) -> impl Future<Output = Result<F::Output, Error>> {
    // The scope is read when the call starts, not when it is built.
    futures::future::lazy(|_| CURRENT.try_with(|s| *s).unwrap_or_default()).then(move |scope| {
        let reserve = match budget {
            Budget::Work => scope.margin / 2,
            Budget::Finish => Duration::from_secs(1),
        };
        match scope.deadline.remaining() {
            None => Either::Left(call.map(Ok)),
            Some(left) => Either::Right(
                tokio::time::timeout(left.saturating_sub(reserve), call)
                    .map(move |answer| answer.map_err(|_| Error::Deadline(reserve))),
            ),
        }
    })
}

/// [`within`] for a call that answers with an [`Error`] of its own.
pub fn bounded<T>(
    budget: Budget,
    call: impl Future<Output = Result<T, Error>>,
) -> impl Future<Output = Result<T, Error>> {
    within(budget, call).map(|answer| answer.and_then(|inner| inner))
}

/// When the Lambda will be stopped, if known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline (local runs, tests).
    pub fn none() -> Self {
        Self(None)
    }

    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    /// From the Lambda context's deadline (epoch ms; 0 means unknown).
    pub fn from_epoch_ms(deadline_ms: u64) -> Self {
        if deadline_ms == 0 {
            return Self(None);
        }
        let now_ms = Utc::now().timestamp_millis().max(0) as u64;
        Self(Some(
            Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)),
        ))
    }

    /// True while more than `margin` is left.
    pub fn allows(&self, margin: Duration) -> bool {
        self.0
            .is_none_or(|at| at.saturating_duration_since(Instant::now()) > margin)
    }

    /// The time left, if there is a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The deadline as a wall-clock time, if there is one.
    pub fn at_utc(&self) -> Option<DateTime<Utc>> {
        let left = chrono::Duration::from_std(self.remaining()?).ok()?;
        Some(Utc::now() + left)
    }

    /// Runs `work` as an invocation with this deadline: every call made
    /// through [`bounded`] inside it ends in time.
    pub async fn scope<F: Future>(self, margin: Duration, work: F) -> F::Output {
        CURRENT
            .scope(
                Scope {
                    deadline: self,
                    margin,
                },
                work,
            )
            .await
    }
}

/// A sortable, unique run id: UTC time plus a short suffix from the
/// request id (or a random one).
pub fn run_id(request_id: &str) -> String {
    let suffix: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    let suffix = if suffix.len() == 8 {
        suffix
    } else {
        format!("{:08x}", rand_u32())
    };
    format!("{}-{suffix}", Utc::now().format("%Y%m%dT%H%M%SZ"))
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_end_before_the_deadline_leaving_the_finish_its_time() {
        let soon = Deadline::at(Instant::now() + Duration::from_millis(400));
        let slow = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        };
        let cut = soon.scope(Duration::from_millis(400), bounded(Budget::Work, slow));
        assert!(matches!(cut.await, Err(Error::Deadline(_))));
        let quick = soon.scope(
            Duration::from_millis(400),
            bounded(Budget::Finish, async { Ok(7) }),
        );
        assert_eq!(quick.await.unwrap(), 7);
        // Outside a scope nothing is bounded.
        assert_eq!(bounded(Budget::Work, async { Ok(1) }).await.unwrap(), 1);
    }
}
