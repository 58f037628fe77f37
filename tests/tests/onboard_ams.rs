//! End-to-end AMS files: the real onboard handler with the real S3, SES and
//! Secrets Manager adapters against moto, and the real AMS client against
//! the sandbox site. Every test asserts what an admin would see: the
//! accounts on the site, the CSV after the run, the report, the mail.

use std::collections::BTreeMap;
use std::time::Duration;

use connectors::inbox::Outcome;
use rollcall_tests::ams_world::AmsWorld;
use rollcall_tests::sandbox::{AmsConfig, SeedPerson};
use rollcall_tests::world::InBucket;
use serde_json::Value;

/// A site holding Riley (with a uuid) and Sam.
async fn site() -> (AmsWorld, i64, i64) {
    let world = AmsWorld::new(AmsConfig::new()).await;
    let riley = world.sandbox.add_person(
        SeedPerson::new("riley.example")
            .email("riley@example.org")
            .dob("01/12/1990")
            .sex("female")
            .uuid("rx-1")
            .known_as("Ry")
            .middle_names("Jo"),
    );
    let sam = world
        .sandbox
        .add_person(SeedPerson::new("sam.sample").email("sam@example.org"));
    (world, riley, sam)
}

/// Every account's record by username, without the save time.
fn accounts(world: &AmsWorld) -> BTreeMap<String, Value> {
    world
        .sandbox
        .people()
        .into_iter()
        .map(|mut p| {
            p.as_object_mut().unwrap().remove("__mtime__");
            (p["username"].as_str().unwrap().to_string(), p)
        })
        .collect()
}

/// The fields whose values differ between two records.
fn changed(before: &Value, after: &Value) -> Vec<String> {
    let (before, after) = (before.as_object().unwrap(), after.as_object().unwrap());
    let mut keys: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

const CREATE: &str = "\
first_name,last_name,username,email,dob,password,active,sex,known_as
Ahmed,Khan,ahmed.khan,ahmed@example.org,1994-07-30,Welcome-2026!,true,male,Ace
Riley,Again,riley.example,riley2@example.org,1990-12-01,Other-Pass1!,true,,
Bea,López,bea.lopez,bea.example.org,2001-02-03,Welcome-2026!,yes,,
Cal,Date,cal.date,cal@example.org,31/02/2001,Welcome-2026!,no,,
Dee,Flag,dee.flag,dee@example.org,2001-02-03,Welcome-2026!,maybe,,
Ahmed,Twice,AHMED.KHAN,ahmed2@example.org,1994-07-30,Welcome-2026!,true,,
Eve,Nopass,eve.nopass,eve@example.org,24/03/2004,,1,female,
";

#[tokio::test]
async fn a_create_file_makes_the_good_rows_and_keeps_the_bad_with_their_reasons() {
    // GIVEN a site and a mixed create file dropped into the AMS inbox
    let (world, riley, _) = site().await;
    let before = accounts(&world);
    let key = "inbox/ams/new athletes.csv";
    world.drop_csv(key, CREATE).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the site holds exactly one new account, with what its row asked for
    let after = accounts(&world);
    let mut new: Vec<&String> = after.keys().filter(|u| !before.contains_key(*u)).collect();
    new.sort();
    assert_eq!(new, ["ahmed.khan"]);
    let ahmed = &after["ahmed.khan"];
    assert_eq!(ahmed["firstName"], "Ahmed");
    assert_eq!(ahmed["lastName"], "Khan");
    assert_eq!(ahmed["emailAddress"], "ahmed@example.org");
    assert_eq!(ahmed["dateOfBirth"], "30/07/1994");
    assert_eq!(ahmed["active"], true);
    assert_eq!(ahmed["sex"], "0");
    assert_eq!(ahmed["knownAs"], "Ace");
    assert_eq!(ahmed["language"], "English");
    assert_eq!(ahmed["ownerId"], world.sandbox.admin_id());
    assert_eq!(
        world.sandbox.password_of("ahmed.khan").as_deref(),
        Some("Welcome-2026!")
    );
    // AND the existing account is exactly as it was
    assert_eq!(after["riley.example"], before["riley.example"]);

    // AND the CSV keeps the header and only the failed rows, with their reasons
    let ahmed_id = ahmed["id"].as_i64().unwrap();
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
first_name,last_name,username,email,dob,password,active,sex,known_as,error
Bea,López,bea.lopez,bea.example.org,2001-02-03,Welcome-2026!,yes,,,\"email: \"\"bea.example.org\"\" is not a valid address\"
Cal,Date,cal.date,cal@example.org,31/02/2001,Welcome-2026!,no,,,\"dob: \"\"31/02/2001\"\" is not a date (write YYYY-MM-DD or DD/MM/YYYY)\"
Dee,Flag,dee.flag,dee@example.org,2001-02-03,Welcome-2026!,maybe,,,\"active: \"\"maybe\"\" is not true/false, yes/no or 1/0\"
Ahmed,Twice,AHMED.KHAN,ahmed2@example.org,1994-07-30,Welcome-2026!,true,,,\"username: \"\"AHMED.KHAN\"\" is a duplicate of line 2\"
Eve,Nopass,eve.nopass,eve@example.org,24/03/2004,,1,female,,password: is required to create an account
"
    );

    // AND the report has every row, the account ids and no password
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "\
line,action,username,user_id,key,outcome,reason
2,create,ahmed.khan,{ahmed_id},,created,created
3,create,riley.example,{riley},,exists,\"an account with username \"\"riley.example\"\" already exists (user_id {riley}, username riley.example); it was left unchanged\"
4,,bea.lopez,,,failed,\"email: \"\"bea.example.org\"\" is not a valid address\"
5,,cal.date,,,failed,\"dob: \"\"31/02/2001\"\" is not a date (write YYYY-MM-DD or DD/MM/YYYY)\"
6,,dee.flag,,,failed,\"active: \"\"maybe\"\" is not true/false, yes/no or 1/0\"
7,,AHMED.KHAN,,,failed,\"username: \"\"AHMED.KHAN\"\" is a duplicate of line 2\"
8,,eve.nopass,,,failed,password: is required to create an account
"
        )
    );
    assert!(!report.contains("Welcome-2026!") && !report.contains("Other-Pass1!"));

    // AND the admins get one summary, without a password
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].subject,
        "rollcall onboard: 1 created, 1 existing, 0 updated, 0 unchanged, 5 failed, 0 skipped (inbox/ams/new athletes.csv)"
    );
    assert!(!mails[0].body.contains("Welcome-2026!"));
    assert!(mails[0].body.contains("bea.lopez"), "{}", mails[0].body);

    // AND dropping the same file again duplicates nothing
    let saves = world.sandbox.saves();
    world.drop_csv(key, CREATE).await;
    let again = handler.handle(world.s3_event(key)).await.unwrap();
    assert_eq!(again.counts.get(Outcome::Exists), 2);
    assert_eq!(again.counts.get(Outcome::Created), 0);
    assert_eq!(world.sandbox.saves(), saves);
    assert_eq!(accounts(&world), after);
}

