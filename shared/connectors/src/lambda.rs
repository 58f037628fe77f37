//! A function as Lambda runs it: its clients and configuration, built once
//! per cold start ([`Function`]), and `main`'s two steps ([`cold_start`],
//! [`serve`]).

use std::fmt::Debug;
use std::future::Future;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::aws::AwsClients;
use crate::config::{ConfigError, Env};
use crate::mail::SesMailer;
use crate::store::S3Store;

/// A function's clients and settings, built once per cold start and shared
/// by every invocation.
pub struct Function<S, M, P, C> {
    /// Where files, reports and state live (S3).
    pub store: S,
    /// Where summaries and member mails go (SES).
    pub mailer: M,
    /// The system of record the function works on (an ArcGIS org, a
    /// Connect instance).
    pub service: P,
    pub config: C,
}

impl<P, C> Function<S3Store, SesMailer, P, C> {
    /// The function with the real AWS adapters.
    pub fn new(aws: AwsClients, service: P, config: C) -> Self {
        Self {
            store: aws.s3,
            mailer: aws.mail,
            service,
            config,
        }
    }
}

/// Starts the Lambda runtime's logging (it honours `AWS_LAMBDA_LOG_LEVEL`,
/// `RUST_LOG` and the JSON log format), reads the configuration with `read`
/// from the process environment, and builds the AWS clients from one SDK
/// configuration. A missing or malformed variable stops the cold start with
/// a message naming it (Lambda reports it as an init error).
pub async fn cold_start<C>(read: impl FnOnce(&Env) -> Result<C, ConfigError>) -> (C, AwsClients) {
    crate::logging::init();
    let config = read(&Env::process()).unwrap_or_else(|e| panic!("{e}"));
    (config, AwsClients::from_env().await)
}

/// Runs the runtime loop: each invocation's event goes to `handle` with
/// `function`, built once per cold start.
pub async fn serve<'f, F, E, R, Er, Fut>(
    function: &'f F,
    handle: impl Fn(&'f F, LambdaEvent<E>) -> Fut,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned,
    R: Serialize,
    Er: Into<Diagnostic> + Debug,
    Fut: Future<Output = Result<R, Er>> + 'f,
{
    lambda_runtime::run(service_fn(move |event| handle(function, event))).await
}
