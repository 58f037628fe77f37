//! In-memory fakes of the ports, for tests of job logic that need no moto
//! and no sandbox: an object store, a mailer, an ArcGIS org and a Connect
//! instance. Each keeps what was done to it, so a test asserts what a user
//! would see (the file after the run, the mails, the members).
//!
//! The end-to-end tests use the real adapters against moto and the sandbox;
//! these fakes are for the cases those make hard to stage.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use connectors::arcgis::{
    BulkResult, EnterpriseMember, Group, GroupLookup, GroupMembers, GroupMembership, Invitation,
    MemberCreation, MemberListing, MemberLookup, MemberStatus, OrgCatalog, OrgInfo, Portal,
    PortalKind, Role, User, UserDefaults, UserPage, UserType, UsernameAvailability,
};
use connectors::connect::{Agent, ConnectDirectory, Proficiency};
use connectors::mail::{Mail, Mailer};
use connectors::store::{NewObject, ObjectStore, StoredObject};
use connectors::Error;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

/// The bucket the fakes' events name.
pub const BUCKET: &str = "fake-bucket";

mod lifecycle;
mod multipart;
pub use lifecycle::SeatsFault;
pub use multipart::FakeMultipart;

/// One object in the [`FakeStore`].
#[derive(Debug, Clone)]
pub struct FakeObject {
    pub body: Vec<u8>,
    pub etag: String,
    pub metadata: HashMap<String, String>,
}

/// An object store in memory, honouring `if_match` and `if_absent`.
#[derive(Default)]
pub struct FakeStore {
    objects: RefCell<BTreeMap<String, FakeObject>>,
    versions: Cell<u64>,
    /// Puts to keys starting with this fail as if S3 were down.
    pub fail_puts_under: RefCell<Option<String>>,
    /// The `n`th put (counting from 1) to keys starting with the prefix
    /// fails as if S3 were down; see [`FakeStore::fail_nth_put_under`].
    fail_nth_put: RefCell<Option<(String, usize)>>,
    /// Puts counted for `fail_nth_put`.
    puts_under: Cell<usize>,
    /// Multipart uploads in progress, and their failure switch.
    pub multipart: FakeMultipart,
}

impl FakeStore {
    /// A store holding `body` at `key`, as an admin uploaded it.
    pub fn with(key: &str, body: &str) -> Self {
        let store = Self::default();
        store.upload(key, body);
        store
    }

    /// Writes `body` at `key` as an admin would (no rollcall metadata).
    pub fn upload(&self, key: &str, body: &str) {
        let etag = self.next_etag();
        self.objects.borrow_mut().insert(
            key.to_string(),
            FakeObject {
                body: body.as_bytes().to_vec(),
                etag,
                metadata: HashMap::new(),
            },
        );
    }

    fn next_etag(&self) -> String {
        self.versions.set(self.versions.get() + 1);
        format!("\"v{}\"", self.versions.get())
    }

    /// The object's text, or `None`.
    pub fn text(&self, key: &str) -> Option<String> {
        self.objects
            .borrow()
            .get(key)
            .map(|o| String::from_utf8(o.body.clone()).expect("UTF-8 object"))
    }

    /// The keys under `prefix`, in order.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.objects
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Makes the `n`th put from now on (counting from 1) to a key under
    /// `prefix` fail as if S3 were down; the puts before and after it work.
    pub fn fail_nth_put_under(&self, prefix: &str, n: usize) {
        *self.fail_nth_put.borrow_mut() = Some((prefix.to_string(), n));
        self.puts_under.set(0);
    }

    /// The one object under `prefix` (a report, say).
    pub fn only(&self, prefix: &str) -> String {
        let keys = self.keys(prefix);
        assert_eq!(keys.len(), 1, "one object under {prefix}: {keys:?}");
        self.text(&keys[0]).unwrap_or_default()
    }
}

impl ObjectStore for FakeStore {
    async fn get(&self, _bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        Ok(self.objects.borrow().get(key).map(|o| StoredObject {
            body: o.body.clone(),
            etag: o.etag.clone(),
            metadata: o.metadata.clone(),
            version_id: Some(o.etag.trim_matches('"').to_string()),
        }))
    }

