//! Amazon Connect: the agent-proficiency port and its aws-sdk-connect adapter.
//!
//! Connect throttles each API per account and Region (SearchUsers and the
//! three proficiency writes at 2 requests a second by default, the reads at
//! 10). The adapter keeps one rate limiter per operation, so a run moves at
//! the quota instead of bouncing off it, and the SDK's standard retry absorbs
//! the `ThrottlingException`s that still happen.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{
    PredefinedAttributeValues, StringComparisonType, StringCondition, UserProficiency,
    UserProficiencyDisassociate, UserSearchCriteria,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::Error;

const SERVICE: &str = "Connect";

/// One routing proficiency of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Proficiency {
    pub attribute: String,
    pub value: String,
    pub level: f32,
}

/// An agent (Connect user) as rollcall needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub username: String,
}

/// The Connect operations the proficiency job performs on one instance.
pub trait ConnectDirectory {
    /// Names of the instance's predefined attributes.
    async fn attribute_names(&self) -> Result<Vec<String>, Error>;
    /// The values of one predefined attribute, or `None` if it does not exist.
    async fn attribute_values(&self, name: &str) -> Result<Option<Vec<String>>, Error>;
    /// Agents whose username matches `username` by SearchUsers `EXACT`.
    async fn search_username(&self, username: &str) -> Result<Vec<Agent>, Error>;
    /// One page of ListUsers (up to 1,000 agents) and the token of the next.
    async fn list_agents(
        &self,
        next: Option<String>,
    ) -> Result<(Vec<Agent>, Option<String>), Error>;
    /// The agent with this id, or `None`.
    async fn describe_agent(&self, id: &str) -> Result<Option<Agent>, Error>;
    /// Every proficiency of the agent.
    async fn proficiencies(&self, agent_id: &str) -> Result<Vec<Proficiency>, Error>;
    async fn associate(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error>;
    async fn update(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error>;
    /// Removes proficiencies by attribute and value (no level).
    async fn disassociate(&self, agent_id: &str, items: &[(String, String)]) -> Result<(), Error>;
}

/// Requests a second per Connect operation; the writes and SearchUsers at
/// `max_rps`, the reads at five times that (Connect's default ratio). The
/// limiter uses 90% of each, for network jitter.
#[derive(Debug, Clone)]
pub struct ConnectRates {
    pub max_rps: f64,
}

impl ConnectRates {
    fn rate(&self, operation: &str) -> f64 {
        match operation {
            "SearchUsers"
            | "AssociateUserProficiencies"
            | "UpdateUserProficiencies"
            | "DisassociateUserProficiencies" => self.max_rps,
            _ => self.max_rps * 5.0,
        }
    }
}

/// aws-sdk-connect adapter of [`ConnectDirectory`] for one instance.
pub struct ConnectClient {
    client: aws_sdk_connect::Client,
    instance_id: String,
    limiters: HashMap<&'static str, Arc<DefaultDirectRateLimiter>>,
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
    /// A client for `instance_id`, pacing each operation by `rates`.
    pub fn new(client: aws_sdk_connect::Client, instance_id: &str, rates: &ConnectRates) -> Self {
        let limiters = OPERATIONS
            .iter()
            .map(|op| (*op, Arc::new(limiter(rates.rate(op)))))
            .collect();
        Self {
            client,
            instance_id: instance_id.to_string(),
            limiters,
        }
    }

    /// Builds the SDK client from the shared config with a retry policy fit
    /// for Connect's throttling (more attempts than the default).
    pub fn from_conf(
        conf: &aws_config::SdkConfig,
        instance_id: &str,
        rates: &ConnectRates,
    ) -> Self {
        let config = aws_sdk_connect::config::Builder::from(conf)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
            .build();
        Self::new(
            aws_sdk_connect::Client::from_conf(config),
            instance_id,
            rates,
        )
    }

    async fn pace(&self, operation: &str) {
        if let Some(limiter) = self.limiters.get(operation) {
            limiter.until_ready().await;
        }
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

/// Maps an SDK error by its code, never by its text.
fn sdk_error<E, R>(operation: &'static str, error: aws_sdk_connect::error::SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_connect::error::SdkError;
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or("").to_string();
            match code.as_str() {
                "ThrottlingException" | "TooManyRequestsException" => Error::Throttled {
                    service: SERVICE,
                    attempts: 8,
                },
                "ResourceNotFoundException" => Error::NotFound {
                    what: format!("{operation}: {message}"),
                },
                "AccessDeniedException" => Error::Permission {
                    service: SERVICE,
                    operation: operation.into(),
                    message,
                },
                "InternalServiceException" => Error::Unavailable {
                    service: SERVICE,
                    status: 500,
                    attempts: 8,
                },
                _ => Error::Api {
                    service: SERVICE,
                    operation: operation.into(),
                    code: 400,
                    message_code: Some(code),
                    message,
                },
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::Transport {
                service: SERVICE,
                operation: operation.into(),
                source: Box::new(error),
            }
        }
        _ => Error::Aws {
            service: SERVICE,
            operation,
            code: "ClientError".into(),
            message: error.to_string(),
        },
    }
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
            self.pace("ListPredefinedAttributes").await;
            let page = self
                .client
                .list_predefined_attributes()
                .instance_id(&self.instance_id)
                .max_results(100)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| sdk_error("ListPredefinedAttributes", e))?;
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
        self.pace("DescribePredefinedAttribute").await;
        let result = self
            .client
            .describe_predefined_attribute()
            .instance_id(&self.instance_id)
            .name(name)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(
                match out.predefined_attribute().and_then(|a| a.values()) {
                    Some(PredefinedAttributeValues::StringList(values)) => values.clone(),
                    _ => Vec::new(),
                },
            )),
            Err(e) => match sdk_error("DescribePredefinedAttribute", e) {
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
            self.pace("SearchUsers").await;
            let page = self
                .client
                .search_users()
                .instance_id(&self.instance_id)
                .search_criteria(criteria.clone())
                .max_results(100)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| sdk_error("SearchUsers", e))?;
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
        self.pace("ListUsers").await;
        let page = self
            .client
            .list_users()
            .instance_id(&self.instance_id)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| sdk_error("ListUsers", e))?;
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
        self.pace("DescribeUser").await;
        let result = self
            .client
            .describe_user()
            .instance_id(&self.instance_id)
            .user_id(id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.user().and_then(|u| {
                Some(Agent {
                    id: u.id()?.to_string(),
                    username: u.username()?.to_string(),
                })
            })),
            Err(e) => match sdk_error("DescribeUser", e) {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn proficiencies(&self, agent_id: &str) -> Result<Vec<Proficiency>, Error> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            self.pace("ListUserProficiencies").await;
            let page = self
                .client
                .list_user_proficiencies()
                .instance_id(&self.instance_id)
                .user_id(agent_id)
                .max_results(100)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| sdk_error("ListUserProficiencies", e))?;
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
        self.pace("AssociateUserProficiencies").await;
        self.client
            .associate_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send()
            .await
            .map_err(|e| sdk_error("AssociateUserProficiencies", e))?;
        Ok(())
    }

    async fn update(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error> {
        let list = sdk_proficiencies("UpdateUserProficiencies", items)?;
        self.pace("UpdateUserProficiencies").await;
        self.client
            .update_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateUserProficiencies", e))?;
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
        self.pace("DisassociateUserProficiencies").await;
        self.client
            .disassociate_user_proficiencies()
            .instance_id(&self.instance_id)
            .user_id(agent_id)
            .set_user_proficiencies(Some(list))
            .send()
            .await
            .map_err(|e| sdk_error("DisassociateUserProficiencies", e))?;
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
