//! The simulated organization: members, groups, roles, user types, tokens and
//! call accounting, plus the JSON shapes the portal answers with (*User*, *Group*,
//! *Roles*, *arcgis-python*'s `userLicenseTypes`; sources listed in [`super`]).
//!
//! Everything is keyed by lower-cased username (usernames are unique case-insensitively, as
//! *arcgis-python*'s duplicate check assumes) in ordered maps, so lookups are O(log n); the
//! default org listing reads a positional index ([`OrgIndex`]), so a page of a 100,000-member
//! org costs O(num), never a scan or a sort.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{json, Value};

use super::{CallStats, InvitationMail, MemberView, PortalMode, SandboxConfig, SeedMember};
use crate::sandbox::faults::{FaultInjector, SplitMix64};

/// Pre-built Viewer role id (*Roles*).
pub(crate) const VIEWER_ROLE: &str = "iAAAAAAAAAAAAAAA";
/// Pre-built Data Editor role id (*Roles*, *arcgis-python*).
pub(crate) const DATA_EDITOR_ROLE: &str = "iBBBBBBBBBBBBBBB";
/// Built-in base roles; never listed by `portals/self/roles` (*arcgis-python*).
pub(crate) const BUILTIN_ROLES: [&str; 3] = ["org_admin", "org_publisher", "org_user"];

/// The user types the sandbox offers (ids as in *arcgis-python*): id and display name.
pub(crate) const USER_TYPES: [(&str, &str); 7] = [
    ("creatorUT", "Creator"),
    ("viewerUT", "Viewer"),
    ("editorUT", "Contributor"),
    ("fieldWorkerUT", "Mobile Worker"),
    ("GISProfessionalStdUT", "Professional"),
    ("GISProfessionalAdvUT", "Professional Plus"),
    ("storytellerUT", "Storyteller"),
];

const USER_PRIVILEGES: [&str; 10] = [
    "portal:user:createGroup",
    "portal:user:joinGroup",
    "portal:user:joinNonOrgGroup",
    "portal:user:viewOrgGroups",
    "portal:user:viewOrgItems",
    "portal:user:viewOrgUsers",
    "portal:user:createItem",
    "portal:user:shareToGroup",
    "portal:user:shareToOrg",
    "premium:user:geocode",
];
const PUBLISHER_PRIVILEGES: [&str; 3] = [
    "portal:publisher:publishFeatures",
    "portal:publisher:publishTiles",
    "portal:publisher:publishScenes",
];
const ADMIN_PRIVILEGES: [&str; 14] = [
    "portal:admin:viewUsers",
    "portal:admin:updateUsers",
    "portal:admin:deleteUsers",
    "portal:admin:inviteUsers",
    "portal:admin:disableUsers",
    "portal:admin:changeUserRoles",
    "portal:admin:manageLicenses",
    "portal:admin:viewGroups",
    "portal:admin:updateGroups",
    "portal:admin:assignToGroups",
    "portal:admin:viewItems",
    "portal:admin:reassignItems",
    "portal:admin:manageCredits",
    "portal:admin:manageRoles",
];
const VIEWER_PRIVILEGES: [&str; 4] = [
    "portal:user:joinGroup",
    "portal:user:viewOrgGroups",
    "portal:user:viewOrgItems",
    "portal:user:viewOrgUsers",
];

/// Milliseconds since the epoch, the portal's time unit (*User*, *Group Users List*).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One account (of this org, or of another org that still holds the username).
/// No `Debug`: it holds the password.
#[derive(Clone)]
pub(crate) struct Member {
    pub username: String,
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub email: String,
    pub role: String,
    pub role_id: Option<String>,
    pub user_type: String,
    pub esri_access: Option<String>,
    pub credits: Option<f64>,
    pub invited: bool,
    pub password: Option<String>,
    pub provider: String,
    pub idp_username: Option<String>,
    pub disabled: bool,
    pub groups: BTreeSet<String>,
    pub org_id: Option<String>,
    pub created: i64,
    pub modified: i64,
    pub last_login: Option<i64>,
    pub items: u32,
    pub description: String,
    pub access: String,
}

