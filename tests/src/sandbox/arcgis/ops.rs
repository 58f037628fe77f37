//! The portal operations, one function per resource, run under the state lock.
//!
//! Every function returns the JSON body to send with HTTP 200: a result, or
//! the `{"error": {...}}` envelope (as in the examples of *Remove Users From
//! Group* and the *arcgis-rest-js* fixtures), or for Portal Admin the
//! `{"status": ...}` style of *Create User*.
//! Member listings come back already encoded ([`Reply::Encoded`]). Sources in
//! *italics* are listed under References in [`super`].

use serde_json::{json, Value};

use super::model::{
    now_ms, valid_email, valid_password, valid_username, ListQuery, Member, MemberType, Membership,
    State, Subject, UserRow, USER_TYPES,
};
use super::request::{
    admin_error, error, forbidden, group_not_found, invalid_token, not_logged_in, to_admin_style,
    token_required, user_not_found, Params, Route,
};
use super::{content, licensing, role_admin, InvitationMail, SeedMember};

/// Most users one `addUsers` call takes (*Add Users to Group*).
const MAX_GROUP_ADD: usize = 25;
/// Most users one bulk enable/disable call takes (*arcgis-python* sends 25 per call).
const MAX_BULK_DISABLE: usize = 25;
/// Most names one `checkUsernames` call takes (*Considerations and limitations*).
const MAX_CHECK_USERNAMES: usize = 200;
/// Longest token a caller may ask for: two weeks (*Considerations and limitations*).
const MAX_EXPIRATION_MINUTES: i64 = 20_160;

/// Who is calling, once the token is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    Anonymous,
    /// A member, by lower-cased username.
    Member(String),
    /// An OAuth app (client_credentials).
    App(String),
}

/// What a route demands of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// No token needed (a bad one is still refused where noted).
    Public,
    /// Any signed-in member.
    Member,
    /// An org administrator (role `org_admin`).
    Admin,
}

fn need(route: &Route) -> Need {
    match route {
        Route::Root
        | Route::Info
        | Route::GenerateToken
        | Route::OAuthToken
        | Route::PortalSelf
        | Route::OtherOrg
        // Anyone may search; a caller sees only the groups it may access.
        | Route::GroupSearch
        | Route::Unknown => Need::Public,
        Route::OrgUsers
        | Route::Invite
        | Route::BulkSetDisabled { .. }
        | Route::UpdateUserRole
        | Route::UpdateUserLicenseType
        | Route::UserDefaultSettings
        | Route::SetUserDisabled { .. }
        | Route::CreateUser
        | Route::SecurityConfig
        | Route::ReassignItem { .. }
        | Route::ReassignGroup(_)
        | Route::CreateRole
        | Route::UpdateRole(_)
        | Route::SetPrivileges(_)
        | Route::Credits { .. }
        | Route::Purchases
        | Route::UserCounts
        | Route::AdminLicense => Need::Admin,
        Route::CommunitySelf
        | Route::GetUser(_)
        | Route::UpdateUser(_)
        | Route::DeleteUser(_)
        | Route::CheckUsernames
        | Route::Roles
        | Route::UserLicenseTypes
        | Route::GetGroup(_)
        | Route::GroupUsers(_)
        | Route::GroupUserList(_)
        | Route::AddUsers(_)
        | Route::RemoveUsers(_)
        | Route::UserContent { .. }
        | Route::CreateFolder(_)
        | Route::RolePrivileges(_) => Need::Member,
    }
}

/// Resolves the presented token: expired, unknown, referer-mismatched or
/// belonging to a disabled/deleted member → 498 "Invalid token." (*arcgis-rest-js* fixtures).
fn resolve(state: &State, token: Option<&str>, referer: Option<&str>) -> Result<Caller, Value> {
    let Some(t) = token else {
        return Ok(Caller::Anonymous);
    };
    let tok = state.tokens.get(t).ok_or_else(invalid_token)?;
    if tok.expires <= now_ms() {
        return Err(invalid_token());
    }
    if state.config.enforce_referer {
        if let Some(bound) = &tok.referer {
            if referer != Some(bound.as_str()) {
                return Err(invalid_token());
            }
        }
    }
    match &tok.subject {
        Subject::Member(key) => match state.members.get(key) {
            Some(m) if !m.disabled => Ok(Caller::Member(key.clone())),
            _ => Err(invalid_token()),
        },
        Subject::App(id) if *id == state.config.app_client_id => Ok(Caller::App(id.clone())),
        Subject::App(_) => Err(invalid_token()),
    }
}

/// A reply body: a JSON value, or JSON already encoded (member listings,
/// serialized straight from the state without a `Value` per row).
pub(crate) enum Reply {
    Value(Value),
    Encoded(String),
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Value(v)
    }
}

/// Runs one portal call: authentication, permission, then the operation.
pub(crate) fn dispatch(
    state: &mut State,
    route: &Route,
    token: Option<&str>,
    referer: Option<&str>,
    p: &Params,
) -> Reply {
    let caller = match authorize(state, route, token, referer) {
        Ok(caller) => caller,
        Err(body) => return Reply::Value(admin_styled(route, body)),
    };
    match route {
        Route::OrgUsers => org_users(state, p),
        _ => Reply::Value(admin_styled(route, run(state, route, &caller, p))),
    }
}

fn admin_styled(route: &Route, body: Value) -> Value {
    if route.is_portaladmin() {
        to_admin_style(body)
    } else {
        body
    }
}

