//! End-to-end roles files: the real onboard handler with the real S3, SES
//! and Secrets Manager adapters against moto, and the real ArcGIS client
//! against the sandbox portal. Every test asserts what an admin would see:
//! the org's roles and privileges, the CSV after the run, the report, the
//! mail.

use rollcall_tests::sandbox::{RoleView, SandboxConfig};
use rollcall_tests::world::{InBucket, World};

const KEY: &str = "inbox/arcgis/roles/custom roles.csv";
/// The custom role the org starts with (the sandbox gives it five
/// `portal:user:` privileges).
const FIELD_EDITOR: &str = "fieldEditorRole1";

/// Creates GIS Analyst; changes Field Editor's description and privileges.
const CREATE_AND_UPDATE: &str = "\
name,description,privileges
GIS Analyst,Creates and shares maps with groups,portal:user:createItem;portal:user:shareToGroup;portal:user:joinGroup
Field Editor,Edits field data,features:user:edit;portal:user:viewOrgItems;portal:user:joinGroup
";

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// An ArcGIS Online org with the custom role Field Editor.
async fn world() -> World {
    let world = World::new(SandboxConfig::online()).await;
    world.sandbox.add_role(FIELD_EDITOR, "Field Editor");
    world
}

/// The role writes the portal served: `createRole`, `roles/{id}/update`,
/// `roles/{id}/setPrivileges`.
fn writes(world: &World) -> [u64; 3] {
    let calls = world.sandbox.calls();
    [
        calls.count("createRole"),
        calls.count("updateRole"),
        calls.count("setPrivileges"),
    ]
}

#[tokio::test]
async fn a_roles_file_creates_one_role_and_updates_another() {
    // GIVEN an org with Field Editor, and a file naming it and a new role
    let world = world().await;
    let before = world.sandbox.roles();
    assert_eq!(
        before[2].privileges,
        [
            "portal:user:joinGroup",
            "portal:user:viewOrgGroups",
            "portal:user:viewOrgItems",
            "portal:user:viewOrgUsers",
            "portal:user:createItem"
        ],
        "what Field Editor holds before"
    );
    world.drop_csv(KEY, CREATE_AND_UPDATE).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN the org has exactly: the pre-built roles as they were, Field
    // Editor with the file's description and only its privileges, and GIS
    // Analyst with its own
    let analyst = world
        .sandbox
        .role_named("GIS Analyst")
        .expect("GIS Analyst created");
    assert_eq!(
        world.sandbox.roles(),
        [
            before[0].clone(),
            before[1].clone(),
            RoleView {
                id: FIELD_EDITOR.into(),
                name: "Field Editor".into(),
                description: "Edits field data".into(),
                privileges: strings(&[
                    "features:user:edit",
                    "portal:user:viewOrgItems",
                    "portal:user:joinGroup"
                ]),
            },
            RoleView {
                id: analyst.id.clone(),
                name: "GIS Analyst".into(),
                description: "Creates and shares maps with groups".into(),
                privileges: strings(&[
                    "portal:user:createItem",
                    "portal:user:shareToGroup",
                    "portal:user:joinGroup"
                ]),
            },
        ]
    );
    assert_eq!(writes(&world), [1, 1, 2]);

    // AND every row finished: the CSV keeps only its header
    assert_eq!(
        world.text(KEY).await.unwrap(),
        "name,description,privileges,error\n"
    );

    // AND the report says what each row did, with the role ids
    let report_uri = response.report.clone().expect("a report");
    assert!(report_uri.starts_with(&format!("s3://{}/reports/onboard/", world.bucket)));
    assert_eq!(
        world.text_at(&report_uri).await,
        format!(
            "\
line,name,role_id,outcome,reason
2,GIS Analyst,{},created,created with 3 privileges
3,Field Editor,{FIELD_EDITOR},updated,\"changed description, privileges (added: features:user:edit; removed: portal:user:viewOrgGroups, portal:user:viewOrgUsers, portal:user:createItem)\"
",
            analyst.id
        )
    );

    // AND the answer and the admins' mail say the same
    assert_eq!(
        serde_json::to_value(&response.counts).unwrap(),
        serde_json::json!({"created": 1, "updated": 1, "unchanged": 0, "failed": 0, "skipped": 0, "planned": 0})
    );
    assert!(response.csv_rewritten);
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: 1 created, 1 updated, 0 unchanged, 0 failed, 0 skipped (inbox/arcgis/roles/custom roles.csv)"
    );
    assert!(mails[0].body.contains(&report_uri), "{}", mails[0].body);
}