    async fn put(&self, object: NewObject) -> Result<(), Error> {
        if let Some((prefix, n)) = self.fail_nth_put.borrow().as_ref() {
            if object.key.starts_with(prefix.as_str()) {
                self.puts_under.set(self.puts_under.get() + 1);
                if self.puts_under.get() == *n {
                    return Err(Error::Unavailable {
                        service: "S3",
                        status: 503,
                        attempts: 3,
                    });
                }
            }
        }
        if let Some(prefix) = self.fail_puts_under.borrow().as_deref() {
            if object.key.starts_with(prefix) {
                return Err(Error::Unavailable {
                    service: "S3",
                    status: 503,
                    attempts: 3,
                });
            }
        }
        let refused = {
            let objects = self.objects.borrow();
            let current = objects.get(&object.key);
            (object.if_absent && current.is_some())
                || object
                    .if_match
                    .as_ref()
                    .is_some_and(|etag| current.map(|o| &o.etag) != Some(etag))
        };
        if refused {
            return Err(Error::PreconditionFailed {
                bucket: object.bucket,
                key: object.key,
            });
        }
        let etag = self.next_etag();
        self.objects.borrow_mut().insert(
            object.key,
            FakeObject {
                body: object.body,
                etag,
                metadata: object.metadata,
            },
        );
        Ok(())
    }
}

/// A mailer that keeps what it sends (or refuses, when told to).
#[derive(Default)]
pub struct FakeMailer {
    pub sent: RefCell<Vec<Mail>>,
    pub refuse: Cell<bool>,
    /// Mails to these addresses are refused (SES rejects them); others go.
    pub refuse_to: RefCell<Vec<String>>,
}

impl FakeMailer {
    /// The mails sent to `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.sent
            .borrow()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .cloned()
            .collect()
    }
}

impl Mailer for FakeMailer {
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        if self.refuse.get() {
            return Err(Error::Throttled {
                service: "SES",
                attempts: 3,
            });
        }
        if mail
            .to
            .iter()
            .any(|to| self.refuse_to.borrow().contains(to))
        {
            return Err(Error::Aws {
                service: "SES",
                operation: "SendEmail",
                code: "MessageRejected".into(),
                message: "Email address is not verified.".into(),
            });
        }
        self.sent.borrow_mut().push(mail.clone());
        Ok(format!("m{}", self.sent.borrow().len()))
    }
}

/// How a [`FakeOrg`]'s `disable_users` call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableFault {
    /// The portal keeps failing: nobody is disabled and the call errs.
    Unavailable,
    /// The members are disabled, then the answer is lost (the call errs).
    AnswerLost,
}

/// An ArcGIS org in memory: members, groups, and switches for the refusals
/// a test needs.
pub struct FakeOrg {
    pub kind: PortalKind,
    /// The signed-in administrator.
    pub admin: User,
    pub members: RefCell<BTreeMap<String, User>>,
    /// Group id → member usernames.
    pub groups: RefCell<BTreeMap<String, Vec<String>>>,
    /// Usernames `addUsers` lists in `notAdded`.
    pub not_added: Vec<String>,
    /// Every invite call is refused whole.
    pub refuse_invites: bool,
    /// `portals/self` is refused (the account lacks a privilege).
    pub deny_portal: bool,
    /// How the next `disable_users` calls fail, if they do.
    pub disable_fault: Cell<Option<DisableFault>>,
    /// Every call, by operation name.
    pub calls: RefCell<Vec<&'static str>>,
    /// Content, group owners, roles, licences and lifecycle refusals.
    pub lifecycle: lifecycle::Lifecycle,
}

impl Default for FakeOrg {
    fn default() -> Self {
        let admin = User {
            username: "org_admin_user".into(),
            role: Some("org_admin".into()),
            privileges: vec![
                "portal:admin:viewUsers".into(),
                "portal:admin:disableUsers".into(),
            ],
            ..User::default()
        };
        let org = Self {
            kind: PortalKind::Online,
            admin: admin.clone(),
            members: RefCell::new(BTreeMap::from([(admin.username.clone(), admin)])),
            groups: RefCell::new(BTreeMap::new()),
            not_added: Vec::new(),
            refuse_invites: false,
            deny_portal: false,
            disable_fault: Cell::new(None),
            calls: RefCell::new(Vec::new()),
            lifecycle: lifecycle::Lifecycle::default(),
        };
        org.add_group("g1");
        org
    }
}

impl FakeOrg {
    pub fn add_group(&self, id: &str) {
        self.groups.borrow_mut().insert(id.to_string(), Vec::new());
    }