/// Authentication and permission: the caller when the call may go on (a
/// member for every route that is not public), `Err(reply)` when it ends here.
fn authorize(
    state: &State,
    route: &Route,
    token: Option<&str>,
    referer: Option<&str>,
) -> Result<Caller, Value> {
    // Sign-in endpoints ignore any token they are sent.
    if matches!(
        route,
        Route::GenerateToken
            | Route::OAuthToken
            | Route::Root
            | Route::Info
            | Route::Unknown
            | Route::OtherOrg
    ) {
        return Ok(Caller::Anonymous);
    }
    let caller = resolve(state, token, referer)?;
    if *route == Route::CommunitySelf {
        // community/self (*User Self*) answers COM_0019 rather than 499; the code is
        // known from third-party client fixtures, not from the reference.
        return match caller {
            Caller::Member(_) => Ok(caller),
            _ => Err(not_logged_in()),
        };
    }
    match (need(route), &caller) {
        (Need::Public, _) => Ok(caller),
        (_, Caller::Anonymous) => Err(token_required()),
        (_, Caller::App(_)) => Err(forbidden()),
        (Need::Admin, Caller::Member(k)) if !state.members[k].is_org_admin() => Err(forbidden()),
        (_, Caller::Member(_)) => Ok(caller),
    }
}

/// The operation itself, once [`authorize`] let the call through.
fn run(state: &mut State, route: &Route, caller: &Caller, p: &Params) -> Value {
    let caller_key = match caller {
        Caller::Member(k) => k.as_str(),
        _ => "",
    };
    match route {
        Route::GenerateToken => generate_token(state, p),
        Route::OAuthToken => oauth_token(state, p),
        Route::Root => json!({ "currentVersion": current_version(state) }),
        Route::Info => info(state),
        Route::Unknown => error(400, None, "Invalid URL", &["Invalid URL"]),
        Route::OtherOrg => error(
            400,
            None,
            "Organization does not exist or is inaccessible.",
            &[],
        ),
        Route::CommunitySelf => community_self(state, caller_key),
        Route::PortalSelf => portal_self(state, caller),
        Route::Invite => invite(state, p),
        Route::BulkSetDisabled { disable } => bulk_set_disabled(state, caller_key, p, *disable),
        Route::UpdateUserRole => licensing::update_user_role(state, caller_key, p),
        Route::UpdateUserLicenseType => licensing::update_user_license_type(state, p),
        Route::Roles => roles(state, p),
        Route::UserLicenseTypes => user_license_types(p),
        Route::UserDefaultSettings => user_default_settings(state),
        Route::GetUser(u) => get_user(state, caller_key, u),
        Route::UpdateUser(u) => update_user(state, caller_key, u, p),
        Route::SetUserDisabled { username, disable } => {
            set_user_disabled(state, caller_key, username, *disable)
        }
        Route::DeleteUser(u) => delete_user(state, caller_key, u),
        Route::CheckUsernames => check_usernames(state, p),
        Route::GroupSearch => super::search::group_search(state, caller_key, p),
        Route::GetGroup(id) => get_group(state, caller_key, id),
        Route::GroupUsers(id) => group_users(state, caller_key, id),
        Route::GroupUserList(id) => group_user_list(state, caller_key, id, p),
        Route::AddUsers(id) => add_users(state, caller_key, id, p),
        Route::RemoveUsers(id) => remove_users(state, caller_key, id, p),
        Route::CreateUser => create_user(state, p),
        Route::SecurityConfig => security_config(state),
        Route::UserContent { username, folder } => {
            content::user_content(state, caller_key, username, folder.as_deref(), p)
        }
        Route::CreateFolder(u) => content::create_folder(state, caller_key, u, p),
        Route::ReassignItem {
            owner,
            folder,
            item,
        } => content::reassign_item(state, owner, folder.as_deref(), item, p),
        Route::ReassignGroup(id) => content::reassign_group(state, id, p),
        Route::CreateRole => role_admin::create_role(state, p),
        Route::UpdateRole(id) => role_admin::update_role(state, id, p),
        Route::SetPrivileges(id) => role_admin::set_privileges(state, id, p),
        Route::RolePrivileges(id) => role_admin::role_privileges(state, id),
        Route::Credits { assign } => licensing::credits(state, p, *assign),
        Route::Purchases => licensing::purchases(state),
        Route::UserCounts => licensing::user_counts(state, p),
        Route::AdminLicense => licensing::admin_license(state),
        Route::OrgUsers => error(400, None, "Invalid URL", &[]),
    }
}

/// The REST version: Enterprise 11.4 reports 2024.2 (*arcgis-python*'s version
/// mapping); Online reports a
/// year-based version [unverified exact value].
fn current_version(state: &State) -> &'static str {
    if state.online() {
        "2025.3"
    } else {
        "2024.2"
    }
}

fn info(state: &State) -> Value {
    json!({
        "owningSystemUrl": state.base_url,
        "authInfo": {
            "tokenServicesUrl": format!("{}/sharing/rest/generateToken", state.base_url),
            "isTokenBasedSecurity": true,
        },
    })
}

fn token_error(detail: &str) -> Value {
    error(400, None, "Unable to generate token.", &[detail])
}