#[tokio::test]
async fn unknown_privileges_and_built_in_roles_are_refused_before_any_call() {
    // GIVEN a file asking for an unknown privilege and for two built-in roles
    let world = world().await;
    let before = world.sandbox.roles();
    let file = "\
name,description,privileges
Mapper,Makes maps,portal:user:createItem;portal:user:makeCoffee
Viewer,View only,portal:user:viewOrgItems
Publisher,Publishes,portal:publisher:publishFeatures
";
    world.drop_csv(KEY, file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");

    // THEN the portal was asked nothing but the roles, and they are as they were
    assert_eq!(writes(&world), [0, 0, 0]);
    assert_eq!(world.sandbox.roles(), before);

    // AND every row stays in the file with its reason, and the report says the same
    let reasons = [
        "\"privileges: unknown privilege \"\"portal:user:makeCoffee\"\" (privileges look like portal:user:createItem; the README lists them)\"",
        "\"name: \"\"Viewer\"\" is a built-in role (iAAAAAAAAAAAAAAA); built-in roles cannot be changed\"",
        "\"name: \"\"Publisher\"\" is a built-in role (org_publisher); built-in roles cannot be changed\"",
    ];
    assert_eq!(
        world.text(KEY).await.unwrap(),
        format!(
            "\
name,description,privileges,error
Mapper,Makes maps,portal:user:createItem;portal:user:makeCoffee,{}
Viewer,View only,portal:user:viewOrgItems,{}
Publisher,Publishes,portal:publisher:publishFeatures,{}
",
            reasons[0], reasons[1], reasons[2]
        )
    );
    assert_eq!(
        world.text_at(response.report.as_deref().unwrap()).await,
        format!(
            "\
line,name,role_id,outcome,reason
2,Mapper,,failed,{}
3,Viewer,,failed,{}
4,Publisher,,failed,{}
",
            reasons[0], reasons[1], reasons[2]
        )
    );
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: 0 created, 0 updated, 0 unchanged, 3 failed, 0 skipped (inbox/arcgis/roles/custom roles.csv)"
    );
    assert!(
        mails[0].body.contains("portal:user:makeCoffee"),
        "{}",
        mails[0].body
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    // GIVEN the file under the roles dry-run folder
    let world = world().await;
    let before = world.sandbox.roles();
    let dry_key = "inbox/arcgis/roles/dry-run/custom roles.csv";
    world.drop_csv(dry_key, CREATE_AND_UPDATE).await;
    let handler = world.handler(world.config()).await;

    // WHEN its event arrives
    let response = handler
        .handle(world.s3_event(dry_key))
        .await
        .expect("the run succeeds");

    // THEN the org and the file are as they were, and the report plans each row
    assert_eq!(world.sandbox.roles(), before);
    assert_eq!(writes(&world), [0, 0, 0]);
    assert_eq!(world.text(dry_key).await.unwrap(), CREATE_AND_UPDATE);
    let planned = format!(
        "\
line,name,role_id,outcome,reason
2,GIS Analyst,,planned,would create the role with 3 privileges
3,Field Editor,{FIELD_EDITOR},planned,\"would change description, privileges (added: features:user:edit; removed: portal:user:viewOrgGroups, portal:user:viewOrgUsers, portal:user:createItem)\"
"
    );
    assert_eq!(
        world.text_at(response.report.as_deref().unwrap()).await,
        planned
    );
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: dry run: 2 planned, 0 failed (inbox/arcgis/roles/dry-run/custom roles.csv)"
    );

    // AND with DRY_RUN=true the same file in the live folder changes nothing either
    world.drop_csv(KEY, CREATE_AND_UPDATE).await;
    let mut config = world.config();
    config.common.dry_run = true;
    let handler = world.handler(config).await;
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the run succeeds");
    assert_eq!(world.sandbox.roles(), before);
    assert_eq!(writes(&world), [0, 0, 0]);
    assert_eq!(world.text(KEY).await.unwrap(), CREATE_AND_UPDATE);
    assert_eq!(
        world.text_at(response.report.as_deref().unwrap()).await,
        planned
    );
}

#[tokio::test]
async fn running_the_same_file_again_changes_nothing() {
    // GIVEN a roles file that was applied once
    let world = world().await;
    world.drop_csv(KEY, CREATE_AND_UPDATE).await;
    let handler = world.handler(world.config()).await;
    handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the first run succeeds");
    let after_first = world.sandbox.roles();
    world.sandbox.reset_calls();

    // WHEN the same file is uploaded again
    world.drop_csv(KEY, CREATE_AND_UPDATE).await;
    let response = handler
        .handle(world.s3_event(KEY))
        .await
        .expect("the second run succeeds");

    // THEN nothing is written and the roles are as the first run left them
    assert_eq!(writes(&world), [0, 0, 0]);
    assert_eq!(world.sandbox.roles(), after_first);
    let analyst = world.sandbox.role_named("GIS Analyst").unwrap();
    assert_eq!(
        world.text_at(response.report.as_deref().unwrap()).await,
        format!(
            "\
line,name,role_id,outcome,reason
2,GIS Analyst,{},unchanged,already as the file says
3,Field Editor,{FIELD_EDITOR},unchanged,already as the file says
",
            analyst.id
        )
    );
    assert_eq!(
        world.text(KEY).await.unwrap(),
        "name,description,privileges,error\n"
    );
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 2, "one summary per run");
    assert_eq!(
        mails[1].subject,
        "rollcall onboard: 0 created, 0 updated, 2 unchanged, 0 failed, 0 skipped (inbox/arcgis/roles/custom roles.csv)"
    );
}
