//! The aws-sdk-connect adapter of [`ConnectDirectory`] for one instance.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_connect::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_connect::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_connect::error::BoxError;
use aws_sdk_connect::types::{
    PredefinedAttributeValues, StringComparisonType, StringCondition, UserProficiency,
    UserProficiencyDisassociate, UserSearchCriteria,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{Agent, ConnectDirectory, ConnectRates, Proficiency};
use crate::aws::{attempts_of, sdk_error};
use crate::deadline::{within, Budget};
use crate::metrics::{ApiMeter, Service};
use crate::Error;

const SERVICE: &str = "Connect";

/// Attempts per Connect call: more than the default, since Connect's
/// quotas are low and its throttling answers are expected under load.
pub const CONNECT_MAX_ATTEMPTS: u32 = 8;

/// aws-sdk-connect adapter of [`ConnectDirectory`] for one instance.
pub struct ConnectClient {
    client: aws_sdk_connect::Client,
    attempts: u32,
    instance_id: String,
    limiters: HashMap<&'static str, Arc<DefaultDirectRateLimiter>>,
    /// Every HTTP attempt (the SDK's retries included) and throttled answer.
    meter: ApiMeter,
}

const OPERATIONS: [&str; 9] = [
    "ListPredefinedAttributes",
    "DescribePredefinedAttribute",
    "SearchUsers",
    "ListUsers",
    "DescribeUser",
    "ListUserProficiencies",
    "AssociateUserProficiencies",
    "UpdateUserProficiencies",
    "DisassociateUserProficiencies",
];

impl ConnectClient {
    /// A client for `instance_id`, pacing each operation by `rates`, and
    /// counting every attempt `client` sends.
    pub fn new(client: aws_sdk_connect::Client, instance_id: &str, rates: &ConnectRates) -> Self {
        let limiters = OPERATIONS
            .iter()
            .map(|op| (*op, Arc::new(limiter(rates.rate(op)))))
            .collect();
        let meter = ApiMeter::new(Service::Connect);
        let counted = client
            .config()
            .to_builder()
            .interceptor(CountAttempts(meter.clone()))
            .build();
        Self {
            attempts: attempts_of(client.config().retry_config()),
            client: aws_sdk_connect::Client::from_conf(counted),
            instance_id: instance_id.to_string(),
            limiters,
            meter,
        }
    }

    /// The counter of this client's calls (shared: it keeps counting).
    pub fn api_meter(&self) -> ApiMeter {
        self.meter.clone()
    }

    /// Builds the SDK client from the shared config with a retry policy fit
    /// for Connect's throttling (more attempts than the default).
    pub fn from_conf(
        conf: &aws_config::SdkConfig,
        instance_id: &str,
        rates: &ConnectRates,
    ) -> Self {
        let config = aws_sdk_connect::config::Builder::from(conf)
            .retry_config(
                aws_config::retry::RetryConfig::standard().with_max_attempts(CONNECT_MAX_ATTEMPTS),
            )
            .build();
        Self::new(
            aws_sdk_connect::Client::from_conf(config),
            instance_id,
            rates,
        )
    }

    /// Maps a failed call through the one SDK-error mapping.
    fn failed<E>(
        &self,
        operation: &'static str,
        error: aws_sdk_connect::error::SdkError<E>,
    ) -> Error
    where
        E: aws_sdk_connect::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        sdk_error(SERVICE, operation, self.attempts, error)
    }

    /// One paced call, bounded by the invocation's deadline; a failure goes
    /// through the one SDK-error mapping.
    async fn call<T, E>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<T, aws_sdk_connect::error::SdkError<E>>>,
    ) -> Result<T, Error>
    where
        E: aws_sdk_connect::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        within(Budget::Work, self.pace(operation)).await?;
        within(Budget::Work, request)
            .await?
            .map_err(|e| self.failed(operation, e))
    }

    async fn pace(&self, operation: &str) {
        if let Some(limiter) = self.limiters.get(operation) {
            limiter.until_ready().await;
        }
    }
}

/// Counts each attempt the SDK sends and each throttled answer (Connect's
/// `ThrottlingException` and `TooManyRequestsException`, HTTP 429,
/// <https://docs.aws.amazon.com/connect/latest/APIReference/API_SearchUsers.html#API_SearchUsers_Errors>),
/// through the SDK's interceptor hooks, which run once per attempt
/// (<https://docs.rs/aws-smithy-runtime-api/latest/aws_smithy_runtime_api/client/interceptors/trait.Intercept.html>).
#[derive(Debug)]
struct CountAttempts(ApiMeter);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "CountAttempts"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.call();
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        // `x-amzn-ErrorType` is `<Code>` or `<Code>:<url>`; LimitExceeded
        // (also a 429) is a quota, not throttling.
        let throttled = match response.headers().get("x-amzn-ErrorType") {
            Some(kind) => ["ThrottlingException", "TooManyRequestsException"]
                .iter()
                .any(|code| kind.split(':').next() == Some(*code)),
            None => response.status().as_u16() == 429,
        };
        if throttled {
            self.0.throttled();
        }
        Ok(())
    }
}

/// Share of a quota the limiter uses: requests leave evenly spaced, but
/// arrive with network jitter; the slack keeps them inside Connect's bucket.
const QUOTA_SHARE: f64 = 0.9;

