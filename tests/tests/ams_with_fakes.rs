//! The AMS job's logic with in-memory fakes: what each kind of row becomes
//! and what the site holds afterwards. The end-to-end behaviour against the
//! sandbox is in `onboard_ams.rs`.

use connectors::ams::AmsSettings;
use connectors::config::{Common, MailSettings};
use connectors::inbox::Outcome;
use onboard::{Handler, OnboardConfig, Systems};
use rollcall_tests::fakes::{s3_event, FakeAms, FakeMailer, FakeOrg, FakeStore};
use serde_json::json;

const KEY: &str = "inbox/ams/people.csv";

fn handler(file: &str, site: FakeAms) -> Handler<FakeStore, FakeMailer, FakeOrg, FakeAms> {
    let common = Common {
        mail: MailSettings {
            from: "rollcall@example.org".into(),
            admins: vec!["admins@example.org".into()],
        },
        ..Common::new(false)
    };
    Handler {
        store: FakeStore::with(KEY, file),
        mailer: FakeMailer::default(),
        service: Systems {
            arcgis: None,
            ams: Some(site),
        },
        config: OnboardConfig::for_ams(
            common,
            AmsSettings::new("https://fake.example.org/site", "rollcall/ams"),
        ),
    }
}

fn site(handler: &Handler<FakeStore, FakeMailer, FakeOrg, FakeAms>) -> &FakeAms {
    handler.service.ams.as_ref().unwrap()
}

fn reasons(response: &connectors::inbox::InboxResponse) -> Vec<(Outcome, String)> {
    response.files[0]
        .rows
        .iter()
        .map(|r| (r.result.outcome, r.result.reason.clone()))
        .collect()
}

#[tokio::test]
async fn an_existing_username_or_email_is_exists_and_the_account_is_left_alone() {
    let fake = FakeAms::default();
    fake.add("riley", "Riley", "Example", "riley@example.org");
    let file = "first_name,last_name,username,email,dob,password,active\n\
        Riley,Other,riley,other@example.org,1990-01-01,pw1,true\n\
        Sam,Other,sam,RILEY@example.org,1990-01-01,pw2,true\n\
        New,Person,new.person,new@example.org,02/03/2001,pw3,yes\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [
            (Outcome::Exists, "an account with username \"riley\" already exists (user_id 1000, username riley); it was left unchanged".into()),
            (Outcome::Exists, "an account with email \"RILEY@example.org\" already exists (user_id 1000, username riley); it was left unchanged".into()),
            (Outcome::Created, "created".into()),
        ]
    );
    let site = site(&handler);
    assert_eq!(
        site.count("person/save"),
        1,
        "only the new account is saved"
    );
    let riley = site.record("riley").unwrap();
    assert_eq!(riley["lastName"], "Example");
    let created = site.record("new.person").unwrap();
    assert_eq!(created["dateOfBirth"], "2001-03-02");
    assert_eq!(created["active"], true);
    assert_eq!(site.passwords.borrow()[&1001], "pw3");
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        "first_name,last_name,username,email,dob,password,active,error\n",
        "every row finished: only the header is left"
    );
}

#[tokio::test]
async fn an_update_changes_only_the_fields_given_and_clears_the_ones_listed() {
    let fake = FakeAms::default();
    let id = fake.add("riley", "Riley", "Example", "riley@example.org");
    fake.people
        .borrow_mut()
        .get_mut(&id)
        .unwrap()
        .insert("knownAs".into(), json!("Ry"));
    let file = "action,username,last_name,dob,password,clear\n\
        update,riley,Exemplar,01/12/1990,NewPass1,known_as\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [(
            Outcome::Updated,
            "changed last_name, known_as; password not changed: AMS ignores passwords on existing accounts".into()
        )]
    );
    let record = site(&handler).record("riley").unwrap();
    assert_eq!(record["lastName"], "Exemplar");
    assert_eq!(record["knownAs"], "");
    assert_eq!(
        record["dateOfBirth"], "01/12/1990",
        "the same date: unchanged"
    );
    assert_eq!(record["firstName"], "Riley");
    assert!(!record.contains_key("password"));
    let report = &response.files[0].rows[0].cells;
    assert_eq!(report[..5], ["2", "update", "riley", "1000", "username"]);
}