/// `generateToken` (*Generate Token*). Usernames are matched case-sensitively, as documented.
fn generate_token(state: &mut State, p: &Params) -> Value {
    let Some(username) = p.non_empty("username") else {
        return token_error("'username' must be specified.");
    };
    let Some(password) = p.get("password").filter(|s| !s.is_empty()) else {
        return token_error("'password' must be specified.");
    };
    let client = p
        .non_empty("client")
        .unwrap_or("requestip")
        .to_ascii_lowercase();
    let referer = match client.as_str() {
        "referer" => match p.non_empty("referer") {
            Some(r) => Some(r.to_string()),
            None => return token_error("'referer' must be specified."),
        },
        "ip" if p.non_empty("ip").is_none() => return token_error("'ip' must be specified."),
        "ip" | "requestip" => None,
        _ => return token_error("Invalid client type."),
    };
    let key = username.to_lowercase();
    let ok = state
        .members
        .get(&key)
        .is_some_and(|m| m.username == username && m.password.as_deref() == Some(password));
    if !ok {
        return token_error("Invalid username or password.");
    }
    if state.members[&key].disabled {
        // [unverified] wording for a disabled account.
        return token_error("This account has been disabled.");
    }
    let minutes = p
        .int("expiration")
        .unwrap_or(60)
        .clamp(1, MAX_EXPIRATION_MINUTES);
    let (token, expires) =
        state.issue_token(Subject::Member(key.clone()), minutes * 60_000, referer);
    if let Some(m) = state.member_mut(&key) {
        m.last_login = Some(now_ms());
    }
    json!({ "token": token, "expires": expires, "ssl": false })
}

fn oauth_error(kind: &str, description: &str) -> Value {
    json!({ "error": {
        "code": 400,
        "error": kind,
        "error_description": description,
        "message": description,
        "details": [],
    }})
}

/// `oauth2/token` with `client_credentials` for the configured app (*Token*).
fn oauth_token(state: &mut State, p: &Params) -> Value {
    if p.non_empty("grant_type") != Some("client_credentials") {
        return oauth_error("unsupported_grant_type", "Unsupported grant type");
    }
    if p.non_empty("client_id") != Some(state.config.app_client_id.as_str()) {
        return oauth_error("invalid_client", "Invalid client_id");
    }
    if p.get("client_secret") != Some(state.config.app_client_secret.as_str()) {
        return oauth_error("invalid_client", "Invalid client_secret");
    }
    let minutes = p
        .int("expiration")
        .unwrap_or(120)
        .clamp(1, MAX_EXPIRATION_MINUTES);
    let client_id = state.config.app_client_id.clone();
    let (token, expires) = state.issue_token(Subject::App(client_id), minutes * 60_000, None);
    json!({ "access_token": token, "expires_in": (expires - now_ms()).max(0) / 1000 })
}

/// `portals/self` (*Portal Self*): Online or Enterprise flavour, with `user` (or `appInfo`).
fn portal_self(state: &State, caller: &Caller) -> Value {
    let host = state
        .base_url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let mut v = json!({
        "id": state.config.org_id,
        "name": "Rollcall Sandbox",
        "currentVersion": current_version(state),
        "portalHostname": host,
        "allSSL": false,
        "access": "private",
        "maxTokenExpirationMinutes": -1,
        "supportsOAuth": true,
        "supportsHostedServices": true,
        "created": state.members.values().map(|m| m.created).min().unwrap_or(0),
        "modified": now_ms(),
    });
    if state.online() {
        v["isPortal"] = json!(false);
        v["portalMode"] = json!("multitenant");
        v["portalName"] = json!("ArcGIS Online");
        v["urlKey"] = json!("rollcall-sandbox");
        v["customBaseUrl"] = json!("maps.arcgis.com");
        v["defaultUserCreditAssignment"] = json!(state.config.default_credits.unwrap_or(-1.0));
        v["creditAssignments"] = json!("enabled");
        v["subscriptionInfo"] = json!({ "type": "In Organization", "maxUsers": 100_000 });
    } else {
        v["isPortal"] = json!(true);
        v["portalMode"] = json!("singletenant");
        v["portalName"] = json!("ArcGIS Enterprise");
        v["urlKey"] = json!(null);
    }
    match caller {
        Caller::Member(key) => {
            let m = &state.members[key];
            v["user"] = state.user_json(m, true, false);
        }
        Caller::App(id) => {
            v["appInfo"] = json!({
                "appId": id,
                "appOwner": state.config.admin_username,
                "orgId": state.config.org_id,
                "privileges": [],
            });
        }
        Caller::Anonymous => {}
    }
    v
}

fn community_self(state: &State, key: &str) -> Value {
    state.user_json(&state.members[key], true, true)
}

pub(super) fn is_admin(state: &State, key: &str) -> bool {
    state.members.get(key).is_some_and(Member::is_org_admin)
}

/// `community/users/{u}` (*User*): full object for the user themself and org admins,
/// a reduced one (no e-mail, no groups) for others; other orgs' users keep their `orgId`.
fn get_user(state: &State, caller: &str, username: &str) -> Value {
    let Some(m) = state.member(username) else {
        return user_not_found();
    };
    let is_self = m.username.eq_ignore_ascii_case(caller);
    let full = m.in_org() && (is_self || is_admin(state, caller));
    state.user_json(m, full, full)
}

/// `community/checkUsernames` (*Considerations and limitations*): a taken name gets a digit
/// appended.
fn check_usernames(state: &State, p: &Params) -> Value {
    let names = p.list("usernames");
    if names.len() > MAX_CHECK_USERNAMES {
        return error(
            400,
            None,
            "Unable to check usernames.",
            &["A maximum of 200 usernames can be checked per request."],
        );
    }
    let out: Vec<Value> = names
        .iter()
        .map(|requested| {
            let suggested = if state.username_taken(requested) {
                (1u64..)
                    .map(|n| format!("{requested}{n}"))
                    .find(|c| !state.username_taken(c))
                    .unwrap_or_default()
            } else {
                requested.clone()
            };
            json!({ "requested": requested, "suggested": suggested })
        })
        .collect();
    json!({ "usernames": out })
}