#[tokio::test]
async fn an_update_file_changes_exactly_the_fields_its_rows_give() {
    // GIVEN a site and a mixed update file
    let (world, riley, sam) = site().await;
    let alex = world.sandbox.add_person(SeedPerson::new("alex.jones"));
    let twin_a = world
        .sandbox
        .add_person(SeedPerson::new("twin.one").uuid("shared"));
    let twin_b = world
        .sandbox
        .add_person(SeedPerson::new("twin.two").uuid("shared"));
    let before = accounts(&world);
    let key = "inbox/ams/updates.csv";
    let file = format!(
        "\
action,user_id,uuid,username,email,last_name,dob,active,password,known_as,clear
update,{riley},,riley.ex,,,,false,,,middle_names
update,,,sam.sample,,Sample-Smith,24/03/2004,,New-Pass-1!,,
update,,,,alex.jones@example.com,,,,,,
update,,shared,,,Twin,,,,,
update,,,nobody.here,,X,,,,,
update,,,alex.jones,sam@example.org,,,,,,
update,{alex},,,,,,,,Al,known_as
"
    );
    world.drop_csv(key, &file).await;
    let handler = world.handler(world.config()).await;

    // WHEN the S3 event arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN exactly the fields the good rows give changed, on exactly their accounts
    let after = accounts(&world);
    assert_eq!(
        changed(&before["riley.example"], &after["riley.ex"]),
        ["active", "middleNames", "username"]
    );
    assert_eq!(after["riley.ex"]["id"], riley);
    assert_eq!(
        changed(&before["sam.sample"], &after["sam.sample"]),
        ["dateOfBirth", "lastName"]
    );
    assert_eq!(after["sam.sample"]["dateOfBirth"], "24/03/2004");
    assert_eq!(world.sandbox.password_of("sam.sample"), None, "not applied");
    for unchanged in ["alex.jones", "twin.one", "twin.two"] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    assert_eq!(after.len(), before.len());

    // AND the CSV keeps only the failed rows
    assert_eq!(
        world.text(key).await.unwrap(),
        format!(
            "\
action,user_id,uuid,username,email,last_name,dob,active,password,known_as,clear,error
update,,shared,,,Twin,,,,,,\"uuid: uuid \"\"shared\"\" matches 2 accounts (user_id {twin_a}, {twin_b}); key the row by user_id\"
update,,,nobody.here,,X,,,,,,\"username: no account has username \"\"nobody.here\"\"\"
update,,,alex.jones,sam@example.org,,,,,,,\"email: \"\"sam@example.org\"\" belongs to another account (user_id {sam})\"
update,{alex},,,,,,,,Al,known_as,clear: known_as has a value in this row and is listed to be cleared
"
        )
    );

    // AND the report names each row's key and what it did
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "\
line,action,username,user_id,key,outcome,reason
2,update,riley.ex,{riley},user_id,updated,\"changed username, active, middle_names\"
3,update,sam.sample,{sam},username,updated,\"changed last_name, dob; password not changed: AMS ignores passwords on existing accounts\"
4,update,alex.jones,{alex},email,unchanged,nothing to change
5,update,,,uuid,failed,\"uuid: uuid \"\"shared\"\" matches 2 accounts (user_id {twin_a}, {twin_b}); key the row by user_id\"
6,update,nobody.here,,username,failed,\"username: no account has username \"\"nobody.here\"\"\"
7,update,alex.jones,{alex},username,failed,\"email: \"\"sam@example.org\"\" belongs to another account (user_id {sam})\"
8,update,,,,failed,clear: known_as has a value in this row and is listed to be cleared
"
        )
    );
    assert!(!report.contains("New-Pass-1!"));
    assert_eq!(
        serde_json::to_value(&response.counts).unwrap(),
        serde_json::json!({"created": 0, "exists": 0, "updated": 2, "unchanged": 1, "failed": 4, "skipped": 0, "planned": 0})
    );
}

