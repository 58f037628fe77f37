//! The export function end to end for Teamworks AMS: the real handler with
//! the real AMS client against the AMS sandbox and the real S3 adapter
//! against moto. What is asserted is the CSV an admin downloads.

use connectors::error::Classified;
use connectors::store::WRITTEN_BY_METADATA;
use export::ExportFunction;
use lambda_runtime::{Context, LambdaEvent};
use rollcall_tests::export_world::{ExportHandler, ExportWorld};
use rollcall_tests::sandbox::{SandboxConfig, SeedPerson};
use rollcall_tests::world::InBucket;
use serde_json::{json, Value};

/// Ids of the seeded people.
struct People {
    api: i64,
    riley: i64,
    sam: i64,
    tom: i64,
}

/// Three people besides the API account, with every kind of value a users
/// export writes, in three groups (one empty, one with a coach).
async fn seeded() -> (ExportWorld, ExportHandler, People) {
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let site = &w.ams.sandbox;
    let riley = site.add_person(
        SeedPerson::new("riley.example")
            .email("r.example@example.com")
            .dob("01/12/1990")
            .uuid("new123")
            .known_as("Ri")
            .middle_names("Jo Ann")
            .sex("0")
            .sidebar_width("400"),
    );
    let sam = site.add_person(
        SeedPerson::new("sam.inactive")
            .dob("31/01/2001")
            .active(false)
            .sex("FEMALE"),
    );
    let tom = site.add_person(
        SeedPerson::new("tom.formula")
            .first_name("=1+1")
            .last_name("@home")
            .known_as("+plus")
            .middle_names("-")
            .sidebar_width(""),
    );
    site.add_group("Squad A", &[riley]);
    site.add_coaches("Squad A", &[sam]);
    site.add_coaches("Staff", &[sam]);
    site.add_group("Empty Group", &[]);
    let handler = w.handler(w.config()).await;
    let people = People {
        api: site.admin_id(),
        riley,
        sam,
        tom,
    };
    (w, handler, people)
}

/// Runs an export; returns its result as JSON and the CSV written.
async fn export(w: &ExportWorld, handler: &ExportHandler, payload: Value) -> (Value, String) {
    let result = handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
        .expect("the export");
    let result = serde_json::to_value(result).unwrap();
    let csv = w.world.text_at(result["uri"].as_str().unwrap()).await;
    (result, csv)
}

const HEADER: &str = "user_id,first_name,last_name,username,email,dob,active,uuid,known_as,middle_names,language,sidebar_width,sex,groups\n";

/// The expected rows, by person.
fn rows(p: &People) -> [String; 4] {
    [
        format!("{},Rollcall,API,rollcall.api,rollcall.api@example.com,1990-01-01,true,,,,English,250px,UNSPECIFIED,\n", p.api),
        format!("{},Riley,Example,riley.example,r.example@example.com,1990-12-01,true,new123,Ri,Jo Ann,English,400,MALE,Squad A\n", p.riley),
        format!("{},Sam,Inactive,sam.inactive,sam.inactive@example.com,2001-01-31,false,,,,English,250px,FEMALE,Squad A;Staff\n", p.sam),
        format!("{},'=1+1,'@home,tom.formula,tom.formula@example.com,2000-01-01,true,,'+plus,'-,English,,UNSPECIFIED,\n", p.tom),
    ]
}

#[tokio::test]
async fn a_users_export_is_every_account_with_its_record_and_groups() {
    // GIVEN the seeded site
    let (w, handler, people) = seeded().await;

    // WHEN the users are exported
    let (result, csv) = export(&w, &handler, json!({"source": "ams", "what": "users"})).await;

    // THEN every account is a row: dates as yyyy-mm-dd, active and the
    // settings from the person record, sex by name, groups by name, free
    // text neutralised for spreadsheets, and no password column
    let [api, riley, sam, tom] = rows(&people);
    assert_eq!(csv, format!("{HEADER}{api}{riley}{sam}{tom}"));
    let uri = result["uri"].as_str().unwrap();
    assert_eq!(
        result,
        json!({"uri": uri, "rows": 4, "source": "ams", "what": "users"})
    );
    let key = uri
        .strip_prefix(&format!("s3://{}/exports/ams-users-", w.world.bucket))
        .unwrap_or_else(|| panic!("{uri}"));
    assert!(
        key.ends_with("Z.csv") && key.len() == "20261202T153000Z.csv".len(),
        "{uri}"
    );
    let key = format!("exports/ams-users-{key}");
    let (_, metadata, _) = w
        .world
        .moto
        .get_object(&w.world.bucket, &key)
        .await
        .unwrap();
    assert_eq!(metadata[WRITTEN_BY_METADATA], "export");
    // AND the person records were read in one batch
    assert_eq!(w.ams.sandbox.calls().count("person/get"), 1);
}

