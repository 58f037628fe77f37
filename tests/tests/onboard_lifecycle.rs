//! End-to-end member lifecycle from `inbox/arcgis/` files with an `action`
//! column: the real onboard handler with the real S3, SES and Secrets
//! Manager adapters against moto, and the real ArcGIS client against the
//! sandbox portal. Every test asserts what an admin would see: the org
//! afterwards (members, their items, folders and groups), the CSV, the
//! report and the mail.

use export::ExportFunction;
use lambda_runtime::{Context, LambdaEvent};
use rollcall_tests::export_world::ExportWorld;
use rollcall_tests::sandbox::{ItemView, MemberView, SandboxConfig, SeedMember};
use rollcall_tests::world::{InBucket, World};
use serde_json::json;

const KEY: &str = "inbox/arcgis/leavers and changes.csv";
const OLD_GROUP: &str = "00000000000000000000000000000a01";
const NEW_GROUP: &str = "00000000000000000000000000000a02";
const DAN_GROUP: &str = "00000000000000000000000000000a03";

/// An Online org with a receiver of content, and a member for each action:
/// Ann (changed), Bob (disabled), Cara (disabled, enabled), Dan (owns two
/// items, one in a folder, and a group; deleted), Eve (asks nothing new).
async fn world() -> World {
    let world = World::new(SandboxConfig::online()).await;
    let sandbox = &world.sandbox;
    sandbox.add_group(OLD_GROUP, "Old Team");
    sandbox.add_group(NEW_GROUP, "New Team");
    sandbox.add_member(SeedMember::new("keeper.owner").role("org_publisher"));
    sandbox.add_member(SeedMember::new("ann.update").groups(&[OLD_GROUP]));
    sandbox.add_member(SeedMember::new("bob.disable"));
    sandbox.add_member(SeedMember::new("cara.enable").disabled(true));
    sandbox.add_member(SeedMember::new("dan.delete"));
    sandbox.add_member(SeedMember::new("eve.same").groups(&[NEW_GROUP]));
    sandbox.add_item("dan.delete", None, "Roads", "Web Map");
    sandbox.add_item(
        "dan.delete",
        Some("Projects"),
        "Hydrants",
        "Feature Service",
    );
    sandbox.add_group_owned_by(DAN_GROUP, "Dan's Crew", "dan.delete");
    world
}

const EVERY_ACTION: &str = "\
username,action,password,firstname,lastname,email,user type,role,credit allocation,groups,leave_groups,reassign_to
new.member1,,Welcome-2026!,New,Member,new.member1@example.org,Creator,User,,,,
ann.update,update,,,Updated,ann.new@example.org,Viewer,Viewer,250,00000000000000000000000000000a02,00000000000000000000000000000a01,
bob.disable,disable,,,,,,,,,,
cara.enable,Enable,,,,,,,,,,
dan.delete,delete,,,,,,,,,,keeper.owner
eve.same,update,,Eve,Same,,,User,,00000000000000000000000000000a02,00000000000000000000000000000a01,
";

