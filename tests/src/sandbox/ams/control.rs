//! The site's state behind the server: the directory, sessions, the knobs
//! and what they inject, and the call counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use axum::http::StatusCode;

use super::model::{Directory, PersonRecord, Stored};
use super::wire::{Credentials, Reply, ENDPOINTS};
use super::{AmsCalls, AmsConfig, SeedPerson};
use crate::sandbox::faults::SplitMix64;

/// What a call is answered with before any work, when a knob says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Injected {
    /// This HTTP status (429 with `Retry-After`).
    Status(StatusCode),
    /// HTTP 200 with an RPC-exception body.
    Rpc { kind: String, message: String },
}

/// Who a call is made by, and the session token to echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub id: i64,
    pub session: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    user_id: i64,
    last_used: Instant,
}

/// Everything the server and the test-side handle share.
pub(crate) struct State {
    pub config: AmsConfig,
    pub dir: Directory,
    pub admin_id: i64,
    pub calls: AmsCalls,
    /// Successful `person/save` calls.
    pub saves: u64,
    sessions: HashMap<String, Session>,
    tokens: SplitMix64,
    faults: SplitMix64,
    fault_turn: u64,
    fail_next: BTreeMap<&'static str, VecDeque<StatusCode>>,
    rpc_next: BTreeMap<&'static str, VecDeque<(String, String)>>,
}

/// The 64 characters of session tokens (*login cassette*: about 24 of
/// `[A-Za-z0-9+-]`; one recorded token holds a `+`).
const TOKEN_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-";

impl State {
    /// A site holding only the API account.
    pub(crate) fn new(config: AmsConfig) -> Self {
        let seed = config.seed;
        let mut st = Self {
            dir: Directory::new(),
            admin_id: 0,
            calls: AmsCalls::default(),
            saves: 0,
            sessions: HashMap::new(),
            tokens: SplitMix64::new(seed ^ 0x70CE_A5E5),
            faults: SplitMix64::new(seed),
            fault_turn: 0,
            fail_next: BTreeMap::new(),
            rpc_next: BTreeMap::new(),
            config,
        };
        let admin = SeedPerson::new(&st.config.admin_username)
            .first_name("Rollcall")
            .last_name("API")
            .dob("01/01/1990")
            .password(&st.config.admin_password.clone());
        st.admin_id = st.add_person(&admin);
        st
    }

    /// Seeds a person; panics if the username exists (tests name their people).
    pub(crate) fn add_person(&mut self, seed: &SeedPerson) -> i64 {
        assert!(
            !seed.username.is_empty() && self.dir.by_username(&seed.username).is_none(),
            "add_person: the username {:?} is empty or exists",
            seed.username
        );
        let id = self.dir.allocate_id();
        let owner = if self.admin_id == 0 {
            id
        } else {
            self.admin_id
        };
        let record = seed.record(id, owner);
        for role in &seed.roles {
            self.dir.role_id(role);
        }
        self.insert(record, seed.password.clone(), seed.roles.clone());
        id
    }

    /// Stores a record under its id; returns it.
    pub(crate) fn insert(
        &mut self,
        record: PersonRecord,
        password: Option<String>,
        roles: Vec<String>,
    ) -> PersonRecord {
        let stored = Stored {
            record: record.clone(),
            password,
            roles,
        };
        self.dir.people.insert(record.id, stored);
        record
    }

    /// The id of the active account with this username and password.
    pub(crate) fn check_password(&self, username: &str, password: &str) -> Option<i64> {
        self.dir
            .by_username(username)
            .filter(|p| p.record.active && p.password.as_deref() == Some(password))
            .map(|p| p.record.id)
    }

    /// A failed login: HTTP 401 (*teamworksams login_main.py* reads 401 as
    /// bad credentials), or an RPC exception with the knob.
    pub(crate) fn bad_login(&self) -> Reply {
        if self.config.bad_login_as_rpc_exception {
            Reply::rpc(super::ops::RPC_LOGIN, "Invalid username or password")
        } else {
            Reply::unauthorized()
        }
    }

    /// A new session for `user_id`; its token.
    pub(crate) fn open_session(&mut self, user_id: i64) -> String {
        let token: String = (0..24)
            .map(|_| TOKEN_CHARS[(self.tokens.next_u64() % 64) as usize] as char)
            .collect();
        let session = Session {
            user_id,
            last_used: Instant::now(),
        };
        self.sessions.insert(token.clone(), session);
        token
    }

