//! Onboarding that tells the admin nothing false, leaks nothing, and works
//! the way the real portal answers: one test per point of the
//! trustworthiness issue, against moto and the sandbox portal.

use rollcall_tests::capture::Recorder;

use connectors::inbox::{FileStatus, InboxLimits, Outcome};
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::{InBucket, World};

const GROUP: &str = "0f1e1d2c3b4a59687766554433221100";

async fn world(config: SandboxConfig) -> World {
    let world = World::new(config).await;
    world.sandbox.add_group(GROUP, "Field Crews");
    world
}

#[tokio::test]
async fn a_username_held_in_another_org_is_never_taken_as_an_existing_member() {
    // GIVEN a public account of another org (usernames are global on Online)
    // and an account whose answer carries no orgId
    let world = world(SandboxConfig::online()).await;
    world.sandbox.add_member(
        SeedMember::new("other.org_user").other_org("ffffffffffffffffffffffffffffffff"),
    );
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,firstname,lastname,email,user type,role,groups\n\
             other.org_user,Other,User,other@example.org,Creator,User,0f1e1d2c3b4a59687766554433221100\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the row fails instead of ending as "exists", and nobody was added to the group
    let row = &response.files[0].rows[0];
    assert_eq!(row.result.outcome, Outcome::Failed);
    assert_eq!(
        row.result.reason,
        "username: \"other.org_user\" is taken by an account outside this organisation"
    );
    assert!(!world
        .sandbox
        .group_members(GROUP)
        .contains(&"other.org_user".to_string()));
    assert!(world.text(key).await.unwrap().contains("other.org_user"));
}

#[tokio::test]
async fn an_invite_answer_without_success_true_fails_its_rows() {
    // GIVEN a portal that answers the invite with {"success": false} and no error envelope
    let mut config = SandboxConfig::online();
    config.invite_unsuccessful = true;
    let world = world(config).await;
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,firstname,lastname,email,user type,role\n\
             new.member01,New,Member,new@example.org,Creator,User\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the row failed and stays in the file; nothing says "invited"
    assert_eq!(response.counts.get(Outcome::Invited), 0);
    assert_eq!(response.counts.get(Outcome::Failed), 1);
    let csv = world.text(key).await.unwrap();
    assert!(csv.contains("new.member01"), "{csv}");
    assert!(csv.contains("did not answer success:true"), "{csv}");
}

#[tokio::test]
async fn one_refused_invitation_fails_only_its_row() {
    // GIVEN a portal that refuses a whole invite call for one bad invitation
    // (a password its policy refuses), and a list of four
    let mut config = SandboxConfig::online();
    config.invite_refuses_whole_list = true;
    let world = world(config).await;
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email,user type,role\n\
             good.member1,Good-Pass-2026!,A,One,a1@example.org,Creator,User\n\
             good.member2,,A,Two,a2@example.org,Creator,User\n\
             weak.member3,abc,A,Three,a3@example.org,Creator,User\n\
             good.member4,,A,Four,a4@example.org,Creator,User\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN three are members and only the refused row failed, with the portal's reason
    for name in ["good.member1", "good.member2", "good.member4"] {
        assert!(world.sandbox.member(name).is_some(), "{name}");
    }
    assert!(world.sandbox.member("weak.member3").is_none());
    let failed: Vec<&str> = response.files[0]
        .rows
        .iter()
        .filter(|r| r.result.outcome == Outcome::Failed)
        .map(|r| r.subject.as_str())
        .collect();
    assert_eq!(failed, ["weak.member3"]);
    assert!(world
        .text(key)
        .await
        .unwrap()
        .contains("Unable to invite user 'weak.member3'"));
}

