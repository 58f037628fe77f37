//! A local emulation of a Teamworks AMS (formerly Smartabase) site's user
//! and group API, built from the public clients and their recorded traffic
//! (Teamworks publishes no reference; see [References](#references), cited
//! by the short names in *italics*). The same reqwest client must work
//! against it and against a real site.
//!
//! [`AmsSandbox::start`] serves a site at `http://127.0.0.1:PORT/<site>`
//! ([`AmsConfig::site`], default `rollcall`). Every endpoint is a POST with
//! a JSON body under `/<site>/api/`; the `?informat=json&format=json` suffix
//! is accepted and may be left out (*smartabaseR login.R* sends none):
//!
//! | endpoint | body | answer |
//! |---|---|---|
//! | `v2/user/loginUser` | `{"username","password","loginProperties":{"appName","clientTime"}}` | the login (*login cassette*): `isAthlete`, `isCoach`, `isAdmin`, `user` (a person record), `applicationId`, `loginActions`, `restrictionPolicyIds`, `permissions`; headers `session-header: T` and `Set-Cookie: JSESSIONID=T; Path=/; Secure; HttpOnly` |
//! | `v1/usersearch` | `{"identification":[…]}` | `{"results":[{"search":{…},"results":[user…]}]}` (*get_user cassette*) |
//! | `v1/groupmembers` | `{"name":"G"}` or `{"name":["G1","G2"]}` | the same shape, one record per group |
//! | `v1/listgroups` | `{"name":…}` | `{"name":["G1",…]}` (*get_group cassette*) |
//! | `v2/person/get` | `{"filter":{"comparisons":{"branches":[{"leaf":{"fieldName":"id","valueInteger":["1","2"]}}]}}}` | `{"objects":[person…]}` |
//! | `v2/person/save` | `{"person":{…}}` | the stored person record (*create cassette*) |
//!
//! Answers are `application/json;charset=utf-8` with `Server: Apache`;
//! login and `person/*` add `Content-Disposition: attachment`. A body that
//! is not JSON answers 400; a method other than POST, 405; an unknown path,
//! 404 (`v1/currentgroup` is not served).
//!
//! **Authentication** (*teamworksams login_main.py*, *smartabaseR utils.R*):
//! every endpoint but login takes a `session-header`, a `JSESSIONID` cookie,
//! or HTTP Basic credentials of an active account with a password, and
//! echoes `session-header` when a session was used. Sessions never expire
//! unless [`AmsConfig::session_lifetime`] is set (an idle timeout, refreshed
//! by each use) or [`AmsSandbox::expire_sessions`] is called; a dead or
//! unknown token answers [`AmsConfig::session_expired_status`] (401) with a
//! short text body, and a call without credentials 401. Login with a wrong
//! password, an unknown or inactive account, answers 401 (or, with
//! [`AmsConfig::bad_login_as_rpc_exception`], an RPC exception); a wrong
//! `appName` answers an RPC exception "There is no application known as …".
//!
//! **Searches** (*get_user cassette*, *smartabaseR export_body.R*,
//! *teamworksams user_fetch.py*): users have no `active` (inactive accounts
//! are listed), `sex` and phone/address `type` are names, `null` strings are
//! `""`, `organisationalId` is spelled so, phones and addresses appear only
//! when the account has some, and `groupsAndRoles` only when the whole
//! answer holds exactly one user.
//!
//! **person/save** (*create cassette*, *teamworksams user_fetch.py*): `id`
//! `"-1"`, `-1` or absent creates an account with a new id, `ownerId` the
//! caller, `language` "English" when empty, `accountExpiration`
//! `01/01/1970`, `__mtime__` now; other ids replace that account's record
//! with the one sent (numbers may be strings; dates `yyyy-mm-dd` or
//! `dd/mm/yyyy`, stored `dd/mm/yyyy`; sex `0`/`1`/`2` or male/female/
//! unspecified in any case, stored as the code). Failures are HTTP 200
//! RPC-exception bodies `{"__is_rpc_exception__":true,"type":…,"value":{"detailMessage":…}}`:
//! an unknown id, a duplicate username or email ("A user with the username
//! 'x' already exists"), a bad date, sex or number. A password sent on
//! create is kept (for login and [`AmsSandbox::password_of`]); one sent for
//! an existing account is accepted and not applied (*smartabasepy
//! internal_scripts README*).
//!
//! **Assumptions** (no source shows them; each has a knob in [`AmsConfig`]
//! when it matters to a client, the default being the spec's reading):
//! the answers to bad credentials, a wrong `appName` and a dead session; the
//! RPC `type` strings; one outer search record per identification entry,
//! echoing it in `search`; exact, case-sensitive matching (the teamworksams
//! docs call filter values case-sensitive); `email` not honoured as an alias
//! of `emailAddress`; unknown identification keys select nobody; an unknown
//! group has no members; `groupmembers` echoes the name and the caller's
//! `userId` in `search`; `person/get` leaves unknown ids out and filters on
//! `id` only; a save replaces the whole record (fields left out take a new
//! account's defaults); usernames and emails are unique, ignoring case; ids
//! count up from 10001; phone types WORK 2, EMERGENCY 3, address PRIMARY 0.
//!
//! **Knobs and accounting**: latency per call, a seeded fault rate answering
//! 500 and 503 in turn, [`AmsSandbox::fail_next`] (any status; 429 carries
//! `Retry-After`, 403 says "Access denied"), [`AmsSandbox::rpc_exception_next`];
//! [`AmsCalls`] counts calls per endpoint, injected answers, refused
//! credentials and the most requests in flight at once. Control endpoints
//! under `/sandbox/...` on the same port (never counted, delayed or faulted)
//! are listed in `http_control`.
//!
//! # References
//!
//! - *login cassette*, *get_user cassette*, *get_group cassette*, *edit_user
//!   cassette*, *create cassette*: traffic recorded against a live site by
//!   smartabasepy, the predecessor of teamworksams,
//!   <https://github.com/brandonyach/smartabasepy/tree/main/tests/cassettes>
//!   (`login.yaml`, `get_user.yaml`, `get_group.yaml`, `edit_user.yaml`, `create_user.yaml`).
//! - *teamworksams login_main.py* (login, the session headers):
//!   <https://github.com/brandonyach/teamworksams/blob/main/teamworksams/login_main.py>
//! - *teamworksams utils.py* (endpoint URLs, status handling, "access denied"):
//!   <https://github.com/brandonyach/teamworksams/blob/main/teamworksams/utils.py>
//! - *teamworksams user_main.py* (the get, edit and create flows):
//!   <https://github.com/brandonyach/teamworksams/blob/main/teamworksams/user_main.py>
//! - *teamworksams user_fetch.py* (search bodies, `person/get` and `person/save` payloads):
//!   <https://github.com/brandonyach/teamworksams/blob/main/teamworksams/user_fetch.py>
//! - *teamworksams user_process.py* (`groupsAndRoles`):
//!   <https://github.com/brandonyach/teamworksams/blob/main/teamworksams/user_process.py>
//! - *smartabaseR login.R* (login without the query string, RPC exceptions):
//!   <https://github.com/Teamworksapp/smartabaseR/blob/main/R/login.R>
//! - *smartabaseR utils.R* (Basic credentials on every call, status messages):
//!   <https://github.com/Teamworksapp/smartabaseR/blob/main/R/utils.R>
//! - *smartabaseR export_body.R* (`emailAddress`, `userId`, `firstName`/`lastName`, scalar group names):
//!   <https://github.com/Teamworksapp/smartabaseR/blob/main/R/export_body.R>
//! - *smartabasepy internal_scripts README* (passwords of existing accounts
//!   are not changed by `person/save`; `dd/mm/yyyy` dates):
//!   <https://github.com/brandonyach/smartabasepy/blob/d5a771c49d5b43b76b36b3af08e9f18aaf85d9c9/internal_scripts/README.md>

