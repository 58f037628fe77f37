//! Deterministic fault injection shared by the simulators.
//!
//! A seeded SplitMix64 generator decides *whether* a call fails (so a run with
//! the same seed and the same call order fails the same calls), and a rotation
//! decides *how* it fails, so a fault rate of 1.0 walks through every kind in
//! turn. The kinds are the throttling/unavailable shapes ArcGIS clients retry on:
//! real HTTP 429/503 statuses and the "error inside an HTTP 200" variant (the
//! ArcGIS API for Python retries 429/5xx statuses; the R client arcgisutils,
//! <https://github.com/R-ArcGIS/arcgisutils> `R/req-retry.R`, also retries
//! those codes when they arrive as `error.code` in a 200 body).

/// SplitMix64: a tiny, well-distributed, seedable PRNG (no `rand` needed).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 random mantissa bits.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How an injected failure looks on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 429 with a `Retry-After` header and a JSON error body.
    HttpTooManyRequests,
    /// HTTP 503 with a short HTML body, as a gateway would send it.
    HttpUnavailable,
    /// HTTP 200 with `{"error":{"code":429,...}}`.
    EnvelopeTooManyRequests,
    /// HTTP 200 with `{"error":{"code":503,...}}`.
    EnvelopeUnavailable,
}

impl FaultKind {
    /// Every kind, in rotation order.
    pub const ALL: [FaultKind; 4] = [
        FaultKind::HttpTooManyRequests,
        FaultKind::HttpUnavailable,
        FaultKind::EnvelopeTooManyRequests,
        FaultKind::EnvelopeUnavailable,
    ];
}

/// Decides, call by call, whether to inject a fault and which one.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    rng: SplitMix64,
    next_kind: usize,
}

impl FaultInjector {
    /// A fresh injector; the same seed gives the same decisions.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            next_kind: 0,
        }
    }

    /// `Some(kind)` when this call must fail, with probability `rate` (clamped to 0..=1).
    pub fn decide(&mut self, rate: f64) -> Option<FaultKind> {
        if rate.is_nan() || rate <= 0.0 {
            return None;
        }
        if rate < 1.0 && self.rng.next_f64() >= rate {
            return None;
        }
        let kind = FaultKind::ALL[self.next_kind % FaultKind::ALL.len()];
        self.next_kind = self.next_kind.wrapping_add(1);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions() {
        let mut a = FaultInjector::new(7);
        let mut b = FaultInjector::new(7);
        let da: Vec<_> = (0..200).map(|_| a.decide(0.3)).collect();
        let db: Vec<_> = (0..200).map(|_| b.decide(0.3)).collect();
        assert_eq!(da, db);
        let faults = da.iter().filter(|d| d.is_some()).count();
        assert!((30..=90).contains(&faults), "{faults} faults at rate 0.3");
    }

    #[test]
    fn rate_one_rotates_through_every_kind() {
        let mut f = FaultInjector::new(1);
        let kinds: Vec<_> = (0..4).map(|_| f.decide(1.0).unwrap()).collect();
        assert_eq!(kinds, FaultKind::ALL);
        assert_eq!(FaultInjector::new(1).decide(0.0), None);
    }
}