#[tokio::test]
async fn one_file_with_every_action_leaves_the_org_as_it_says() {
    // GIVEN the org and a file with one row per action
    let world = world().await;
    world.drop_csv(KEY, EVERY_ACTION).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN each member is as its row says
    let sandbox = &world.sandbox;
    let new = sandbox.member("new.member1").expect("created");
    assert_eq!(
        (new.role.as_str(), new.user_type.as_str()),
        ("org_user", "creatorUT")
    );
    let ann = sandbox.member("ann.update").expect("ann stays");
    assert_eq!(
        (
            ann.first_name.as_str(),
            ann.last_name.as_str(),
            ann.email.as_str()
        ),
        ("Ann", "Updated", "ann.new@example.org")
    );
    assert_eq!(
        (ann.role_id.as_deref(), ann.user_type.as_str()),
        (Some("iAAAAAAAAAAAAAAA"), "viewerUT"),
        "a Creator with the User role becomes a Viewer: the role goes first"
    );
    assert_eq!(ann.credits, Some(250.0));
    assert_eq!(ann.groups, [NEW_GROUP]);
    assert!(sandbox.member("bob.disable").unwrap().disabled);
    assert!(!sandbox.member("cara.enable").unwrap().disabled);
    assert!(sandbox.member("dan.delete").is_none(), "dan is deleted");
    let eve = sandbox.member("eve.same").unwrap();
    assert_eq!(eve.groups, [NEW_GROUP]);

    // AND the receiver owns every item Dan had, in a folder named after him,
    // and Dan's group
    assert_eq!(
        items(&world, "keeper.owner"),
        [
            "Roads (Web Map) in dan.delete",
            "Hydrants (Feature Service) in dan.delete"
        ]
    );
    assert!(items(&world, "dan.delete").is_empty());
    assert_eq!(sandbox.folders_of("keeper.owner"), ["dan.delete"]);
    assert_eq!(
        sandbox.group_owner(DAN_GROUP).as_deref(),
        Some("keeper.owner")
    );

    // AND every row finished, so only the header is left
    assert_eq!(
        world.text(KEY).await.unwrap(),
        "username,action,password,firstname,lastname,email,user type,role,credit allocation,groups,leave_groups,reassign_to,error\n"
    );

    // AND the report says what each row did
    let report = world
        .text_at(response.report.as_deref().expect("a report"))
        .await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,new.member1,created,,created
3,ann.update,updated,,\"changed lastname, email, credits (250), user type (Creator → Viewer), role (User → Viewer), left 00000000000000000000000000000a01, joined 00000000000000000000000000000a02\"
4,bob.disable,disabled,,disabled
5,cara.enable,enabled,,enabled
6,dan.delete,deleted,,\"deleted; moved 2 items (\"\"Roads\"\" (Web Map), \"\"Hydrants\"\" (Feature Service)) and 1 group (\"\"Dan's Crew\"\") to keeper.owner (items in folder \"\"dan.delete\"\")\"
7,eve.same,unchanged,,nothing to change
"
    );
    assert!(!report.contains("Welcome-2026!"));

    // AND the admins' mail counts the outcomes and names who was deleted
    // and disabled
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        mail.subject,
        format!("rollcall onboard: 1 created, 0 invited, 0 existing, 1 updated, 1 unchanged, 1 disabled, 1 enabled, 1 deleted, 0 failed, 0 skipped ({KEY})")
    );
    let shown = rollcall_tests::mail::cells(&mail.body);
    for part in [
        "|1 created, 1 updated, 1 unchanged, 1 disabled, 1 enabled, 1 deleted|",
        "|Updated|1|Unchanged|1|Disabled|1|Enabled|1|Deleted|1|",
        "|Members deleted|Username|What happened|dan.delete|deleted; moved 2 items",
        "|Members disabled|Username|What happened|bob.disable|disabled|",
    ] {
        assert!(shown.contains(part), "{part:?} in:\n{shown}");
    }
}

/// Every member but the signed-in account (whose sign-ins change its
/// last login), as the sandbox holds them.
fn members_but_the_caller(world: &World) -> Vec<MemberView> {
    let caller = world.sandbox.admin_username().to_string();
    world
        .sandbox
        .members()
        .into_iter()
        .filter(|m| m.username != caller)
        .collect()
}

/// `owner`'s items as `title (type) in folder` (or `at the root`).
fn items(world: &World, owner: &str) -> Vec<String> {
    world
        .sandbox
        .items_of(owner)
        .into_iter()
        .map(
            |ItemView {
                 title,
                 item_type,
                 folder,
                 ..
             }| match folder {
                Some(folder) => format!("{title} ({item_type}) in {folder}"),
                None => format!("{title} ({item_type}) at the root"),
            },
        )
        .collect()
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_says_what_would_move() {
    // GIVEN the org and the same file under the dry-run prefix
    let world = world().await;
    let key = "inbox/arcgis/dry-run/leavers and changes.csv";
    world.drop_csv(key, EVERY_ACTION).await;
    let before = members_but_the_caller(&world);
    let handler = world.handler(world.config()).await;
    world.sandbox.reset_calls();

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN the org is exactly as it was: members, items, groups
    assert_eq!(members_but_the_caller(&world), before);
    assert_eq!(
        items(&world, "dan.delete"),
        [
            "Roads (Web Map) at the root",
            "Hydrants (Feature Service) in Projects"
        ]
    );
    assert_eq!(
        world.sandbox.group_owner(DAN_GROUP).as_deref(),
        Some("dan.delete")
    );
    let calls = world.sandbox.calls();
    for write in [
        "invite",
        "updateUser",
        "updateUserRole",
        "updateUserLicenseType",
        "assignUserCredits",
        "disableUsers",
        "enableUsers",
        "reassignItem",
        "reassignGroup",
        "deleteUser",
        "addUsers",
        "removeUsers",
    ] {
        assert_eq!(calls.count(write), 0, "{write} in a dry run");
    }

    // AND the file is left as it was, and the report says what each row
    // would do, naming what would move
    assert_eq!(world.text(key).await.unwrap(), EVERY_ACTION);
    let report = world
        .text_at(response.report.as_deref().expect("a report"))
        .await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,new.member1,planned,,would create the account
3,ann.update,planned,,\"would change lastname, email, credits (250), user type (Creator → Viewer), role (User → Viewer), leave 00000000000000000000000000000a01, join 00000000000000000000000000000a02\"
4,bob.disable,planned,,would disable the member
5,cara.enable,planned,,would enable the member
6,dan.delete,planned,,\"would move 2 items into keeper.owner's folder \"\"dan.delete\"\" and give 1 group to keeper.owner, then delete the member; owns 2 items (\"\"Roads\"\" (Web Map), \"\"Hydrants\"\" (Feature Service)) and 1 group (\"\"Dan's Crew\"\")\"
7,eve.same,unchanged,,nothing to change
"
    );
}