#[tokio::test]
async fn a_session_that_expires_mid_run_is_survived_with_one_new_login() {
    // GIVEN forty new accounts, and a site whose sessions all end once the
    // third of them is saved
    let world = AmsWorld::new(AmsConfig::new()).await;
    world.sandbox.set_latency(Duration::from_millis(15));
    let mut file = String::from("first_name,last_name,username,email,dob,password,active\n");
    for i in 0..40 {
        file.push_str(&format!(
            "New,Member{i:02},new.member{i:02},new{i:02}@example.org,2000-01-01,Welcome-2026!,true\n"
        ));
    }
    let key = "inbox/ams/forty.csv";
    world.drop_csv(key, &file).await;
    let handler = world.handler(world.config()).await;
    let sandbox = &world.sandbox;
    let expire = async {
        while sandbox.saves() < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        sandbox.expire_sessions();
    };

    // WHEN the file runs while the sessions end
    let (response, ()) = tokio::join!(handler.handle(world.s3_event(key)), expire);

    // THEN every account was created once, after exactly one new login
    let response = response.unwrap();
    assert_eq!(response.counts.get(Outcome::Created), 40);
    let calls = world.sandbox.calls();
    assert_eq!(calls.count("user/loginUser"), 2, "{calls:?}");
    assert!(calls.unauthorized_count("person/save") >= 1, "{calls:?}");
    assert_eq!(world.sandbox.saves(), 40);
    for i in 0..40 {
        assert!(world.sandbox.person(&format!("new.member{i:02}")).is_some());
    }
    assert_eq!(
        world.text(key).await.unwrap(),
        "first_name,last_name,username,email,dob,password,active,error\n"
    );
}

#[tokio::test]
async fn a_dry_run_plans_every_row_and_changes_nothing() {
    // GIVEN a file with a create and an update under the dry-run folder
    let (world, riley, _) = site().await;
    let before = accounts(&world);
    let key = "inbox/ams/dry-run/try.csv";
    let file = format!(
        "\
action,user_id,first_name,last_name,username,email,dob,password,active
,,New,Person,new.person,new@example.org,2000-01-01,Welcome-2026!,true
update,{riley},,Changed,,,,,
create,,Riley,Example,riley.example,riley@example.org,1990-12-01,Other-Pass1!,true
"
    );
    world.drop_csv(key, &file).await;
    let handler = world.handler(world.config()).await;

    // WHEN it runs
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN nothing changed anywhere but the report
    assert_eq!(accounts(&world), before);
    assert_eq!(world.sandbox.saves(), 0);
    assert_eq!(world.sandbox.calls().count("person/save"), 0);
    assert_eq!(world.text(key).await.unwrap(), file);
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "\
line,action,username,user_id,key,outcome,reason
2,create,new.person,,,planned,would create the account
3,update,riley.example,{riley},user_id,planned,would change last_name
4,create,riley.example,{riley},,planned,\"an account with username \"\"riley.example\"\" already exists (user_id {riley}, username riley.example); it was left unchanged; nothing would be saved\"
"
        )
    );
    assert!(response.files[0].dry_run);
}
