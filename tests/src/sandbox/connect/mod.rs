//! A local emulation of the Amazon Connect REST-JSON API for users, user
//! proficiencies and predefined attributes, built from the public Amazon
//! Connect documentation and service model (see [References](#references);
//! comments here and in the submodules cite them by the short names in
//! *italics*). moto has none of these operations (*moto*); the real
//! `aws-sdk-connect` client talks to this server through `endpoint_url`.
//!
//! [`ConnectSandbox::start`] serves the API at the root of
//! `http://127.0.0.1:PORT`, at the URIs of the *API reference* pages:
//!
//! | operation | method and URI |
//! |---|---|
//! | ListUserProficiencies | `GET /users/{InstanceId}/{UserId}/proficiencies` (`maxResults` 1–100, `nextToken`) |
//! | AssociateUserProficiencies | `POST /users/{InstanceId}/{UserId}/associate-proficiencies` |
//! | DisassociateUserProficiencies | `POST /users/{InstanceId}/{UserId}/disassociate-proficiencies` |
//! | UpdateUserProficiencies | `POST /users/{InstanceId}/{UserId}/proficiencies` |
//! | DescribeUser | `GET /users/{InstanceId}/{UserId}` |
//! | ListUsers | `GET /users-summary/{InstanceId}` (`maxResults` 1–1000, default 100) |
//! | SearchUsers | `POST /search-users` (`MaxResults` 1–500) |
//! | CreatePredefinedAttribute | `PUT /predefined-attributes/{InstanceId}` |
//! | ListPredefinedAttributes | `GET /predefined-attributes/{InstanceId}` (`maxResults` 1–100) |
//! | DescribePredefinedAttribute | `GET /predefined-attributes/{InstanceId}/{Name}` |
//! | UpdatePredefinedAttribute | `POST /predefined-attributes/{InstanceId}/{Name}` |
//! | DeletePredefinedAttribute | `DELETE /predefined-attributes/{InstanceId}/{Name}` |
//!
//! Errors carry `x-amzn-ErrorType: <Code>`, a `{"Message"}` body and the model's status
//! (*botocore model*, each operation's *API reference* page):
//! `InvalidRequestException`/`InvalidParameterException` 400, `ResourceNotFoundException` 404,
//! `ThrottlingException` 429, `InternalServiceException` 500, `DuplicateResourceException` and
//! `ResourceInUseException` 409, `LimitExceededException` 429. Timestamps are epoch seconds
//! (JSON numbers with milliseconds), as the SDK reads them. SigV4 is not checked. An unknown
//! instance id answers `ResourceNotFoundException`; an unrecognised method + URI answers 404
//! `UnknownOperationException`.
//!
//! Every API call is counted (by operation, and by operation and user id for
//! the operations with a `{UserId}` in the path), then goes through the
//! operation's token bucket (a throttled call answers `ThrottlingException`
//! and is counted in `throttled`), then waits the configured latency, then may
//! be answered `InternalServiceException` by the seeded fault injector, and
//! only then runs. A call that fails validation changes nothing.
//!
//! Control endpoints (never rate-limited, counted, delayed or faulted):
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /sandbox/state` | knobs, agents with proficiencies, attributes, calls |
//! | `GET /sandbox/calls` | the [`ConnectCalls`] (per-user counts as `{"op": {"user": n}}`) |
//! | `POST /sandbox/config` | JSON knobs, all optional: `proficiency_quota`, `predefined_attribute_quota`, `exact_search_case_sensitive`, `strict_membership`, `rates` (`{"Op": rps or null}`, merged), `connect_rates_factor` (number: Connect's documented rates × factor; null: no limits), `latency_ms`, `fault_rate`, `seed` |
//! | `POST /sandbox/reset-calls` | zero the counters |
//! | `POST /sandbox/agents` | `{"username"}` or `{"generate": n, "prefix"}` → the `(username, id)` pairs |
//! | `POST /sandbox/attributes` | `{"name", "values": [...]}` |
//! | `POST /sandbox/proficiencies` | `{"user_id", "attribute", "value", "level"}` (seeding, no checks) |
//!
//! Decisions where the documentation is silent (**\[unverified\]**, change the knob or
//! the code when the real service is known):
//! - EXACT username search ignores case by default
//!   ([`ConnectConfig::exact_search_case_sensitive`]); STARTS_WITH and
//!   CONTAINS always ignore case.
//! - A `{UserId}` that is not a hyphenated UUID (the ids the sandbox issues; the docs give no
//!   format) answers `InvalidParameterException` on DescribeUser and the proficiency
//!   operations; a well-formed id of nobody answers `ResourceNotFoundException`.
//! - Exceeding the per-agent proficiency quota (default 10) answers
//!   `InvalidRequestException` naming the quota (the model lists
//!   `LimitExceededException` only for CreatePredefinedAttribute).
//! - With [`ConnectConfig::strict_membership`] (default on), associating a
//!   pair that is already associated, or disassociating one that is not,
//!   answers `InvalidRequestException`; off, the first sets the level and the
//!   second is a no-op. A pair named twice in one call is always rejected.
//! - A call's entries are validated all together before any is applied.
//! - Attribute names are looked up case-sensitively (uniqueness is
//!   case-insensitive, *Predefined attributes*); values must be in the attribute's `StringList`.
//! - A level is a whole number from 1 to 5 (*UserProficiency*: "The valid values are 1, 2, 3,
//!   4 and 5", although the model's type is a float from 1.0 to 5.0); a fraction or a level out
//!   of range answers `InvalidParameterException`, the code being the guess.
//! - Lists are ordered by user id / (attribute, value) / lower-cased name;
//!   paging tokens are opaque, key-based, and a bad one answers
//!   `InvalidParameterException`; an out-of-range page size likewise.
//! - Default page sizes when none is given: 100 for every list.
//! - `SearchFilter`, `ListCondition` and `HierarchyGroupCondition` answer
//!   `InvalidRequestException` "unsupported in the sandbox"; several
//!   criteria members at one level are ANDed.
//! - Rate limits: a token bucket per operation holding `max(1, rate)` tokens;
//!   Connect's burst sizes are not published.
//!
//! # References
//!
//! - *API reference*: the Amazon Connect API Reference, one page per operation:
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_ListUserProficiencies.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_AssociateUserProficiencies.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_DisassociateUserProficiencies.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_UpdateUserProficiencies.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeUser.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_ListUsers.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_SearchUsers.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_CreatePredefinedAttribute.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_ListPredefinedAttributes.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribePredefinedAttribute.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_UpdatePredefinedAttribute.html>,
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_DeletePredefinedAttribute.html>.
//! - *UserProficiency* (the `Level`: "The valid values are 1, 2, 3, 4 and 5"):
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_UserProficiency.html>
//! - *UserSearchCriteria* (SearchUsers' criteria, the `StringCondition` field names):
//!   <https://docs.aws.amazon.com/connect/latest/APIReference/API_UserSearchCriteria.html>
//! - *Predefined attributes*: Amazon Connect Administrator Guide, "Create
//!   predefined attributes for routing contacts to agents" (name/value pattern
//!   and lengths, case-insensitive uniqueness, delete only when unused):
//!   <https://docs.aws.amazon.com/connect/latest/adminguide/predefined-attributes.html>
//! - *Assign proficiencies*: Administrator Guide, "Assign proficiencies to
//!   agents" (levels 1–5, up to 10 per agent):
//!   <https://docs.aws.amazon.com/connect/latest/adminguide/assign-proficiencies-to-agents.html>
//! - *Service quotas*: Administrator Guide, "Amazon Connect service quotas"
//!   (quotas, and the "API throttling quotas" section):
//!   <https://docs.aws.amazon.com/connect/latest/adminguide/amazon-connect-service-limits.html>
//! - *botocore model*: botocore's Connect service model (protocol, URIs, shapes
//!   and constraints, error status codes, paginators), <https://github.com/boto/botocore>,
//!   `botocore/data/connect/2017-08-08/service-2.json` and `paginators-1.json`.
//! - *moto*: <https://github.com/getmoto/moto>, `moto/connect/urls.py`
//!   (instances, analytics associations and tags only).

mod control;
mod model;
mod ops;
mod ratelimit;
mod route;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State as AxState};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};

use self::model::State;
use self::route::{ApiError, Query, Route};

/// The default instance id.
pub const DEFAULT_INSTANCE_ID: &str = "11111111-2222-3333-4444-555555555555";

/// Every operation the sandbox serves, by the name calls are counted under.
pub const OPERATIONS: [&str; 12] = [
    "ListUserProficiencies",
    "AssociateUserProficiencies",
    "DisassociateUserProficiencies",
    "UpdateUserProficiencies",
    "DescribeUser",
    "ListUsers",
    "SearchUsers",
    "CreatePredefinedAttribute",
    "ListPredefinedAttributes",
    "DescribePredefinedAttribute",
    "UpdatePredefinedAttribute",
    "DeletePredefinedAttribute",
];

/// Connect's default request rates per second (*Service quotas*, "API throttling
/// quotas"; the per-operation figures came from a third-party copy of the Service
/// Quotas list, a secondary source to check in the account's Service Quotas
/// console; bursts unknown).
pub const CONNECT_DEFAULT_RATES: [(&str, f64); 12] = [
    ("ListUserProficiencies", 10.0),
    ("AssociateUserProficiencies", 2.0),
    ("DisassociateUserProficiencies", 2.0),
    ("UpdateUserProficiencies", 2.0),
    ("DescribeUser", 10.0),
    ("ListUsers", 10.0),
    ("SearchUsers", 2.0),
    ("CreatePredefinedAttribute", 2.0),
    ("ListPredefinedAttributes", 10.0),
    ("DescribePredefinedAttribute", 10.0),
    ("UpdatePredefinedAttribute", 2.0),
    ("DeletePredefinedAttribute", 2.0),
];

/// How the sandbox starts; the knobs can also change at run time.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// The one instance that exists; any other id is `ResourceNotFoundException`.
    pub instance_id: String,
    /// Region in ARNs and `LastModifiedRegion`.
    pub region: String,
    /// Account id in ARNs.
    pub account_id: String,
    /// Proficiencies per agent (Service Quotas L-50375162, default 10; *Assign proficiencies*).
    pub proficiency_quota: usize,
    /// Predefined attributes per instance (L-3828FBF0, 25 in a secondary source).
    pub predefined_attribute_quota: usize,
    /// Whether SearchUsers EXACT compares case-sensitively (undocumented in *API
    /// reference* and *UserSearchCriteria*).
    pub exact_search_case_sensitive: bool,
    /// Re-associating / disassociating a missing pair is an error (see the module docs).
    pub strict_membership: bool,
    /// Requests per second by operation name; a missing operation is unlimited.
    pub rates: BTreeMap<String, f64>,
    /// Added to every API call (not to `/sandbox/...`).
    pub latency: Duration,
    /// Share of API calls (0.0–1.0) answered `InternalServiceException`.
    pub fault_rate: f64,
    /// Seed of the fault decisions and the generated ids.
    pub seed: u64,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectConfig {
    /// Instance [`DEFAULT_INSTANCE_ID`] in `us-east-1`, account
    /// `123456789012`, quotas 10 proficiencies per agent and 25 attributes,
    /// case-insensitive EXACT search, strict membership, no rate limits, no
    /// latency, no faults.
    pub fn new() -> Self {
        Self {
            instance_id: DEFAULT_INSTANCE_ID.to_string(),
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            proficiency_quota: 10,
            predefined_attribute_quota: 25,
            exact_search_case_sensitive: false,
            strict_membership: true,
            rates: BTreeMap::new(),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: 0x5EED,
        }
    }

    /// Sets every operation's rate to Connect's default ([`CONNECT_DEFAULT_RATES`]) × `factor`.
    pub fn with_connect_rates(mut self, factor: f64) -> Self {
        for (op, rps) in CONNECT_DEFAULT_RATES {
            self.rates.insert(op.to_string(), rps * factor);
        }
        self
    }

    /// Sets one operation's rate (panics on an unknown operation name).
    pub fn with_rate(mut self, operation: &str, rps: f64) -> Self {
        assert_known(operation);
        self.rates.insert(operation.to_string(), rps);
        self
    }

    fn knobs_json(&self) -> Value {
        json!({
            "instance_id": self.instance_id,
            "region": self.region,
            "account_id": self.account_id,
            "proficiency_quota": self.proficiency_quota,
            "predefined_attribute_quota": self.predefined_attribute_quota,
            "exact_search_case_sensitive": self.exact_search_case_sensitive,
            "strict_membership": self.strict_membership,
            "rates": self.rates,
            "latency_ms": u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            "fault_rate": self.fault_rate,
            "seed": self.seed,
        })
    }
}

fn assert_known(operation: &str) {
    assert!(
        OPERATIONS.contains(&operation),
        "unknown Connect operation {operation:?}; known: {OPERATIONS:?}"
    );
}

/// API calls counted since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectCalls {
    /// Every API call (throttled and faulted ones included).
    pub total: u64,
    /// Calls per operation name (`ListUserProficiencies`, `AssociateUserProficiencies`, ...).
    pub by_operation: BTreeMap<String, u64>,
    /// Calls per (operation, user id) for the operations with a user id in the
    /// path: the four proficiency operations and DescribeUser.
    #[serde(skip)]
    pub by_operation_and_user: BTreeMap<(String, String), u64>,
    /// Calls answered `ThrottlingException` by the rate limiter, per operation.
    pub throttled: BTreeMap<String, u64>,
    /// Calls answered `InternalServiceException` by the fault injector, per operation.
    pub faulted: BTreeMap<String, u64>,
}

impl ConnectCalls {
    /// Calls of one operation.
    pub fn count(&self, operation: &str) -> u64 {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    /// Calls of one operation for one user id.
    pub fn user_count(&self, operation: &str, user_id: &str) -> u64 {
        self.by_operation_and_user
            .get(&(operation.to_string(), user_id.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Throttled calls of one operation.
    pub fn throttled_count(&self, operation: &str) -> u64 {
        self.throttled.get(operation).copied().unwrap_or(0)
    }

    /// Throttled calls of all operations.
    pub fn throttled_total(&self) -> u64 {
        self.throttled.values().sum()
    }

    /// As JSON, with the per-user counts nested as `{"op": {"user": n}}`.
    pub fn to_json(&self) -> Value {
        let mut per_user: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        for ((op, user), n) in &self.by_operation_and_user {
            per_user.entry(op).or_default().insert(user, *n);
        }
        json!({
            "total": self.total,
            "by_operation": self.by_operation,
            "by_operation_and_user": per_user,
            "throttled": self.throttled,
            "faulted": self.faulted,
        })
    }
}

/// State shared by the server task and the test-side handle.
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Connect emulation. Dropping it stops the server.
pub struct ConnectSandbox {
    addr: SocketAddr,
    instance_id: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ConnectSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSandbox")
            .field("url", &self.url())
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

impl Drop for ConnectSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectSandbox {
    /// Starts a sandbox on `127.0.0.1:0` (a free port). Panics if it cannot bind.
    pub async fn start(config: ConnectConfig) -> ConnectSandbox {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the Connect sandbox on 127.0.0.1")
    }

    /// Starts a sandbox on a given address. Panics on an unknown operation in `config.rates`.
    pub async fn bind(config: ConnectConfig, addr: SocketAddr) -> std::io::Result<ConnectSandbox> {
        for op in config.rates.keys() {
            assert_known(op);
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let instance_id = config.instance_id.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config)),
        });
        let app = Router::new()
            .route("/sandbox/state", get(control::state))
            .route("/sandbox/calls", get(control::calls))
            .route("/sandbox/config", post(control::config))
            .route("/sandbox/reset-calls", post(control::reset_calls))
            .route("/sandbox/agents", post(control::agents))
            .route("/sandbox/attributes", post(control::attributes))
            .route("/sandbox/proficiencies", post(control::proficiencies))
            .fallback(api)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Connect sandbox stopped");
            }
        });
        Ok(ConnectSandbox {
            addr,
            instance_id,
            shared,
            task,
        })
    }

    /// The API root, e.g. `http://127.0.0.1:PORT` (the SDK's `endpoint_url`,
    /// or `AWS_ENDPOINT_URL_CONNECT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where `/sandbox/...` lives (the same root as [`Self::url`]).
    pub fn control_url(&self) -> String {
        self.url()
    }

    /// The instance id the API answers for.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The ARN of a user, as the API reports it.
    pub fn user_arn(&self, user_id: &str) -> String {
        self.shared.lock().user_arn(user_id)
    }

    /// Adds an agent (first/last name and e-mail derived from the username)
    /// and returns its id, a UUID that depends only on the seed and the order
    /// of additions. Panics if exactly this username exists.
    pub fn add_agent(&self, username: &str) -> String {
        self.shared.lock().add_agent(username)
    }

    /// Adds `count` agents named `{prefix}{n:05}` (n from 1) and returns
    /// `(username, id)` in that order. Panics if a name exists.
    pub fn generate_agents(&self, count: usize, prefix: &str) -> Vec<(String, String)> {
        let mut st = self.shared.lock();
        let existing: std::collections::HashSet<String> =
            st.agents.values().map(|a| a.username.clone()).collect();
        (1..=count)
            .map(|n| {
                let username = format!("{prefix}{n:05}");
                assert!(
                    !existing.contains(&username),
                    "generate_agents: username {username:?} already exists"
                );
                let id = st.insert_agent(&username);
                (username, id)
            })
            .collect()
    }

    /// The id of the agent with exactly this username.
    pub fn user_id(&self, username: &str) -> Option<String> {
        self.shared
            .lock()
            .agents
            .values()
            .find(|a| a.username == username)
            .map(|a| a.id.clone())
    }

    /// Every agent as `(username, id)`, in id order (the API's list order).
    pub fn agents(&self) -> Vec<(String, String)> {
        self.shared
            .lock()
            .agents
            .values()
            .map(|a| (a.username.clone(), a.id.clone()))
            .collect()
    }

    /// Creates or replaces a predefined attribute (no quota or name checks).
    pub fn add_attribute(&self, name: &str, values: &[&str]) {
        let values = values.iter().map(|v| v.to_string()).collect();
        self.shared
            .lock()
            .put_attribute(name, values, vec!["Routing".to_string()]);
    }

    /// An attribute's values (exact name), if it exists.
    pub fn attribute_values(&self, name: &str) -> Option<Vec<String>> {
        self.shared.lock().attribute(name).map(|a| a.values.clone())
    }

    /// Seeds a proficiency (sets its level if present): no quota, attribute,
    /// value or level checks. Panics if the user does not exist.
    pub fn set_proficiency(&self, user_id: &str, attribute: &str, value: &str, level: f32) {
        let mut st = self.shared.lock();
        let Some(a) = st.agents.get_mut(user_id) else {
            panic!("set_proficiency: no user {user_id:?} in the Connect sandbox");
        };
        a.proficiencies
            .insert((attribute.to_string(), value.to_string()), level);
        a.proficiencies_modified = model::now_secs();
    }

    /// A user's proficiencies `(attribute, value, level)`, sorted; empty for an unknown user.
    pub fn proficiencies(&self, user_id: &str) -> Vec<(String, String, f32)> {
        self.shared
            .lock()
            .agents
            .get(user_id)
            .map(|a| {
                a.proficiencies
                    .iter()
                    .map(|((n, v), l)| (n.clone(), v.clone(), *l))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The call counters.
    pub fn calls(&self) -> ConnectCalls {
        self.shared.lock().calls.clone()
    }

    /// Zeroes the call counters.
    pub fn reset_calls(&self) {
        self.shared.lock().calls = ConnectCalls::default();
    }

    /// Limits an operation to `rps` requests per second (a full bucket from
    /// now), or lifts its limit with `None`. Panics on an unknown operation.
    pub fn set_rate(&self, operation: &str, rps: Option<f64>) {
        assert_known(operation);
        self.shared.lock().set_rate(operation, rps);
    }

    /// Sets every operation to Connect's default rate × `factor`.
    pub fn set_connect_rates(&self, factor: f64) {
        let mut st = self.shared.lock();
        for (op, rps) in CONNECT_DEFAULT_RATES {
            st.set_rate(op, Some(rps * factor));
        }
    }

    /// Latency added to every API call.
    pub fn set_latency(&self, d: Duration) {
        self.shared.lock().config.latency = d;
    }

    /// Share of API calls (clamped to 0.0–1.0) answered `InternalServiceException`.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.lock().config.fault_rate = rate.clamp(0.0, 1.0);
    }

    /// The per-agent proficiency quota.
    pub fn set_proficiency_quota(&self, quota: usize) {
        self.shared.lock().config.proficiency_quota = quota;
    }

    /// Whether SearchUsers EXACT compares case-sensitively.
    pub fn set_exact_search_case_sensitive(&self, on: bool) {
        self.shared.lock().config.exact_search_case_sensitive = on;
    }

    /// Strict (errors) or lenient (idempotent) association bookkeeping.
    pub fn set_strict_membership(&self, on: bool) {
        self.shared.lock().config.strict_membership = on;
    }
}

/// Every API call: accounting, rate limit, latency, faults, then the operation.
async fn api(AxState(shared): AxState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::parse(&parts.method, parts.uri.path());
    let query = Query::parse(parts.uri.query());
    let bytes = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return ApiError::invalid_request("unreadable request body").into_response(),
    };
    let operation = route.operation();
    let (throttled, faulted, latency) = {
        let mut st = shared.lock();
        st.count_call(operation, route.user_id());
        let throttled = route != Route::Unknown
            && !st
                .limiter
                .try_acquire(operation, tokio::time::Instant::now());
        let rate = st.config.fault_rate;
        let faulted = !throttled && route != Route::Unknown && st.faults.decide(rate).is_some();
        if throttled {
            *st.calls.throttled.entry(operation.to_string()).or_insert(0) += 1;
        }
        if faulted {
            *st.calls.faulted.entry(operation.to_string()).or_insert(0) += 1;
        }
        (throttled, faulted, st.config.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if throttled {
        return ApiError::throttling().into_response();
    }
    if faulted {
        tracing::debug!(
            operation,
            "connect sandbox: injected InternalServiceException"
        );
        return ApiError::internal().into_response();
    }
    let result = {
        let mut st = shared.lock();
        ops::dispatch(&mut st, &route, &query, &bytes)
    };
    match result {
        Ok(v) => route::ok_json(&v),
        Err(e) => e.into_response(),
    }
}