#[tokio::test]
async fn a_member_who_owns_content_is_not_deleted_without_reassign_to() {
    // GIVEN Dan, who owns two items and a group, and a delete row without a receiver
    let world = world().await;
    let file = "username,action,reassign_to\ndan.delete,delete,\nbob.disable,delete,\n";
    world.drop_csv(KEY, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN Dan and all he owns stay; Bob, who owns nothing, is deleted
    assert!(world.sandbox.member("dan.delete").is_some());
    assert_eq!(items(&world, "dan.delete").len(), 2);
    assert_eq!(
        world.sandbox.group_owner(DAN_GROUP).as_deref(),
        Some("dan.delete")
    );
    assert!(world.sandbox.member("bob.disable").is_none());
    assert_eq!(world.sandbox.calls().count("deleteUser"), 1);

    // AND Dan's row stays in the file, saying what is in the way
    let reason = "\"not deleted: owns 2 items (\"\"Roads\"\" (Web Map), \"\"Hydrants\"\" (Feature Service)) and 1 group (\"\"Dan's Crew\"\"), which are in the way; give reassign_to to move them\"";
    assert_eq!(
        world.text(KEY).await.unwrap(),
        format!("username,action,reassign_to,error\ndan.delete,delete,,{reason}\n")
    );
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "line,username,outcome,groups_added,reason\n2,dan.delete,failed,,{reason}\n3,bob.disable,deleted,,deleted (owned no items or groups)\n"
        )
    );
}

#[tokio::test]
async fn the_signed_in_account_an_admin_and_a_protected_member_are_refused() {
    // GIVEN an administrator, a protected member, and rows that would
    // disable the signed-in account, delete the administrator, demote the
    // protected member — and rename the administrator, which is allowed
    let world = world().await;
    world
        .sandbox
        .add_member(SeedMember::new("boss.admin").role("org_admin"));
    world.sandbox.add_member(SeedMember::new("vip.member"));
    let header = "username,action,lastname,role,reassign_to\n";
    let refused =
        "rollcall_admin,disable,,,\nboss.admin,delete,,,keeper.owner\nvip.member,update,,Viewer,\n";
    world.drop_csv(KEY, &format!("{header}{refused}")).await;
    let mut config = world.config();
    config.protected_users = vec!["VIP.Member".into()];
    let handler = world.handler(config).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN nobody is disabled, deleted or demoted
    assert!(!world.sandbox.member("rollcall_admin").unwrap().disabled);
    assert_eq!(
        world.sandbox.member("boss.admin").unwrap().role,
        "org_admin"
    );
    let vip = world.sandbox.member("vip.member").unwrap();
    assert_eq!(
        (vip.role.as_str(), vip.role_id.as_deref()),
        ("org_user", None)
    );
    let calls = world.sandbox.calls();
    for write in [
        "disableUsers",
        "deleteUser",
        "updateUserRole",
        "reassignItem",
    ] {
        assert_eq!(calls.count(write), 0, "{write}");
    }
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,rollcall_admin,failed,,\"refused: rollcall_admin is the signed-in account; a file never disables it (its names, email and groups may be updated)\"
3,boss.admin,failed,,\"refused: boss.admin is an org administrator; a file never deletes it (its names, email and groups may be updated)\"
4,vip.member,failed,,\"refused: vip.member is in PROTECTED_USERS; a file never changes its role or user type (its names, email and groups may be updated)\"
"
    );

    // AND an administrator's name may still change
    world
        .drop_csv(KEY, &format!("{header}boss.admin,update,Renamed,,\n"))
        .await;
    handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");
    let boss = world.sandbox.member("boss.admin").unwrap();
    assert_eq!(
        (boss.last_name.as_str(), boss.role.as_str()),
        ("Renamed", "org_admin")
    );
    assert_eq!(
        world.text(KEY).await.unwrap(),
        "username,action,lastname,role,reassign_to,error\n"
    );
}

