//! A time-limited cache in front of a [`SecretSource`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{SecretSource, SecretString};
use crate::Error;

/// How long [`CachedSecrets`] keeps a secret before reading it again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(15 * 60);

/// A [`SecretSource`] that keeps each secret for a TTL, so a function reads a
/// secret once per cold start and again only after the TTL (or after
/// [`CachedSecrets::invalidate`], e.g. when the service refused the credentials
/// because the secret was rotated).
///
/// Concurrent first reads of a secret wait for one fetch instead of each
/// calling Secrets Manager. Failures are not cached.
pub struct CachedSecrets<S> {
    source: S,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl<S> CachedSecrets<S> {
    /// Caches `source` for `ttl` ([`DEFAULT_SECRET_TTL`] is a good default;
    /// `Duration::ZERO` disables caching).
    pub fn new(source: S, ttl: Duration) -> Self {
        CachedSecrets {
            source,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached value of `secret_id`, so the next read fetches it.
    pub async fn invalidate(&self, secret_id: &str) {
        self.cache.lock().await.remove(secret_id);
    }
}

impl<S> std::fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: SecretSource> SecretSource for CachedSecrets<S> {
    async fn secret_string(&self, secret_id: &str) -> Result<SecretString, Error> {
        // Held across the fetch on purpose: one fetch per secret, not one per caller.
        let mut cache = self.cache.lock().await;
        if let Some((fetched, value)) = cache.get(secret_id) {
            if fetched.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let value = self.source.secret_string(secret_id).await?;
        cache.insert(secret_id.to_string(), (Instant::now(), value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cache_serves_until_invalidated() {
        struct Counting(std::sync::atomic::AtomicU32);
        impl SecretSource for Counting {
            async fn secret_string(&self, _: &str) -> Result<SecretString, Error> {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(SecretString::new(format!("v{n}")))
            }
        }
        let cached = CachedSecrets::new(Counting(0.into()), DEFAULT_SECRET_TTL);

        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(cached.secret_string("b").await.unwrap().expose(), "v1");
        cached.invalidate("a").await;
        assert_eq!(cached.secret_string("a").await.unwrap().expose(), "v2");

        let uncached = CachedSecrets::new(Counting(0.into()), Duration::ZERO);
        assert_eq!(uncached.secret_string("a").await.unwrap().expose(), "v0");
        assert_eq!(uncached.secret_string("a").await.unwrap().expose(), "v1");
    }
}