/// `start` (1-based, default 1) and `num` (default `default_num`, 1..=100) of a page (*Common
/// parameters*).
pub(super) fn paging(p: &Params, default_num: i64) -> (usize, usize) {
    let start = p.int("start").unwrap_or(1).max(1) as usize;
    let num = p.int("num").unwrap_or(default_num).clamp(1, 100) as usize;
    (start, num)
}

/// `nextStart` after a page of `len` rows starting at `start` out of `total` (*Common
/// parameters*: -1 on the last page).
pub(super) fn next_start(start: usize, len: usize, total: usize) -> i64 {
    let end = start - 1 + len;
    if len > 0 && end < total {
        (end + 1) as i64
    } else {
        -1
    }
}

/// One page of `portals/self/users`, serialized as it stands.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgUsersPage<'a> {
    total: usize,
    start: usize,
    num: usize,
    next_start: i64,
    users: Vec<UserRow<'a>>,
}

/// `portals/self/users` (*Organization Users*): the org list, not subject to the 10,000 search
/// cap (*arcgis-python* relies on that) [unverified on the server side]. Pages come from
/// [`State::list_page`] and are encoded straight from the state, so a page costs O(num)
/// whatever the org's size.
fn org_users(state: &mut State, p: &Params) -> Reply {
    let (start, num) = paging(p, 10);
    let sort_field = p
        .non_empty("sortField")
        .unwrap_or("username")
        .to_ascii_lowercase();
    let q = ListQuery {
        sort_field,
        descending: p
            .non_empty("sortOrder")
            .is_some_and(|o| o.eq_ignore_ascii_case("desc")),
        exclude_system: p.flag("excludeSystemUsers").unwrap_or(false),
        role: p.non_empty("role").map(str::to_string),
        user_type: p.non_empty("userLicenseType").map(str::to_string),
        provider: p.non_empty("provider").map(str::to_string),
    };
    let (total, page) = state.list_page(&q, start - 1, num);
    let users: Vec<UserRow<'_>> = page
        .iter()
        .filter_map(|k| state.members.get(k))
        .map(|m| state.user_row(m, true))
        .collect();
    let body = OrgUsersPage {
        total,
        start,
        num,
        next_start: next_start(start, users.len(), total),
        users,
    };
    match serde_json::to_string(&body) {
        Ok(text) => Reply::Encoded(text),
        Err(e) => Reply::Value(error(500, None, &format!("encoding failed: {e}"), &[])),
    }
}

/// A string field of an invitation (numbers accepted as text); blank → `None`.
fn inv_str(inv: &Value, key: &str) -> Option<String> {
    match inv.get(key)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn invite_error(detail: &str) -> Value {
    error(400, None, "Unable to invite users.", &[detail])
}

/// `portals/self/invite` (Online only; not in the REST reference, shape from *arcgis-python*).
/// Per-user failures go to `notInvited` with `success: true`; the envelope is kept for
/// malformed requests.
fn invite(state: &mut State, p: &Params) -> Value {
    if !state.online() {
        // [unverified] Enterprise creates members through portaladmin createUser (*Create User*).
        return invite_error("Inviting users is not supported on this portal; use createUser.");
    }
    let Some(raw) = p.non_empty("invitationList") else {
        return invite_error("'invitationList' must be specified.");
    };
    let Ok(list) = serde_json::from_str::<Value>(raw) else {
        return invite_error("'invitationList' is not valid JSON.");
    };
    let Some(invitations) = list.get("invitations").and_then(Value::as_array) else {
        return invite_error("'invitationList' must hold an 'invitations' array.");
    };
    if let Some(max) = state.config.max_invitations_per_call {
        if invitations.len() > max {
            return invite_error(&format!(
                "A maximum of {max} invitations can be sent per request."
            ));
        }
    }
    let message = p.non_empty("message").map(str::to_string);
    if state.config.invite_refuses_whole_list {
        if let Some(refused) = invitations
            .iter()
            .find_map(|inv| invite_member(state, inv).err())
        {
            return invite_error(&format!("Unable to invite user '{refused}'."));
        }
    }
    let mut not_invited = Vec::new();
    for inv in invitations {
        match invite_one(state, inv, message.as_deref()) {
            Ok(()) => {}
            Err(name) => not_invited.push(name),
        }
    }
    if state.config.invite_unsuccessful {
        return json!({ "success": false, "notInvited": [] });
    }
    json!({ "success": true, "notInvited": not_invited })
}

/// Creates one invited member; `Err(username)` when it belongs in `notInvited`.
/// An invitation checked, as the member it would create; `Err(username)`
/// when it belongs in `notInvited`.
fn invite_member(state: &State, inv: &Value) -> Result<(SeedMember, Option<String>), String> {
    let username = inv_str(inv, "username").unwrap_or_default();
    let reject = || Err(username.clone());
    if !valid_username(&username, 3, 128) || state.username_taken(&username) {
        return reject();
    }
    let email = inv_str(inv, "email").unwrap_or_default();
    if !valid_email(&email) {
        return reject();
    }
    // Without a role or user type and without a default for it, the member
    // cannot be created [unverified: the service's answer is not documented].
    let Some(role_in) = inv_str(inv, "role").or_else(|| state.defaults.role.clone()) else {
        return reject();
    };
    let Some((role, role_id)) = state.resolve_role(&role_in) else {
        return reject();
    };
    let Some(user_type) =
        inv_str(inv, "userLicenseType").or_else(|| state.defaults.user_type.clone())
    else {
        return reject();
    };
    if !State::valid_user_type(&user_type) {
        return reject();
    }
    let idp_username = inv_str(inv, "idpUsername");
    let provider = inv_str(inv, "targetUserProvider").unwrap_or_else(|| {
        if idp_username.is_some() {
            "enterprise"
        } else {
            "arcgis"
        }
        .into()
    });
    if provider != "arcgis" && provider != "enterprise" {
        return reject();
    }
    let password = if provider == "arcgis" {
        inv_str(inv, "password")
    } else {
        None
    };
    if password.as_deref().is_some_and(|pw| !valid_password(pw)) {
        return reject();
    }
    let credits = match inv.get("userCreditAssignment") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => state.config.default_credits.or(Some(-1.0)),
    }
    .filter(|c| *c >= 0.0);
    // Groups: a comma string (*arcgis-python*), also accepted as an array; unknown ids
    // are skipped [unverified]; absent → the default groups (*User Default Settings*).
    let groups: Vec<String> = match inv.get("groups") {
        None | Some(Value::Null) => state.defaults.groups.clone(),
        Some(Value::String(s)) => super::request::parse_list(s),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(_) => Vec::new(),
    }
    .into_iter()
    .filter(|g| state.groups.contains_key(g))
    .collect();
    let first_name = inv_str(inv, "firstname").unwrap_or_default();
    let last_name = inv_str(inv, "lastname").unwrap_or_default();
    let full_name = inv_str(inv, "fullname");
    let now = now_ms();
    let invited = provider == "arcgis" && password.is_none();
    let member = SeedMember {
        username: username.clone(),
        first_name,
        last_name,
        email: email.clone(),
        role,
        role_id,
        user_type,
        last_login: None,
        created: now,
        disabled: false,
        org_id: None,
        groups,
        password,
        provider,
        idp_username,
        credits,
        items: 0,
        invited,
    };
    Ok((member, full_name))
}

