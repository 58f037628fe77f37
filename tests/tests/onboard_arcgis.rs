//! End-to-end onboarding: the real handler with the real S3, SES and Secrets
//! Manager adapters against moto, and the real ArcGIS client against the
//! sandbox portal. Every test asserts what an admin would see: members in
//! the org, the CSV after the run, the report, the mail.

use rollcall_tests::sandbox::{PortalMode, SandboxConfig, SeedMember};
use rollcall_tests::world::OnboardWorld;

const FIELD_GROUP: &str = "0f1e1d2c3b4a59687766554433221100";
const STAFF_GROUP: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

/// An org with two groups and one existing member, `dana.existing`.
async fn world(config: SandboxConfig) -> OnboardWorld {
    let world = OnboardWorld::new(config).await;
    world.sandbox.add_group(FIELD_GROUP, "Field Crews");
    world.sandbox.add_group(STAFF_GROUP, "All Staff");
    world
        .sandbox
        .add_member(SeedMember::new("dana.existing").groups(&[STAFF_GROUP]));
    world
}

const MIXED: &str = "\
username,password,firstname,lastname,email,user type,role,credit allocation,groups
ahmed.khan_geo,Welcome-2026!,Ahmed,Khan,ahmed.khan@example.org,Creator,Publisher,500,0f1e1d2c3b4a59687766554433221100
bea.lopez_geo,,Bea,López,bea.lopez@example.org,Viewer,Viewer,,
dana.existing,,Dana,Existing,dana@example.org,Creator,User,,0f1e1d2c3b4a59687766554433221100
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,,
ahmed.khan_geo,,Ahmed,Again,ahmed2@example.org,Creator,User,,
fay.role_geo,,Fay,Role,fay@example.org,Creator,Wizard,,
";

#[tokio::test]
async fn mixed_file_online_creates_invites_and_keeps_failures() {
    // GIVEN an ArcGIS Online org and a mixed file dropped into the inbox
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/new starters.csv";
    world.drop_csv(key, MIXED).await;
    let mut config = world.config();
    config.default_groups = vec![STAFF_GROUP.to_string()];
    let handler = world.handler(config).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.event(key))
        .await
        .expect("the run succeeds");

    // THEN the org holds exactly the new members, with what the rows asked for
    let ahmed = world
        .sandbox
        .member("ahmed.khan_geo")
        .expect("ahmed created");
    assert_eq!(
        (ahmed.role.as_str(), ahmed.user_type.as_str()),
        ("org_publisher", "creatorUT")
    );
    assert_eq!(ahmed.credits, Some(500.0));
    assert!(ahmed.has_password && !ahmed.invited);
    assert_eq!(ahmed.groups, [FIELD_GROUP, STAFF_GROUP]);
    let bea = world.sandbox.member("bea.lopez_geo").expect("bea invited");
    assert_eq!(bea.role_id.as_deref(), Some("iAAAAAAAAAAAAAAA"));
    assert_eq!(bea.user_type, "viewerUT");
    assert_eq!(bea.last_name, "López");
    assert!(bea.invited && !bea.has_password);
    assert_eq!(bea.groups, [STAFF_GROUP]);
    let dana = world
        .sandbox
        .member("dana.existing")
        .expect("dana still there");
    assert_eq!(dana.groups, [FIELD_GROUP, STAFF_GROUP]);
    assert_eq!(
        dana.email, "dana.existing@example.com",
        "an existing member's fields are not overwritten"
    );
    for absent in ["eve.typo_geo", "fay.role_geo"] {
        assert!(
            world.sandbox.member(absent).is_none(),
            "{absent} must not be created"
        );
    }
    let usernames: Vec<String> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| m.username)
        .collect();
    assert_eq!(
        usernames,
        [
            "ahmed.khan_geo",
            "bea.lopez_geo",
            "dana.existing",
            "rollcall_admin"
        ]
    );
    // The group owner (the admin who made it) is a member too.
    assert_eq!(
        world.sandbox.group_members(FIELD_GROUP),
        ["ahmed.khan_geo", "dana.existing", "rollcall_admin"]
    );

    // AND the CSV keeps the header and only the failed rows, with their reasons
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
username,password,firstname,lastname,email,user type,role,credit allocation,groups,error
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,,,\"email: \"\"eve.example.org\"\" is not a valid address\"
ahmed.khan_geo,,Ahmed,Again,ahmed2@example.org,Creator,User,,,\"username: \"\"ahmed.khan_geo\"\" is a duplicate of line 2\"
fay.role_geo,,Fay,Role,fay@example.org,Creator,Wizard,,,\"role: unknown role \"\"Wizard\"\" (use a role id or one of: Administrator, Publisher, User, Viewer, Data Editor)\"
"
    );

    // AND the report has one line per input row, and no password
    let report_uri = response.report.clone().expect("a report");
    assert!(report_uri.starts_with(&format!("s3://{}/reports/onboard/", world.bucket)));
    let report = world.text_at(&report_uri).await;
    assert_eq!(
        report,
        format!(
            "\
line,username,outcome,groups_added,reason
2,ahmed.khan_geo,created,{FIELD_GROUP};{STAFF_GROUP},created
3,bea.lopez_geo,invited,{STAFF_GROUP},invitation sent to bea.lopez@example.org
4,dana.existing,exists,{FIELD_GROUP},already a member; added to the missing groups
5,eve.typo_geo,failed,,\"email: \"\"eve.example.org\"\" is not a valid address\"
6,ahmed.khan_geo,failed,,\"username: \"\"ahmed.khan_geo\"\" is a duplicate of line 2\"
7,fay.role_geo,failed,,\"role: unknown role \"\"Wizard\"\" (use a role id or one of: Administrator, Publisher, User, Viewer, Data Editor)\"
"
        )
    );
    assert!(!report.contains("Welcome-2026!"));

    // AND the summary returned and mailed says the same
    assert_eq!(
        serde_json::to_value(&response.counts).unwrap(),
        serde_json::json!({"created": 1, "invited": 1, "exists": 1, "failed": 3, "skipped": 0, "planned": 0})
    );
    assert!(response.csv_rewritten);
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.source, world.mail_from);
    assert_eq!(
        mail.subject,
        "rollcall onboard: 1 created, 1 invited, 1 existing, 3 failed, 0 skipped (inbox/arcgis/new starters.csv)"
    );
    assert!(mail.body.contains("eve.typo_geo"), "{}", mail.body);
    assert!(mail.body.contains(&report_uri));
    assert!(!mail.body.contains("Welcome-2026!"));
}

#[test]
fn enterprise_mode_is_a_sandbox_mode() {
    assert_ne!(SandboxConfig::enterprise().mode, PortalMode::Online);
}
