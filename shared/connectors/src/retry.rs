//! Retries shared by the HTTP clients (ArcGIS, Teamworks AMS): exponential
//! backoff with jitter, `Retry-After` honoured up to a cap, and the error a
//! call gives up with.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tracing::debug;

use crate::Error;

/// How often and how patiently to retry throttled or failing calls.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The backoff schedule for one call.
    pub fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_jitter()
            .with_factor(2.0)
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts run
    /// out; a throttled or failing service ends as `Throttled` or
    /// `Unavailable` with the number of attempts made.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        service: &'static str,
        operation: &str,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut tries = 0u32;
        let result = (|| {
            tries += 1;
            attempt()
        })
        .retry(self.backoff())
        .when(|e| matches!(e, Attempt::Retry { .. }))
        .adjust(|e, planned| match (e, planned) {
            (
                Attempt::Retry {
                    retry_after: Some(wait),
                    ..
                },
                Some(_),
            ) => Some((*wait).min(self.max_retry_after)),
            (_, planned) => planned,
        })
        .notify(|e, wait| {
            if let Attempt::Retry { status, .. } = e {
                debug!(
                    service,
                    operation,
                    status,
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
            }
        })
        .await;
        result.map_err(|e| match e {
            Attempt::Fatal(error) => error,
            Attempt::Retry { status: 429, .. } => Error::Throttled {
                service,
                attempts: tries,
            },
            Attempt::Retry { status, .. } => Error::Unavailable {
                service,
                status,
                attempts: tries,
            },
        })
    }
}

/// The outcome of one attempt, before retries.
pub(crate) enum Attempt {
    /// Throttled (429), a server error, or no answer (status 0): worth
    /// another try after a pause.
    Retry {
        status: u16,
        retry_after: Option<Duration>,
    },
    Fatal(Error),
}