    pub fn add_member(&self, user: User) {
        self.members
            .borrow_mut()
            .insert(user.username.to_ascii_lowercase(), user);
    }

    pub fn member(&self, username: &str) -> Option<User> {
        self.members
            .borrow()
            .get(&username.to_ascii_lowercase())
            .cloned()
    }

    /// How many calls of `operation` were made.
    pub fn count(&self, operation: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    pub(crate) fn call(&self, operation: &'static str) {
        self.calls.borrow_mut().push(operation);
    }

    fn create(&self, invitation: &Invitation) {
        self.add_member(User {
            username: invitation.username.clone(),
            first_name: Some(invitation.first_name.clone()),
            last_name: Some(invitation.last_name.clone()),
            email: Some(invitation.email.clone()),
            org_id: Some("fake-org".into()),
            user_license_type_id: invitation.user_type.clone(),
            ..User::default()
        });
    }

    fn set_disabled(&self, usernames: &[String], disabled: bool) -> Vec<BulkResult> {
        let mut members = self.members.borrow_mut();
        usernames
            .iter()
            .map(|name| match members.get_mut(&name.to_ascii_lowercase()) {
                Some(user) => {
                    user.disabled = disabled;
                    BulkResult {
                        username: name.clone(),
                        ok: true,
                        error: None,
                    }
                }
                None => BulkResult {
                    username: name.clone(),
                    ok: false,
                    error: Some("no such member".into()),
                },
            })
            .collect()
    }
}

impl OrgInfo for FakeOrg {
    async fn portal(&self) -> Result<Portal, Error> {
        self.call("portal");
        if self.deny_portal {
            return Err(Error::Permission {
                service: "ArcGIS",
                operation: "portals/self".into(),
                message:
                    "You do not have permissions to access this resource or perform this operation."
                        .into(),
            });
        }
        Ok(Portal {
            id: "fake-org".into(),
            name: "Fake Org".into(),
            kind: self.kind,
            default_credits: None,
            caller: Some(self.admin.clone()),
        })
    }
}

impl OrgCatalog for FakeOrg {
    async fn roles(&self) -> Result<Vec<Role>, Error> {
        self.call("roles");
        Ok(Vec::new())
    }
    async fn user_types(&self) -> Result<Vec<UserType>, Error> {
        self.call("user_types");
        Ok(["creatorUT:Creator", "viewerUT:Viewer"]
            .iter()
            .map(|t| {
                let (id, name) = t.split_once(':').unwrap_or_default();
                UserType {
                    id: id.into(),
                    name: name.into(),
                }
            })
            .collect())
    }
    async fn user_defaults(&self) -> Result<UserDefaults, Error> {
        self.call("user_defaults");
        Ok(UserDefaults {
            role: Some("org_user".into()),
            user_license_type: Some("creatorUT".into()),
            groups: Vec::new(),
        })
    }
}

impl MemberLookup for FakeOrg {
    async fn user(&self, username: &str) -> Result<Option<User>, Error> {
        self.call("user");
        Ok(self.member(username))
    }
    async fn check_usernames(
        &self,
        usernames: &[String],
    ) -> Result<Vec<(String, UsernameAvailability)>, Error> {
        self.call("check_usernames");
        Ok(usernames
            .iter()
            .map(|name| {
                let availability = if self.member(name).is_some() {
                    UsernameAvailability::Taken
                } else {
                    UsernameAvailability::Available
                };
                (name.clone(), availability)
            })
            .collect())
    }
}

impl MemberListing for FakeOrg {
    async fn users_page(&self, start: u64, num: u64) -> Result<UserPage, Error> {
        self.call("users_page");
        let members = self.members.borrow();
        let total = members.len() as u64;
        let users: Vec<User> = members
            .values()
            .skip(start.saturating_sub(1) as usize)
            .take(num as usize)
            .cloned()
            .collect();
        let next = start + users.len() as u64;
        Ok(UserPage {
            total,
            next_start: (next <= total && !users.is_empty()).then_some(next),
            users,
        })
    }
}

impl MemberCreation for FakeOrg {
    async fn invite(&self, invitations: &[Invitation]) -> Result<Vec<String>, Error> {
        self.call("invite");
        if self.refuse_invites {
            return Err(Error::Api {
                service: "ArcGIS",
                operation: "portals/self/invite".into(),
                code: 400,
                message_code: None,
                message: "Unable to invite users.".into(),
            });
        }
        invitations.iter().for_each(|i| self.create(i));
        Ok(Vec::new())
    }
    async fn create_enterprise_member(&self, member: &EnterpriseMember) -> Result<String, Error> {
        self.call("create_enterprise_member");
        self.create(member);
        Ok(member.username.clone())
    }
}

impl MemberStatus for FakeOrg {
    async fn disable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        self.call("disable_users");
        let unavailable = Error::Unavailable {
            service: "ArcGIS",
            status: 503,
            attempts: 4,
        };
        match self.disable_fault.get() {
            Some(DisableFault::Unavailable) => Err(unavailable),
            Some(DisableFault::AnswerLost) => {
                self.set_disabled(usernames, true);
                Err(unavailable)
            }
            None => Ok(self.set_disabled(usernames, true)),
        }
    }
    async fn enable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        self.call("enable_users");
        Ok(self.set_disabled(usernames, false))
    }
}

