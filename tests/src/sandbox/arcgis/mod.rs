//! A local simulator of an ArcGIS Online / ArcGIS Enterprise portal, built
//! from Esri's public documentation and clients (see [References](#references);
//! comments here and in the submodules cite those sources by the short names
//! in *italics*).
//!
//! [`ArcgisSandbox::start`] serves a portal root at `http://127.0.0.1:PORT/portal`:
//! the sharing API under `/portal/sharing/rest`, the Portal Admin API under
//! `/portal/portaladmin`, and the sandbox's own control endpoints under
//! `/sandbox/...` (never faulted, never delayed, never counted):
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /sandbox/state` | members (never passwords), groups, calls, invitation mails, knobs |
//! | `POST /sandbox/config` | JSON knobs: `latency_ms`, `fault_rate`, `retry_after_secs`, `token_lifetime_secs`, `seed`, `max_invitations_per_call` (null clears), `enforce_referer`, `default_credits`, `bulk_results_without_username` |
//! | `POST /sandbox/reset` | back to the starting configuration: data, tokens, calls, knobs |
//! | `POST /sandbox/reset-calls` | zero the call counters |
//! | `POST /sandbox/expire-tokens` | every issued token answers 498 from now on |
//! | `POST /sandbox/members` | seed a [`SeedMember`] (or an array); omitted fields take `SeedMember::new` defaults |
//! | `POST /sandbox/groups` | seed `{"id","title","owner"?}` (or an array) |
//! | `POST /sandbox/generate` | [`ArcgisSandbox::generate_org`]: `{"members","seed"?,"now_ms"?}` → [`GeneratedOrg`] |
//! | `POST /sandbox/last-login` | [`ArcgisSandbox::set_last_login`]: `{"username","at"}` (`at` epoch ms or null) |
//! | `GET /sandbox/calls` | the [`CallStats`] alone (cheap even for a 100,000-member org) |
//!
//! Time: nothing the portal answers about members depends on the wall clock
//! except that `generateToken` stamps the signing-in account's `lastLogin`
//! with it; tests that simulate days set `lastLogin`/`created` themselves
//! ([`SeedMember`], [`OrgSpec::now_ms`], [`ArcgisSandbox::set_last_login`]).
//! The member lifecycle (the 30-day rule of user-type changes and the
//! timestamps of its operations) reads the sandbox's own clock, which a test
//! may fix or move on ([`ArcgisSandbox::set_clock`],
//! [`ArcgisSandbox::advance_clock_days`]).
//!
//! Members' content, reassignment, user-type rules, licences, credits and
//! custom roles are in [`content`], [`licensing`] and [`role_admin`]; their
//! seeding and inspection in [`lifecycle`], whose docs list the further
//! public pages they follow.
//!
//! The simulator follows the documented behaviour, not any one client: the
//! same reqwest client must work against it and against the real service.
//! Behaviour no public source confirms is decided in the code and marked
//! `[unverified]` there.
//!
//! # References
//!
//! ArcGIS REST API reference, "Users, groups, and items" (the sharing API):
//! - *Common parameters* (`f`, `token`, paging):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/common-parameters.htm>
//! - *Considerations and limitations* (page size, token lifetime, group and
//!   `checkUsernames` limits):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/considerations-and-limitations.htm>
//! - *Generate Token*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/generate-token.htm>
//! - *Token* (`oauth2/token`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/token.htm>
//! - *Portal Self* (`portals/self`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/portal-self.htm>
//! - *User Self* (`community/self`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/self>
//! - *Organization Users* (`portals/self/users`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/users.htm>
//! - *User* (`community/users/{u}`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/user.htm>
//! - *Update User*: <https://developers.arcgis.com/rest/users-groups-and-items/update-user.htm>
//! - *Delete User*: <https://developers.arcgis.com/rest/users-groups-and-items/delete-user.htm>
//! - *Disable* / *Enable*: <https://developers.arcgis.com/rest/users-groups-and-items/disable.htm>,
//!   <https://developers.arcgis.com/rest/users-groups-and-items/enable.htm>
//! - *Update User Role*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/update-user-role.htm>
//! - *Roles*: <https://developers.arcgis.com/rest/users-groups-and-items/roles>
//! - *Privileges*: <https://developers.arcgis.com/rest/users-groups-and-items/privileges.htm>
//! - *User License Type* (one user's type):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/user-license-types.htm>
//! - *User Default Settings*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/user-default-settings.htm>
//! - *Group*: <https://developers.arcgis.com/rest/users-groups-and-items/group.htm>
//! - *Group Search* (`community/groups`):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/group-search.htm>
//! - *Search reference* (the query syntax and its fields):
//!   <https://developers.arcgis.com/rest/users-groups-and-items/search-reference.htm>
//! - *Group Users*: <https://developers.arcgis.com/rest/users-groups-and-items/group-users>
//! - *Group Users List*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/group-users-list.htm>
//! - *Add Users to Group*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/add-users-to-group.htm>
//! - *Remove Users From Group*:
//!   <https://developers.arcgis.com/rest/users-groups-and-items/remove-users-from-group.htm>
//!
//! Other public sources:
//! - *Create User* (Portal Administrator API, `security/users/createUser`):
//!   <https://developers.arcgis.com/rest/enterprise-administration/portal/create-user.htm>
//! - *HTTP authorization headers*:
//!   <https://developers.arcgis.com/documentation/security-and-authentication/reference/http-authorization-headers/>
//! - *arcgis-python*: the ArcGIS API for Python, package `arcgis` (2.4.4) on
//!   PyPI, <https://pypi.org/project/arcgis/>, chiefly `arcgis/gis/__init__.py`
//!   (`UserManager`, `User`) and `arcgis/gis/_impl/_con/_connection.py`. It is
//!   the source for what Esri's own client sends where the REST reference is
//!   silent: `portals/self/invite`, `updateUserLicenseType`, bulk
//!   `enableUsers`/`disableUsers`, `userLicenseTypes`, the system accounts.
//! - *arcgis-rest-js*: Esri's JavaScript client, <https://github.com/Esri/arcgis-rest-js>,
//!   and its test fixtures (e.g. `packages/arcgis-rest-request/test/mocks/errors.ts`
//!   for the 498, 499 and 403 `GWM_0003` envelopes).
//! - *arcgisutils*: the R client, <https://github.com/R-ArcGIS/arcgisutils>
//!   (`R/req-retry.R`).

mod content;
mod control;
mod generate;
mod licensing;
mod lifecycle;
mod model;
mod ops;
mod request;
mod role_admin;
mod search;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub use self::generate::{GeneratedOrg, OrgSpec, DAY_MS, SYSTEM_ACCOUNTS};
pub use self::lifecycle::{ItemView, RoleView};
use self::model::State;
use self::request::{bearer, error, Params, Route};
use crate::sandbox::faults::FaultKind;

/// Which product the portal pretends to be (`isPortal` in *Portal Self*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortalMode {
    /// ArcGIS Online: `isPortal:false`, multitenant, members via `invite`, credits.
    Online,
    /// ArcGIS Enterprise: `isPortal:true`, singletenant, members via portaladmin `createUser`.
    Enterprise,
}

/// How the sandbox starts; the knobs can also change at run time.
/// (`Debug` leaves the passwords out.)
#[derive(Clone)]
pub struct SandboxConfig {
    /// Online or Enterprise behaviour.
    pub mode: PortalMode,
    /// The org id (`portals/self.id`); Enterprise's is `0123456789ABCDEF`
    /// (as in the Enterprise examples of *Update User Role*; *arcgis-python* uses it too).
    pub org_id: String,
    /// The org administrator seeded at start (role `org_admin`).
    pub admin_username: String,
    /// Its password, for `generateToken`.
    pub admin_password: String,
    /// Added to every portal call (not to `/sandbox/...`).
    pub latency: Duration,
    /// Share of portal calls (0.0–1.0) answered with a throttling/unavailable failure.
    pub fault_rate: f64,
    /// `Retry-After` seconds on injected HTTP 429s.
    pub retry_after_secs: u64,
    /// Longest life of a token; shorter requested expirations are honoured.
    pub token_lifetime: Duration,
    /// Seed of the fault decisions and generated ids.
    pub seed: u64,
    /// Reject `invite` calls with more invitations than this (none by default).
    pub max_invitations_per_call: Option<usize>,
    /// Require the `Referer` header to match a `client=referer` token
    /// (*Generate Token*; off by default).
    pub enforce_referer: bool,
    /// Client id of the configured OAuth app (*Token*, `client_credentials`).
    pub app_client_id: String,
    /// Its secret.
    pub app_client_secret: String,
    /// Online `defaultUserCreditAssignment`; `None` = unlimited (-1).
    pub default_credits: Option<f64>,
    /// Answer every portal call with `307 Temporary Redirect` to this origin
    /// (the same path): a portal behind a misconfigured proxy, or a hostile
    /// one. The client must not follow it with its token or password.
    pub redirect_to: Option<String>,
    /// `portals/self/invite` answers `{"success": false}` without an error
    /// envelope [unverified whether the service does; the client must not
    /// read it as success].
    pub invite_unsuccessful: bool,
    /// One refused invitation fails the whole `invite` call with the error
    /// envelope, instead of landing in `notInvited` [unverified: the ArcGIS
    /// API for Python expects `notInvited`; the issue's "one bad invitation
    /// fails its batch" is this behaviour].
    pub invite_refuses_whole_list: bool,
    /// `addUsers` lists every member in `notAdded` (as for a member at the
    /// 512-group limit, *Add Users to Group*).
    pub refuse_group_adds: bool,
    /// An Enterprise portal before 10.8: no `portals/self/userDefaultSettings`
    /// (it answers an error); the new-member defaults are in the portaladmin
    /// security configuration (`defaultRoleForUser`, `defaultUserTypeIdForUser`),
    /// where the ArcGIS API for Python reads them for such portals.
    pub before_user_default_settings: bool,
    /// Groups `(id, title)` owned by the admin, created at start and on reset.
    pub groups: Vec<(String, String)>,
    /// Answer `disableUsers`/`enableUsers` (and `updateUserLicenseType`) with `results[]` entries that hold
    /// only `status` (and `error`), no `username`: the part of the answer the
    /// ArcGIS API for Python reads (*arcgis-python*). Off by default.
    pub bulk_results_without_username: bool,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("mode", &self.mode)
            .field("org_id", &self.org_id)
            .field("admin_username", &self.admin_username)
            .field("admin_password", &"<redacted>")
            .field("latency", &self.latency)
            .field("fault_rate", &self.fault_rate)
            .field("retry_after_secs", &self.retry_after_secs)
            .field("token_lifetime", &self.token_lifetime)
            .field("seed", &self.seed)
            .field("max_invitations_per_call", &self.max_invitations_per_call)
            .field("enforce_referer", &self.enforce_referer)
            .field("app_client_id", &self.app_client_id)
            .field("app_client_secret", &"<redacted>")
            .field("default_credits", &self.default_credits)
            .field("groups", &self.groups)
            .field(
                "bulk_results_without_username",
                &self.bulk_results_without_username,
            )
            .finish()
    }
}

/// The default admin password (used unless overridden).
pub const DEFAULT_ADMIN_PASSWORD: &str = "sandbox-password";

impl SandboxConfig {
    /// An ArcGIS Online org with zero latency and faults and 60-minute tokens.
    pub fn online() -> Self {
        Self {
            mode: PortalMode::Online,
            org_id: "RollcallSbxOrg01".into(),
            admin_username: "rollcall_admin".into(),
            admin_password: DEFAULT_ADMIN_PASSWORD.into(),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            retry_after_secs: 1,
            token_lifetime: Duration::from_secs(60 * 60),
            seed: 42,
            max_invitations_per_call: None,
            enforce_referer: false,
            app_client_id: "rollcallSandboxApp".into(),
            app_client_secret: "sandbox-app-secret".into(),
            default_credits: None,
            redirect_to: None,
            invite_unsuccessful: false,
            invite_refuses_whole_list: false,
            refuse_group_adds: false,
            before_user_default_settings: false,
            groups: Vec::new(),
            bulk_results_without_username: false,
        }
    }

    /// An ArcGIS Enterprise portal (org id `0123456789ABCDEF`), otherwise as [`Self::online`].
    pub fn enterprise() -> Self {
        Self {
            mode: PortalMode::Enterprise,
            org_id: "0123456789ABCDEF".into(),
            ..Self::online()
        }
    }
}

/// An account to seed. Build with [`SeedMember::new`] and the builder methods,
/// or struct-update syntax (`SeedMember { role: .., ..SeedMember::new("u") }`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedMember {
    /// Canonical username (unique case-insensitively).
    pub username: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
    /// Base role `org_admin|org_publisher|org_user`, or a listed role id.
    pub role: String,
    /// Custom role id (Viewer, Data Editor or an added role).
    pub role_id: Option<String>,
    /// User type id (`userLicenseTypeId`, e.g. `creatorUT`).
    pub user_type: String,
    /// Last sign-in, epoch ms; `None` = never (`-1` on the wire).
    pub last_login: Option<i64>,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Disabled account.
    pub disabled: bool,
    /// `None` = this org; `Some(other)` = another org's account that still takes the username.
    pub org_id: Option<String>,
    /// Group ids the member belongs to (unknown ids create the group).
    pub groups: Vec<String>,
    /// Password for `generateToken`; `None` = cannot sign in with a password.
    pub password: Option<String>,
    /// `arcgis` or `enterprise` (SAML).
    pub provider: String,
    /// IdP name for enterprise accounts.
    pub idp_username: Option<String>,
    /// Online credit allocation; `None` = unlimited.
    pub credits: Option<f64>,
    /// Content items the member owns (blocks delete, *Delete User*).
    pub items: u32,
    /// Created by an invitation still pending.
    pub invited: bool,
}

impl SeedMember {
    /// A realistic active member: names from the username (`jane.doe` → Jane Doe),
    /// `<username>@example.com`, `org_user`, `creatorUT`, created 90 days ago,
    /// last sign-in 2 days ago, no password, no groups.
    pub fn new(username: &str) -> Self {
        let mut parts = username
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|s| !s.is_empty())
            .map(capitalize);
        let first_name = parts.next().unwrap_or_else(|| "Test".into());
        let last_name = parts.next().unwrap_or_else(|| "Member".into());
        let now = model::now_ms();
        let local: String = username
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            username: username.to_string(),
            first_name,
            last_name,
            email: format!("{local}@example.com"),
            role: "org_user".into(),
            role_id: None,
            user_type: "creatorUT".into(),
            last_login: Some(now - 2 * 86_400_000),
            created: now - 90 * 86_400_000,
            disabled: false,
            org_id: None,
            groups: Vec::new(),
            password: None,
            provider: "arcgis".into(),
            idp_username: None,
            credits: None,
            items: 0,
            invited: false,
        }
    }

    /// Sets the role (a base role or a listed role id).
    pub fn role(mut self, role: &str) -> Self {
        self.role = role.to_string();
        self
    }

    /// Sets the user type id.
    pub fn user_type(mut self, user_type: &str) -> Self {
        self.user_type = user_type.to_string();
        self
    }

    /// Sets the e-mail address.
    pub fn email(mut self, email: &str) -> Self {
        self.email = email.to_string();
        self
    }

    /// Sets the password, so the member can sign in.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }

    /// Sets the last sign-in (epoch ms; `None` = never).
    pub fn last_login(mut self, at: Option<i64>) -> Self {
        self.last_login = at;
        self
    }

    /// Sets the creation time (epoch ms).
    pub fn created(mut self, at: i64) -> Self {
        self.created = at;
        self
    }

    /// Marks the account disabled.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Makes this an account of another org (it still takes the username).
    pub fn other_org(mut self, org_id: &str) -> Self {
        self.org_id = Some(org_id.to_string());
        self
    }

    /// Sets the group memberships.
    pub fn groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }

    /// Sets how many content items the member owns.
    pub fn items(mut self, items: u32) -> Self {
        self.items = items;
        self
    }
}

impl std::fmt::Debug for SeedMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedMember")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("role_id", &self.role_id)
            .field("user_type", &self.user_type)
            .field("org_id", &self.org_id)
            .field("disabled", &self.disabled)
            .field("groups", &self.groups)
            .field("has_password", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// What the sandbox holds about one account (never the password).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberView {
    /// Canonical username.
    pub username: String,
    /// 32-hex user id.
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address.
    pub email: String,
    /// Base role.
    pub role: String,
    /// Custom role id, if any.
    pub role_id: Option<String>,
    /// User type id (`userLicenseTypeId`).
    pub user_type: String,
    /// Online Esri access (`userType`: `arcgisonly|both`); `None` on Enterprise.
    pub esri_access: Option<String>,
    /// Credit allocation; `None` = unlimited.
    pub credits: Option<f64>,
    /// Created by an invitation without a password.
    pub invited: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// `arcgis` or `enterprise`.
    pub provider: String,
    /// IdP name.
    pub idp_username: Option<String>,
    /// Disabled account.
    pub disabled: bool,
    /// Group ids, sorted.
    pub groups: Vec<String>,
    /// `None` = this org.
    pub org_id: Option<String>,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Last change, epoch ms.
    pub modified: i64,
    /// Last sign-in, epoch ms.
    pub last_login: Option<i64>,
    /// Owned content items.
    pub items: u32,
    /// Profile description.
    pub description: String,
}

/// Portal calls counted by operation name (faulted calls included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Every portal call.
    pub total: u64,
    /// Calls answered with an injected fault.
    pub faults: u64,
    /// Calls per operation (`generateToken`, `portals/self`, `invite`, `addUsers`, ...).
    pub by_operation: BTreeMap<String, u64>,
    /// Injected faults per operation.
    pub faults_by_operation: BTreeMap<String, u64>,
    /// Time spent serving each operation, in microseconds: decoding, the
    /// operation itself and JSON encoding; not the configured latency, not
    /// socket I/O, not faulted calls.
    pub service_micros_by_operation: BTreeMap<String, u64>,
}

impl CallStats {
    /// Calls counted for one operation.
    pub fn count(&self, operation: &str) -> u64 {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    /// Time spent serving one operation so far (see `service_micros_by_operation`).
    pub fn service_time(&self, operation: &str) -> Duration {
        Duration::from_micros(
            self.service_micros_by_operation
                .get(operation)
                .copied()
                .unwrap_or(0),
        )
    }
}

/// An invitation e-mail the portal "sent" (invite without a password, *arcgis-python*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitationMail {
    /// The invited username.
    pub username: String,
    /// Where the mail went.
    pub email: String,
    /// The `message` parameter of the invite call.
    pub message: Option<String>,
    /// When, epoch ms.
    pub sent_at: i64,
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

/// A running portal simulator. Dropping it stops the server.
pub struct ArcgisSandbox {
    addr: SocketAddr,
    admin_username: String,
    admin_password: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ArcgisSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArcgisSandbox")
            .field("url", &self.url())
            .field("admin_username", &self.admin_username)
            .finish_non_exhaustive()
    }
}

impl Drop for ArcgisSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ArcgisSandbox {
    /// Starts a sandbox on `127.0.0.1:0` (a free port). Panics if it cannot bind.
    pub async fn start(config: SandboxConfig) -> ArcgisSandbox {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the ArcGIS sandbox on 127.0.0.1")
    }

    /// Starts a sandbox on a given address (the binary's `--port`).
    pub async fn bind(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<ArcgisSandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}/portal");
        let admin_username = config.admin_username.clone();
        let admin_password = config.admin_password.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config, base_url)),
        });
        let app = Router::new()
            .route("/sandbox/state", get(control::state))
            .route("/sandbox/config", post(control::config))
            .route("/sandbox/reset", post(control::reset))
            .route("/sandbox/reset-calls", post(control::reset_calls))
            .route("/sandbox/expire-tokens", post(control::expire_tokens))
            .route("/sandbox/members", post(control::members))
            .route("/sandbox/groups", post(control::groups))
            .route("/sandbox/generate", post(control::generate))
            .route("/sandbox/last-login", post(control::last_login))
            .route("/sandbox/calls", get(control::calls))
            .fallback(portal)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "ArcGIS sandbox stopped");
            }
        });
        Ok(ArcgisSandbox {
            addr,
            admin_username,
            admin_password,
            shared,
            task,
        })
    }

    /// The portal root, e.g. `http://127.0.0.1:PORT/portal` (the client's `ARCGIS_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/portal", self.addr)
    }

    /// The sandbox's own address, e.g. `http://127.0.0.1:PORT` (for `/sandbox/...`).
    pub fn control_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seeded administrator's username.
    pub fn admin_username(&self) -> &str {
        &self.admin_username
    }

    /// The seeded administrator's password.
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    /// Seeds (or replaces) an account.
    pub fn add_member(&self, m: SeedMember) {
        self.shared.lock().seed_member(m);
    }

    /// Adds a generated organization (see [`OrgSpec`]) to the seeded admin and
    /// whatever else is there, replacing accounts of the same names, and
    /// returns its counts by category. Deterministic for a spec; 100,000
    /// members take well under a second in a release build.
    pub fn generate_org(&self, spec: OrgSpec) -> GeneratedOrg {
        generate::populate(&mut self.shared.lock(), spec)
    }

    /// Sets an account's last sign-in (epoch ms; `None` = never, `-1` on the
    /// wire), e.g. "member signed in again on simulated day X". `modified`
    /// and `created` are left alone. Panics if there is no such account.
    pub fn set_last_login(&self, username: &str, at: Option<i64>) {
        let found = self.shared.lock().set_last_login(username, at);
        assert!(
            found,
            "set_last_login: no account {username:?} in the sandbox"
        );
    }

    /// Adds existing accounts to an existing group as plain members (joined
    /// at their `created` time), as many as wanted in one go (no 25-user
    /// limit). Panics if the group or an account does not exist.
    pub fn add_to_group(&self, group_id: &str, usernames: &[&str]) {
        let mut st = self.shared.lock();
        assert!(
            st.groups.contains_key(group_id),
            "add_to_group: no group {group_id:?}"
        );
        let mut missing = Vec::new();
        for u in usernames {
            let key = u.to_lowercase();
            match st.members.get(&key).map(|m| m.created) {
                Some(created) => st.join_group(group_id, &key, model::MemberType::Member, created),
                None => missing.push(*u),
            }
        }
        drop(st);
        assert!(missing.is_empty(), "add_to_group: no accounts {missing:?}");
    }

    /// Creates a group owned by the admin (or renames an existing one).
    pub fn add_group(&self, id: &str, title: &str) {
        self.shared.lock().seed_group(id, title, None);
    }

    /// Creates a group owned by `owner` (who then cannot be deleted, *Delete User*).
    pub fn add_group_owned_by(&self, id: &str, title: &str, owner: &str) {
        self.shared.lock().seed_group(id, title, Some(owner));
    }

    /// Adds a custom role (listed by `portals/self/roles`; base role `org_user`).
    pub fn add_role(&self, id: &str, name: &str) {
        let mut st = self.shared.lock();
        let now = model::now_ms();
        st.roles.retain(|r| r.id != id);
        st.roles.push(model::Role {
            id: id.to_string(),
            name: name.to_string(),
            description: format!("{name} (sandbox custom role)"),
            created: now,
            privileges: vec![
                "portal:user:joinGroup".into(),
                "portal:user:viewOrgGroups".into(),
                "portal:user:viewOrgItems".into(),
                "portal:user:viewOrgUsers".into(),
                "portal:user:createItem".into(),
            ],
        });
    }

    /// Makes `addUsers` refuse every member (or stop refusing).
    pub fn refuse_group_adds(&self, on: bool) {
        self.shared.lock().config.refuse_group_adds = on;
    }

    /// Clears the new member defaults: `userDefaultSettings` answers `{}`.
    pub fn clear_user_defaults(&self) {
        let mut st = self.shared.lock();
        st.defaults.role = None;
        st.defaults.user_type = None;
        st.defaults.groups.clear();
    }

    /// Sets the new member defaults (*User Default Settings*).
    pub fn set_user_defaults(&self, role: &str, user_type: &str, groups: &[&str]) {
        let mut st = self.shared.lock();
        st.defaults = model::UserDefaults {
            role: Some(role.to_string()),
            user_type: Some(user_type.to_string()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
    }

    /// One account by any casing of its username.
    pub fn member(&self, username: &str) -> Option<MemberView> {
        self.shared.lock().member(username).map(model::Member::view)
    }

    /// Every account (this org and others), sorted by username.
    pub fn members(&self) -> Vec<MemberView> {
        self.shared
            .lock()
            .members
            .values()
            .map(model::Member::view)
            .collect()
    }

    /// Canonical usernames of a group's members (owner and admins included), sorted.
    pub fn group_members(&self, group_id: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.groups
            .get(group_id)
            .map(|g| st.group_usernames(g, |_| true))
            .unwrap_or_default()
    }

    /// Invitation mails "sent" so far.
    pub fn invitations(&self) -> Vec<InvitationMail> {
        self.shared.lock().invitations.clone()
    }

    /// Call counters.
    pub fn calls(&self) -> CallStats {
        self.shared.lock().stats.clone()
    }

    /// Zeroes the call counters.
    pub fn reset_calls(&self) {
        self.shared.lock().stats = CallStats::default();
    }

    /// Back to the starting configuration: data, tokens, calls and knobs.
    pub fn reset(&self) {
        let mut st = self.shared.lock();
        let fresh = State::new(st.initial.clone(), st.base_url.clone());
        *st = fresh;
    }

    /// Latency added to every portal call.
    pub fn set_latency(&self, d: Duration) {
        self.shared.lock().config.latency = d;
    }

    /// Share of portal calls (clamped to 0.0–1.0) that fail with throttling/unavailable.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.lock().config.fault_rate = rate.clamp(0.0, 1.0);
    }

    /// `Retry-After` seconds on injected HTTP 429s.
    pub fn set_retry_after(&self, secs: u64) {
        self.shared.lock().config.retry_after_secs = secs;
    }

    /// Longest life of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.shared.lock().config.token_lifetime = d;
    }

    /// Expires every issued token now ("token expires mid-run").
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_tokens();
    }

    /// Whether `disableUsers`/`enableUsers` leave `username` out of
    /// `results[]` (see [`SandboxConfig::bulk_results_without_username`]).
    pub fn set_bulk_results_without_username(&self, on: bool) {
        self.shared.lock().config.bulk_results_without_username = on;
    }

    /// Leaves `lastLogin` out of every answer describing this account (the
    /// listing and the user resource), as an answer lacking the field would:
    /// a client must not read that as "never signed in". Panics if there is
    /// no such account.
    pub fn withhold_last_login(&self, username: &str) {
        let mut st = self.shared.lock();
        assert!(
            st.member(username).is_some(),
            "withhold_last_login: no account {username:?} in the sandbox"
        );
        st.withheld_last_login.insert(username.to_lowercase());
        st.touch();
    }
}

