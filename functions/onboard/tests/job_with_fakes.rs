//! Job logic with in-memory fakes of the ports: the cases the sandbox does
//! not make easy to stage (a group refusing a member, a batch refused whole,
//! a permission failure). End-to-end tests against moto and the sandbox live
//! in the `tests/` crate.

use std::cell::RefCell;
use std::collections::HashMap;

use aws_lambda_events::s3::S3Event;
use connectors::arcgis::{
    ArcgisDirectory, EnterpriseMember, Group, Invitation, Portal, PortalKind, Role, User,
    UserDefaults, UserPage, UserType, UsernameAvailability,
};
use connectors::mail::{Mail, Mailer};
use connectors::store::{NewObject, ObjectStore, StoredObject};
use connectors::Error;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use onboard::{Handler, OnboardConfig, Outcome};

#[derive(Default)]
struct FakeStore {
    objects: RefCell<HashMap<String, (Vec<u8>, String)>>,
}

impl FakeStore {
    fn with(key: &str, body: &str) -> Self {
        let store = Self::default();
        store
            .objects
            .borrow_mut()
            .insert(key.into(), (body.as_bytes().to_vec(), "\"v1\"".into()));
        store
    }

    fn text(&self, key: &str) -> String {
        String::from_utf8(self.objects.borrow()[key].0.clone()).unwrap()
    }
}

impl ObjectStore for FakeStore {
    async fn get(&self, _bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        Ok(self
            .objects
            .borrow()
            .get(key)
            .map(|(body, etag)| StoredObject {
                body: body.clone(),
                etag: etag.clone(),
                metadata: HashMap::new(),
                version_id: None,
            }))
    }

    async fn put(&self, object: NewObject) -> Result<(), Error> {
        let mut objects = self.objects.borrow_mut();
        if let Some(expected) = &object.if_match {
            if objects.get(&object.key).map(|(_, etag)| etag) != Some(expected) {
                return Err(Error::PreconditionFailed {
                    bucket: object.bucket,
                    key: object.key,
                });
            }
        }
        objects.insert(object.key, (object.body, "\"v2\"".into()));
        Ok(())
    }
}

#[derive(Default)]
struct FakeMailer {
    sent: RefCell<Vec<Mail>>,
}

impl Mailer for FakeMailer {
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        self.sent.borrow_mut().push(mail.clone());
        Ok("id".into())
    }
}

/// An Online org that knows one group and refuses what it is told to.
#[derive(Default)]
struct FakeOrg {
    not_added: Vec<String>,
    refuse_invites: bool,
    deny_portal: bool,
    invited: RefCell<Vec<String>>,
}

impl ArcgisDirectory for FakeOrg {
    async fn portal(&self) -> Result<Portal, Error> {
        if self.deny_portal {
            return Err(Error::Permission {
                service: "ArcGIS",
                operation: "portals/self".into(),
                message: "You do not have permissions".into(),
            });
        }
        Ok(Portal {
            id: "org1".into(),
            name: "Org".into(),
            kind: PortalKind::Online,
            default_credits: None,
            caller: None,
        })
    }
    async fn roles(&self) -> Result<Vec<Role>, Error> {
        Ok(vec![])
    }
    async fn user_types(&self) -> Result<Vec<UserType>, Error> {
        Ok(vec![UserType {
            id: "creatorUT".into(),
            name: "Creator".into(),
        }])
    }
    async fn user_defaults(&self) -> Result<UserDefaults, Error> {
        Ok(UserDefaults::default())
    }
    async fn group(&self, id: &str) -> Result<Option<Group>, Error> {
        Ok((id == "g1").then(|| Group {
            id: id.into(),
            title: "G1".into(),
        }))
    }
    async fn user(&self, _username: &str) -> Result<Option<User>, Error> {
        Ok(None)
    }
    async fn check_usernames(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, UsernameAvailability)>, Error> {
        Ok(names
            .iter()
            .map(|n| (n.clone(), UsernameAvailability::Available))
            .collect())
    }
    async fn invite(&self, invitations: &[Invitation]) -> Result<Vec<String>, Error> {
        if self.refuse_invites {
            return Err(Error::Api {
                service: "ArcGIS",
                operation: "portals/self/invite".into(),
                code: 400,
                message_code: None,
                message: "Unable to invite users.".into(),
            });
        }
        self.invited
            .borrow_mut()
            .extend(invitations.iter().map(|i| i.username.clone()));
        Ok(vec![])
    }
    async fn create_enterprise_member(&self, _member: &EnterpriseMember) -> Result<(), Error> {
        unreachable!("an Online org")
    }
    async fn add_to_group(
        &self,
        _group_id: &str,
        usernames: &[String],
    ) -> Result<Vec<String>, Error> {
        Ok(usernames
            .iter()
            .filter(|u| self.not_added.contains(u))
            .cloned()
            .collect())
    }
    async fn users_page(&self, _start: u64, _num: u64) -> Result<UserPage, Error> {
        Ok(UserPage::default())
    }
}