/// Creates one invited member; `Err(username)` when it belongs in `notInvited`.
fn invite_one(state: &mut State, inv: &Value, message: Option<&str>) -> Result<(), String> {
    let (member, full_name) = invite_member(state, inv)?;
    let (username, email, invited, now) = (
        member.username.clone(),
        member.email.clone(),
        member.invited,
        member.created,
    );
    state.seed_member(member);
    if let Some(m) = state.member_mut(&username) {
        if let Some(f) = full_name {
            m.full_name = f;
        }
    }
    if invited {
        state.invitations.push(InvitationMail {
            username,
            email,
            message: message.map(str::to_string),
            sent_at: now,
        });
    }
    Ok(())
}

/// *portaladmin* `security/users/createUser` (*Create User*, Enterprise only).
fn create_user(state: &mut State, p: &Params) -> Value {
    let Some(raw_username) = p.non_empty("username") else {
        return admin_error(400, "'username' must be specified.");
    };
    let provider = p.non_empty("provider").unwrap_or("arcgis").to_string();
    if provider != "arcgis" && provider != "enterprise" {
        return admin_error(400, &format!("Invalid provider '{provider}'."));
    }
    let idp_username = p.non_empty("idpUsername").map(str::to_string);
    if provider == "enterprise" && idp_username.is_none() {
        return admin_error(400, "'idpUsername' is required for enterprise accounts.");
    }
    // `DOMAIN\user` is stored as `user@DOMAIN` (*arcgis-python* rewrites it so).
    let username = match raw_username.split_once('\\') {
        Some((domain, user)) => format!("{user}@{domain}"),
        None => raw_username.to_string(),
    };
    if !valid_username(&username, 6, 24) {
        return admin_error(
            400,
            &format!("Invalid username '{username}': use 6 to 24 letters, digits or _ . @ -."),
        );
    }
    let password = if provider == "arcgis" {
        match p.get("password").filter(|s| !s.is_empty()) {
            Some(pw) if valid_password(pw) => Some(pw.to_string()),
            Some(_) => return admin_error(400, "Password does not meet the password policy."),
            None => return admin_error(400, "'password' is required for arcgis accounts."),
        }
    } else {
        None
    };
    let (Some(first_name), Some(last_name)) = (p.non_empty("firstname"), p.non_empty("lastname"))
    else {
        return admin_error(400, "'firstname' and 'lastname' must be specified.");
    };
    let email = p.non_empty("email").unwrap_or_default();
    if !valid_email(email) {
        return admin_error(400, "A valid 'email' must be specified.");
    }
    let apply_defaults = p.flag("applyDefaults").unwrap_or(false);
    let default_role = match &state.defaults.role {
        Some(role) if apply_defaults => role.clone(),
        _ => "org_user".to_string(),
    };
    let role_in = p
        .non_empty("role")
        .map(str::to_string)
        .unwrap_or(default_role);
    let Some((role, role_id)) = state.resolve_role(&role_in) else {
        return admin_error(400, &format!("Invalid role '{role_in}'."));
    };
    // *Create User* marks userLicenseTypeId required.
    let Some(user_type) = p.non_empty("userLicenseTypeId").map(str::to_string) else {
        return admin_error(400, "'userLicenseTypeId' must be specified.");
    };
    if !State::valid_user_type(&user_type) {
        return admin_error(400, &format!("Invalid user type '{user_type}'."));
    }
    if state.username_taken(&username) {
        // [unverified] duplicate shape and wording (neither *Create User* nor any
        // client shows them).
        return json!({
            "status": "error",
            "messages": [format!("User '{username}' already exists.")],
            "code": 409,
        });
    }
    let groups = if apply_defaults {
        state.defaults.groups.clone()
    } else {
        Vec::new()
    };
    let groups = groups
        .into_iter()
        .filter(|g| state.groups.contains_key(g))
        .collect();
    let description = p.get("description").unwrap_or_default().to_string();
    state.seed_member(SeedMember {
        username: username.clone(),
        first_name: first_name.to_string(),
        last_name: last_name.to_string(),
        email: email.to_string(),
        role,
        role_id,
        user_type,
        last_login: None,
        created: now_ms(),
        disabled: false,
        org_id: None,
        groups,
        password,
        provider,
        idp_username,
        credits: None,
        items: 0,
        invited: false,
    });
    if let Some(m) = state.member_mut(&username) {
        m.description = description;
    }
    // The stored username (`user@DOMAIN` for `DOMAIN\user`), which the ArcGIS
    // API for Python reads from the answer.
    json!({ "status": "success", "username": username })
}