fn limiter(rps: f64) -> DefaultDirectRateLimiter {
    let rps = if rps.is_finite() && rps > 0.0 {
        rps
    } else {
        1.0
    };
    let period = Duration::from_secs_f64(1.0 / (rps * QUOTA_SHARE));
    // A small burst, so a quiet limiter does not stall the first calls.
    let burst = NonZeroU32::new(rps.ceil().clamp(1.0, 2.0) as u32).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::direct(quota)
}

fn build_error(operation: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Aws {
        service: SERVICE,
        operation,
        code: "InvalidInput".into(),
        message: e.to_string(),
    }
}

impl ConnectDirectory for ConnectClient {
    async fn attribute_names(&self) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListPredefinedAttributes",
                    self.client
                        .list_predefined_attributes()
                        .instance_id(&self.instance_id)
                        .max_results(100)
                        .set_next_token(next)
                        .send(),
                )
                .await?;
            names.extend(
                page.predefined_attribute_summary_list()
                    .iter()
                    .filter_map(|a| a.name().map(str::to_string)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(names),
            }
        }
    }

    async fn attribute_values(&self, name: &str) -> Result<Option<Vec<String>>, Error> {
        let result = self
            .call(
                "DescribePredefinedAttribute",
                self.client
                    .describe_predefined_attribute()
                    .instance_id(&self.instance_id)
                    .name(name)
                    .send(),
            )
            .await;
        match result {
            Ok(out) => Ok(Some(
                match out.predefined_attribute().and_then(|a| a.values()) {
                    Some(PredefinedAttributeValues::StringList(values)) => values.clone(),
                    _ => Vec::new(),
                },
            )),
            Err(e) => match e {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn search_username(&self, username: &str) -> Result<Vec<Agent>, Error> {
        let condition = StringCondition::builder()
            .field_name("Username")
            .value(username)
            .comparison_type(StringComparisonType::Exact)
            .build();
        let criteria = UserSearchCriteria::builder()
            .string_condition(condition)
            .build();
        let mut agents = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call(
                    "SearchUsers",
                    self.client
                        .search_users()
                        .instance_id(&self.instance_id)
                        .search_criteria(criteria.clone())
                        .max_results(100)
                        .set_next_token(next)
                        .send(),
                )
                .await?;
            agents.extend(page.users().iter().filter_map(|u| {
                Some(Agent {
                    id: u.id()?.to_string(),
                    username: u.username()?.to_string(),
                })
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(agents),
            }
        }
    }

    async fn list_agents(
        &self,
        next: Option<String>,
    ) -> Result<(Vec<Agent>, Option<String>), Error> {
        let page = self
            .call(
                "ListUsers",
                self.client
                    .list_users()
                    .instance_id(&self.instance_id)
                    .max_results(1000)
                    .set_next_token(next)
                    .send(),
            )
            .await?;
        let agents = page
            .user_summary_list()
            .iter()
            .filter_map(|u| {
                Some(Agent {
                    id: u.id()?.to_string(),
                    username: u.username()?.to_string(),
                })
            })
            .collect();
        let next = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((agents, next))
    }

    async fn describe_agent(&self, id: &str) -> Result<Option<Agent>, Error> {
        let result = self
            .call(
                "DescribeUser",
                self.client
                    .describe_user()
                    .instance_id(&self.instance_id)
                    .user_id(id)
                    .send(),
            )
            .await;
        match result {
            Ok(out) => Ok(out.user().and_then(|u| {
                Some(Agent {
                    id: u.id()?.to_string(),
                    username: u.username()?.to_string(),
                })
            })),
            Err(e) => match e {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn proficiencies(&self, agent_id: &str) -> Result<Vec<Proficiency>, Error> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListUserProficiencies",
                    self.client
                        .list_user_proficiencies()
                        .instance_id(&self.instance_id)
                        .user_id(agent_id)
                        .max_results(100)
                        .set_next_token(next)
                        .send(),
                )
                .await?;
            items.extend(page.user_proficiency_list().iter().map(|p| Proficiency {
                attribute: p.attribute_name().to_string(),
                value: p.attribute_value().to_string(),
                level: p.level(),
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(items),
            }
        }
    }

    async fn associate(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error> {
        let list = sdk_proficiencies("AssociateUserProficiencies", items)?;
        let request = self
            .client
            .associate_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send();
        self.call("AssociateUserProficiencies", request).await?;
        Ok(())
    }

    async fn update(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error> {
        let list = sdk_proficiencies("UpdateUserProficiencies", items)?;
        let request = self
            .client
            .update_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send();
        self.call("UpdateUserProficiencies", request).await?;
        Ok(())
    }

    async fn disassociate(&self, agent_id: &str, items: &[(String, String)]) -> Result<(), Error> {
        let list = items
            .iter()
            .map(|(attribute, value)| {
                UserProficiencyDisassociate::builder()
                    .attribute_name(attribute)
                    .attribute_value(value)
                    .build()
                    .map_err(|e| build_error("DisassociateUserProficiencies", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let request = self
            .client
            .disassociate_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send();
        self.call("DisassociateUserProficiencies", request).await?;
        Ok(())
    }
}

fn sdk_proficiencies(
    operation: &'static str,
    items: &[Proficiency],
) -> Result<Vec<UserProficiency>, Error> {
    items
        .iter()
        .map(|p| {
            UserProficiency::builder()
                .attribute_name(&p.attribute)
                .attribute_value(&p.value)
                .level(p.level)
                .build()
                .map_err(|e| build_error(operation, e))
        })
        .collect()
}
