//! Per-operation token buckets: Connect throttles "per API, per account, per
//! Region" with token buckets (*Service quotas*, see [`super`]). Burst sizes are not
//! published, so a bucket holds `max(1, rate)` tokens (one second's worth);
//! a rate of 0 throttles every call.

use std::collections::BTreeMap;

use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        let burst = if rate > 0.0 { rate.max(1.0) } else { 0.0 };
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One bucket per limited operation; operations without one are unlimited.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimiter {
    buckets: BTreeMap<String, Bucket>,
}

impl RateLimiter {
    /// Limits `operation` to `rps` (a full bucket from now), or lifts its limit.
    pub(crate) fn set(&mut self, operation: &str, rps: Option<f64>, now: Instant) {
        match rps {
            Some(rate) => {
                self.buckets
                    .insert(operation.to_string(), Bucket::new(rate.max(0.0), now));
            }
            None => {
                self.buckets.remove(operation);
            }
        }
    }

    /// Whether a call of `operation` arriving `now` may go through (takes a token).
    pub(crate) fn try_acquire(&mut self, operation: &str, now: Instant) -> bool {
        self.buckets
            .get_mut(operation)
            .is_none_or(|b| b.try_take(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = Instant::now();
        let mut l = RateLimiter::default();
        l.set("Op", Some(2.0), t0);
        assert!(l.try_acquire("Op", t0));
        assert!(l.try_acquire("Op", t0));
        assert!(!l.try_acquire("Op", t0));
        assert!(l.try_acquire("Op", t0 + Duration::from_millis(500)));
        assert!(!l.try_acquire("Op", t0 + Duration::from_millis(600)));
        assert!(l.try_acquire("Other", t0), "unlimited without a bucket");
    }

    #[test]
    fn fractional_and_zero_rates() {
        let t0 = Instant::now();
        let mut l = RateLimiter::default();
        l.set("Slow", Some(0.5), t0);
        assert!(l.try_acquire("Slow", t0));
        assert!(!l.try_acquire("Slow", t0 + Duration::from_secs(1)));
        assert!(l.try_acquire("Slow", t0 + Duration::from_secs(2)));
        l.set("Never", Some(0.0), t0);
        assert!(!l.try_acquire("Never", t0 + Duration::from_secs(100)));
        l.set("Never", None, t0);
        assert!(l.try_acquire("Never", t0));
    }
}