/// The whole portal: accounting, latency, faults, then the operation.
async fn portal(AxState(shared): AxState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some(rest) = path
        .strip_prefix("/portal")
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let bytes = match to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::BAD_REQUEST, "unreadable body").into_response(),
    };

    let (route, fault, latency, retry_after, online) = {
        let mut st = shared.lock();
        let route = Route::parse(rest, &st.config.org_id);
        let rate = st.config.fault_rate;
        let fault = st.faults.decide(rate);
        st.count_call(route.operation(), fault.is_some());
        (
            route,
            fault,
            st.config.latency,
            st.config.retry_after_secs,
            st.online(),
        )
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let redirect = shared.lock().config.redirect_to.clone();
    if let Some(origin) = redirect {
        let location = format!("{}{}", origin.trim_end_matches('/'), parts.uri);
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
            "",
        )
            .into_response();
    }
    if let Some(kind) = fault {
        tracing::debug!(
            operation = route.operation(),
            ?kind,
            "sandbox: injected fault"
        );
        return fault_response(kind, retry_after);
    }
    let started = std::time::Instant::now();
    let operation = route.operation();
    let response = serve(&shared, route, online, rest, &parts, &bytes);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    *shared
        .lock()
        .stats
        .service_micros_by_operation
        .entry(operation.to_string())
        .or_insert(0) += micros;
    response
}

