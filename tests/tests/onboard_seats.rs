//! Onboarding checks the org's free licences per user type before it creates
//! anyone: the real handler with moto, and the real ArcGIS client against the
//! sandbox portal's purchases, Enterprise `license` and user counts. Each
//! test asserts what an admin sees: the org, the CSV, the report, the mail.

use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::{InBucket, World};

/// An org whose admin and one existing member hold Creator licences.
async fn world(config: SandboxConfig) -> World {
    let world = World::new(config).await;
    world.sandbox.add_member(SeedMember::new("dana.existing"));
    assert_eq!(world.sandbox.assigned_licences("creatorUT"), 2);
    world
}

/// The summary mail's note, as moto keeps it (the HTML body).
fn note_in_mail(note: &str) -> String {
    format!("|Note|{note}|")
}

const STARTERS: &str = "\
username,password,firstname,lastname,email,user type,role
dana.existing,,Dana,Existing,dana@example.org,Creator,User
cara.first_geo,Welcome-2026!,Cara,First,cara@example.org,Creator,Publisher
vic.viewer_geo,,Vic,Viewer,vic@example.org,Viewer,Viewer
carl.second_geo,,Carl,Second,carl@example.org,creatorUT,User
cleo.third_geo,Welcome-2026!,Cleo,Third,cleo@example.org,Creator,User
cody.fourth_geo,,Cody,Fourth,cody@example.org,Creator,User
";

#[tokio::test]
async fn rows_beyond_the_free_creator_licences_fail_and_stay_in_the_file() {
    // GIVEN an Online org holding 4 Creator licences (2 assigned) and 3 Viewer
    let world = world(SandboxConfig::online()).await;
    world
        .sandbox
        .set_purchased_licences(&[("creatorUT", 4), ("viewerUT", 3)]);
    let key = "inbox/arcgis/starters.csv";
    world.drop_csv(key, STARTERS).await;
    let handler = world.handler(world.config()).await;

    // WHEN the file with four new Creators arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN exactly the first two new Creators are in the org, with the Viewer
    let usernames: Vec<String> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| m.username)
        .collect();
    assert_eq!(
        usernames,
        [
            "cara.first_geo",
            "carl.second_geo",
            "dana.existing",
            "rollcall_admin",
            "vic.viewer_geo"
        ]
    );
    assert_eq!(world.sandbox.assigned_licences("creatorUT"), 4);
    assert_eq!(world.sandbox.invitations().len(), 2, "Vic and Carl");

    // AND the rows beyond the free licences stay in the CSV with the reason
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
username,password,firstname,lastname,email,user type,role,error
cleo.third_geo,Welcome-2026!,Cleo,Third,cleo@example.org,Creator,User,no Creator licence free (2 of 4)
cody.fourth_geo,,Cody,Fourth,cody@example.org,Creator,User,no Creator licence free (2 of 4)
"
    );

    // AND the report says the same, row by row
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,dana.existing,exists,,already a member; groups already in place
3,cara.first_geo,created,,created
4,vic.viewer_geo,invited,,invitation sent to vic@example.org
5,carl.second_geo,invited,,invitation sent to carl@example.org
6,cleo.third_geo,failed,,no Creator licence free (2 of 4)
7,cody.fourth_geo,failed,,no Creator licence free (2 of 4)
"
    );

    // AND the answer and the mail show the licences left, the file's types first
    let note = "Licences free after this run: Creator 0 of 4, Viewer 2 of 3";
    assert_eq!(response.files[0].note.as_deref(), Some(note));
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: 1 created, 2 invited, 1 existing, 2 failed, 0 skipped (inbox/arcgis/starters.csv)"
    );
    assert!(
        rollcall_tests::mail::cells(&mails[0].body).contains(&note_in_mail(note)),
        "{}",
        mails[0].body
    );
    assert!(
        rollcall_tests::mail::cells(&mails[0].body)
            .contains("|6|cleo.third_geo|no Creator licence free (2 of 4)|"),
        "{}",
        mails[0].body
    );
    let calls = world.sandbox.calls();
    assert_eq!(calls.count("purchases"), 2, "before and after: {calls:?}");
}

#[tokio::test]
async fn an_enterprise_portal_that_does_not_say_what_it_holds_creates_everyone() {
    // GIVEN an Enterprise portal whose purchases and `license` name no user type
    let world = world(SandboxConfig::enterprise()).await;
    world.sandbox.clear_purchased_licences();
    let key = "inbox/arcgis/enterprise.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email,user type,role\n\
             gil.one,Str0ng-Pass!,Gil,One,gil@example.org,Creator,User\n\
             gus.two,Str0ng-Pass!,Gus,Two,gus@example.org,Creator,User\n\
             gwen.three,Str0ng-Pass!,Gwen,Three,gwen@example.org,Creator,User\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN every row is created
    assert_eq!(
        serde_json::to_value(response.counts).unwrap(),
        serde_json::json!({"created": 3, "invited": 0, "exists": 0, "updated": 0, "unchanged": 0, "disabled": 0, "enabled": 0, "deleted": 0, "failed": 0, "skipped": 0, "planned": 0})
    );
    for username in ["gil.one", "gus.two", "gwen.three"] {
        assert!(world.sandbox.member(username).is_some(), "{username}");
    }
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,password,firstname,lastname,email,user type,role,error\n"
    );

    // AND the answer and the mail say the licences were not checked
    let note = "the portal does not say how many licences it holds, so free seats were not checked";
    assert_eq!(response.files[0].note.as_deref(), Some(note));
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        rollcall_tests::mail::cells(&mails[0].body).contains(&note_in_mail(note)),
        "{}",
        mails[0].body
    );
}

#[tokio::test]
async fn an_enterprise_dry_run_reads_the_licence_and_fails_the_rows_beyond_it() {
    // GIVEN an Enterprise portal whose `license` allows 3 Creators (2 assigned)
    let world = world(SandboxConfig::enterprise()).await;
    world.sandbox.set_purchased_licences(&[("creatorUT", 3)]);
    let key = "inbox/arcgis/dry-run/enterprise.csv";
    let file = "username,password,firstname,lastname,email,user type,role\n\
                gil.one,Str0ng-Pass!,Gil,One,gil@example.org,Creator,User\n\
                vera.viewer,Str0ng-Pass!,Vera,Viewer,vera@example.org,Viewer,Viewer\n\
                gus.two,Str0ng-Pass!,Gus,Two,gus@example.org,Creator,User\n";
    world.drop_csv(key, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the dry run goes through
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the plan fails the second Creator (Viewers are not limited here),
    // and nothing changes
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,gil.one,planned,,would create the account
3,vera.viewer,planned,,would create the account
4,gus.two,failed,,no Creator licence free (1 of 3)
"
    );
    assert!(world.sandbox.member("gil.one").is_none());
    assert_eq!(world.text(key).await.unwrap(), file);
    let note = "Licences free now: Creator 1 of 3";
    assert_eq!(response.files[0].note.as_deref(), Some(note));
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert!(
        rollcall_tests::mail::cells(&mails[0].body).contains(&note_in_mail(note)),
        "{}",
        mails[0].body
    );
}