#[tokio::test]
async fn each_filter_keeps_the_users_it_names() {
    // GIVEN the seeded site
    let (w, handler, people) = seeded().await;
    let [_, riley, sam, tom] = rows(&people);
    let cases = [
        (json!({"username": "riley.example"}), vec![riley.clone()]),
        (
            json!({"email": "tom.formula@example.com"}),
            vec![tom.clone()],
        ),
        (
            json!({"group": "Squad A"}),
            vec![riley.clone(), sam.clone()],
        ),
        (json!({"group": "Staff"}), vec![sam.clone()]),
        (json!({"group": "Empty Group"}), vec![]),
        (
            json!({"group": "Staff", "username": "sam.inactive"}),
            vec![sam.clone()],
        ),
        (
            json!({"group": "Staff", "username": "riley.example"}),
            vec![],
        ),
        (json!({"username": "nobody.here"}), vec![]),
    ];
    for (filter, expected) in cases {
        // WHEN the users are exported with the filter
        let (result, csv) = export(
            &w,
            &handler,
            json!({"source": "ams", "what": "users", "filter": filter}),
        )
        .await;

        // THEN the CSV holds exactly those users' rows
        assert_eq!(csv, format!("{HEADER}{}", expected.concat()), "{filter}");
        assert_eq!(result["rows"], expected.len(), "{filter}");
    }
}

