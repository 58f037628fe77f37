//! The roles job's logic with in-memory fakes: what each kind of row
//! becomes, what the org's roles are afterwards, and which calls were made.
//! The end-to-end behaviour against moto and the sandbox is in
//! `onboard_roles.rs`.

use connectors::arcgis::{ArcgisSettings, RoleDetail};
use connectors::config::{Common, MailSettings};
use connectors::inbox::{InboxResponse, Outcome};
use onboard::{Handler, OnboardConfig, Systems};
use rollcall_tests::fakes::{s3_event, with_deadline, FakeAms, FakeMailer, FakeOrg, FakeStore};

const KEY: &str = "inbox/arcgis/roles/roles.csv";
const ADMINS: &str = "admins@example.org";

const JOIN: &str = "portal:user:joinGroup";
const CREATE_ITEM: &str = "portal:user:createItem";
const SHARE: &str = "portal:user:shareToGroup";
const EDIT: &str = "features:user:edit";
const VIEW_ITEMS: &str = "portal:user:viewOrgItems";

type FakeHandler = Handler<FakeStore, FakeMailer, FakeOrg, FakeAms>;

fn role(id: &str, name: &str, description: &str, privileges: &[&str]) -> RoleDetail {
    RoleDetail {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        privileges: privileges.iter().map(|p| p.to_string()).collect(),
    }
}

/// What `portals/self/roles` lists in the fake org: Viewer, Data Editor and
/// one custom role, `Field Editor`.
fn org_roles() -> Vec<RoleDetail> {
    vec![
        role("iAAAAAAAAAAAAAAA", "Viewer", "View only", &[VIEW_ITEMS]),
        role("iBBBBBBBBBBBBBBB", "Data Editor", "Edit only", &[EDIT]),
        role("fieldEditor00001", "Field Editor", "Edits", &[EDIT, JOIN]),
    ]
}

