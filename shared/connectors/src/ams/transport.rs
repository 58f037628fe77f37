//! PLACEHOLDER: the AMS transport is being written (login, session, retries).

use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::secrets::{CredentialSource, Credentials};
use crate::Error;

/// Settings of an [`AmsClient`].
#[derive(Debug, Clone)]
pub struct AmsOptions {
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for AmsOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Teamworks AMS client, built once per cold start.
pub struct AmsClient {
    _credentials: CredentialSource,
}

impl AmsClient {
    /// A client for the site at `site_url`, signing in with `credentials`.
    pub fn new(
        site_url: &str,
        credentials: Credentials,
        options: AmsOptions,
    ) -> Result<Self, Error> {
        Self::with_source(site_url, CredentialSource::fixed(credentials), options)
    }

    /// A client signing in with the credentials `source` gives at each login.
    pub fn with_source(
        _site_url: &str,
        credentials: CredentialSource,
        _options: AmsOptions,
    ) -> Result<Self, Error> {
        Ok(Self {
            _credentials: credentials,
        })
    }
}