#[tokio::test]
async fn more_deletes_than_the_cap_delete_nobody() {
    // GIVEN three delete rows, a limit of two, and a disable in the same file
    let world = world().await;
    world.sandbox.add_member(SeedMember::new("fay.leaver"));
    world.sandbox.add_member(SeedMember::new("gus.leaver"));
    world.sandbox.add_member(SeedMember::new("hal.leaver"));
    let file = "username,action\nfay.leaver,delete\ngus.leaver,delete\nhal.leaver,delete\nbob.disable,disable\n";
    world.drop_csv(KEY, file).await;
    let mut config = world.config();
    config.max_deletes_per_run = 2;
    let handler = world.handler(config).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN no one is deleted, the disable is done, and each delete row says why
    for name in ["fay.leaver", "gus.leaver", "hal.leaver"] {
        assert!(world.sandbox.member(name).is_some(), "{name} kept");
    }
    assert_eq!(world.sandbox.calls().count("deleteUser"), 0);
    assert!(world.sandbox.member("bob.disable").unwrap().disabled);
    let why = "not deleted: the file asks for 3 deletes, more than MAX_DELETES_PER_RUN (2), so none was done; split the file or raise the limit";
    assert_eq!(
        world.text(KEY).await.unwrap(),
        format!("username,action,error\nfay.leaver,delete,\"{why}\"\ngus.leaver,delete,\"{why}\"\nhal.leaver,delete,\"{why}\"\n")
    );
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(
        report.ends_with("5,bob.disable,disabled,,disabled\n"),
        "{report}"
    );
}

#[tokio::test]
async fn a_receiver_who_cannot_own_content_stops_the_delete_before_anything_moves() {
    // GIVEN a Viewer named as the receiver, and one named who is not a member
    let world = world().await;
    world.sandbox.add_member(
        SeedMember::new("vera.viewer")
            .user_type("viewerUT")
            .role("iAAAAAAAAAAAAAAA"),
    );
    world.sandbox.add_member(SeedMember::new("ida.leaver"));
    world
        .sandbox
        .add_item("ida.leaver", None, "Parcels", "Web Map");
    let file = "username,action,reassign_to\ndan.delete,delete,vera.viewer\nida.leaver,delete,nobody.here\n";
    world.drop_csv(KEY, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN nothing moved and nobody was deleted
    assert_eq!(items(&world, "dan.delete").len(), 2);
    assert_eq!(items(&world, "ida.leaver").len(), 1);
    let calls = world.sandbox.calls();
    assert_eq!(calls.count("reassignItem") + calls.count("deleteUser"), 0);
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,dan.delete,failed,,reassign_to: vera.viewer cannot own content (user type viewerUT)
3,ida.leaver,failed,,\"reassign_to: no member \"\"nobody.here\"\" in this organisation\"
"
    );
}