/// *portaladmin* `security/config`: where an Enterprise portal before 10.8
/// keeps its new-member defaults (`defaultRoleForUser`,
/// `defaultUserTypeIdForUser`, read so by the ArcGIS API for Python).
fn security_config(state: &State) -> Value {
    let d = &state.defaults;
    json!({
        "userStoreConfig": {"type": "BUILTIN"},
        "defaultRoleForUser": d.role.clone().unwrap_or_default(),
        "defaultUserTypeIdForUser": d.user_type.clone().unwrap_or_default(),
        "enableAutomaticAccountCreation": false,
    })
}

fn update_error(detail: &str) -> Value {
    error(400, None, "Unable to update user.", &[detail])
}

/// `community/users/{u}/update` (*Update User*): only supplied fields change; with
/// `clearEmptyFields=true` a supplied empty value clears the field.
fn update_user(state: &mut State, caller: &str, username: &str, p: &Params) -> Value {
    let Some(target) = state.member(username) else {
        return user_not_found();
    };
    let key = target.username.to_lowercase();
    if !target.in_org() {
        return user_not_found();
    }
    if key != caller && !is_admin(state, caller) {
        return forbidden();
    }
    let clear = p.flag("clearEmptyFields").unwrap_or(false);
    // Some(new value) when the field is to change.
    let field = |name: &str| -> Option<String> {
        let v = p.get(name)?.trim().to_string();
        (clear || !v.is_empty()).then_some(v)
    };
    if let Some(email) = field("email") {
        if !valid_email(&email) {
            return update_error("Invalid email address.");
        }
    }
    if let Some(pw) = p.get("password").filter(|s| !s.is_empty()) {
        if !valid_password(pw) {
            return update_error("Password does not meet the password policy.");
        }
    }
    let esri_access = field("userType");
    if let Some(t) = &esri_access {
        if !state.online() || (t != "arcgisonly" && t != "both") {
            return update_error("Invalid userType.");
        }
    }
    if let Some(a) = field("access") {
        if !matches!(a.as_str(), "private" | "org" | "public") {
            return update_error("Invalid access.");
        }
    }
    let first = field("firstName");
    let last = field("lastName");
    let full = field("fullname");
    let email = field("email");
    let description = field("description");
    let access = field("access");
    let idp = field("idpUsername");
    let password = p
        .get("password")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let Some(m) = state.member_mut(&key) else {
        return user_not_found();
    };
    let names_changed = first.is_some() || last.is_some();
    if let Some(v) = first {
        m.first_name = v;
    }
    if let Some(v) = last {
        m.last_name = v;
    }
    match full {
        Some(v) => m.full_name = v,
        None if names_changed => {
            m.full_name = format!("{} {}", m.first_name, m.last_name)
                .trim()
                .to_string()
        }
        None => {}
    }
    if let Some(v) = email {
        m.email = v;
    }
    if let Some(v) = description {
        m.description = v;
    }
    if let Some(v) = access {
        m.access = v;
    }
    if let Some(v) = idp {
        m.idp_username = Some(v).filter(|s| !s.is_empty());
    }
    if let Some(v) = esri_access {
        m.esri_access = Some(v);
    }
    if let Some(v) = password {
        m.password = Some(v);
    }
    m.modified = now_ms();
    json!({ "success": true, "username": m.username })
}

/// `community/users/{u}/disable|enable` (*Disable*, *Enable*).
fn set_user_disabled(state: &mut State, caller: &str, username: &str, disable: bool) -> Value {
    let Some(target) = state.member(username).filter(|m| m.in_org()) else {
        return user_not_found();
    };
    let key = target.username.to_lowercase();
    if disable && key == caller {
        // [unverified] an admin cannot disable their own account.
        return error(
            400,
            None,
            "Unable to disable user.",
            &["You cannot disable your own account."],
        );
    }
    let m = state.member_mut(&key).expect("checked above");
    m.disabled = disable;
    m.modified = now_ms();
    json!({ "success": true, "username": m.username })
}