const KEY: &str = "inbox/arcgis/f.csv";
const FILE: &str = "username,firstname,lastname,email,groups\nfirst.member,A,One,a@example.org,g1\nsecond.member,B,Two,b@example.org,g1\n";

fn event() -> LambdaEvent<S3Event> {
    let event = serde_json::json!({"Records": [{
        "eventTime": "2026-11-22T00:00:00Z", "userIdentity": {}, "requestParameters": {},
        "s3": {"bucket": {"name": "b"}, "object": {"key": "inbox/arcgis/f.csv"}}}]});
    LambdaEvent::new(serde_json::from_value(event).unwrap(), Context::default())
}

fn handler(org: FakeOrg) -> Handler<FakeStore, FakeMailer, FakeOrg> {
    let config = OnboardConfig {
        mail_from: "from@example.org".into(),
        admin_emails: vec!["admins@example.org".into()],
        ..OnboardConfig::default()
    };
    Handler {
        store: FakeStore::with(KEY, FILE),
        mailer: FakeMailer::default(),
        arcgis: org,
        config,
    }
}

#[tokio::test]
async fn a_member_the_group_refuses_stays_in_the_file_as_failed() {
    let handler = handler(FakeOrg {
        not_added: vec!["second.member".into()],
        ..FakeOrg::default()
    });
    let response = handler.handle(event()).await.unwrap();
    let rows = &response.files[0].rows;
    assert_eq!(rows[0].outcome, Outcome::Invited);
    assert_eq!(rows[1].outcome, Outcome::Failed);
    assert_eq!(
        rows[1].reason,
        "invited, but not added to group g1 (the portal listed the member in notAdded)"
    );
    assert!(rows[1].groups_added.is_empty());
    assert_eq!(
        handler.store.text(KEY),
        "username,firstname,lastname,email,groups,error\n\
         second.member,B,Two,b@example.org,g1,\"invited, but not added to group g1 (the portal listed the member in notAdded)\"\n"
    );
}

#[tokio::test]
async fn a_refused_invite_batch_fails_its_rows_and_keeps_them() {
    let handler = handler(FakeOrg {
        refuse_invites: true,
        ..FakeOrg::default()
    });
    let response = handler.handle(event()).await.unwrap();
    assert_eq!(response.counts.failed, 2);
    let csv = handler.store.text(KEY);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains(
            "not created: ArcGIS portals/self/invite failed (400): Unable to invite users."
        ),
        "{csv}"
    );
}

#[tokio::test]
async fn a_permission_failure_fails_the_invocation_and_leaves_the_file() {
    let handler = handler(FakeOrg {
        deny_portal: true,
        ..FakeOrg::default()
    });
    let error = handler.handle(event()).await.unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "PermissionDenied");
    assert!(
        diagnostic
            .error_message
            .contains("s3://b/inbox/arcgis/f.csv"),
        "{}",
        diagnostic.error_message
    );
    assert_eq!(handler.store.text(KEY), FILE);
    assert!(handler.mailer.sent.borrow().is_empty());
    assert!(handler.arcgis.invited.borrow().is_empty());
}