impl Member {
    /// The inspection view handed to tests (never the password).
    pub(crate) fn view(&self) -> MemberView {
        MemberView {
            username: self.username.clone(),
            id: self.id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            role: self.role.clone(),
            role_id: self.role_id.clone(),
            user_type: self.user_type.clone(),
            esri_access: self.esri_access.clone(),
            credits: self.credits,
            invited: self.invited,
            has_password: self.password.is_some(),
            provider: self.provider.clone(),
            idp_username: self.idp_username.clone(),
            disabled: self.disabled,
            groups: self.groups.iter().cloned().collect(),
            org_id: self.org_id.clone(),
            created: self.created,
            modified: self.modified,
            last_login: self.last_login,
            items: self.items,
            description: self.description.clone(),
        }
    }

    /// True for accounts of this organization.
    pub(crate) fn in_org(&self) -> bool {
        self.org_id.is_none()
    }

    /// Org administrators of this org may run every admin operation.
    pub(crate) fn is_org_admin(&self) -> bool {
        self.in_org() && self.role == "org_admin" && !self.disabled
    }

    /// The legacy `level` string (*arcgis-python*): "1" for viewers, "2" otherwise.
    fn level(&self) -> &'static str {
        if self.user_type == "viewerUT" {
            "1"
        } else {
            "2"
        }
    }
}

/// How a member belongs to a group (*Group*: `userMembership.memberType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberType {
    Owner,
    Admin,
    Member,
}

impl MemberType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MemberType::Owner => "owner",
            MemberType::Admin => "admin",
            MemberType::Member => "member",
        }
    }
}

/// One member's place in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Membership {
    pub kind: MemberType,
    /// When the member joined, epoch ms (`userList` `joined`, *Group Users List*).
    pub joined: i64,
}

/// A group and its members, keyed by lower-cased username.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub members: BTreeMap<String, Membership>,
    pub created: i64,
    pub modified: i64,
}

/// A role listed by `portals/self/roles` (*Roles*).
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: i64,
    pub privileges: Vec<String>,
}

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A member, by lower-cased username.
    Member(String),
    /// An OAuth app (client_credentials, *Token*), by client id.
    App(String),
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub subject: Subject,
    pub expires: i64,
    pub referer: Option<String>,
}

/// New member defaults (*User Default Settings*).
#[derive(Debug, Clone)]
pub(crate) struct UserDefaults {
    /// `None`: the org has no default role (the settings answer leaves it out).
    pub role: Option<String>,
    pub user_type: Option<String>,
    pub groups: Vec<String>,
}

/// Lower-cased usernames of this org's members in username order, the
/// positional index behind default `portals/self/users` paging.
///
/// Rebuilt (one ordered walk, no sort) only after an account is added or
/// removed; field changes (sign-ins, disabling, roles) leave it valid.
#[derive(Debug, Default)]
pub(crate) struct OrgIndex {
    keys: Vec<String>,
    /// The `esri_*` system accounts: contiguous in username order.
    system: std::ops::Range<usize>,
}

impl OrgIndex {
    fn build(members: &BTreeMap<String, Member>) -> OrgIndex {
        let keys: Vec<String> = members
            .iter()
            .filter(|(_, m)| m.in_org())
            .map(|(k, _)| k.clone())
            .collect();
        let lo = keys.partition_point(|k| k.as_str() < SYSTEM_PREFIX);
        let hi = lo + keys[lo..].partition_point(|k| k.starts_with(SYSTEM_PREFIX));
        OrgIndex {
            keys,
            system: lo..hi,
        }
    }

    /// How many rows the listing has, with or without the system accounts.
    pub(crate) fn len(&self, exclude_system: bool) -> usize {
        if exclude_system {
            self.keys.len() - self.system.len()
        } else {
            self.keys.len()
        }
    }