#[tokio::test]
async fn an_export_edited_into_an_update_file_changes_only_what_was_edited() {
    // GIVEN an org whose members the export function writes out, one of
    // them with names a spreadsheet would take for formulas
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let sandbox = &w.world.sandbox;
    sandbox.add_group(NEW_GROUP, "New Team");
    sandbox.add_member(SeedMember::new("ann.field").groups(&[NEW_GROUP]));
    sandbox.add_member(SeedMember::new("bob.seasonal"));
    sandbox.add_member(SeedMember {
        first_name: "=Calc".into(),
        last_name: "-Dash, Jr.".into(),
        ..SeedMember::new("dan.formula")
            .user_type("viewerUT")
            .role("iAAAAAAAAAAAAAAA")
    });
    let exporter = w.handler(w.config()).await;
    let exported = exporter
        .handle(LambdaEvent::new(
            json!({"source": "arcgis", "what": "users"}),
            Context::default(),
        ))
        .await
        .expect("the export");
    let exported = serde_json::to_value(exported).unwrap();
    let csv = w.world.text_at(exported["uri"].as_str().unwrap()).await;

    // WHEN an admin adds an action column, makes Ann a Viewer, disables Bob,
    // leaves every other value as exported, and uploads it
    let edited: String = csv
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let (username, rest) = line.split_once(',').unwrap();
            let action = match (i, username) {
                (0, _) => "action",
                (_, "bob.seasonal") => "disable",
                _ => "update",
            };
            let rest = if username == "ann.field" {
                rest.replacen("creatorUT,org_user", "viewerUT,iAAAAAAAAAAAAAAA", 1)
            } else {
                rest.to_string()
            };
            format!("{username},{action},{rest}\n")
        })
        .collect();
    assert!(
        edited.contains("'=Calc"),
        "the export guarded the formula: {edited}"
    );
    let key = "inbox/arcgis/from the export.csv";
    w.world.drop_csv(key, &edited).await;
    let handler = w.world.handler(w.world.config()).await;
    let response = handler
        .handle(w.world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN only Ann and Bob changed; Dan's names are as they were, guard and all undone
    let ann = sandbox.member("ann.field").unwrap();
    assert_eq!(
        (ann.user_type.as_str(), ann.role_id.as_deref()),
        ("viewerUT", Some("iAAAAAAAAAAAAAAA"))
    );
    assert!(sandbox.member("bob.seasonal").unwrap().disabled);
    let dan = sandbox.member("dan.formula").unwrap();
    assert_eq!(
        (dan.first_name.as_str(), dan.last_name.as_str()),
        ("=Calc", "-Dash, Jr.")
    );
    let report = w.world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,username,outcome,groups_added,reason
2,ann.field,updated,,\"changed user type (Creator → Viewer), role (User → Viewer)\"
3,bob.seasonal,disabled,,disabled
4,dan.formula,unchanged,,nothing to change
5,rollcall_admin,unchanged,,nothing to change
"
    );
    let writes = ["updateUser", "assignUserCredits", "addUsers", "removeUsers"];
    for write in writes {
        assert_eq!(sandbox.calls().count(write), 0, "{write}");
    }

    // AND the mail says the export's own columns changed nothing
    let mails = w.world.moto.sent_mails_to(&w.world.admin_email).await;
    assert!(
        mails[0].body.contains("the columns last_login, created, disabled describe members as an export found them; they change nothing (use the action column)"),
        "{}",
        mails[0].body
    );
}

#[tokio::test]
async fn a_user_type_the_portal_refuses_leaves_the_member_as_it_was_with_the_portals_reason() {
    // GIVEN a Creator who owns an item, which a Viewer may not
    let world = world().await;
    world.sandbox.add_member(SeedMember::new("pia.owner"));
    world.sandbox.add_item("pia.owner", None, "Survey", "Form");
    let file =
        "username,action,user type,role,lastname\npia.owner,update,Viewer,Viewer,Owner-Smith\n";
    world.drop_csv(KEY, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN the name changed, but the type did not, and the role given
    // first for it was put back
    let pia = world.sandbox.member("pia.owner").unwrap();
    assert_eq!(
        (
            pia.last_name.as_str(),
            pia.user_type.as_str(),
            pia.role.as_str(),
            pia.role_id.as_deref()
        ),
        ("Owner-Smith", "creatorUT", "org_user", None)
    );
    assert_eq!(
        world.sandbox.calls().count("updateUserRole"),
        2,
        "given, then put back"
    );
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report.lines().nth(1).unwrap(),
        "2,pia.owner,failed,,changed lastname; not changed: user type (Creator → Viewer) (pia.owner owns 1 item(s) and 0 group(s); the user type viewerUT cannot own content.); role (User → Viewer) (not kept: the user type it goes with was refused)",
        "the portal's reason, word for word"
    );
    // AND the row stays in the file; a second run writes only what still differs
    assert!(world.text(KEY).await.unwrap().starts_with("username,action,user type,role,lastname,error\npia.owner,update,Viewer,Viewer,Owner-Smith,"));
    world.sandbox.reset_calls();
    handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the second run");
    assert_eq!(
        world.sandbox.calls().count("updateUser"),
        0,
        "the name is already right"
    );
}
