//! Request decoding for the portal simulator: routing, parameters
//! (*Common parameters*), token extraction (*HTTP authorization headers*) and
//! the reply shapes. The sources are listed in [`super`].

use serde_json::{json, Value};

/// One recognised portal resource or operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `sharing/rest`: `{"currentVersion"}`, which *arcgis-python* reads.
    Root,
    /// `sharing/rest/info` (shape of *arcgis-rest-js*'s `sharing-rest-info` fixture).
    Info,
    /// `generateToken` (*Generate Token*).
    GenerateToken,
    /// `oauth2/token` (*Token*).
    OAuthToken,
    /// `portals/self` (*Portal Self*).
    PortalSelf,
    /// `portals/self/users` (*Organization Users*).
    OrgUsers,
    /// `portals/self/invite` (*arcgis-python*).
    Invite,
    /// `portals/self/disableUsers` / `enableUsers` (*arcgis-python*).
    BulkSetDisabled { disable: bool },
    /// `portals/self/updateUserRole` (*Update User Role*).
    UpdateUserRole,
    /// `portals/self/updateUserLicenseType` (*arcgis-python*).
    UpdateUserLicenseType,
    /// `portals/self/roles` (*Roles*).
    Roles,
    /// `portals/self/userLicenseTypes` (*arcgis-python*).
    UserLicenseTypes,
    /// `portals/self/userDefaultSettings` (*User Default Settings*).
    UserDefaultSettings,
    /// `community/self` (*User Self*).
    CommunitySelf,
    /// `community/users/{u}` (*User*).
    GetUser(String),
    /// `community/users/{u}/update` (*Update User*).
    UpdateUser(String),
    /// `community/users/{u}/disable` / `enable` (*Disable*, *Enable*).
    SetUserDisabled { username: String, disable: bool },
    /// `community/users/{u}/delete` (*Delete User*).
    DeleteUser(String),
    /// `community/checkUsernames` (*Considerations and limitations*).
    CheckUsernames,
    /// `community/groups` (*Group Search*).
    GroupSearch,
    /// `community/groups/{id}` (*Group*).
    GetGroup(String),
    /// `community/groups/{id}/users` (*Group Users*).
    GroupUsers(String),
    /// `community/groups/{id}/userList` (*Group Users List*), paged.
    GroupUserList(String),
    /// `community/groups/{id}/addUsers` (*Add Users to Group*).
    AddUsers(String),
    /// `community/groups/{id}/removeUsers` (*Remove Users From Group*).
    RemoveUsers(String),
    /// *portaladmin* `security/config` (an Enterprise portal's security settings).
    SecurityConfig,
    /// `content/users/{u}` and `content/users/{u}/{folderId}` (*User Content*).
    UserContent {
        username: String,
        folder: Option<String>,
    },
    /// `content/users/{u}/createFolder` (*Create Folder*).
    CreateFolder(String),
    /// `content/users/{owner}/[{folderId}/]items/{id}/reassign` (*Reassign Item*).
    ReassignItem {
        owner: String,
        folder: Option<String>,
        item: String,
    },
    /// `community/groups/{id}/reassign` (*Reassign Group*).
    ReassignGroup(String),
    /// `portals/self/createRole` (*Create Role*).
    CreateRole,
    /// `portals/self/roles/{id}/update` (*Update Role*).
    UpdateRole(String),
    /// `portals/self/roles/{id}/setPrivileges` (*Set Role Privileges*).
    SetPrivileges(String),
    /// `portals/self/roles/{id}/privileges` (*Role*).
    RolePrivileges(String),
    /// `portals/self/assignUserCredits` / `unassignUserCredits` (*arcgis-python*).
    Credits { assign: bool },
    /// `portals/self/purchases` (*Purchases*).
    Purchases,
    /// `portals/self/users/counts` (*arcgis-python*).
    UserCounts,
    /// *portaladmin* `license` (*License*, Enterprise).
    AdminLicense,
    /// *portaladmin* `security/users/createUser` (*Create User*).
    CreateUser,
    /// `portals/<id>` naming another organization.
    OtherOrg,
    /// Anything else under the portal root.
    Unknown,
}

impl Route {
    /// Parses a path below the portal root (`/portal` already stripped).
    ///
    /// Fixed segments match case-insensitively (servers accept `updateuserrole`,
    /// which *arcgis-python* posts, as well as the documented `updateUserRole`); `portals/self`,
    /// `portals/<orgId>` and `portal/<orgId>` all address this org.
    pub(crate) fn parse(path: &str, org_id: &str) -> Route {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        match l.as_slice() {
            ["sharing", "rest"] => Route::Root,
            ["sharing", "rest", rest @ ..] => Self::parse_rest(rest, &segs[2..], org_id),
            ["portaladmin", "security", "users", "createuser"] => Route::CreateUser,
            ["portaladmin", "security", "config"] => Route::SecurityConfig,
            ["portaladmin", "license"] => Route::AdminLicense,
            _ => Route::Unknown,
        }
    }