/// `portals/self/disableUsers|enableUsers` (*arcgis-python*; not in the REST reference): ≤25
/// names (comma list or JSON array, any casing), per-user `status` with the canonical username.
/// The ArcGIS API for Python (`UserManager.disable_users` / `enable_users` in
/// `arcgis/gis/__init__.py`, PyPI `arcgis` 2.4.4) reads only each entry's `status`; with the
/// `bulk_results_without_username` knob the entries hold just that (and `error`), in the
/// order of `users`.
/// Per-user failures (`status: false` plus the error object [unverified shape]): unknown
/// accounts and other orgs' accounts (COM_0018), and the caller disabling itself. Org admins
/// may disable other org admins; since the caller must be an enabled org admin and cannot
/// disable itself, the org always keeps one. Already disabled (or enabled) accounts report
/// `true`.
fn bulk_set_disabled(state: &mut State, caller: &str, p: &Params, disable: bool) -> Value {
    let users = p.list("users");
    if users.is_empty() {
        return error(400, None, "'users' must be specified.", &[]);
    }
    if users.len() > MAX_BULK_DISABLE {
        return error(
            400,
            None,
            "Unable to update users.",
            &["A maximum of 25 users can be updated per request."],
        );
    }
    let bare = state.config.bulk_results_without_username;
    let results: Vec<Value> = users
        .iter()
        .map(|u| {
            let body = set_user_disabled(state, caller, u, disable);
            let mut entry = match body.get("error") {
                None => json!({ "username": body["username"], "status": true }),
                // [unverified] shape of a per-user failure.
                Some(e) => json!({ "username": u, "status": false, "error": e }),
            };
            if bare {
                if let Some(fields) = entry.as_object_mut() {
                    fields.remove("username");
                }
            }
            entry
        })
        .collect();
    json!({ "results": results })
}

/// `community/users/{u}/delete` (*Delete User*): refused while the user owns items or groups.
fn delete_user(state: &mut State, caller: &str, username: &str) -> Value {
    let Some(target) = state.member(username).filter(|m| m.in_org()) else {
        return user_not_found();
    };
    let key = target.username.to_lowercase();
    let canonical = target.username.clone();
    if key != caller && !is_admin(state, caller) {
        return forbidden();
    }
    if let Some(refusal) = content::delete_refusal(state, &key) {
        return refusal;
    }
    state.remove_member(&key);
    json!({ "success": true, "username": canonical })
}

/// `portals/self/roles` (*Roles*; the built-in roles are not listed, per *arcgis-python*):
/// custom roles plus Viewer and Data Editor, paged.
fn roles(state: &State, p: &Params) -> Value {
    let (start, num) = paging(p, 10);
    let with_privileges = p.flag("returnPrivileges").unwrap_or(false);
    let total = state.roles.len();
    let from = (start - 1).min(total);
    let to = (from + num).min(total);
    let roles: Vec<Value> = state.roles[from..to]
        .iter()
        .map(|r| {
            let mut v = json!({
                "id": r.id,
                "name": r.name,
                "description": r.description,
                "created": r.created,
                "modified": r.created,
            });
            if with_privileges {
                v["privileges"] = json!(r.privileges);
            }
            v
        })
        .collect();
    json!({
        "total": total,
        "start": start,
        "num": num,
        "nextStart": next_start(start, roles.len(), total),
        "roles": roles,
    })
}

/// `portals/self/userLicenseTypes` (*arcgis-python*; the reference documents only
/// the per-user *User License Type*).
fn user_license_types(p: &Params) -> Value {
    let (start, num) = paging(p, 100);
    let total = USER_TYPES.len();
    let from = (start - 1).min(total);
    let to = (from + num).min(total);
    let types: Vec<Value> = USER_TYPES[from..to]
        .iter()
        .map(|(id, name)| {
            json!({
                "id": id,
                "name": name,
                "description": format!("{name} user type"),
                "isEsriDefault": true,
            })
        })
        .collect();
    json!({
        "total": total,
        "start": start,
        "num": num,
        "nextStart": next_start(start, types.len(), total),
        "userLicenseTypes": types,
    })
}

/// `portals/self/userDefaultSettings` (*User Default Settings*); `userType` only on Online.
/// Keys without a value are left out (the ArcGIS API for Python reads them as
/// optional).
fn user_default_settings(state: &State) -> Value {
    if state.config.before_user_default_settings {
        return error(400, None, "Invalid URL", &["Invalid URL"]);
    }
    let d = &state.defaults;
    let mut v = json!({
        "groups": d.groups,
        "apps": [],
        "appBundles": [],
        "categories": [],
    });
    if let Some(role) = &d.role {
        v["role"] = json!(role);
    }
    if let Some(user_type) = &d.user_type {
        v["userLicenseType"] = json!(user_type);
    }
    if state.online() {
        v["userType"] = json!("arcgisonly");
    }
    v
}

/// Org members and group members may see a group (groups are `access: org`).
pub(super) fn group_visible(state: &State, caller: &str, id: &str) -> bool {
    let in_org = state.members.get(caller).is_some_and(Member::in_org);
    state
        .groups
        .get(id)
        .is_some_and(|g| in_org || g.members.contains_key(caller))
}

/// `community/groups/{id}` (*Group*).
fn get_group(state: &State, caller: &str, id: &str) -> Value {
    if !group_visible(state, caller, id) {
        return group_not_found();
    }
    state.group_json(&state.groups[id], Some(caller))
}

/// `community/groups/{id}/users` (*Group Users*): owner, admins (incl. owner), members.
fn group_users(state: &State, caller: &str, id: &str) -> Value {
    if !group_visible(state, caller, id) {
        return group_not_found();
    }
    let g = &state.groups[id];
    let owner = state
        .members
        .get(&g.owner)
        .map_or(g.owner.clone(), |m| m.username.clone());
    json!({
        "owner": owner,
        "admins": state.group_usernames(g, |t| t != MemberType::Member),
        "users": state.group_usernames(g, |t| t == MemberType::Member),
    })
}