/// Everything after accounting, latency and faults: decoding, the operation, encoding.
fn serve(
    shared: &Shared,
    route: Route,
    online: bool,
    rest: &str,
    parts: &axum::http::request::Parts,
    bytes: &[u8],
) -> Response {
    // Portal Admin does not exist on ArcGIS Online.
    let under_admin = rest.to_ascii_lowercase().starts_with("/portaladmin");
    if (under_admin && route == Route::Unknown)
        || (matches!(route, Route::CreateUser | Route::AdminLicense) && online)
    {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }

    let mut params = Params::default();
    if let Some(q) = parts.uri.query() {
        params.extend_urlencoded(q);
    }
    let content_type = header_str(&parts.headers, header::CONTENT_TYPE)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_post = parts.method == Method::POST;
    if is_post && content_type.starts_with("multipart/form-data") {
        return json_reply(
            &error(
                400,
                None,
                "The sandbox accepts application/x-www-form-urlencoded bodies only.",
                &[],
            ),
            false,
        );
    }
    if is_post && content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend_urlencoded(&String::from_utf8_lossy(bytes));
    }

    // *Common parameters*: `f` defaults to html, so without f=json|pjson the server answers HTML.
    let pretty = match params.get("f").map(str::to_ascii_lowercase).as_deref() {
        Some("json") => false,
        Some("pjson") => true,
        _ => return html_page(route.operation()),
    };
    let admin_style = route.is_portaladmin();
    if parts.method != Method::GET && !is_post {
        return json_reply(&method_not_supported(admin_style), pretty);
    }
    if route.post_only() && !is_post {
        return json_reply(&method_not_supported(admin_style), pretty);
    }

    // *HTTP authorization headers*, *Common parameters*: header X-Esri-Authorization,
    // header Authorization, then body/query `token`.
    let token = bearer(header_str(&parts.headers, "x-esri-authorization"))
        .or_else(|| bearer(header_str(&parts.headers, header::AUTHORIZATION)))
        .or_else(|| params.non_empty("token").map(str::to_string));
    let referer = header_str(&parts.headers, header::REFERER);
    let reply = {
        let mut st = shared.lock();
        ops::dispatch(&mut st, &route, token.as_deref(), referer, &params)
    };
    match reply {
        ops::Reply::Value(body) => json_reply(&body, pretty),
        ops::Reply::Encoded(text) if !pretty => json_text(text),
        ops::Reply::Encoded(text) => {
            json_reply(&serde_json::from_str(&text).unwrap_or_default(), true)
        }
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn method_not_supported(admin_style: bool) -> serde_json::Value {
    let e = error(405, None, "Method not supported.", &[]);
    if admin_style {
        request::to_admin_style(e)
    } else {
        e
    }
}

fn json_reply(body: &serde_json::Value, pretty: bool) -> Response {
    let text = if pretty {
        serde_json::to_string_pretty(body)
    } else {
        serde_json::to_string(body)
    }
    .unwrap_or_else(|_| "{}".into());
    json_text(text)
}

fn json_text(text: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The short HTML page a portal answers when `f` is missing (*Common parameters*).
fn html_page(operation: &str) -> Response {
    let body = format!(
        "<html><head><title>ArcGIS Portal Directory</title></head>\
         <body><h2>{operation}</h2><p>Add f=json to get JSON.</p></body></html>"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The injected failure, before any work is done: the throttling/unavailable shapes
/// clients retry on (*arcgis-python*, *arcgisutils*; no rate limit is documented).
fn fault_response(kind: FaultKind, retry_after: u64) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    match kind {
        FaultKind::HttpTooManyRequests => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (
                    header::CONTENT_TYPE,
                    "application/json; charset=utf-8".to_string(),
                ),
                (header::RETRY_AFTER, retry_after.to_string()),
            ],
            error(429, None, "Too many requests. Please try again later.", &[]).to_string(),
        )
            .into_response(),
        FaultKind::HttpUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Body::from(
                "<html><head><title>503 Service Unavailable</title></head>\
                 <body><h1>Service Unavailable</h1></body></html>",
            ),
        )
            .into_response(),
        FaultKind::EnvelopeTooManyRequests => (
            json,
            error(429, None, "Too many requests. Please try again later.", &[]).to_string(),
        )
            .into_response(),
        FaultKind::EnvelopeUnavailable => (
            json,
            error(
                503,
                None,
                "Service unavailable. Please try again later.",
                &[],
            )
            .to_string(),
        )
            .into_response(),
    }
}