mod config;
mod control;
mod http_control;
mod model;
mod ops;
mod save;
mod seed;
mod server;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

pub use self::config::{AmsCalls, AmsConfig, DEFAULT_AMS_PASSWORD};
use self::control::State;
pub use self::seed::{generated_people, SeedPerson};
pub use self::wire::ENDPOINTS as AMS_ENDPOINTS;

/// State shared by the server task and the test-side handle.
struct Shared {
    state: Mutex<State>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The counters, with the in-flight high-water mark.
    fn calls(&self) -> AmsCalls {
        let mut calls = self.lock().calls.clone();
        calls.max_in_flight = self.max_in_flight.load(Ordering::SeqCst);
        calls
    }

    fn reset_calls(&self) {
        self.lock().calls = AmsCalls::default();
        let now = self.in_flight.load(Ordering::SeqCst);
        self.max_in_flight.store(now, Ordering::SeqCst);
    }
}

/// A running AMS site. Dropping it stops the server.
pub struct AmsSandbox {
    addr: SocketAddr,
    site: String,
    admin_username: String,
    admin_password: String,
    admin_id: i64,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AmsSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmsSandbox")
            .field("url", &self.url())
            .field("admin_username", &self.admin_username)
            .finish_non_exhaustive()
    }
}

impl Drop for AmsSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AmsSandbox {
    /// Starts a site on `127.0.0.1:0` (a free port). Panics if it cannot bind.
    pub async fn start(config: AmsConfig) -> AmsSandbox {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the AMS sandbox on 127.0.0.1")
    }

