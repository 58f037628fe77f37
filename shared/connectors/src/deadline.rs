//! The Lambda deadline, so long jobs stop cleanly before they are killed.

use std::time::{Duration, Instant};

use chrono::Utc;

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