    fn parse_rest(l: &[&str], segs: &[String], org_id: &str) -> Route {
        match l {
            ["info"] => Route::Info,
            ["generatetoken"] => Route::GenerateToken,
            ["oauth2", "token"] => Route::OAuthToken,
            ["portals" | "portal", org, tail @ ..] => {
                if *org != "self" && !org.eq_ignore_ascii_case(org_id) {
                    return Route::OtherOrg;
                }
                match tail {
                    [] => Route::PortalSelf,
                    ["users"] => Route::OrgUsers,
                    ["invite"] => Route::Invite,
                    ["disableusers"] => Route::BulkSetDisabled { disable: true },
                    ["enableusers"] => Route::BulkSetDisabled { disable: false },
                    ["updateuserrole"] => Route::UpdateUserRole,
                    ["updateuserlicensetype"] => Route::UpdateUserLicenseType,
                    ["roles"] => Route::Roles,
                    ["userlicensetypes"] => Route::UserLicenseTypes,
                    ["userdefaultsettings"] => Route::UserDefaultSettings,
                    ["users", "counts"] => Route::UserCounts,
                    ["purchases"] => Route::Purchases,
                    ["createrole"] => Route::CreateRole,
                    ["assignusercredits"] => Route::Credits { assign: true },
                    ["unassignusercredits"] => Route::Credits { assign: false },
                    ["roles", _, op] => {
                        let id = segs[3].clone();
                        match *op {
                            "update" => Route::UpdateRole(id),
                            "setprivileges" => Route::SetPrivileges(id),
                            "privileges" => Route::RolePrivileges(id),
                            _ => Route::Unknown,
                        }
                    }
                    _ => Route::Unknown,
                }
            }
            ["community", "self"] => Route::CommunitySelf,
            ["community", "checkusernames"] => Route::CheckUsernames,
            ["community", "users", _] => Route::GetUser(segs[2].clone()),
            ["community", "users", _, op] => {
                let u = segs[2].clone();
                match *op {
                    "update" => Route::UpdateUser(u),
                    "disable" => Route::SetUserDisabled {
                        username: u,
                        disable: true,
                    },
                    "enable" => Route::SetUserDisabled {
                        username: u,
                        disable: false,
                    },
                    "delete" => Route::DeleteUser(u),
                    _ => Route::Unknown,
                }
            }
            ["content", "users", _] => Route::UserContent {
                username: segs[2].clone(),
                folder: None,
            },
            ["content", "users", _, "createfolder"] => Route::CreateFolder(segs[2].clone()),
            ["content", "users", _, "items", _, "reassign"] => Route::ReassignItem {
                owner: segs[2].clone(),
                folder: None,
                item: segs[4].clone(),
            },
            ["content", "users", _, _, "items", _, "reassign"] => Route::ReassignItem {
                owner: segs[2].clone(),
                folder: Some(segs[3].clone()),
                item: segs[5].clone(),
            },
            ["content", "users", _, _] => Route::UserContent {
                username: segs[2].clone(),
                folder: Some(segs[3].clone()),
            },
            ["community", "groups"] => Route::GroupSearch,
            ["community", "groups", _] => Route::GetGroup(segs[2].clone()),
            ["community", "groups", _, op] => {
                let id = segs[2].clone();
                match *op {
                    "users" => Route::GroupUsers(id),
                    "userlist" => Route::GroupUserList(id),
                    "addusers" => Route::AddUsers(id),
                    "removeusers" => Route::RemoveUsers(id),
                    "reassign" => Route::ReassignGroup(id),
                    _ => Route::Unknown,
                }
            }
            _ => Route::Unknown,
        }
    }