#[tokio::test]
async fn an_update_that_changes_nothing_makes_no_write() {
    let fake = FakeAms::default();
    fake.add("riley", "Riley", "Example", "riley@example.org");
    let file =
        "action,user_id,first_name,dob,active,sex\nupdate,1000,Riley,1990-12-01,true,unspecified\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [(Outcome::Unchanged, "nothing to change".into())]
    );
    assert_eq!(site(&handler).count("person/save"), 0);
    assert_eq!(
        response.files[0].rows[0].cells[2], "riley",
        "the report names the account a user_id row found"
    );
}

#[tokio::test]
async fn keys_that_match_no_account_or_several_fail_their_rows() {
    let fake = FakeAms::default();
    let first = fake.add("a.one", "A", "One", "a@example.org");
    let second = fake.add("b.two", "B", "Two", "b@example.org");
    for id in [first, second] {
        fake.people
            .borrow_mut()
            .get_mut(&id)
            .unwrap()
            .insert("uuid".into(), json!("shared"));
    }
    let file = "action,uuid,username,first_name\n\
        update,shared,,X\n\
        update,,nobody,X\n\
        update,,a.one,Y\n\
        update,,A.ONE,Z\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [
            (Outcome::Failed, "uuid: uuid \"shared\" matches 2 accounts (user_id 1000, 1001); key the row by user_id".into()),
            (Outcome::Failed, "username: no account has username \"nobody\"".into()),
            (Outcome::Updated, "changed first_name".into()),
            (Outcome::Failed, "username: \"A.ONE\" is a duplicate of line 4".into()),
        ]
    );
}

#[tokio::test]
async fn the_groups_column_is_ignored_and_said_once() {
    let fake = FakeAms::default();
    fake.add("riley", "Riley", "Example", "riley@example.org");
    fake.add("sam", "Sam", "Example", "sam@example.org");
    let file = "action,user_id,username,first_name,groups\n\
        update,1000,riley,Riley,Squad A\n\
        update,1001,sam,Samuel,Squad B\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [
            (
                Outcome::Unchanged,
                "nothing to change; the groups column is ignored: AMS has no call that assigns groups".into()
            ),
            (Outcome::Updated, "changed first_name".into()),
        ]
    );
    assert_eq!(
        response.files[0].note.as_deref(),
        Some("the groups column is ignored: AMS has no call that assigns groups")
    );
}

#[tokio::test]
async fn a_dry_run_folder_plans_and_saves_nothing() {
    let fake = FakeAms::default();
    fake.add("riley", "Riley", "Example", "riley@example.org");
    let key = "inbox/ams/dry-run/people.csv";
    let file = "action,username,first_name,last_name,email,dob,password,active\n\
        ,new.one,New,One,new@example.org,1999-01-01,pw,true\n\
        update,riley,Rye,,,,,\n\
        update,riley2,Rye,,,,,\n";
    let mut handler = handler(file, fake);
    handler.store = FakeStore::with(key, file);
    let response = handler.handle(s3_event(key)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [
            (Outcome::Planned, "would create the account".into()),
            (Outcome::Planned, "would change first_name".into()),
            (
                Outcome::Failed,
                "username: no account has username \"riley2\"".into()
            ),
        ]
    );
    assert_eq!(site(&handler).count("person/save"), 0);
    assert_eq!(
        handler.store.text(key).unwrap(),
        file,
        "a dry run leaves the file"
    );
}

#[tokio::test]
async fn a_refused_save_fails_its_row_with_the_service_message() {
    let fake = FakeAms::default();
    fake.refuse_saves
        .borrow_mut()
        .insert("new.one".into(), "Date of birth is invalid".into());
    let file = "first_name,last_name,username,email,dob,password,active\n\
        New,One,new.one,new@example.org,1999-01-01,pw,true\n";
    let handler = handler(file, fake);
    let response = handler.handle(s3_event(KEY)).await.unwrap();
    assert_eq!(
        reasons(&response),
        [(
            Outcome::Failed,
            "AMS did not create the account: Teamworks AMS person/save failed (200): Date of birth is invalid".into()
        )]
    );
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        "first_name,last_name,username,email,dob,password,active,error\n\
         New,One,new.one,new@example.org,1999-01-01,pw,true,AMS did not create the account: Teamworks AMS person/save failed (200): Date of birth is invalid\n"
    );
}