impl GroupLookup for FakeOrg {
    async fn group(&self, id: &str) -> Result<Option<Group>, Error> {
        self.call("group");
        Ok(self.groups.borrow().contains_key(id).then(|| Group {
            id: id.into(),
            title: id.to_uppercase(),
            ..Group::default()
        }))
    }
}

impl GroupMembers for FakeOrg {
    async fn group_members(&self, group_id: &str) -> Result<Vec<String>, Error> {
        self.call("group_members");
        Ok(self
            .groups
            .borrow()
            .get(group_id)
            .cloned()
            .unwrap_or_default())
    }
}

impl GroupMembership for FakeOrg {
    async fn add_to_group(
        &self,
        group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error> {
        self.call("add_to_group");
        let mut groups = self.groups.borrow_mut();
        let members = groups.entry(group_id.to_string()).or_default();
        let mut refused = Vec::new();
        for name in usernames {
            if self.not_added.contains(name) {
                refused.push(name.clone());
            } else if !members.contains(name) {
                members.push(name.clone());
            }
        }
        Ok(refused)
    }
}

/// A Connect instance in memory: agents, predefined attributes and each
/// agent's proficiencies.
#[derive(Default)]
pub struct FakeConnect {
    pub agents: Vec<Agent>,
    /// Attribute name → its values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Agent id → proficiencies.
    pub proficiencies: RefCell<HashMap<String, Vec<Proficiency>>>,
    /// Every write, as `operation agent-id`.
    pub writes: RefCell<Vec<String>>,
    /// User ids DescribeUser refuses as not ids at all (`InvalidParameterException`, 400).
    pub malformed_ids: Vec<String>,
    /// When set, DescribeUser fails with this for every id (throttling, an
    /// outage, a missing permission).
    pub describe_failure: Option<fn() -> Error>,
}

impl FakeConnect {
    /// An instance with these agents (id = `id-<username>`) and attributes.
    pub fn new(agents: &[&str], attributes: &[(&str, &[&str])]) -> Self {
        Self {
            agents: agents
                .iter()
                .map(|name| Agent {
                    id: format!("id-{name}"),
                    username: name.to_string(),
                })
                .collect(),
            attributes: attributes
                .iter()
                .map(|(name, values)| {
                    (
                        name.to_string(),
                        values.iter().map(|v| v.to_string()).collect(),
                    )
                })
                .collect(),
            ..Self::default()
        }
    }

    /// The agent's proficiencies as `attribute=value@level`, sorted.
    pub fn of(&self, username: &str) -> Vec<String> {
        let mut list: Vec<String> = self
            .proficiencies
            .borrow()
            .get(&format!("id-{username}"))
            .into_iter()
            .flatten()
            .map(|p| format!("{}={}@{}", p.attribute, p.value, p.level))
            .collect();
        list.sort();
        list
    }