    /// The name the call is counted under in [`super::CallStats`].
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Route::Root => "root",
            Route::Info => "info",
            Route::GenerateToken => "generateToken",
            Route::OAuthToken => "oauth2/token",
            Route::PortalSelf => "portals/self",
            Route::OrgUsers => "portals/self/users",
            Route::Invite => "invite",
            Route::BulkSetDisabled { disable: true } => "disableUsers",
            Route::BulkSetDisabled { disable: false } => "enableUsers",
            Route::UpdateUserRole => "updateUserRole",
            Route::UpdateUserLicenseType => "updateUserLicenseType",
            Route::Roles => "roles",
            Route::UserLicenseTypes => "userLicenseTypes",
            Route::UserDefaultSettings => "userDefaultSettings",
            Route::CommunitySelf => "community/self",
            Route::GetUser(_) => "community/users",
            Route::UpdateUser(_) => "updateUser",
            Route::SetUserDisabled { disable: true, .. } => "disableUser",
            Route::SetUserDisabled { disable: false, .. } => "enableUser",
            Route::DeleteUser(_) => "deleteUser",
            Route::CheckUsernames => "checkUsernames",
            Route::GroupSearch => "groupSearch",
            Route::GetGroup(_) => "community/groups",
            Route::GroupUsers(_) => "groupUsers",
            Route::GroupUserList(_) => "userList",
            Route::AddUsers(_) => "addUsers",
            Route::RemoveUsers(_) => "removeUsers",
            Route::CreateUser => "createUser",
            Route::SecurityConfig => "securityConfig",
            Route::UserContent { folder: None, .. } => "content/users",
            Route::UserContent { .. } => "content/users/folder",
            Route::CreateFolder(_) => "createFolder",
            Route::ReassignItem { .. } => "reassignItem",
            Route::ReassignGroup(_) => "reassignGroup",
            Route::CreateRole => "createRole",
            Route::UpdateRole(_) => "updateRole",
            Route::SetPrivileges(_) => "setPrivileges",
            Route::RolePrivileges(_) => "rolePrivileges",
            Route::Credits { assign: true } => "assignUserCredits",
            Route::Credits { assign: false } => "unassignUserCredits",
            Route::Purchases => "purchases",
            Route::UserCounts => "users/counts",
            Route::AdminLicense => "license",
            Route::OtherOrg => "otherOrg",
            Route::Unknown => "unknown",
        }
    }

    /// Operations (writes) are POST-only; resources accept GET and POST
    /// (each operation page says "POST only"; *arcgis-python* POSTs several reads).
    pub(crate) fn post_only(&self) -> bool {
        matches!(
            self,
            Route::GenerateToken
                | Route::OAuthToken
                | Route::Invite
                | Route::BulkSetDisabled { .. }
                | Route::UpdateUserRole
                | Route::UpdateUserLicenseType
                | Route::UpdateUser(_)
                | Route::SetUserDisabled { .. }
                | Route::DeleteUser(_)
                | Route::AddUsers(_)
                | Route::RemoveUsers(_)
                | Route::CreateUser
                | Route::CreateFolder(_)
                | Route::ReassignItem { .. }
                | Route::ReassignGroup(_)
                | Route::CreateRole
                | Route::UpdateRole(_)
                | Route::SetPrivileges(_)
                | Route::Credits { .. }
        )
    }

    /// Portal Admin answers in the `{"status": ...}` style (*Create User*).
    pub(crate) fn is_portaladmin(&self) -> bool {
        matches!(
            self,
            Route::CreateUser | Route::SecurityConfig | Route::AdminLicense
        )
    }
}

/// The merged query-string and form-body parameters of one request.
///
/// Body fields come after query fields, so a body value wins [unverified].
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Adds the pairs of an `application/x-www-form-urlencoded` string.
    pub(crate) fn extend_urlencoded(&mut self, raw: &str) {
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            self.pairs
                .push((percent_decode(k, true), percent_decode(v, true)));
        }
    }

    /// The last value of `name` (parameter names are case-sensitive, as documented).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, trimmed, `None` when absent or blank.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A boolean parameter (`"true"`/`"false"`, as both Esri clients send them).
    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        match self.non_empty(name)?.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// An integer parameter; `None` when absent or not a number.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.non_empty(name)?.parse().ok()
    }

    /// A list parameter, `a,b,c` (the reference's comma lists) or `["a","b","c"]`
    /// (*arcgis-python* JSON-encodes lists).
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(parse_list).unwrap_or_default()
    }
}