/// One row of `userList` (*Group Users List*); also the shape of its `owner` [unverified].
fn group_user_row(state: &State, key: &str, membership: Membership) -> Value {
    let (username, full_name) = state
        .members
        .get(key)
        .map_or((key, ""), |m| (m.username.as_str(), m.full_name.as_str()));
    json!({
        "username": username,
        "fullName": full_name,
        "memberType": membership.kind.as_str(),
        "thumbnail": null,
        "joined": membership.joined,
    })
}

/// `community/groups/{id}/userList` (*Group Users List*): the group's admins and members,
/// paged (`num` default 25, max 100), sorted by `username|membertype|joined`,
/// filtered by `memberType=admin|member`, `name` (part of the username or
/// full name) and `joined=<after>,<before>` (epoch ms, either side optional).
///
/// [unverified] `owner` is a row object like the users', and the owner is not
/// repeated in `users` (nor counted in `total`): clients must take both.
fn group_user_list(state: &State, caller: &str, id: &str, p: &Params) -> Value {
    if !group_visible(state, caller, id) {
        return group_not_found();
    }
    let g = &state.groups[id];
    let (start, num) = paging(p, 25);
    let kind = p.non_empty("memberType").map(str::to_ascii_lowercase);
    let name = p.non_empty("name").map(str::to_lowercase);
    let (after, before) = p
        .non_empty("joined")
        .map(|j| {
            let (a, b) = j.split_once(',').unwrap_or((j, ""));
            (a.trim().parse::<i64>().ok(), b.trim().parse::<i64>().ok())
        })
        .unwrap_or((None, None));
    let mut rows: Vec<(&String, Membership)> = g
        .members
        .iter()
        .filter(|(_, t)| t.kind != MemberType::Owner)
        .filter(|(_, t)| kind.as_deref().is_none_or(|k| t.kind.as_str() == k))
        .filter(|(_, t)| after.is_none_or(|a| t.joined >= a))
        .filter(|(_, t)| before.is_none_or(|b| t.joined <= b))
        .filter(|(k, _)| {
            name.as_deref().is_none_or(|n| {
                k.contains(n)
                    || state
                        .members
                        .get(*k)
                        .is_some_and(|m| m.full_name.to_lowercase().contains(n))
            })
        })
        .map(|(k, t)| (k, *t))
        .collect();
    // Keys are already in username order; the sorts are stable.
    match p
        .non_empty("sortField")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("membertype") => rows.sort_by_key(|(_, t)| t.kind.as_str()),
        Some("joined") => rows.sort_by_key(|(_, t)| t.joined),
        _ => {}
    }
    if p.non_empty("sortOrder")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        rows.reverse();
    }
    let total = rows.len();
    let from = (start - 1).min(total);
    let to = from.saturating_add(num).min(total);
    let users: Vec<Value> = rows[from..to]
        .iter()
        .map(|(k, t)| group_user_row(state, k, *t))
        .collect();
    let owner = g.members.get(&g.owner).copied().unwrap_or(Membership {
        kind: MemberType::Owner,
        joined: g.created,
    });
    json!({
        "owner": group_user_row(state, &g.owner, owner),
        "users": users,
        "total": total,
        "start": start,
        "num": num,
        "nextStart": next_start(start, users.len(), total),
    })
}

/// Org admins, and the group's owner and managers, may change its membership.
fn may_manage_group(state: &State, caller: &str, id: &str) -> bool {
    is_admin(state, caller)
        || state.groups[id]
            .members
            .get(caller)
            .is_some_and(|t| t.kind != MemberType::Member)
}

/// `community/groups/{id}/addUsers` (*Add Users to Group*): ≤25 names per call; unknown users,
/// other orgs' users and users at the 512-group limit go to `notAdded`.
fn add_users(state: &mut State, caller: &str, id: &str, p: &Params) -> Value {
    if !group_visible(state, caller, id) {
        return group_not_found();
    }
    if !may_manage_group(state, caller, id) {
        return forbidden();
    }
    let users = p.list("users");
    let admins = p.list("admins");
    if users.len() + admins.len() > MAX_GROUP_ADD {
        // [unverified] wording; the 25-user limit itself is documented.
        return error(
            400,
            None,
            "Unable to add users to the group.",
            &["A maximum of 25 users can be added to a group per request."],
        );
    }
    let mut not_added = Vec::new();
    let wanted = users
        .iter()
        .map(|u| (u, MemberType::Member))
        .chain(admins.iter().map(|u| (u, MemberType::Admin)));
    for (name, as_type) in wanted {
        let key = name.to_lowercase();
        let ok = match state.members.get(&key) {
            _ if state.config.refuse_group_adds => false,
            Some(m) if m.in_org() => m.groups.contains(id) || m.groups.len() < 512,
            _ => false,
        };
        if ok {
            state.join_group(id, &key, as_type, now_ms());
        } else {
            not_added.push(name.clone());
        }
    }
    json!({ "notAdded": not_added })
}

/// `community/groups/{id}/removeUsers` (*Remove Users From Group*): non-members and the owner
/// go to `notRemoved`.
fn remove_users(state: &mut State, caller: &str, id: &str, p: &Params) -> Value {
    if !group_visible(state, caller, id) {
        return group_not_found();
    }
    if !may_manage_group(state, caller, id) {
        return forbidden();
    }
    let mut not_removed = Vec::new();
    for name in p.list("users").iter().chain(p.list("admins").iter()) {
        if !state.leave_group(id, &name.to_lowercase()) {
            not_removed.push(name.clone());
        }
    }
    json!({ "notRemoved": not_removed })
}