#[tokio::test]
async fn a_group_the_site_does_not_have_is_refused_and_writes_nothing() {
    // GIVEN the seeded site
    let (w, handler, _) = seeded().await;

    // WHEN a group it does not have, or an ArcGIS filter key, is asked for
    let run = |filter: Value| {
        let handler = &handler;
        async move {
            let payload = json!({"source": "ams", "what": "users", "filter": filter});
            handler
                .handle(LambdaEvent::new(payload, Context::default()))
                .await
                .unwrap_err()
        }
    };
    let group = run(json!({"group": "Squad Z"})).await;
    let key = run(json!({"disabled": true})).await;

    // THEN each is an invalid event naming the key, and nothing is written
    assert_eq!(
        group.to_string(),
        "filter group: the site has no group named \"Squad Z\""
    );
    assert_eq!(
        key.to_string(),
        "the event is not an export event: filter key \"disabled\" is not an AMS filter (use username, email, group)"
    );
    for error in [&group, &key] {
        assert_eq!(error.kind().error_type(), "InvalidEvent");
    }
    assert!(w.world.moto.list_keys(&w.world.bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_groups_export_lists_each_group_by_name_with_its_member_count() {
    // GIVEN the seeded site
    let (w, handler, _) = seeded().await;

    // WHEN the groups are exported
    let (result, csv) = export(&w, &handler, json!({"source": "ams", "what": "groups"})).await;

    // THEN every group is a row by name, athletes and coaches counted
    assert_eq!(
        csv,
        "name,member_count\nEmpty Group,0\nSquad A,2\nStaff,1\n"
    );
    assert_eq!(result["rows"], 3);
    assert!(result["uri"]
        .as_str()
        .unwrap()
        .contains("/exports/ams-groups-"));
}

#[tokio::test]
async fn person_records_are_read_a_batch_at_a_time() {
    // GIVEN 450 generated people besides the API account
    let w = ExportWorld::new(SandboxConfig::online()).await;
    let ids = w.ams.sandbox.generate_people(450, 3);
    let handler = w.handler(w.config()).await;

    // WHEN the users are exported
    let (result, csv) = export(&w, &handler, json!({"source": "ams", "what": "users"})).await;

    // THEN every account is a row, in id order, its record read in batches of 200
    assert_eq!(result["rows"], 451);
    let listed: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let mut expected = vec![w.ams.sandbox.admin_id()];
    expected.extend(ids);
    assert_eq!(listed, expected);
    assert_eq!(w.ams.sandbox.calls().count("person/get"), 3);
}

#[tokio::test]
async fn an_exported_row_with_action_update_is_an_update_file() {
    // GIVEN an export of the site's users
    let (w, handler, people) = seeded().await;
    let (_, exported) = export(&w, &handler, json!({"source": "ams", "what": "users"})).await;

    // WHEN an admin keeps Riley's row, adds `action` = update, changes the
    // known-as name and drops the file into the AMS inbox
    let mut reader = csv::Reader::from_reader(exported.as_bytes());
    let header = reader.headers().unwrap().clone();
    let known_as = header.iter().position(|h| h == "known_as").unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(std::iter::once("action").chain(header.iter()))
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        if &record[0] == people.riley.to_string().as_str() {
            let cells = record
                .iter()
                .enumerate()
                .map(|(i, cell)| if i == known_as { "Rye" } else { cell });
            writer
                .write_record(std::iter::once("update").chain(cells))
                .unwrap();
        }
    }
    let file = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let key = "inbox/ams/from-export.csv";
    w.ams.drop_csv(key, &file).await;
    let onboard = w.ams.handler(w.ams.config()).await;
    let response = onboard.handle(w.ams.s3_event(key)).await.expect("the run");

    // THEN the account has the new name and every other field as it was:
    // the export's values go back as AMS holds them
    let report = w.ams.text_at(response.report.as_deref().unwrap()).await;
    assert!(
        report.contains(&format!(
            ",update,riley.example,{},user_id,updated,",
            people.riley
        )),
        "{report}"
    );
    let riley = w.ams.sandbox.person_by_id(people.riley).unwrap();
    assert_eq!(riley["knownAs"], "Rye");
    for (field, value) in [
        ("firstName", json!("Riley")),
        ("lastName", json!("Example")),
        ("username", json!("riley.example")),
        ("emailAddress", json!("r.example@example.com")),
        ("dateOfBirth", json!("01/12/1990")),
        ("active", json!(true)),
        ("uuid", json!("new123")),
        ("middleNames", json!("Jo Ann")),
        ("language", json!("English")),
        ("sidebarWidth", json!("400")),
        ("sex", json!("0")),
    ] {
        assert_eq!(riley[field], value, "{field}");
    }
    assert_eq!(w.ams.sandbox.saves(), 1, "one write, for the one row");
}

#[tokio::test]
async fn a_whole_export_edited_in_two_cells_changes_those_two_fields_and_nothing_else() {
    // GIVEN an export of every user, formula-like names included
    let (w, handler, people) = seeded().await;
    let (_, exported) = export(&w, &handler, json!({"source": "ams", "what": "users"})).await;
    let before = w.ams.sandbox.people();

    // WHEN an admin adds `action` = update to every row, changes Riley's
    // known-as name and Sam's last name, and drops the whole file into the inbox
    let mut reader = csv::Reader::from_reader(exported.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (known_as, last_name) = (column("known_as"), column("last_name"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(std::iter::once("action").chain(header.iter()))
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let id: i64 = record[0].parse().unwrap();
        let cells: Vec<&str> = record
            .iter()
            .enumerate()
            .map(|(i, cell)| match (id, i) {
                (id, i) if id == people.riley && i == known_as => "Rye",
                (id, i) if id == people.sam && i == last_name => "Inactive-Smith",
                _ => cell,
            })
            .collect();
        writer
            .write_record(std::iter::once("update").chain(cells))
            .unwrap();
    }
    let file = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let key = "inbox/ams/whole-export.csv";
    w.ams.drop_csv(key, &file).await;
    let onboard = w.ams.handler(w.ams.config()).await;
    let response = onboard.handle(w.ams.s3_event(key)).await.expect("the run");

    // THEN exactly two saves changed exactly those two fields
    assert_eq!(w.ams.sandbox.saves(), 2);
    let counts = serde_json::to_value(&response.counts).unwrap();
    assert_eq!(counts["updated"], 2, "{counts}");
    assert_eq!(counts["unchanged"], 2, "{counts}");
    assert_eq!(counts["failed"], 0, "{counts}");
    let after = w.ams.sandbox.people();
    assert_eq!(after.len(), before.len());
    for (old, new) in before.iter().zip(&after) {
        let id = old["id"].as_i64().unwrap();
        let mut expected = old.clone();
        if id == people.riley {
            expected["knownAs"] = json!("Rye");
        } else if id == people.sam {
            expected["lastName"] = json!("Inactive-Smith");
        }
        let mut new = new.clone();
        for record in [&mut expected, &mut new] {
            record.as_object_mut().unwrap().remove("__mtime__");
        }
        assert_eq!(new, expected, "user_id {id}");
    }
    // AND Tom's formula-like names went back as AMS holds them
    let tom = w.ams.sandbox.person_by_id(people.tom).unwrap();
    assert_eq!(
        (&tom["firstName"], &tom["lastName"]),
        (&json!("=1+1"), &json!("@home"))
    );
    assert_eq!(
        w.ams.text(key).await.unwrap().lines().count(),
        1,
        "every row finished and left the file"
    );
}
