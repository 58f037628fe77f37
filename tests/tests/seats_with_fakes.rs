//! Onboarding's licence check with an in-memory org: rows beyond the free
//! licences of their user type fail before anything is created, in live and
//! dry runs, and the summary says what is left or why nothing was checked.
//! No moto, no sandbox.

use std::collections::BTreeMap;

use connectors::arcgis::{ArcgisSettings, User};
use connectors::config::{Common, MailSettings};
use connectors::inbox::Outcome;
use onboard::{Handler, OnboardConfig, Systems};
use rollcall_tests::fakes::{s3_event, FakeAms, FakeMailer, FakeOrg, FakeStore, SeatsFault};

const ADMINS: &str = "admins@example.org";
const KEY: &str = "inbox/arcgis/starters.csv";

/// One existing Creator, then four new Creators (one by the org's default
/// type), one new Viewer.
const FILE: &str = "\
username,firstname,lastname,email,user type
old.creator,Old,Creator,old@example.org,Creator
new.one,Nia,One,n1@example.org,Creator
new.viewer,Vic,Viewer,v@example.org,Viewer
new.two,Ned,Two,n2@example.org,
new.three,Nat,Three,n3@example.org,creatorUT
new.four,Noa,Four,n4@example.org,Creator
";

fn org(purchased: Option<&[(&str, u64)]>) -> FakeOrg {
    let org = FakeOrg::default();
    org.add_member(User {
        username: "old.creator".into(),
        org_id: Some("fake-org".into()),
        user_license_type_id: Some("creatorUT".into()),
        ..User::default()
    });
    *org.lifecycle.purchased.borrow_mut() = purchased.map(|held| {
        held.iter()
            .map(|(t, n)| ((*t).to_string(), *n))
            .collect::<BTreeMap<_, _>>()
    });
    org
}

fn handler(org: FakeOrg, key: &str) -> Handler<FakeStore, FakeMailer, FakeOrg, FakeAms> {
    let common = Common {
        mail: MailSettings {
            from: "rollcall@example.org".into(),
            admins: vec![ADMINS.into()],
        },
        ..Common::new(false)
    };
    Handler {
        store: FakeStore::with(key, FILE),
        mailer: FakeMailer::default(),
        service: Systems {
            arcgis: Some(org),
            ams: None,
        },
        config: OnboardConfig::new(
            common,
            ArcgisSettings::new("https://fake.example.org/portal", "rollcall/arcgis"),
        ),
    }
}

fn fake(handler: &Handler<FakeStore, FakeMailer, FakeOrg, FakeAms>) -> &FakeOrg {
    handler.service.arcgis.as_ref().unwrap()
}

fn outcomes(response: &connectors::inbox::InboxResponse) -> Vec<(String, Outcome, String)> {
    response.files[0]
        .rows
        .iter()
        .map(|r| (r.subject.clone(), r.result.outcome, r.result.reason.clone()))
        .collect()
}

fn row(username: &str, outcome: Outcome, reason: &str) -> (String, Outcome, String) {
    (username.into(), outcome, reason.into())
}

#[tokio::test]
async fn rows_beyond_the_free_licences_of_their_type_fail_in_file_order() {
    // GIVEN an org holding 3 Creator licences, 1 of them assigned, and 10 Viewer
    let handler = handler(org(Some(&[("creatorUT", 3), ("viewerUT", 10)])), KEY);

    // WHEN a file with four new Creators and one new Viewer arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN the first two new Creators take the free licences, the existing
    // member holds one already, and the last two fail before any write
    assert_eq!(
        outcomes(&response),
        [
            row(
                "old.creator",
                Outcome::Exists,
                "already a member; groups already in place"
            ),
            row(
                "new.one",
                Outcome::Invited,
                "invitation sent to n1@example.org"
            ),
            row(
                "new.viewer",
                Outcome::Invited,
                "invitation sent to v@example.org"
            ),
            row(
                "new.two",
                Outcome::Invited,
                "invitation sent to n2@example.org"
            ),
            row(
                "new.three",
                Outcome::Failed,
                "no Creator licence free (2 of 3)"
            ),
            row(
                "new.four",
                Outcome::Failed,
                "no Creator licence free (2 of 3)"
            ),
        ]
    );
    let org = fake(&handler);
    for absent in ["new.three", "new.four"] {
        assert!(org.member(absent).is_none(), "{absent} must not be created");
    }
    assert_eq!(org.count("invite"), 1);

    // AND they stay in the CSV with their reason
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        "username,firstname,lastname,email,user type,error\n\
         new.three,Nat,Three,n3@example.org,creatorUT,no Creator licence free (2 of 3)\n\
         new.four,Noa,Four,n4@example.org,Creator,no Creator licence free (2 of 3)\n"
    );

    // AND the answer and the mail say what is left, the file's types first
    let note = "Licences free after this run: Creator 0 of 3, Viewer 9 of 10";
    assert_eq!(response.files[0].note.as_deref(), Some(note));
    let mail = &handler.mailer.to(ADMINS)[0];
    assert!(
        mail.text.contains(&format!("Note: {note}\n")),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains("- Line: 6; Username: new.three; Reason: no Creator licence free (2 of 3)\n"),
        "{}",
        mail.text
    );
    // AND the shortage is said before anything else
    assert!(
        mail.text.starts_with(
            "rollcall onboard\n3 invited, 1 existing, 2 failed: see below\n\nNeeds attention:\n! 2 rows failed:"
        ),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains("! Not enough licences: 2 rows failed for want of a free licence."),
        "{}",
        mail.text
    );
    assert_eq!(org.count("seats"), 2, "read before creating and after");
}