    fn write(&self, operation: &str, agent_id: &str) {
        self.writes
            .borrow_mut()
            .push(format!("{operation} {agent_id}"));
    }
}

impl ConnectDirectory for FakeConnect {
    async fn attribute_names(&self) -> Result<Vec<String>, Error> {
        Ok(self.attributes.keys().cloned().collect())
    }
    async fn attribute_values(&self, name: &str) -> Result<Option<Vec<String>>, Error> {
        Ok(self.attributes.get(name).cloned())
    }
    async fn search_username(&self, username: &str) -> Result<Vec<Agent>, Error> {
        Ok(self
            .agents
            .iter()
            .filter(|a| a.username == username)
            .cloned()
            .collect())
    }
    async fn list_agents(
        &self,
        _next: Option<String>,
    ) -> Result<(Vec<Agent>, Option<String>), Error> {
        Ok((self.agents.clone(), None))
    }
    async fn describe_agent(&self, id: &str) -> Result<Option<Agent>, Error> {
        if let Some(failure) = self.describe_failure {
            return Err(failure());
        }
        if self.malformed_ids.iter().any(|m| m == id) {
            return Err(Error::Aws {
                service: "Connect",
                operation: "DescribeUser",
                code: "InvalidParameterException".into(),
                message: "The UserId is not valid.".into(),
            });
        }
        Ok(self.agents.iter().find(|a| a.id == id).cloned())
    }
    async fn proficiencies(&self, agent_id: &str) -> Result<Vec<Proficiency>, Error> {
        Ok(self
            .proficiencies
            .borrow()
            .get(agent_id)
            .cloned()
            .unwrap_or_default())
    }
    async fn associate(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error> {
        self.write("associate", agent_id);
        self.proficiencies
            .borrow_mut()
            .entry(agent_id.to_string())
            .or_default()
            .extend(items.iter().cloned());
        Ok(())
    }
    async fn update(&self, agent_id: &str, items: &[Proficiency]) -> Result<(), Error> {
        self.write("update", agent_id);
        let mut all = self.proficiencies.borrow_mut();
        for item in items {
            for p in all.entry(agent_id.to_string()).or_default().iter_mut() {
                if p.attribute == item.attribute && p.value == item.value {
                    p.level = item.level;
                }
            }
        }
        Ok(())
    }
    async fn disassociate(&self, agent_id: &str, items: &[(String, String)]) -> Result<(), Error> {
        self.write("disassociate", agent_id);
        if let Some(list) = self.proficiencies.borrow_mut().get_mut(agent_id) {
            list.retain(|p| !items.contains(&(p.attribute.clone(), p.value.clone())));
        }
        Ok(())
    }
}

/// The S3 notification for `key` in [`BUCKET`].
pub fn s3_event(key: &str) -> LambdaEvent<Value> {
    let event =
        serde_json::to_value(crate::world::s3_event(BUCKET, key)).expect("an S3 event serialises");
    LambdaEvent::new(event, Context::default())
}

/// A console invocation for `key` in [`BUCKET`].
pub fn console(key: &str, dry_run: bool) -> LambdaEvent<Value> {
    LambdaEvent::new(
        json!({"bucket": BUCKET, "key": key, "dry_run": dry_run}),
        Context::default(),
    )
}

/// `event` with its Lambda deadline `in_ms` milliseconds from now.
pub fn with_deadline(mut event: LambdaEvent<Value>, in_ms: i64) -> LambdaEvent<Value> {
    event.context.deadline = (chrono::Utc::now().timestamp_millis() + in_ms).max(1) as u64;
    event
}

/// A Teamworks AMS site in memory: full person records by id, group
/// members by name, and a switch for refused saves.
#[derive(Default)]
pub struct FakeAms {
    /// Records by id, as `person/get` returns them.
    pub people: RefCell<BTreeMap<i64, serde_json::Map<String, Value>>>,
    /// Passwords the site took at creation, by id.
    pub passwords: RefCell<BTreeMap<i64, String>>,
    /// Group name → member ids.
    pub groups: RefCell<BTreeMap<String, Vec<i64>>>,
    /// Saves of these usernames are refused with this message.
    pub refuse_saves: RefCell<BTreeMap<String, String>>,
    /// Every call, by operation name.
    pub calls: RefCell<Vec<&'static str>>,
}

impl FakeAms {
    /// Adds an account as `person/get` would show it; returns its id.
    pub fn add(&self, username: &str, first: &str, last: &str, email: &str) -> i64 {
        let id = 1000 + self.people.borrow().len() as i64;
        let record = json!({
            "id": id, "active": true, "firstName": first, "lastName": last,
            "username": username, "emailAddress": email, "dateOfBirth": "01/12/1990",
            "uuid": format!("uuid-{id}"), "knownAs": "", "middleNames": "",
            "language": "English", "sidebarWidth": "", "sex": "2",
        });
        let Value::Object(record) = record else {
            unreachable!()
        };
        self.people.borrow_mut().insert(id, record);
        id
    }