#[tokio::test]
async fn empty_role_and_user_type_take_the_orgs_defaults_or_fail_without_them() {
    // GIVEN an org whose new-member defaults are Viewer / viewerUT and 250 credits
    let mut config = SandboxConfig::online();
    config.default_credits = Some(250.0);
    let world = world(config).await;
    world
        .sandbox
        .set_user_defaults("iAAAAAAAAAAAAAAA", "viewerUT", &[]);
    let key = "inbox/arcgis/f.csv";
    let file = "username,firstname,lastname,email,role,user type,credit allocation\n\
                plain.member1,Plain,One,p1@example.org,,,\n";
    world.drop_csv(key, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN a row leaves role, user type and credits empty
    handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the member has the org's defaults, sent explicitly
    let member = world.sandbox.member("plain.member1").expect("created");
    assert_eq!(member.role_id.as_deref(), Some("iAAAAAAAAAAAAAAA"));
    assert_eq!(member.user_type, "viewerUT");
    assert_eq!(member.credits, Some(250.0));

    // AND WHEN the org has no defaults, such a row fails and says why
    world.sandbox.clear_user_defaults();
    let file = "username,firstname,lastname,email,role,user type\n\
                plain.member2,Plain,Two,p2@example.org,,\n";
    world.drop_csv(key, file).await;
    let response = handler.handle(world.s3_event(key)).await.unwrap();
    assert!(world.sandbox.member("plain.member2").is_none());
    assert_eq!(
        response.files[0].rows[0].result.reason,
        "role: is empty, and the org has no default role for new members; give a role or set the org's new member defaults; \
         user type: is empty, and the org has no default user type for new members; give a user type or set the org's new member defaults"
    );
}

#[tokio::test]
async fn enterprise_before_10_8_takes_its_defaults_from_the_security_config() {
    // GIVEN an Enterprise portal with no userDefaultSettings (before 10.8)
    let mut config = SandboxConfig::enterprise();
    config.before_user_default_settings = true;
    let world = world(config).await;
    world
        .sandbox
        .set_user_defaults("org_publisher", "creatorUT", &[]);
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email\n\
             ent.member01,Ent-Pass-2026!,Ent,Member,ent@example.org\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    handler.handle(world.s3_event(key)).await.unwrap();

    // THEN createUser was sent the defaults it requires
    let member = world.sandbox.member("ent.member01").expect("created");
    assert_eq!(
        (member.role.as_str(), member.user_type.as_str()),
        ("org_publisher", "creatorUT")
    );
    assert_eq!(world.sandbox.calls().count("securityConfig"), 1);
}

#[tokio::test]
async fn enterprise_uses_the_username_create_user_stored() {
    // GIVEN an Enterprise portal and a domain login, which it stores as user@DOMAIN
    let world = world(SandboxConfig::enterprise()).await;
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email,user type,role,groups\n\
             CORP\\jdoe01,Ent-Pass-2026!,Jane,Doe,jdoe@example.org,Creator,User,0f1e1d2c3b4a59687766554433221100\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the group holds the stored name and the report shows it
    assert!(world.sandbox.member("jdoe01@CORP").is_some());
    assert!(world
        .sandbox
        .group_members(GROUP)
        .contains(&"jdoe01@CORP".to_string()));
    let report = world
        .text_at(response.report.as_deref().expect("a report"))
        .await;
    assert!(
        report.contains(&format!("\n2,jdoe01@CORP,created,{GROUP},")),
        "{report}"
    );
}

#[tokio::test]
async fn a_misaligned_row_shows_none_of_its_values() {
    // GIVEN a password with an unquoted comma: every later field shifts
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email,user type,role\n\
             jane.doe_geo,Summer,2024!,Jane,Doe,jane@example.org,Creator,User\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the row fails with its line and the counts only: no part of the
    // password in the report, the mail or the CSV's error column
    let expected = "line 2 has 8 fields but the header has 7 (a comma inside a value needs quotes); no value of it is shown";
    assert_eq!(response.files[0].rows[0].result.reason, expected);
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(
        !report.contains("2024!") && !report.contains("Summer"),
        "{report}"
    );
    assert!(!report.contains("jane.doe_geo"), "{report}");
    let mail = &world.moto.sent_mails_to(&world.admin_email).await[0];
    assert!(!mail.body.contains("2024!"), "{}", mail.body);
    let csv = world.text(key).await.unwrap();
    let error_column = csv.lines().nth(1).unwrap().rsplit(',').next().unwrap();
    assert!(error_column.contains("no value of it is shown"), "{csv}");
    assert!(world.sandbox.member("jane.doe_geo").is_none());
}

#[tokio::test]
async fn a_file_over_max_input_bytes_is_refused_before_it_is_read() {
    // GIVEN a 400-byte file and a limit of 200 bytes
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/big.csv";
    let mut file = String::from("username,firstname,lastname,email\n");
    while file.len() < 400 {
        file.push_str("some.member1,Some,Member,some@example.org\n");
    }
    world.drop_csv(key, &file).await;
    let mut config = world.config();
    config.limits = InboxLimits {
        max_input_bytes: 200,
        ..InboxLimits::default()
    };
    let handler = world.handler(config).await;

    // WHEN it arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN it is left untouched, nobody is created, and the report and the mail say why
    assert_eq!(response.files[0].status, FileStatus::Unusable);
    assert_eq!(world.text(key).await.unwrap(), file);
    assert_eq!(world.sandbox.calls().total, 0, "no portal call at all");
    let size = file.len();
    let why = format!("the file is {size} bytes, more than MAX_INPUT_BYTES allows (200 bytes); split it into smaller files");
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(report.contains(&why), "{report}");
    let mail = &world.moto.sent_mails_to(&world.admin_email).await[0];
    assert!(
        mail.subject.contains("file not processed"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains(&why), "{}", mail.body);
}

#[tokio::test]
async fn no_token_or_password_follows_a_redirect_to_another_host() {
    // GIVEN a second server that records whatever reaches it, and a portal
    // answering every call with 307 to that server
    let other = Recorder::start().await;
    let mut config = SandboxConfig::online();
    config.redirect_to = Some(other.url.clone());
    let world = world(config).await;
    let key = "inbox/arcgis/f.csv";
    world
        .drop_csv(
            key,
            "username,firstname,lastname,email,user type,role\nnew.member01,New,Member,new@example.org,Creator,User\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the file is onboarded
    let error = handler.handle(world.s3_event(key)).await.unwrap_err();

    // THEN the run fails naming the redirect, and the other host saw nothing
    assert!(
        error
            .to_string()
            .contains("redirected the request to another host"),
        "{error}"
    );
    assert_eq!(other.seen(), Vec::<String>::new());
}
