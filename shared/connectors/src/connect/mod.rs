//! Amazon Connect: the agent-proficiency port, its types, and the
//! aws-sdk-connect adapter ([`ConnectClient`]).
//!
//! Connect throttles each API per account and Region (SearchUsers and the
//! three proficiency writes at 2 requests a second by default, the reads at
//! 10). The adapter keeps one rate limiter per operation, so a run moves at
//! the quota instead of bouncing off it, and the SDK's standard retry absorbs
//! the `ThrottlingException`s that still happen.

mod client;

pub use client::ConnectClient;

use crate::Error;

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

/// The default of `CONNECT_MAX_RPS`: Connect's default quota for the
/// proficiency writes and SearchUsers.
pub const DEFAULT_MAX_RPS: f64 = 2.0;

/// `CONNECT_INSTANCE_ID` and `CONNECT_MAX_RPS`: which instance, and how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectSettings {
    /// The instance id (not the ARN).
    pub instance_id: String,
    /// Requests a second for each write operation and SearchUsers; reads go
    /// at five times this.
    pub max_rps: f64,
}

impl ConnectSettings {
    pub fn new(instance_id: impl Into<String>) -> Self {
        Self {
            instance_id: instance_id.into(),
            max_rps: DEFAULT_MAX_RPS,
        }
    }

    pub fn from_env(env: &crate::config::Env) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            instance_id: env.required("CONNECT_INSTANCE_ID")?,
            max_rps: env.rate("CONNECT_MAX_RPS", DEFAULT_MAX_RPS)?,
        })
    }

    /// The paced client for this instance, built from the function's SDK
    /// configuration (`AWS_ENDPOINT_URL_CONNECT` is honoured by the SDK).
    pub fn client(&self, conf: &aws_config::SdkConfig) -> ConnectClient {
        ConnectClient::from_conf(
            conf,
            &self.instance_id,
            &ConnectRates {
                max_rps: self.max_rps,
            },
        )
    }
}