/// Splits a list parameter given as a comma list or a JSON array of strings.
pub(crate) fn parse_list(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<Value>>(raw) {
            return items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .filter(|s| !s.is_empty())
                .collect();
        }
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space in form data); bad escapes stay as they are.
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_as_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token of a `Bearer` header (`X-Esri-Authorization` or `Authorization`,
/// *HTTP authorization headers*).
pub(crate) fn bearer(header: Option<&str>) -> Option<String> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The sharing/rest error envelope, answered with HTTP 200 (as in *Remove Users
/// From Group*'s example and the *arcgis-rest-js* fixtures).
pub(crate) fn error(
    code: u16,
    message_code: Option<&str>,
    message: &str,
    details: &[&str],
) -> Value {
    let mut e = json!({ "code": code, "message": message, "details": details });
    if let Some(mc) = message_code {
        e["messageCode"] = json!(mc);
    }
    json!({ "error": e })
}

/// 498: expired, revoked or unknown token (*arcgis-rest-js* fixtures).
pub(crate) fn invalid_token() -> Value {
    error(498, None, "Invalid token.", &[])
}

/// 499: a secured resource called without a token (*arcgis-rest-js* fixtures).
pub(crate) fn token_required() -> Value {
    error(499, None, "Token Required", &["Token Required"])
}

/// 403 GWM_0003: the caller lacks the privilege (*arcgis-rest-js* fixtures).
pub(crate) fn forbidden() -> Value {
    error(
        403,
        Some("GWM_0003"),
        "You do not have permissions to access this resource or perform this operation.",
        &[],
    )
}

/// 400 COM_0018: user missing or invisible (*User*; the message is the one
/// *arcgis-python* matches, the code comes from third-party clients).
pub(crate) fn user_not_found() -> Value {
    error(
        400,
        Some("COM_0018"),
        "User does not exist or is inaccessible.",
        &[],
    )
}

/// 400 COM_0003: group missing or invisible (*Group*; *arcgis-rest-js* fixtures).
pub(crate) fn group_not_found() -> Value {
    error(
        400,
        Some("COM_0003"),
        "Group does not exist or is inaccessible.",
        &[],
    )
}

/// 400 COM_0019: `community/self` without a usable member token (*User Self*;
/// the code comes from third-party client fixtures).
pub(crate) fn not_logged_in() -> Value {
    error(400, Some("COM_0019"), "Not logged in.", &[])
}

/// A Portal Admin failure in the status style (*Create User* shows only
/// success; this shape is [unverified]).
pub(crate) fn admin_error(code: u16, message: &str) -> Value {
    json!({ "status": "error", "messages": [message], "code": code })
}

/// Re-shapes a sharing-style error envelope into the Portal Admin status style.
pub(crate) fn to_admin_style(body: Value) -> Value {
    match body.get("error") {
        Some(e) => {
            let code = e.get("code").and_then(Value::as_u64).unwrap_or(500) as u16;
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("Error");
            admin_error(code, msg)
        }
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_accept_prefixes_and_any_case() {
        let org = "ORG123";
        assert_eq!(
            Route::parse("/sharing/rest/portals/self/updateuserrole", org),
            Route::UpdateUserRole
        );
        assert_eq!(
            Route::parse("/sharing/rest/portal/org123/users", org),
            Route::OrgUsers
        );
        assert_eq!(
            Route::parse("/sharing/rest/portals/ORG123", org),
            Route::PortalSelf
        );
        assert_eq!(
            Route::parse("/sharing/rest/portals/OTHER/users", org),
            Route::OtherOrg
        );
        assert_eq!(
            Route::parse("/sharing/rest/community/users/J%40x.com/Update", org),
            Route::UpdateUser("J@x.com".into())
        );
        assert_eq!(
            Route::parse("/portaladmin/security/users/createuser", org),
            Route::CreateUser
        );
        assert_eq!(
            Route::parse("/sharing/rest/community/groups/g1/userList", org),
            Route::GroupUserList("g1".into())
        );
        assert_eq!(
            Route::parse("/sharing/rest/portals/self/disableUsers", org),
            Route::BulkSetDisabled { disable: true }
        );
        assert_eq!(
            Route::parse("/sharing/rest/content/users/Jo/F1/items/I1/reassign", org),
            Route::ReassignItem {
                owner: "Jo".into(),
                folder: Some("F1".into()),
                item: "I1".into()
            }
        );
        assert_eq!(
            Route::parse("/sharing/rest/content/users/Jo/createFolder", org),
            Route::CreateFolder("Jo".into())
        );
        assert_eq!(
            Route::parse("/sharing/rest/portals/self/roles/AbC/setPrivileges", org),
            Route::SetPrivileges("AbC".into())
        );
    }

    #[test]
    fn lists_and_forms_decode() {
        assert_eq!(parse_list("a, b,,c"), vec!["a", "b", "c"]);
        assert_eq!(parse_list(r#"["a","b"]"#), vec!["a", "b"]);
        let mut p = Params::default();
        p.extend_urlencoded("users=a%2Cb&f=json&x=1+2&token=q");
        p.extend_urlencoded("token=body");
        assert_eq!(p.list("users"), vec!["a", "b"]);
        assert_eq!(p.get("x"), Some("1 2"));
        assert_eq!(p.get("token"), Some("body"));
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(bearer(Some("Bearer abc")), Some("abc".into()));
        assert_eq!(bearer(Some("Basic abc")), None);
    }
}