    /// The record of `username` (ignoring case).
    pub fn record(&self, username: &str) -> Option<serde_json::Map<String, Value>> {
        self.people
            .borrow()
            .values()
            .find(|p| {
                p.get("username")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.eq_ignore_ascii_case(username))
            })
            .cloned()
    }

    /// How many calls of `operation` were made.
    pub fn count(&self, operation: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    fn text(record: &serde_json::Map<String, Value>, field: &str) -> String {
        record
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    fn user(record: &serde_json::Map<String, Value>) -> connectors::ams::AmsUser {
        let text = |f: &str| Self::text(record, f);
        connectors::ams::AmsUser {
            user_id: record.get("id").and_then(Value::as_i64).unwrap_or_default(),
            first_name: text("firstName"),
            last_name: text("lastName"),
            username: text("username"),
            email: text("emailAddress"),
            dob: text("dateOfBirth"),
            uuid: text("uuid"),
            middle_name: text("middleNames"),
            known_as: text("knownAs"),
            sex: connectors::ams::Sex::parse(&text("sex"))
                .map(|s| s.name().to_string())
                .unwrap_or_default(),
        }
    }
}

impl connectors::ams::AmsUsers for FakeAms {
    async fn users(
        &self,
        filter: &connectors::ams::UserFilter,
    ) -> Result<Vec<connectors::ams::AmsUser>, Error> {
        use connectors::ams::UserFilter;
        self.calls.borrow_mut().push("usersearch");
        let people = self.people.borrow();
        let members = self.groups.borrow();
        Ok(people
            .values()
            .filter(|p| {
                let user = Self::user(p);
                match filter {
                    UserFilter::All => true,
                    UserFilter::Usernames(names) => names.contains(&user.username),
                    UserFilter::Emails(emails) => emails.contains(&user.email),
                    UserFilter::UserIds(ids) => ids.contains(&user.user_id),
                    UserFilter::Name(name) => format!("{} {}", user.first_name, user.last_name)
                        .eq_ignore_ascii_case(name.trim()),
                    UserFilter::Group(group) => members
                        .get(group)
                        .is_some_and(|ids| ids.contains(&user.user_id)),
                }
            })
            .map(Self::user)
            .collect())
    }
}

impl connectors::ams::AmsGroups for FakeAms {
    async fn group_names(&self) -> Result<Vec<String>, Error> {
        self.calls.borrow_mut().push("listgroups");
        Ok(self.groups.borrow().keys().cloned().collect())
    }
}

impl connectors::ams::AmsPeople for FakeAms {
    async fn people(&self, ids: &[i64]) -> Result<Vec<connectors::ams::Person>, Error> {
        self.calls.borrow_mut().push("person/get");
        let people = self.people.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| people.get(id))
            .map(|p| connectors::ams::Person::from_fields(p.clone()))
            .collect())
    }

    async fn save(
        &self,
        person: &connectors::ams::Person,
    ) -> Result<connectors::ams::Person, Error> {
        self.calls.borrow_mut().push("person/save");
        let mut record = person.fields().clone();
        let username = Self::text(&record, "username");
        if let Some(message) = self.refuse_saves.borrow().get(&username) {
            return Err(Error::Api {
                service: connectors::ams::SERVICE,
                operation: "person/save".into(),
                code: 200,
                message_code: None,
                message: message.clone(),
            });
        }
        let password = record.remove("password");
        let id = match person.id() {
            Some(id) if self.people.borrow().contains_key(&id) => id,
            Some(id) => {
                return Err(Error::NotFound {
                    what: format!("person {id}"),
                })
            }
            None => {
                let duplicate = self.people.borrow().values().any(|p| {
                    Self::text(p, "username").eq_ignore_ascii_case(&username)
                        || Self::text(p, "emailAddress")
                            .eq_ignore_ascii_case(&Self::text(&record, "emailAddress"))
                });
                if duplicate {
                    return Err(Error::AlreadyExists {
                        what: format!("a user with the username '{username}'"),
                    });
                }
                let id = 1000 + self.people.borrow().len() as i64;
                if let Some(Value::String(password)) = password {
                    self.passwords.borrow_mut().insert(id, password);
                }
                id
            }
        };
        record.insert("id".into(), json!(id));
        self.people.borrow_mut().insert(id, record.clone());
        Ok(connectors::ams::Person::from_fields(record))
    }
}