    /// Ends every session: their tokens answer as expired from now on.
    pub(crate) fn expire_sessions(&mut self) {
        self.sessions.clear();
    }

    /// The user of a live session, which this use keeps alive (an idle
    /// timeout, as servlet sessions have [assumption]).
    fn session_user(&mut self, token: &str) -> Option<i64> {
        let lifetime = self.config.session_lifetime;
        let session = self.sessions.get_mut(token)?;
        if lifetime.is_some_and(|l| session.last_used.elapsed() >= l) {
            self.sessions.remove(token);
            return None;
        }
        session.last_used = Instant::now();
        Some(session.user_id)
    }

    /// The caller: a live `session-header`, a live `JSESSIONID` cookie, or
    /// valid HTTP Basic credentials (*spec*: accept any of them), in that
    /// order. Otherwise the failure: the expired-session status when a token
    /// was sent, 401 when nothing usable was.
    pub(crate) fn authenticate(&mut self, creds: &Credentials) -> Result<Caller, Reply> {
        for token in [&creds.session_header, &creds.cookie].into_iter().flatten() {
            if let Some(id) = self.session_user(token) {
                return Ok(Caller {
                    id,
                    session: Some(token.clone()),
                });
            }
        }
        if let Some(id) = creds
            .basic
            .as_ref()
            .and_then(|(u, p)| self.check_password(u, p))
        {
            return Ok(Caller { id, session: None });
        }
        if creds.session_header.is_some() || creds.cookie.is_some() {
            let status = StatusCode::from_u16(self.config.session_expired_status)
                .unwrap_or(StatusCode::UNAUTHORIZED);
            return Err(Reply::Status(status, super::wire::failure_body(status)));
        }
        Err(Reply::unauthorized())
    }

    /// Queues `times` answers of `status` for the next calls of `endpoint`.
    pub(crate) fn fail_next(&mut self, endpoint: &str, status: u16, times: usize) {
        let name = known(endpoint);
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("fail_next: {status} is not an HTTP status"));
        let queue = self.fail_next.entry(name).or_default();
        queue.extend(std::iter::repeat_n(status, times));
    }

    /// Queues one RPC-exception answer for the next call of `endpoint`.
    pub(crate) fn rpc_exception_next(&mut self, endpoint: &str, kind: &str, message: &str) {
        let name = known(endpoint);
        let queue = self.rpc_next.entry(name).or_default();
        queue.push_back((kind.to_string(), message.to_string()));
    }

    /// Counts a call of `endpoint` and decides whether a knob answers it:
    /// queued statuses first, then queued RPC exceptions, then the fault
    /// rate (500 and 503 in turn, decided by the seeded generator).
    pub(crate) fn start_call(&mut self, endpoint: &str) -> Option<Injected> {
        self.calls.total += 1;
        *self.calls.by_endpoint.entry(endpoint.into()).or_default() += 1;
        let injected = self.injection(endpoint);
        if injected.is_some() {
            *self.calls.injected.entry(endpoint.into()).or_default() += 1;
        }
        injected
    }

    fn injection(&mut self, endpoint: &str) -> Option<Injected> {
        if let Some(status) = self
            .fail_next
            .get_mut(endpoint)
            .and_then(VecDeque::pop_front)
        {
            return Some(Injected::Status(status));
        }
        if let Some((kind, message)) = self
            .rpc_next
            .get_mut(endpoint)
            .and_then(VecDeque::pop_front)
        {
            return Some(Injected::Rpc { kind, message });
        }
        let rate = self.config.fault_rate;
        let known = ENDPOINTS.contains(&endpoint);
        if known && rate > 0.0 && (rate >= 1.0 || self.faults.next_f64() < rate) {
            self.fault_turn += 1;
            let status = if self.fault_turn % 2 == 1 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            return Some(Injected::Status(status));
        }
        None
    }

    /// Counts a call refused for its credentials.
    pub(crate) fn count_unauthorized(&mut self, endpoint: &str) {
        *self.calls.unauthorized.entry(endpoint.into()).or_default() += 1;
    }

    /// Reseeds the fault decisions.
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.config.seed = seed;
        self.faults = SplitMix64::new(seed);
        self.fault_turn = 0;
    }
}

/// The endpoint name as [`ENDPOINTS`] spells it; panics on another.
fn known(endpoint: &str) -> &'static str {
    ENDPOINTS
        .iter()
        .find(|e| **e == endpoint)
        .copied()
        .unwrap_or_else(|| panic!("unknown AMS endpoint {endpoint:?}; known: {ENDPOINTS:?}"))
}
