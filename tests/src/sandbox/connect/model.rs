//! The Connect sandbox's data: agents with their proficiencies, predefined
//! attributes, knobs, call accounting.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::ratelimit::RateLimiter;
use super::{ConnectCalls, ConnectConfig};
use crate::sandbox::faults::{FaultInjector, SplitMix64};

/// Epoch seconds with millisecond precision, as REST-JSON timestamps travel.
pub(crate) fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// One Connect user (agent).
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) email: String,
    pub(crate) last_modified: f64,
    /// `(attribute name, value) → level`.
    pub(crate) proficiencies: BTreeMap<(String, String), f32>,
    /// When the proficiency set last changed (ListUserProficiencies' `LastModifiedTime`).
    pub(crate) proficiencies_modified: f64,
}

/// One predefined attribute.
#[derive(Debug, Clone)]
pub(crate) struct Attribute {
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
    pub(crate) purposes: Vec<String>,
    pub(crate) last_modified: f64,
}

/// Everything behind the mutex.
pub(crate) struct State {
    pub(crate) config: ConnectConfig,
    /// By user id.
    pub(crate) agents: BTreeMap<String, Agent>,
    /// By lower-cased name (names are unique case-insensitively,
    /// *Predefined attributes*).
    pub(crate) attributes: BTreeMap<String, Attribute>,
    pub(crate) calls: ConnectCalls,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: FaultInjector,
    ids: SplitMix64,
    pub(crate) routing_profile_id: String,
    pub(crate) security_profile_id: String,
}

impl State {
    pub(crate) fn new(config: ConnectConfig) -> Self {
        let now = tokio::time::Instant::now();
        let mut limiter = RateLimiter::default();
        for (op, rps) in &config.rates {
            limiter.set(op, Some(*rps), now);
        }
        let mut ids = SplitMix64::new(config.seed ^ 0xC0FF_EE00_C0FF_EE00);
        let routing_profile_id = uuid_from(&mut ids);
        let security_profile_id = uuid_from(&mut ids);
        Self {
            faults: FaultInjector::new(config.seed),
            config,
            agents: BTreeMap::new(),
            attributes: BTreeMap::new(),
            calls: ConnectCalls::default(),
            limiter,
            ids,
            routing_profile_id,
            security_profile_id,
        }
    }

    pub(crate) fn instance_arn(&self) -> String {
        format!(
            "arn:aws:connect:{}:{}:instance/{}",
            self.config.region, self.config.account_id, self.config.instance_id
        )
    }

    pub(crate) fn user_arn(&self, id: &str) -> String {
        format!("{}/agent/{id}", self.instance_arn())
    }

    /// Adds an agent and returns its (seeded, deterministic) id. Panics on an
    /// exact duplicate username.
    pub(crate) fn add_agent(&mut self, username: &str) -> String {
        assert!(
            !self.agents.values().any(|a| a.username == username),
            "add_agent: username {username:?} already exists in the Connect sandbox"
        );
        self.insert_agent(username)
    }

    /// Adds without the duplicate check (the caller guarantees uniqueness).
    pub(crate) fn insert_agent(&mut self, username: &str) -> String {
        let mut id = uuid_from(&mut self.ids);
        while self.agents.contains_key(&id) {
            id = uuid_from(&mut self.ids);
        }
        let (first, last) = names_for(username);
        let email = if username.contains('@') {
            username.to_string()
        } else {
            format!("{username}@example.org")
        };
        let now = now_secs();
        self.agents.insert(
            id.clone(),
            Agent {
                id: id.clone(),
                username: username.to_string(),
                first_name: first,
                last_name: last,
                email,
                last_modified: now,
                proficiencies: BTreeMap::new(),
                proficiencies_modified: now,
            },
        );
        id
    }

    /// Creates or replaces an attribute (seeding: no quota or name checks).
    pub(crate) fn put_attribute(&mut self, name: &str, values: Vec<String>, purposes: Vec<String>) {
        self.attributes.insert(
            name.to_lowercase(),
            Attribute {
                name: name.to_string(),
                values,
                purposes,
                last_modified: now_secs(),
            },
        );
    }

    /// The attribute of exactly this name (the lookup is case-sensitive;
    /// the uniqueness check is not).
    pub(crate) fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .get(&name.to_lowercase())
            .filter(|a| a.name == name)
    }

    /// Counts one API call (before throttling and faults are decided).
    pub(crate) fn count_call(&mut self, operation: &str, user_id: Option<&str>) {
        self.calls.total += 1;
        *self
            .calls
            .by_operation
            .entry(operation.to_string())
            .or_insert(0) += 1;
        if let Some(user) = user_id {
            *self
                .calls
                .by_operation_and_user
                .entry((operation.to_string(), user.to_string()))
                .or_insert(0) += 1;
        }
    }

    /// Sets or lifts an operation's rate limit (keeps `config.rates` in step).
    pub(crate) fn set_rate(&mut self, operation: &str, rps: Option<f64>) {
        match rps {
            Some(r) => {
                self.config.rates.insert(operation.to_string(), r);
            }
            None => {
                self.config.rates.remove(operation);
            }
        }
        self.limiter
            .set(operation, rps, tokio::time::Instant::now());
    }

    /// Everything a test may want to see, as JSON (`GET /sandbox/state`).
    pub(crate) fn to_json(&self) -> Value {
        let agents: Vec<Value> = self
            .agents
            .values()
            .map(|a| {
                json!({
                    "id": a.id,
                    "username": a.username,
                    "first_name": a.first_name,
                    "last_name": a.last_name,
                    "email": a.email,
                    "proficiencies": a.proficiencies.iter().map(|((n, v), l)| json!({
                        "attribute": n, "value": v, "level": l,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let attributes: Vec<Value> = self
            .attributes
            .values()
            .map(|a| json!({"name": a.name, "values": a.values, "purposes": a.purposes}))
            .collect();
        json!({
            "config": self.config.knobs_json(),
            "instance_arn": self.instance_arn(),
            "agents": agents,
            "attributes": attributes,
            "calls": self.calls.to_json(),
        })
    }
}

/// A v4-shaped UUID from the seeded generator (deterministic per seed).
pub(crate) fn uuid_from(rng: &mut SplitMix64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// First and last name guessed from a username like `jane.doe` or `jdoe@x`.
fn names_for(username: &str) -> (String, String) {
    let local = username.split('@').next().unwrap_or(username);
    let mut parts = local
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(capitalize);
    let first = parts.next().unwrap_or_else(|| "Agent".to_string());
    let last = parts.next().unwrap_or_else(|| "Sandbox".to_string());
    (first, last)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