    /// The key at `pos` (0-based) of the listing, in O(1).
    pub(crate) fn get(&self, pos: usize, exclude_system: bool, descending: bool) -> &str {
        let len = self.len(exclude_system);
        let pos = if descending { len - 1 - pos } else { pos };
        let pos = if exclude_system && pos >= self.system.start {
            pos + self.system.len()
        } else {
            pos
        };
        &self.keys[pos]
    }
}

/// How many sorted/filtered listings are cached at once.
const MAX_CACHED_LISTINGS: usize = 8;

/// The whole simulated portal, behind one `std::sync::Mutex`.
pub(crate) struct State {
    /// Knobs as currently set.
    pub config: SandboxConfig,
    /// The configuration the sandbox started with; `reset` returns to it.
    pub initial: SandboxConfig,
    /// The portal root URL (`http://127.0.0.1:PORT/portal`).
    pub base_url: String,
    pub members: BTreeMap<String, Member>,
    pub groups: BTreeMap<String, Group>,
    pub roles: Vec<Role>,
    pub defaults: UserDefaults,
    pub tokens: HashMap<String, Token>,
    pub invitations: Vec<InvitationMail>,
    pub stats: CallStats,
    pub faults: FaultInjector,
    /// Lower-cased usernames whose `lastLogin` answers leave out.
    pub withheld_last_login: BTreeSet<String>,
    /// Members' items and folders (*User Content*).
    pub content: super::content::Content,
    /// Licences per user type, user-type change dates, the clock.
    pub licensing: super::licensing::Licensing,
    ids: SplitMix64,
    /// Bumped on every change to members, so cached listings are rebuilt.
    version: u64,
    /// The default-order index; `None` after an account was added or removed.
    org_index: Option<OrgIndex>,
    /// Sorted/filtered listings (non-default queries) built at `cache_version`.
    list_cache: HashMap<ListQuery, Vec<String>>,
    cache_version: u64,
}

impl State {
    /// A fresh org: the admin account, the pre-built roles and the configured groups.
    pub(crate) fn new(config: SandboxConfig, base_url: String) -> State {
        let now = now_ms();
        let mut state = State {
            initial: config.clone(),
            faults: FaultInjector::new(config.seed),
            withheld_last_login: BTreeSet::new(),
            content: Default::default(),
            licensing: Default::default(),
            ids: SplitMix64::new(config.seed ^ 0x05EE_D1D5),
            config,
            base_url,
            members: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: vec![
                Role {
                    id: VIEWER_ROLE.into(),
                    name: "Viewer".into(),
                    description: "View data and maps.".into(),
                    created: now,
                    privileges: VIEWER_PRIVILEGES.iter().map(|s| s.to_string()).collect(),
                },
                Role {
                    id: DATA_EDITOR_ROLE.into(),
                    name: "Data Editor".into(),
                    description: "View and edit data.".into(),
                    created: now,
                    privileges: VIEWER_PRIVILEGES
                        .iter()
                        .chain(&["features:user:edit"])
                        .map(|s| s.to_string())
                        .collect(),
                },
            ],
            defaults: UserDefaults {
                role: Some("org_user".into()),
                user_type: Some("creatorUT".into()),
                groups: Vec::new(),
            },
            tokens: HashMap::new(),
            invitations: Vec::new(),
            stats: CallStats::default(),
            version: 0,
            org_index: None,
            list_cache: HashMap::new(),
            cache_version: 0,
        };
        let admin = SeedMember {
            first_name: "Rollcall".into(),
            last_name: "Admin".into(),
            role: "org_admin".into(),
            password: Some(state.config.admin_password.clone()),
            created: now - 365 * 86_400_000,
            last_login: Some(now - 86_400_000),
            ..SeedMember::new(&state.config.admin_username)
        };
        state.seed_member(admin);
        for (id, title) in state.config.groups.clone() {
            state.seed_group(&id, &title, None);
        }
        state
    }