#[tokio::test]
async fn a_type_the_portal_lists_no_licences_for_is_not_limited() {
    // GIVEN an org whose purchases name Creator only, with 4 free
    let handler = handler(org(Some(&[("creatorUT", 5)])), KEY);

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN every new member is invited, the Viewer too
    assert_eq!(response.counts.get(Outcome::Invited), 5);
    assert_eq!(response.counts.get(Outcome::Failed), 0);
    assert_eq!(
        response.files[0].note.as_deref(),
        Some("Licences free after this run: Creator 0 of 5")
    );
}

#[tokio::test]
async fn a_portal_that_does_not_say_what_it_holds_is_not_checked() {
    // GIVEN a portal whose licences say nothing (many Enterprise portals)
    let handler = handler(org(None), KEY);

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN every new member is invited and the summary says why nothing was checked
    assert_eq!(response.counts.get(Outcome::Invited), 5);
    let note = "the portal does not say how many licences it holds, so free seats were not checked";
    assert_eq!(response.files[0].note.as_deref(), Some(note));
    let mail = &handler.mailer.to(ADMINS)[0];
    assert!(
        mail.text.contains(&format!("Note: {note}\n")),
        "{}",
        mail.text
    );
    assert_eq!(
        fake(&handler).count("seats"),
        1,
        "not read again after the run"
    );
}

#[tokio::test]
async fn an_account_that_may_not_read_the_licences_onboards_without_the_check() {
    // GIVEN an account the portal will not show its licences
    let org = org(Some(&[("creatorUT", 1)]));
    org.lifecycle.seats_fault.set(Some(SeatsFault::Denied));
    let handler = handler(org, KEY);

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN the file is processed and the note names the refusal
    assert_eq!(response.counts.get(Outcome::Invited), 5);
    assert_eq!(
        response.files[0].note.as_deref(),
        Some(
            "the org's licences could not be read (ArcGIS denied portals/self/purchases: You do \
             not have permissions to access this resource or perform this operation.), so free \
             seats were not checked"
        )
    );
}

#[tokio::test]
async fn a_portal_down_while_reading_the_licences_fails_the_file_untouched() {
    // GIVEN a portal that keeps failing when the licences are read
    let org = org(Some(&[("creatorUT", 10)]));
    org.lifecycle.seats_fault.set(Some(SeatsFault::Unavailable));
    let handler = handler(org, KEY);

    // WHEN the file arrives
    let error = handler.handle(s3_event(KEY)).await.unwrap_err();

    // THEN the invocation fails for the retry, nothing is created or rewritten
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "ServiceUnavailable");
    assert_eq!(handler.store.text(KEY).unwrap(), FILE);
    assert_eq!(fake(&handler).count("invite"), 0);
}

#[tokio::test]
async fn a_dry_run_fails_the_rows_beyond_the_free_licences_and_says_what_is_free_now() {
    // GIVEN the org with 2 free Creator licences, and the file in the dry-run folder
    let key = "inbox/arcgis/dry-run/starters.csv";
    let handler = handler(org(Some(&[("creatorUT", 3), ("viewerUT", 10)])), key);

    // WHEN it arrives
    let response = handler.handle(s3_event(key)).await.unwrap();

    // THEN the plan fails the same rows with the same reason, and changes nothing
    assert_eq!(
        outcomes(&response),
        [
            row(
                "old.creator",
                Outcome::Planned,
                "already a member; nothing to change"
            ),
            row("new.one", Outcome::Planned, "would invite n1@example.org"),
            row("new.viewer", Outcome::Planned, "would invite v@example.org"),
            row("new.two", Outcome::Planned, "would invite n2@example.org"),
            row(
                "new.three",
                Outcome::Failed,
                "no Creator licence free (2 of 3)"
            ),
            row(
                "new.four",
                Outcome::Failed,
                "no Creator licence free (2 of 3)"
            ),
        ]
    );
    assert_eq!(handler.store.text(key).unwrap(), FILE);
    assert_eq!(fake(&handler).count("invite"), 0);
    assert_eq!(
        response.files[0].note.as_deref(),
        Some("Licences free now: Creator 2 of 3, Viewer 10 of 10")
    );
    assert_eq!(fake(&handler).count("seats"), 1);
}

#[tokio::test]
async fn a_file_of_existing_members_reads_no_licences() {
    // GIVEN a file whose only row is an existing member
    let org = org(Some(&[("creatorUT", 1)]));
    let handler = Handler {
        store: FakeStore::with(
            KEY,
            "username,firstname,lastname,email\nold.creator,Old,Creator,old@example.org\n",
        ),
        ..handler(org, KEY)
    };

    // WHEN it arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN nothing is to be created, so the licences are neither read nor mentioned
    assert_eq!(response.counts.get(Outcome::Exists), 1);
    assert_eq!(fake(&handler).count("seats"), 0);
    assert_eq!(response.files[0].note, None);
}