    /// Starts a site on a given address (the binary's `--port`). Panics on
    /// a site name that is empty, holds a `/`, or is `sandbox`.
    pub async fn bind(config: AmsConfig, addr: SocketAddr) -> std::io::Result<AmsSandbox> {
        let site = config.site.clone();
        assert!(
            !site.is_empty() && !site.contains('/') && site != "sandbox",
            "AMS site name {site:?}: must be one path segment other than `sandbox`"
        );
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let admin_username = config.admin_username.clone();
        let admin_password = config.admin_password.clone();
        let state = State::new(config);
        let admin_id = state.admin_id;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/sandbox/state", get(http_control::state))
            .route("/sandbox/calls", get(http_control::calls))
            .route("/sandbox/config", post(http_control::config))
            .route("/sandbox/reset-calls", post(http_control::reset_calls))
            .route("/sandbox/expire-sessions", post(http_control::expire))
            .route("/sandbox/people", post(http_control::people))
            .route("/sandbox/groups", post(http_control::groups))
            .route("/sandbox/generate", post(http_control::generate))
            .route("/sandbox/fail-next", post(http_control::fail_next))
            .fallback(server::api)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "AMS sandbox stopped");
            }
        });
        Ok(AmsSandbox {
            addr,
            site,
            admin_username,
            admin_password,
            admin_id,
            shared,
            task,
        })
    }

    /// The site URL, e.g. `http://127.0.0.1:PORT/rollcall` (the client's `AMS_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/{}", self.addr, self.site)
    }

    /// The sandbox's own address, e.g. `http://127.0.0.1:PORT` (for `/sandbox/...`).
    pub fn control_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The site name (the last URL segment, login's `appName`).
    pub fn site(&self) -> &str {
        &self.site
    }

    /// The API account's username.
    pub fn admin_username(&self) -> &str {
        &self.admin_username
    }

    /// The API account's password.
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    /// The API account's user id (`ownerId` of the accounts it creates).
    pub fn admin_id(&self) -> i64 {
        self.admin_id
    }

    /// Seeds an account; returns its id. Panics if the username is empty or
    /// exists, or on a bad date, sex or phone type.
    pub fn add_person(&self, person: SeedPerson) -> i64 {
        self.shared.lock().add_person(&person)
    }

    /// Seeds [`generated_people`]`(n, seed)`; returns their ids in order.
    pub fn generate_people(&self, n: usize, seed: u64) -> Vec<i64> {
        let people = generated_people(n, seed);
        let mut st = self.shared.lock();
        people.iter().map(|p| st.add_person(p)).collect()
    }

    /// Puts `athletes` into the group `name` (created if missing); returns
    /// the group's id. Panics on an unknown person id.
    pub fn add_group(&self, name: &str, athletes: &[i64]) -> i64 {
        self.add_members(name, athletes, false)
    }

    /// Makes `coaches` coaches of the group `name` (created if missing).
    pub fn add_coaches(&self, name: &str, coaches: &[i64]) -> i64 {
        self.add_members(name, coaches, true)
    }

    fn add_members(&self, name: &str, ids: &[i64], coaches: bool) -> i64 {
        let mut st = self.shared.lock();
        if let Some(missing) = ids.iter().find(|id| !st.dir.people.contains_key(id)) {
            panic!("add_group {name:?}: no person with id {missing}");
        }
        let group = st.dir.group_mut(name);
        let list = if coaches {
            &mut group.coaches
        } else {
            &mut group.athletes
        };
        for id in ids {
            if !list.contains(id) {
                list.push(*id);
            }
        }
        group.id
    }

    /// The record of the account with exactly this username, as `person/get` answers it.
    pub fn person(&self, username: &str) -> Option<Value> {
        let st = self.shared.lock();
        st.dir.by_username(username).map(|p| p.record.to_json())
    }

    /// The record of an account by id, as `person/get` answers it.
    pub fn person_by_id(&self, id: i64) -> Option<Value> {
        let st = self.shared.lock();
        st.dir.people.get(&id).map(|p| p.record.to_json())
    }

    /// Every record, in id order (the API account included).
    pub fn people(&self) -> Vec<Value> {
        let st = self.shared.lock();
        st.dir.people.values().map(|p| p.record.to_json()).collect()
    }

    /// The password an account logs in with, if it has one.
    pub fn password_of(&self, username: &str) -> Option<String> {
        let st = self.shared.lock();
        st.dir
            .by_username(username)
            .and_then(|p| p.password.clone())
    }

    /// The ids in a group (athletes, then coaches), empty for an unknown group.
    pub fn group_members(&self, name: &str) -> Vec<i64> {
        let st = self.shared.lock();
        st.dir
            .groups
            .iter()
            .filter(|g| g.name == name)
            .flat_map(|g| g.athletes.iter().chain(&g.coaches).copied())
            .collect()
    }

    /// Successful `person/save` calls (creates and updates).
    pub fn saves(&self) -> u64 {
        self.shared.lock().saves
    }

    /// The call counters.
    pub fn calls(&self) -> AmsCalls {
        self.shared.calls()
    }

    /// Zeroes the call counters (the in-flight mark restarts from now).
    pub fn reset_calls(&self) {
        self.shared.reset_calls();
    }

    /// Ends every live session: their tokens answer as expired from now on.
    pub fn expire_sessions(&self) {
        self.shared.lock().expire_sessions();
    }

    /// Idle time after which a session dies; `None`: never.
    pub fn set_session_lifetime(&self, lifetime: Option<Duration>) {
        self.shared.lock().config.session_lifetime = lifetime;
    }

    /// Latency added to every API call.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().config.latency = latency;
    }

    /// Share of API calls (clamped to 0.0–1.0) answered 500 or 503.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.lock().config.fault_rate = rate.clamp(0.0, 1.0);
    }

    /// The next `times` calls of `endpoint` (one of [`AMS_ENDPOINTS`], e.g.
    /// `person/save`) answer HTTP `status` (429 with `Retry-After`). Panics
    /// on an unknown endpoint or status.
    pub fn fail_next(&self, endpoint: &str, status: u16, times: usize) {
        self.shared.lock().fail_next(endpoint, status, times);
    }

    /// The next call of `endpoint` answers HTTP 200 with an RPC-exception
    /// body of this `type` and `detailMessage`. Panics on an unknown endpoint.
    pub fn rpc_exception_next(&self, endpoint: &str, kind: &str, message: &str) {
        self.shared
            .lock()
            .rpc_exception_next(endpoint, kind, message);
    }

    /// Whether `usersearch` honours `email` as well as `emailAddress`.
    pub fn set_email_alias(&self, on: bool) {
        self.shared.lock().config.email_alias = on;
    }

    /// Whether searches match case-sensitively.
    pub fn set_search_case_sensitive(&self, on: bool) {
        self.shared.lock().config.search_case_sensitive = on;
    }

    /// Whether a save replaces the whole record (`false`: fields left out keep their values).
    pub fn set_save_replaces_record(&self, on: bool) {
        self.shared.lock().config.save_replaces_record = on;
    }

    /// Whether a save with a password changes an existing account's password.
    pub fn set_apply_password_on_update(&self, on: bool) {
        self.shared.lock().config.apply_password_on_update = on;
    }
}