    /// True on ArcGIS Online.
    pub(crate) fn online(&self) -> bool {
        self.config.mode == PortalMode::Online
    }

    /// A fresh 32-hex id (like the ids in *User* and *Group*), deterministic for the seed.
    pub(crate) fn new_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.ids.next_u64(), self.ids.next_u64())
    }

    /// Marks sorted/filtered member listings as stale (a member's fields changed).
    pub(crate) fn touch(&mut self) {
        self.version = self.version.wrapping_add(1);
    }

    /// Marks every listing as stale (an account was added or removed).
    pub(crate) fn members_changed(&mut self) {
        self.org_index = None;
        self.touch();
    }

    /// Inserts an account under its lower-cased username (replacing any).
    pub(crate) fn insert_member(&mut self, member: Member) {
        self.members.insert(member.username.to_lowercase(), member);
        self.members_changed();
    }

    /// A member by any casing of the username.
    pub(crate) fn member(&self, username: &str) -> Option<&Member> {
        self.members.get(&username.to_lowercase())
    }

    /// A mutable member by any casing; marks listings stale.
    pub(crate) fn member_mut(&mut self, username: &str) -> Option<&mut Member> {
        self.touch();
        self.members.get_mut(&username.to_lowercase())
    }

    /// Sets an account's last sign-in; false when there is no such account.
    pub(crate) fn set_last_login(&mut self, username: &str, at: Option<i64>) -> bool {
        match self.member_mut(username) {
            Some(m) => {
                m.last_login = at;
                true
            }
            None => false,
        }
    }

    /// Whether a username is taken by any account, of any org, case-insensitively.
    pub(crate) fn username_taken(&self, username: &str) -> bool {
        self.members.contains_key(&username.to_lowercase())
    }

    /// Inserts (or replaces) a seeded account, keeping group memberships consistent.
    pub(crate) fn seed_member(&mut self, seed: SeedMember) {
        let key = seed.username.to_lowercase();
        let replaced = self.remove_member(&key).is_some();
        let (role, role_id) = match self.resolve_role(&seed.role) {
            Some((r, id)) => (r, id.or(seed.role_id.clone())),
            None => (seed.role.clone(), seed.role_id.clone()),
        };
        let online = self.online();
        let id = self.new_id();
        let full_name = format!("{} {}", seed.first_name, seed.last_name)
            .trim()
            .to_string();
        let member = Member {
            username: seed.username.clone(),
            id,
            first_name: seed.first_name,
            last_name: seed.last_name,
            full_name,
            email: seed.email,
            role,
            role_id,
            user_type: seed.user_type,
            esri_access: online.then(|| "arcgisonly".to_string()),
            credits: if online { seed.credits } else { None },
            invited: seed.invited,
            password: seed.password,
            provider: seed.provider,
            idp_username: seed.idp_username,
            disabled: seed.disabled,
            groups: BTreeSet::new(),
            org_id: seed.org_id,
            created: seed.created,
            modified: seed.created,
            last_login: seed.last_login,
            items: 0,
            description: String::new(),
            access: "org".into(),
        };
        let joined = member.created;
        self.insert_member(member);
        self.recount_items(&key);
        self.seed_items(&key, seed.items);
        if replaced {
            // Keep the groups the replaced account owned.
            let owned: Vec<String> = self
                .groups
                .values()
                .filter(|g| g.owner == key)
                .map(|g| g.id.clone())
                .collect();
            for gid in owned {
                self.set_group_owner(&gid, &key);
            }
        }
        for gid in seed.groups {
            if !self.groups.contains_key(&gid) {
                self.seed_group(&gid, &gid, None);
            }
            self.join_group(&gid, &key, MemberType::Member, joined);
        }
    }

    /// Creates a group (owned by `owner`, default the admin) or renames an
    /// existing one (changing its owner only when `owner` is given).
    pub(crate) fn seed_group(&mut self, id: &str, title: &str, owner: Option<&str>) {
        let explicit = owner.map(str::to_lowercase);
        if let Some(g) = self.groups.get_mut(id) {
            g.title = title.to_string();
            if let Some(o) = explicit {
                self.set_group_owner(id, &o);
            }
            return;
        }
        let owner = explicit.unwrap_or_else(|| self.config.admin_username.to_lowercase());
        let now = now_ms();
        self.groups.insert(
            id.to_string(),
            Group {
                id: id.to_string(),
                title: title.to_string(),
                owner: owner.clone(),
                members: BTreeMap::new(),
                created: now,
                modified: now,
            },
        );
        self.set_group_owner(id, &owner);
    }

    /// Makes `owner` (lower-cased key) the owner of group `id`.
    pub(crate) fn set_group_owner(&mut self, id: &str, owner: &str) {
        let Some(g) = self.groups.get_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut g.owner, owner.to_string());
        if let Some(t) = g.members.get_mut(&old) {
            if t.kind == MemberType::Owner {
                t.kind = MemberType::Admin;
            }
        }
        if let Some(m) = self.members.get_mut(owner) {
            let created = g.created;
            g.members
                .entry(owner.to_string())
                .or_insert(Membership {
                    kind: MemberType::Owner,
                    joined: created,
                })
                .kind = MemberType::Owner;
            m.groups.insert(id.to_string());
        }
        self.touch();
    }

    /// Adds `key` to group `id` as of `joined` (epoch ms); an existing
    /// membership is kept (an admin add promotes).
    pub(crate) fn join_group(&mut self, id: &str, key: &str, as_type: MemberType, joined: i64) {
        let Some(g) = self.groups.get_mut(id) else {
            return;
        };
        let entry = g.members.entry(key.to_string()).or_insert(Membership {
            kind: as_type,
            joined,
        });
        if entry.kind == MemberType::Member && as_type == MemberType::Admin {
            entry.kind = MemberType::Admin;
        }
        g.modified = g.modified.max(joined);
        if let Some(m) = self.members.get_mut(key) {
            m.groups.insert(id.to_string());
        }
        self.touch();
    }

    /// Removes `key` from group `id`; false when not a removable member (absent, or the owner).
    pub(crate) fn leave_group(&mut self, id: &str, key: &str) -> bool {
        let Some(g) = self.groups.get_mut(id) else {
            return false;
        };
        match g.members.get(key).map(|t| t.kind) {
            Some(MemberType::Owner) | None => return false,
            Some(_) => {}
        }
        g.members.remove(key);
        g.modified = now_ms();
        if let Some(m) = self.members.get_mut(key) {
            m.groups.remove(id);
        }
        self.touch();
        true
    }

    /// Deletes an account and its group memberships.
    pub(crate) fn remove_member(&mut self, key: &str) -> Option<Member> {
        let m = self.members.remove(key)?;
        for gid in &m.groups {
            if let Some(g) = self.groups.get_mut(gid) {
                g.members.remove(key);
            }
        }
        self.members_changed();
        Some(m)
    }

    /// Maps a role given to `invite`/`createUser`/`updateUserRole` to `(role, roleId)`:
    /// a built-in name, or a listed role id (whose base role is `org_user`).
    pub(crate) fn resolve_role(&self, role: &str) -> Option<(String, Option<String>)> {
        if BUILTIN_ROLES.contains(&role) {
            return Some((role.to_string(), None));
        }
        self.roles
            .iter()
            .find(|r| r.id == role)
            .map(|r| ("org_user".to_string(), Some(r.id.clone())))
    }

    /// Whether `id` is an offered user type.
    pub(crate) fn valid_user_type(id: &str) -> bool {
        USER_TYPES.iter().any(|(t, _)| *t == id)
    }

    /// The privileges a member holds (*Privileges*).
    pub(crate) fn privileges<'a>(&'a self, m: &Member) -> Vec<&'a str> {
        if let Some(rid) = &m.role_id {
            if let Some(r) = self.roles.iter().find(|r| &r.id == rid) {
                return r.privileges.iter().map(String::as_str).collect();
            }
        }
        let mut out: Vec<&str> = USER_PRIVILEGES.to_vec();
        if m.role == "org_publisher" || m.role == "org_admin" {
            out.extend(PUBLISHER_PRIVILEGES);
        }
        if m.role == "org_admin" {
            out.extend(ADMIN_PRIVILEGES);
        }
        out
    }

    /// The org id an account belongs to.
    pub(crate) fn org_of<'a>(&'a self, m: &'a Member) -> &'a str {
        m.org_id.as_deref().unwrap_or(&self.config.org_id)
    }

    /// The user object (*User*) as a serializable row borrowing from the state.
    /// `full` adds e-mail and privileges, as listings and the user resource
    /// show them to the user themself or an org admin (*User*); `groups` is `[]`.
    pub(crate) fn user_row<'a>(&'a self, m: &'a Member, full: bool) -> UserRow<'a> {
        let online = self.online() && m.in_org();
        let credits = m.credits.unwrap_or(-1.0);
        UserRow {
            username: &m.username,
            id: &m.id,
            full_name: &m.full_name,
            first_name: &m.first_name,
            last_name: &m.last_name,
            preferred_view: None,
            description: &m.description,
            tags: [],
            culture: "en",
            region: "",
            units: "english",
            thumbnail: None,
            access: &m.access,
            org_id: self.org_of(m),
            role: &m.role,
            // roleId is absent for the built-in roles (an *arcgis-rest-js* user fixture).
            role_id: m.role_id.as_deref(),
            user_license_type_id: &m.user_type,
            level: m.level(),
            disabled: m.disabled,
            provider: &m.provider,
            idp_username: m.idp_username.as_deref(),
            mfa_enabled: false,
            storage_usage: 0,
            storage_quota: 2_199_023_255_552,
            // `-1` for never (*User*); left out when a test withholds it.
            last_login: (self.withheld_last_login.is_empty()
                || !self
                    .withheld_last_login
                    .contains(&m.username.to_lowercase()))
            .then(|| m.last_login.unwrap_or(-1)),
            created: m.created,
            modified: m.modified,
            groups: [],
            user_type: online.then(|| m.esri_access.as_deref().unwrap_or("arcgisonly")),
            assigned_credits: online.then_some(credits),
            available_credits: online.then_some(credits),
            email: full.then_some(m.email.as_str()),
            privileges: full.then(|| self.privileges(m)),
        }
    }

    /// The user object (*User*) as JSON. `full` adds e-mail and privileges, as
    /// the user resource shows them to the user themself or an org admin (*User*);
    /// `full_groups` adds the group objects; otherwise `groups: []`, as in
    /// listings (*arcgis-python* treats an empty `groups` as "not hydrated").
    pub(crate) fn user_json(&self, m: &Member, full: bool, full_groups: bool) -> Value {
        let mut u = serde_json::to_value(self.user_row(m, full)).unwrap_or(Value::Null);
        if full && full_groups {
            let key = m.username.to_lowercase();
            let groups: Vec<Value> = m
                .groups
                .iter()
                .filter_map(|gid| self.groups.get(gid))
                .map(|g| self.group_json(g, Some(&key)))
                .collect();
            u["groups"] = json!(groups);
        }
        u
    }

    /// The group object (*Group*), with `userMembership` for `viewer` (a lower-cased key).
    pub(crate) fn group_json(&self, g: &Group, viewer: Option<&str>) -> Value {
        let owner = self
            .members
            .get(&g.owner)
            .map(|m| m.username.clone())
            .unwrap_or_else(|| g.owner.clone());
        let mut v = json!({
            "id": g.id,
            "title": g.title,
            "owner": owner,
            "description": null,
            "snippet": null,
            "tags": [],
            "phone": null,
            "thumbnail": null,
            "access": "org",
            "isInvitationOnly": true,
            "isViewOnly": false,
            "isReadOnly": false,
            "protected": false,
            "autoJoin": false,
            "sortField": "title",
            "sortOrder": "asc",
            "capabilities": [],
            "created": g.created,
            "modified": g.modified,
            "orgId": self.config.org_id,
            "isFav": false,
            "isOpenData": false,
        });
        if let Some(key) = viewer {
            let username = self
                .members
                .get(key)
                .map(|m| m.username.as_str())
                .unwrap_or(key);
            let member_type = g.members.get(key).map_or("none", |t| t.kind.as_str());
            v["userMembership"] = json!({
                "username": username,
                "memberType": member_type,
                "applications": 0,
            });
        }
        v
    }

    /// Canonical usernames of a group's members of one kind.
    pub(crate) fn group_usernames(
        &self,
        g: &Group,
        pick: impl Fn(MemberType) -> bool,
    ) -> Vec<String> {
        let mut names: Vec<String> = g
            .members
            .iter()
            .filter(|(_, t)| pick(t.kind))
            .map(|(k, _)| {
                self.members
                    .get(k)
                    .map(|m| m.username.clone())
                    .unwrap_or_else(|| k.clone())
            })
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        names
    }

    /// One page of `portals/self/users` (*Organization Users*): the total and the keys of
    /// rows `from..from + num` (0-based).
    ///
    /// The default order (by username, either direction, with or without the
    /// system accounts) reads the positional [`OrgIndex`]: O(num) per page,
    /// the index rebuilt only after accounts come or go. Other sort fields and
    /// filters build their order once and cache it until any member changes.
    pub(crate) fn list_page(
        &mut self,
        q: &ListQuery,
        from: usize,
        num: usize,
    ) -> (usize, Vec<String>) {
        if q.sort_field == "username"
            && q.role.is_none()
            && q.user_type.is_none()
            && q.provider.is_none()
        {
            let members = &self.members;
            let index = self
                .org_index
                .get_or_insert_with(|| OrgIndex::build(members));
            let total = index.len(q.exclude_system);
            let to = from.saturating_add(num).min(total);
            let keys = (from.min(to)..to)
                .map(|pos| index.get(pos, q.exclude_system, q.descending).to_string())
                .collect();
            return (total, keys);
        }
        if self.cache_version != self.version || self.list_cache.len() >= MAX_CACHED_LISTINGS {
            self.list_cache.clear();
            self.cache_version = self.version;
        }
        if !self.list_cache.contains_key(q) {
            let keys = self.sorted_keys(q);
            self.list_cache.insert(q.clone(), keys);
        }
        let all = &self.list_cache[q];
        let total = all.len();
        let to = from.saturating_add(num).min(total);
        (total, all[from.min(to)..to].to_vec())
    }

    /// Keys of this org's members, filtered and sorted for a non-default listing.
    fn sorted_keys(&self, q: &ListQuery) -> Vec<String> {
        let mut rows: Vec<(&String, &Member)> = self
            .members
            .iter()
            .filter(|(_, m)| m.in_org())
            .filter(|(_, m)| !(q.exclude_system && is_system_user(&m.username)))
            .filter(|(_, m)| {
                q.role
                    .as_deref()
                    .is_none_or(|r| m.role == r || m.role_id.as_deref() == Some(r))
            })
            .filter(|(_, m)| q.user_type.as_deref().is_none_or(|t| m.user_type == t))
            .filter(|(_, m)| q.provider.as_deref().is_none_or(|p| m.provider == p))
            .collect();
        // Members are already in username order; the sorts are stable.
        match q.sort_field.as_str() {
            "fullname" => rows.sort_by_cached_key(|(_, m)| m.full_name.to_lowercase()),
            "created" => rows.sort_by_key(|(_, m)| m.created),
            "modified" => rows.sort_by_key(|(_, m)| m.modified),
            "lastlogin" => rows.sort_by_key(|(_, m)| m.last_login.unwrap_or(-1)),
            "role" => rows.sort_by(|a, b| a.1.role.cmp(&b.1.role)),
            "level" => rows.sort_by_key(|(_, m)| m.level()),
            _ => {}
        }
        if q.descending {
            rows.reverse();
        }
        rows.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// Records one portal call (and whether it was faulted) under its operation name.
    pub(crate) fn count_call(&mut self, operation: &str, faulted: bool) {
        self.stats.total += 1;
        *self
            .stats
            .by_operation
            .entry(operation.to_string())
            .or_insert(0) += 1;
        if faulted {
            self.stats.faults += 1;
            *self
                .stats
                .faults_by_operation
                .entry(operation.to_string())
                .or_insert(0) += 1;
        }
    }

    /// Issues a token for `subject`, living `lifetime_ms` (capped by the lifetime knob).
    pub(crate) fn issue_token(
        &mut self,
        subject: Subject,
        lifetime_ms: i64,
        referer: Option<String>,
    ) -> (String, i64) {
        let cap = i64::try_from(self.config.token_lifetime.as_millis()).unwrap_or(i64::MAX);
        let expires = now_ms().saturating_add(lifetime_ms.min(cap));
        let token = format!("sbx{}", uuid::Uuid::new_v4().simple());
        self.tokens.insert(
            token.clone(),
            Token {
                subject,
                expires,
                referer,
            },
        );
        (token, expires)
    }

    /// Expires every issued token now (they then answer 498).
    pub(crate) fn expire_tokens(&mut self) {
        let past = now_ms() - 1;
        for t in self.tokens.values_mut() {
            t.expires = t.expires.min(past);
        }
    }
}