fn handler_at(key: &str, file: &str) -> FakeHandler {
    let org = FakeOrg::default();
    *org.lifecycle.roles.borrow_mut() = org_roles();
    let common = Common {
        mail: MailSettings {
            from: "rollcall@example.org".into(),
            admins: vec![ADMINS.into()],
        },
        ..Common::new(false)
    };
    Handler {
        store: FakeStore::with(key, file),
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

fn handler(file: &str) -> FakeHandler {
    handler_at(KEY, file)
}

fn org(handler: &FakeHandler) -> &FakeOrg {
    handler.service.arcgis.as_ref().unwrap()
}

fn roles(handler: &FakeHandler) -> Vec<RoleDetail> {
    org(handler).lifecycle.roles.borrow().clone()
}

/// The writes made, by operation.
fn writes(handler: &FakeHandler) -> [usize; 3] {
    let org = org(handler);
    [
        org.count("create_role"),
        org.count("update_role_description"),
        org.count("set_privileges"),
    ]
}

fn report(handler: &FakeHandler) -> String {
    let keys = handler.store.keys("reports/onboard/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    handler.store.text(&keys[0]).unwrap()
}

fn outcomes(response: &InboxResponse) -> Vec<(Outcome, String)> {
    response.files[0]
        .rows
        .iter()
        .map(|r| (r.result.outcome, r.result.reason.clone()))
        .collect()
}

const CREATE_AND_UPDATE: &str = "\
name,description,privileges
GIS Analyst,Creates and shares content,portal:user:createItem; portal:user:shareToGroup;portal:user:joinGroup
Field Editor,Edits field data,features:user:edit;portal:user:viewOrgItems
";

#[tokio::test]
async fn a_new_role_is_created_and_an_existing_one_is_set_to_exactly_the_file() {
    // GIVEN an org with the custom role Field Editor, and a file naming it and a new role
    let handler = handler(CREATE_AND_UPDATE);

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN the new role exists with its privileges, and Field Editor has exactly the file's
    let mut expected = org_roles();
    expected[2] = role(
        "fieldEditor00001",
        "Field Editor",
        "Edits field data",
        &[EDIT, VIEW_ITEMS],
    );
    expected.push(role(
        "role000000000003",
        "GIS Analyst",
        "Creates and shares content",
        &[CREATE_ITEM, SHARE, JOIN],
    ));
    assert_eq!(roles(&handler), expected);
    assert_eq!(writes(&handler), [1, 1, 2]);
    assert_eq!(org(&handler).count("role_details"), 1, "read once per file");

    // AND the report, the file and the mail say so
    assert_eq!(
        report(&handler),
        "\
line,name,role_id,outcome,reason
2,GIS Analyst,role000000000003,created,created with 3 privileges
3,Field Editor,fieldEditor00001,updated,\"changed description, privileges (added: portal:user:viewOrgItems; removed: portal:user:joinGroup)\"
"
    );
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        "name,description,privileges,error\n",
        "every row finished: only the header is left"
    );
    let mails = handler.mailer.to(ADMINS);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: 1 created, 1 updated, 0 unchanged, 0 failed, 0 skipped (inbox/arcgis/roles/roles.csv)"
    );
    assert_eq!(
        serde_json::to_value(&response.counts).unwrap(),
        serde_json::json!({"created": 1, "updated": 1, "unchanged": 0, "failed": 0, "skipped": 0, "planned": 0})
    );
}

#[tokio::test]
async fn the_same_file_again_changes_nothing() {
    // GIVEN a file that was applied once
    let handler = handler(CREATE_AND_UPDATE);
    handler.handle(s3_event(KEY)).await.unwrap();
    let after_first = roles(&handler);

    // WHEN it is uploaded again
    handler.store.upload(KEY, CREATE_AND_UPDATE);
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN every row is unchanged, and no further write was made
    assert_eq!(
        outcomes(&response),
        [
            (Outcome::Unchanged, "already as the file says".into()),
            (Outcome::Unchanged, "already as the file says".into()),
        ]
    );
    assert_eq!(writes(&handler), [1, 1, 2], "the first run's writes only");
    assert_eq!(roles(&handler), after_first);
}

#[tokio::test]
async fn bad_rows_fail_before_any_call_and_stay_in_the_file_with_their_reason() {
    // GIVEN a file with one good row and every kind of refused row
    let long_name = "N".repeat(129);
    let long_description = "d".repeat(251);
    let file = format!(
        "\
Role Name,Description,Privileges
Reviewer,Reviews content,portal:user:viewOrgItems
Mapper,Makes maps,portal:user:createItem;portal:user:makeCoffee;PORTAL:admin:teleport
Viewer,View only,portal:user:viewOrgItems
administrator,Runs the org,portal:admin:viewUsers
{long_name},Too long,portal:user:joinGroup
Describer,{long_description},portal:user:joinGroup
REVIEWER,Again,portal:user:joinGroup
Empty,No privileges,
"
    );
    let handler = handler(&file);

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN only the good row was written
    assert_eq!(writes(&handler), [1, 0, 1]);
    assert_eq!(
        roles(&handler).last().unwrap(),
        &role(
            "role000000000003",
            "Reviewer",
            "Reviews content",
            &[VIEW_ITEMS]
        )
    );
    let reasons = [
        "\"privileges: unknown privileges \"\"portal:user:makeCoffee\"\", \"\"PORTAL:admin:teleport\"\" (privileges look like portal:user:createItem; the README lists them)\"",
        "\"name: \"\"Viewer\"\" is a built-in role (iAAAAAAAAAAAAAAA); built-in roles cannot be changed\"",
        "\"name: \"\"administrator\"\" is a built-in role (org_admin); built-in roles cannot be changed\"",
        "name: is 129 characters long; ArcGIS allows at most 128",
        "description: is 251 characters long; ArcGIS allows at most 250",
        "\"name: \"\"REVIEWER\"\" is a duplicate of line 2\"",
        "\"privileges: is required: at least one privilege, separated by ;\"",
    ];
    // AND the file keeps every refused row, each with its reason
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        format!(
            "\
Role Name,Description,Privileges,error
Mapper,Makes maps,portal:user:createItem;portal:user:makeCoffee;PORTAL:admin:teleport,{}
Viewer,View only,portal:user:viewOrgItems,{}
administrator,Runs the org,portal:admin:viewUsers,{}
{long_name},Too long,portal:user:joinGroup,{}
Describer,{long_description},portal:user:joinGroup,{}
REVIEWER,Again,portal:user:joinGroup,{}
Empty,No privileges,,{}
",
            reasons[0], reasons[1], reasons[2], reasons[3], reasons[4], reasons[5], reasons[6]
        )
    );
    // AND the report has every row, the role ids of those that have one
    assert_eq!(
        report(&handler),
        format!(
            "\
line,name,role_id,outcome,reason
2,Reviewer,role000000000003,created,created with 1 privilege
3,Mapper,,failed,{}
4,Viewer,,failed,{}
5,administrator,,failed,{}
6,{long_name},,failed,{}
7,Describer,,failed,{}
8,REVIEWER,,failed,{}
9,Empty,,failed,{}
",
            reasons[0], reasons[1], reasons[2], reasons[3], reasons[4], reasons[5], reasons[6]
        )
    );
    assert_eq!(response.counts.get(Outcome::Failed), 7);
    // AND the mail lists the failed rows by name
    let mail = &handler.mailer.to(ADMINS)[0];
    assert!(
        mail.text.contains("Viewer") && mail.text.contains("built-in roles cannot be changed"),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn a_name_matches_ignoring_case_and_takes_the_files_spelling() {
    // GIVEN a row naming Field Editor in other letters, same description and privileges
    let handler = handler("name,description,privileges\nFIELD editor,Edits,features:user:edit;portal:user:joinGroup\n");

    // WHEN the file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN the role is renamed, not duplicated, and its privileges are not rewritten
    assert_eq!(
        outcomes(&response),
        [(
            Outcome::Updated,
            "changed name (was \"Field Editor\")".into()
        )]
    );
    assert_eq!(writes(&handler), [0, 1, 0]);
    assert_eq!(
        roles(&handler)[2],
        role("fieldEditor00001", "FIELD editor", "Edits", &[EDIT, JOIN])
    );
    assert_eq!(roles(&handler).len(), 3);
}

#[tokio::test]
async fn a_dry_run_folder_plans_every_row_and_changes_nothing() {
    // GIVEN the file under the roles dry-run folder
    let key = "inbox/arcgis/roles/dry-run/roles.csv";
    let file = format!("{CREATE_AND_UPDATE}Viewer,View only,portal:user:viewOrgItems\nEditors,Same as before,features:user:edit\n");
    let handler = handler_at(key, &file);
    org(&handler).lifecycle.roles.borrow_mut().push(role(
        "editors000000001",
        "Editors",
        "Same as before",
        &[EDIT],
    ));
    let before = roles(&handler);

    // WHEN it arrives
    let response = handler.handle(s3_event(key)).await.unwrap();

    // THEN each row says what would happen, and nothing changed
    assert_eq!(
        report(&handler),
        "\
line,name,role_id,outcome,reason
2,GIS Analyst,,planned,would create the role with 3 privileges
3,Field Editor,fieldEditor00001,planned,\"would change description, privileges (added: portal:user:viewOrgItems; removed: portal:user:joinGroup)\"
4,Viewer,,failed,\"name: \"\"Viewer\"\" is a built-in role (iAAAAAAAAAAAAAAA); built-in roles cannot be changed\"
5,Editors,editors000000001,planned,nothing to change
"
    );
    assert!(response.files[0].dry_run);
    assert_eq!(roles(&handler), before);
    assert_eq!(writes(&handler), [0, 0, 0]);
    assert_eq!(
        handler.store.text(key).unwrap(),
        file,
        "the file is left as it was"
    );
    assert_eq!(
        handler.mailer.to(ADMINS)[0].subject,
        "rollcall onboard: dry run: 3 planned, 1 failed (inbox/arcgis/roles/dry-run/roles.csv)"
    );
}

#[tokio::test]
async fn privileges_the_portal_refuses_after_the_create_fail_the_row_and_a_rerun_finishes_it() {
    // GIVEN a portal that refuses setPrivileges
    let file = "name,description,privileges\nGIS Analyst,Creates content,portal:user:createItem\n";
    let handler = handler(file);
    *org(&handler).lifecycle.refuse_privileges.borrow_mut() = Some(
        "You do not have permissions to access this resource or perform this operation.".into(),
    );

    // WHEN the file arrives
    handler.handle(s3_event(KEY)).await.unwrap();

    // THEN the role was created, the row failed saying what is missing, and it stays in the file
    let reason = "\"created the role, but its privileges were not set: ArcGIS roles/setPrivileges failed (400): You do not have permissions to access this resource or perform this operation.; run the file again to set them\"";
    assert_eq!(
        report(&handler),
        format!(
            "line,name,role_id,outcome,reason\n2,GIS Analyst,role000000000003,failed,{reason}\n"
        )
    );
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        format!("name,description,privileges,error\nGIS Analyst,Creates content,portal:user:createItem,{reason}\n")
    );

    // WHEN the portal accepts again and the rewritten file is run from the console
    *org(&handler).lifecycle.refuse_privileges.borrow_mut() = None;
    let response = handler
        .handle(rollcall_tests::fakes::console(KEY, false))
        .await
        .unwrap();

    // THEN the same role gets its privileges; no second role is created
    assert_eq!(
        outcomes(&response),
        [(
            Outcome::Updated,
            "changed privileges (added: portal:user:createItem)".into()
        )]
    );
    assert_eq!(org(&handler).count("create_role"), 1);
    assert_eq!(
        roles(&handler)[3],
        role(
            "role000000000003",
            "GIS Analyst",
            "Creates content",
            &[CREATE_ITEM]
        )
    );
}

#[tokio::test]
async fn rows_not_reached_before_the_deadline_continue_in_a_roles_link() {
    // GIVEN an invocation whose deadline is already inside the margin
    let handler = handler(CREATE_AND_UPDATE);
    let margin = handler.config.common.deadline_margin.as_millis() as i64;

    // WHEN the file arrives
    let response = handler
        .handle(with_deadline(s3_event(KEY), margin - 1_000))
        .await
        .unwrap();

    // THEN nothing was written and both rows wait in link 2, under the
    // roles inbox, so its event comes back to the roles job
    assert_eq!(writes(&handler), [0, 0, 0]);
    assert_eq!(response.counts.get(Outcome::Skipped), 2);
    let job = response.files[0].job.clone().unwrap();
    let link = format!("inbox/arcgis/roles/continue/{job}/2.csv");
    assert_eq!(
        handler.store.text(&link).unwrap(),
        "\
name,description,privileges,error
GIS Analyst,Creates and shares content,portal:user:createItem; portal:user:shareToGroup;portal:user:joinGroup,
Field Editor,Edits field data,features:user:edit;portal:user:viewOrgItems,
"
    );
    assert_eq!(
        handler.store.text(KEY).unwrap(),
        "name,description,privileges,error\n"
    );

    // AND its event creates and updates the roles
    let next = handler.handle(s3_event(&link)).await.unwrap();
    assert_eq!(next.counts.get(Outcome::Skipped), 0, "{:?}", next.counts);
    assert_eq!(writes(&handler), [1, 1, 2], "as a run with time would");
}

#[tokio::test]
async fn a_deployment_without_arcgis_leaves_a_roles_file_alone() {
    // GIVEN an AMS-only deployment
    let mut handler = handler(CREATE_AND_UPDATE);
    handler.config.arcgis = None;

    // WHEN a roles file arrives
    let response = handler.handle(s3_event(KEY)).await.unwrap();

    // THEN it is untouched and the answer says why
    assert_eq!(
        response.files[0].note.as_deref(),
        Some("ARCGIS_URL is not set in this deployment, so this file was left untouched")
    );
    assert_eq!(handler.store.text(KEY).unwrap(), CREATE_AND_UPDATE);
    assert_eq!(org(&handler).count("role_details"), 0);
}

#[test]
fn the_readme_lists_every_privilege_a_roles_file_may_hold() {
    // A refused privilege's reason sends the admin to the README's list.
    let readme = include_str!("../../README.md");
    let section = readme
        .split("**Privileges a roles file may list**")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's roles section lists the privileges");
    let listed = section.matches("`").count() / 2;
    for privilege in connectors::arcgis::privileges::PRIVILEGES {
        assert!(
            section.contains(&format!("`{privilege}`")),
            "the README does not list {privilege}"
        );
    }
    assert_eq!(
        listed,
        connectors::arcgis::privileges::PRIVILEGES.len() + 1,
        "the list holds the catalogue and `RoleManager`, nothing else"
    );
}
