//! How the site starts ([`AmsConfig`], the knobs) and what it counts
//! ([`AmsCalls`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

/// The API account's password unless the config says otherwise.
pub const DEFAULT_AMS_PASSWORD: &str = "sandbox-password";

/// The permissions the recorded API account had (*login cassette*), with
/// which it created users through `person/save`.
const RECORDED_PERMISSIONS: [&str; 17] = [
    "Calendar",
    "Enter Data For Group",
    "Reports",
    "Edit Athlete Accounts",
    "Import Data",
    "Enter Data",
    "Profile Data",
    "Athlete History",
    "Resources - Upload",
    "Import Profile Data",
    "Groups",
    "Enter Appointment",
    "Account Read",
    "Account Write",
    "Resources",
    "Reports - Export",
    "Accounts Audit Export",
];

/// How the site starts; the knobs can also change at run time.
/// (`Debug` leaves the password out.)
#[derive(Clone)]
pub struct AmsConfig {
    /// The site name: the last segment of the site URL and login's `appName`.
    pub site: String,
    /// The API account, seeded at start (a person record with an id).
    pub admin_username: String,
    /// Its password.
    pub admin_password: String,
    /// `applicationId` in the login answer.
    pub application_id: i64,
    /// `permissions` in the login answer.
    pub permissions: Vec<String>,
    /// Idle time after which a session dies; `None` (the default): never.
    /// [assumption: the service's lifetime is unknown]
    pub session_lifetime: Option<Duration>,
    /// The status a dead or unknown session token answers (default 401).
    /// [assumption: unrecorded; 403 is the other plausible answer]
    pub session_expired_status: u16,
    /// Bad credentials at login answer an RPC exception instead of HTTP 401.
    /// [assumption: unrecorded; off by default]
    pub bad_login_as_rpc_exception: bool,
    /// `usersearch` honours `email` as well as `emailAddress` (teamworksams
    /// sends `email`, smartabaseR `emailAddress`). [assumption: off by
    /// default, so a client relying on the unconfirmed key finds nobody]
    pub email_alias: bool,
    /// Searches match case-sensitively (default on: the teamworksams docs
    /// call filter values case-sensitive).
    pub search_case_sensitive: bool,
    /// One outer search record per identification entry, echoing it in
    /// `search` (default); off: one record with `search: {}` holding every
    /// match. [assumption]
    pub search_record_per_entry: bool,
    /// A save replaces the whole record, fields left out taking a new
    /// account's defaults (default); off: fields left out keep their values.
    /// [assumption: the clients always send the whole record]
    pub save_replaces_record: bool,
    /// A save giving another account's username or email (ignoring case) is
    /// refused (default on). [assumption]
    pub unique_usernames_and_emails: bool,
    /// A save's password changes an existing account's password (default
    /// off: accepted, not applied, as the smartabasepy authors observed).
    pub apply_password_on_update: bool,
    /// Added to every API call (not to `/sandbox/...`).
    pub latency: Duration,
    /// Share of API calls (0.0–1.0) answered 500 or 503.
    pub fault_rate: f64,
    /// `Retry-After` seconds on injected 429s.
    pub retry_after_secs: u64,
    /// Seed of the fault decisions and session tokens.
    pub seed: u64,
}

impl std::fmt::Debug for AmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmsConfig")
            .field("site", &self.site)
            .field("admin_username", &self.admin_username)
            .field("admin_password", &"<redacted>")
            .field("session_lifetime", &self.session_lifetime)
            .field("latency", &self.latency)
            .field("fault_rate", &self.fault_rate)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for AmsConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl AmsConfig {
    /// Site `rollcall`, API account `rollcall.api` / [`DEFAULT_AMS_PASSWORD`]
    /// with the recorded permissions, sessions that never expire, and every
    /// assumption at the default described on its field; no latency, no faults.
    pub fn new() -> Self {
        Self {
            site: "rollcall".into(),
            admin_username: "rollcall.api".into(),
            admin_password: DEFAULT_AMS_PASSWORD.into(),
            application_id: 1044,
            permissions: RECORDED_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            session_lifetime: None,
            session_expired_status: 401,
            bad_login_as_rpc_exception: false,
            email_alias: false,
            search_case_sensitive: true,
            search_record_per_entry: true,
            save_replaces_record: true,
            unique_usernames_and_emails: true,
            apply_password_on_update: false,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            retry_after_secs: 1,
            seed: 0x5EED,
        }
    }

    /// The knobs as JSON (no password), for `/sandbox/state`.
    pub(crate) fn knobs_json(&self) -> Value {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        json!({
            "site": self.site,
            "admin_username": self.admin_username,
            "session_lifetime_secs": self.session_lifetime.map(|d| d.as_secs_f64()),
            "session_expired_status": self.session_expired_status,
            "bad_login_as_rpc_exception": self.bad_login_as_rpc_exception,
            "email_alias": self.email_alias,
            "search_case_sensitive": self.search_case_sensitive,
            "search_record_per_entry": self.search_record_per_entry,
            "save_replaces_record": self.save_replaces_record,
            "unique_usernames_and_emails": self.unique_usernames_and_emails,
            "apply_password_on_update": self.apply_password_on_update,
            "latency_ms": ms(self.latency),
            "fault_rate": self.fault_rate,
            "retry_after_secs": self.retry_after_secs,
            "seed": self.seed,
        })
    }
}

/// API calls counted since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AmsCalls {
    /// Every call to the site's API (unknown paths included).
    pub total: u64,
    /// Calls per endpoint name ([`super::AMS_ENDPOINTS`]; `unknown` for other paths).
    pub by_endpoint: BTreeMap<String, u64>,
    /// Calls answered by a knob (`fail_next`, `rpc_exception_next`, the fault rate).
    pub injected: BTreeMap<String, u64>,
    /// Calls refused for missing, wrong or dead credentials (not bad logins).
    pub unauthorized: BTreeMap<String, u64>,
    /// The most API calls being served at once (latency included).
    pub max_in_flight: u64,
}

impl AmsCalls {
    /// Calls of one endpoint.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }

    /// Injected answers for one endpoint.
    pub fn injected_count(&self, endpoint: &str) -> u64 {
        self.injected.get(endpoint).copied().unwrap_or(0)
    }

    /// Refused credentials for one endpoint.
    pub fn unauthorized_count(&self, endpoint: &str) -> u64 {
        self.unauthorized.get(endpoint).copied().unwrap_or(0)
    }
}