/// The user object (*User*), serialized straight from the state: listings of
/// 100 members skip building a `serde_json::Value` per row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRow<'a> {
    username: &'a str,
    id: &'a str,
    full_name: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    preferred_view: Option<&'a str>,
    description: &'a str,
    tags: [&'a str; 0],
    culture: &'a str,
    region: &'a str,
    units: &'a str,
    thumbnail: Option<&'a str>,
    access: &'a str,
    org_id: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_id: Option<&'a str>,
    user_license_type_id: &'a str,
    level: &'a str,
    disabled: bool,
    provider: &'a str,
    idp_username: Option<&'a str>,
    mfa_enabled: bool,
    storage_usage: u64,
    storage_quota: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_login: Option<i64>,
    created: i64,
    modified: i64,
    groups: [&'a str; 0],
    /// Online "Esri access" (*arcgis-python*'s `esri_access`), this org's members only.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_credits: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    available_credits: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    privileges: Option<Vec<&'a str>>,
}

/// Filters and order of one `portals/self/users` listing (*Organization Users*).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListQuery {
    pub sort_field: String,
    pub descending: bool,
    pub exclude_system: bool,
    pub role: Option<String>,
    pub user_type: Option<String>,
    pub provider: Option<String>,
}

/// Esri's built-in system accounts (`esri_livingatlas`, `esri_nav`, ...; the list
/// *arcgis-python* excludes in `org_search`)
/// are recognised by their `esri_` prefix [unverified rule].
pub(crate) fn is_system_user(username: &str) -> bool {
    username.to_lowercase().starts_with(SYSTEM_PREFIX)
}

/// The lower-cased username prefix of Esri's system accounts.
pub(crate) const SYSTEM_PREFIX: &str = "esri_";

/// The username rule for `invite` (3–128 ASCII chars, *Considerations and
/// limitations*) and `createUser` (6–24 chars, *Create User*); letters, digits
/// and `_ . @ -` [exact character set unverified].
pub(crate) fn valid_username(username: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

/// A plausible e-mail address: `local@domain.tld`, no spaces.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

/// ArcGIS Online's default password policy: at least 8 characters with a letter
/// and a digit [unverified for the org policy in use].
pub(crate) fn valid_password(password: &str) -> bool {
    password.chars().count() >= 8
        && password.chars().any(|c| c.is_alphabetic())
        && password.chars().any(|c| c.is_ascii_digit())
}
