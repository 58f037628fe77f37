//! End-to-end proficiency updates: the real handler with the real S3 and SES
//! adapters against moto and the real aws-sdk-connect client against the
//! Connect sandbox.

use connectors::inbox::Outcome;
use rollcall_tests::sandbox::ConnectConfig;
use rollcall_tests::world::ConnectWorld;
use rollcall_tests::world::InBucket;

/// An instance with two attributes and three agents.
async fn instance(config: ConnectConfig) -> (ConnectWorld, [String; 3]) {
    let world = ConnectWorld::new(config).await;
    let c = &world.connect;
    c.add_attribute("Language", &["English", "French", "German", "Spanish"]);
    c.add_attribute("Skill", &["Billing", "Refunds", "Sales", "Support"]);
    let jane = c.add_agent("jane.doe");
    let li = c.add_agent("li.wei");
    let omar = c.add_agent("omar.haddad");
    c.set_proficiency(&jane, "Language", "French", 2.0);
    c.set_proficiency(&jane, "Language", "German", 3.0);
    c.set_proficiency(&li, "Skill", "Billing", 4.0);
    c.set_proficiency(&li, "Skill", "Sales", 2.0);
    (world, [jane, li, omar])
}

fn mixed(li: &str) -> String {
    format!(
        "\
identifier,identifier_type,action,attribute,value,level
jane.doe,username,add,Language,Spanish,4
jane.doe,username,remove,Language,German,
jane.doe,username,update,Language,French,5
JANE.DOE,username,add,Language,spanish,4
{li},user_id,set,Skill,Support,3
li.wei,username,update,Language,English,2
omar.haddad,username,add,Skill,Sales,9
ghost.agent,username,add,Skill,Sales,2
omar.haddad,username,add,Langauge,French,2
omar.haddad,username,add,Skill,Refunds,1
"
    )
}

fn profs(world: &ConnectWorld, id: &str) -> Vec<(String, String, f32)> {
    world.connect.proficiencies(id)
}

fn p(attribute: &str, value: &str, level: f32) -> (String, String, f32) {
    (attribute.into(), value.into(), level)
}

#[tokio::test]
async fn a_mixed_file_leaves_each_agent_exactly_right_with_one_call_per_kind() {
    // GIVEN an instance and a mixed file dropped into the inbox
    let (world, [jane, li, omar]) = instance(ConnectConfig::new()).await;
    let key = "inbox/connect/team.csv";
    world.drop_csv(key, &mixed(&li)).await;
    let handler = world.handler(world.config(50.0));

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN each agent holds exactly what the rows say
    assert_eq!(
        profs(&world, &jane),
        [p("Language", "French", 5.0), p("Language", "Spanish", 4.0)]
    );
    assert_eq!(
        profs(&world, &li),
        [p("Language", "English", 2.0), p("Skill", "Support", 3.0)]
    );
    assert_eq!(profs(&world, &omar), [p("Skill", "Refunds", 1.0)]);

    // AND each agent's proficiencies were read once and written with at most one call of each kind
    let calls = world.connect.calls();
    for (agent, expected) in [
        (&jane, [1, 1, 1, 1]),
        (&li, [1, 1, 0, 1]),
        (&omar, [1, 1, 0, 0]),
    ] {
        let got = [
            "ListUserProficiencies",
            "AssociateUserProficiencies",
            "UpdateUserProficiencies",
            "DisassociateUserProficiencies",
        ]
        .map(|op| calls.user_count(op, agent));
        assert_eq!(got, expected, "calls for {agent}");
    }
    assert_eq!(
        calls.count("SearchUsers"),
        4,
        "four usernames, each searched once"
    );
    assert_eq!(calls.count("DescribeUser"), 1);

    // AND the report says what happened to every row
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "\
line,identifier,identifier_type,action,attribute,value,level,outcome,reason
2,jane.doe,username,add,Language,Spanish,4,added,add at level 4
3,jane.doe,username,remove,Language,German,,removed,remove
4,jane.doe,username,update,Language,French,5,updated,update level 2 to 5
5,JANE.DOE,username,add,Language,spanish,4,skipped,duplicate of line 2
6,{li},user_id,set,Skill,Support,3,added,\"add at level 3; remove the other values Billing, Sales\"
7,li.wei,username,update,Language,English,2,added,add at level 2 (it was not associated)
8,omar.haddad,username,add,Skill,Sales,9,failed,\"level: \"\"9\"\" is not a whole number from 1 to 5\"
9,ghost.agent,username,add,Skill,Sales,2,failed,\"identifier: no agent has the username \"\"ghost.agent\"\"\"
10,omar.haddad,username,add,Langauge,French,2,failed,\"attribute: \"\"Langauge\"\" is not a predefined attribute of this instance\"
11,omar.haddad,username,add,Skill,Refunds,1,added,add at level 1
"
        )
    );
    assert_eq!(
        serde_json::to_value(response.counts).unwrap(),
        serde_json::json!({"added": 4, "updated": 1, "removed": 1, "skipped": 1, "failed": 3, "planned": 0, "successful": 6})
    );

    // AND the inbox file keeps only the failed rows, with their reasons
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
identifier,identifier_type,action,attribute,value,level,error
omar.haddad,username,add,Skill,Sales,9,\"level: \"\"9\"\" is not a whole number from 1 to 5\"
ghost.agent,username,add,Skill,Sales,2,\"identifier: no agent has the username \"\"ghost.agent\"\"\"
omar.haddad,username,add,Langauge,French,2,\"attribute: \"\"Langauge\"\" is not a predefined attribute of this instance\"
"
    );
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "rollcall proficiency: 6 successful, 3 failed, 1 skipped (inbox/connect/team.csv)"
    );
}

#[tokio::test]
async fn throttling_at_two_requests_a_second_is_survived_with_every_row_right() {
    // GIVEN an instance enforcing Connect's default rates (writes 2/s), and a
    // run that tries to go three times faster
    let world = ConnectWorld::new(ConnectConfig::new().with_connect_rates(1.0)).await;
    world.connect.add_attribute("Skill", &["Sales", "Support"]);
    let mut csv = String::from("identifier,identifier_type,action,attribute,value,level\n");
    let mut ids = Vec::new();
    for i in 0..8 {
        let name = format!("agent.{i}");
        ids.push(world.connect.add_agent(&name));
        csv.push_str(&format!("{name},username,add,Skill,Sales,{}\n", 1 + i % 5));
    }
    world.drop_csv("inbox/connect/fast.csv", &csv).await;
    let handler = world.handler(world.config(6.0));

    // WHEN the file is processed
    let response = handler
        .handle(world.console("inbox/connect/fast.csv", false))
        .await
        .unwrap();

    // THEN Connect throttled some calls, the SDK retried them, and every row is right
    let calls = world.connect.calls();
    assert!(
        calls.throttled_total() > 0,
        "no throttling happened: {:?}",
        calls.to_json()
    );
    assert_eq!(
        response.counts.get(Outcome::Added),
        8,
        "{:?}",
        response.counts
    );
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(profs(&world, id), [p("Skill", "Sales", (1 + i % 5) as f32)]);
    }
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_writes_nothing() {
    // GIVEN the mixed file, invoked from the console as a dry run
    let (world, [jane, li, omar]) = instance(ConnectConfig::new()).await;
    let key = "inbox/connect/plan.csv";
    let body = mixed(&li);
    world.drop_csv(key, &body).await;
    let before = [
        profs(&world, &jane),
        profs(&world, &li),
        profs(&world, &omar),
    ];
    let handler = world.handler(world.config(50.0));

    // WHEN it runs
    let response = handler.handle(world.console(key, true)).await.unwrap();

    // THEN no agent changed, no write call was made, the file is as it was
    assert_eq!(
        [
            profs(&world, &jane),
            profs(&world, &li),
            profs(&world, &omar)
        ],
        before
    );
    let calls = world.connect.calls();
    for op in [
        "AssociateUserProficiencies",
        "UpdateUserProficiencies",
        "DisassociateUserProficiencies",
    ] {
        assert_eq!(calls.count(op), 0, "{op}");
    }
    assert_eq!(world.text(key).await.unwrap(), body);
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(
        report.contains(
            "\n2,jane.doe,username,add,Language,Spanish,4,planned,would add at level 4\n"
        ),
        "{report}"
    );
    assert!(
        report.contains("\n3,jane.doe,username,remove,Language,German,,planned,would remove\n"),
        "{report}"
    );
    assert!(
        report.contains(
            ",planned,\"would add at level 3; remove the other values Billing, Sales\"\n"
        ),
        "{report}"
    );
    assert_eq!(response.counts.get(Outcome::Planned), 6);
}

#[tokio::test]
async fn rows_not_reached_before_the_deadline_continue_in_a_link_that_its_event_finishes() {
    // GIVEN a run that starts with less time left than its margin
    let (world, [jane, li, omar]) = instance(ConnectConfig::new()).await;
    let key = "inbox/connect/late.csv";
    world.drop_csv(key, &mixed(&li)).await;
    let handler = world.handler(world.config(50.0));
    let mut event = world.s3_event(key);
    let margin = handler.config.common.deadline_margin.as_millis() as u64;
    event.context.deadline = chrono::Utc::now().timestamp_millis() as u64 + margin - 1_000;

    // WHEN it runs
    let first = handler.handle(event).await.unwrap();

    // THEN no agent was touched; the valid rows not reached wait in link 2
    // of the job, under the inbox, marked as a link and not as a rewrite
    assert_eq!(profs(&world, &omar), []);
    let job = first.files[0].job.clone().expect("the run started a job");
    let link = format!("inbox/connect/continue/{job}/2.csv");
    let link_uri = format!("s3://{}/{link}", world.bucket);
    assert_eq!(first.remaining.as_deref(), Some(link_uri.as_str()));
    let (body, metadata, _) = world.moto.get_object(&world.bucket, &link).await.unwrap();
    let left = String::from_utf8(body).unwrap();
    assert_eq!(left.lines().count(), 1 + 7, "{left}");
    assert_eq!(
        left.lines().nth(1).unwrap(),
        "jane.doe,username,add,Language,Spanish,4,"
    );
    assert_eq!(metadata.get("rollcall-job"), Some(&job));
    assert_eq!(metadata.get("rollcall-link").map(String::as_str), Some("2"));
    assert_eq!(
        metadata.get("rollcall-source-key").map(String::as_str),
        Some(key)
    );
    assert!(
        !metadata.contains_key("rollcall-written-by"),
        "{metadata:?}"
    );
    let inbox = world.text(key).await.unwrap();
    assert_eq!(
        inbox.lines().count(),
        1 + 3,
        "only the failed rows stay in the inbox file: {inbox}"
    );
    assert!(
        world
            .moto
            .sent_mails_to(&world.admin_email)
            .await
            .is_empty(),
        "no summary before the job ends"
    );

    // AND the link's own S3 event finishes the job
    let second = handler.handle(world.s3_event(&link)).await.unwrap();
    assert_eq!(second.counts.get(Outcome::Failed), 0, "{:?}", second.counts);
    assert_eq!(
        profs(&world, &jane),
        [p("Language", "French", 5.0), p("Language", "Spanish", 4.0)]
    );
    assert_eq!(
        profs(&world, &li),
        [p("Language", "English", 2.0), p("Skill", "Support", 3.0)]
    );
    assert_eq!(profs(&world, &omar), [p("Skill", "Refunds", 1.0)]);
    assert_eq!(
        world.text(&link).await.unwrap(),
        "identifier,identifier_type,action,attribute,value,level,error\n"
    );
    assert!(second.remaining.is_none());

    // AND the progress file tells the whole job, and one summary covers it
    let progress: serde_json::Value =
        serde_json::from_str(&world.text(&format!("state/jobs/{job}.json")).await.unwrap())
            .unwrap();
    assert_eq!(progress["status"], "finished");
    assert_eq!(
        (
            progress["rows_total"].as_u64(),
            progress["rows_done"].as_u64()
        ),
        (Some(10), Some(10))
    );
    assert_eq!(progress["links"], 2);
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0]
            .subject
            .contains("(inbox/connect/late.csv, finished in 2 links)"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains("ghost.agent"), "{}", mails[0].body);
}

#[tokio::test]
async fn usernames_match_ignoring_case_even_where_exact_search_does_not() {
    // GIVEN an instance whose EXACT username search is case-sensitive, an
    // agent stored as "Jane.Doe", and a file naming her "jane.doe"
    let mut config = ConnectConfig::new();
    config.exact_search_case_sensitive = true;
    let world = ConnectWorld::new(config).await;
    world.connect.add_attribute("Skill", &["Sales"]);
    let jane = world.connect.add_agent("Jane.Doe");
    world
        .drop_csv(
            "inbox/connect/case.csv",
            "identifier,identifier_type,action,attribute,value,level\njane.doe,username,add,Skill,Sales,2\n",
        )
        .await;
    let handler = world.handler(world.config(50.0));

    // WHEN it runs
    let response = handler
        .handle(world.console("inbox/connect/case.csv", false))
        .await
        .unwrap();

    // THEN the search missed, one ListUsers scan found her, and the row is done
    assert_eq!(
        response.counts.get(Outcome::Added),
        1,
        "{:?}",
        response.counts
    );
    assert_eq!(profs(&world, &jane), [p("Skill", "Sales", 2.0)]);
    let calls = world.connect.calls();
    assert_eq!(
        (calls.count("SearchUsers"), calls.count("ListUsers")),
        (1, 1)
    );
}

#[tokio::test]
async fn a_level_that_is_not_a_whole_number_fails_its_row_and_the_agents_other_rows_apply() {
    // GIVEN jane (French 2, German 3) and a file whose first row asks for level 2.5
    let (world, [jane, ..]) = instance(ConnectConfig::new()).await;
    let key = "inbox/connect/levels.csv";
    world
        .drop_csv(
            key,
            "\
identifier,identifier_type,action,attribute,value,level
jane.doe,username,add,Skill,Sales,2.5
jane.doe,username,add,Skill,Support,1.0
jane.doe,username,update,Language,French,5.0
jane.doe,username,add,Skill,Billing,3
",
        )
        .await;
    let handler = world.handler(world.config(50.0));

    // WHEN it runs
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the 2.5 row failed before any call, and the rest of jane's rows
    // (1.0 and 5.0 read as 1 and 5) went through in one associate and one update
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,identifier,identifier_type,action,attribute,value,level,outcome,reason
2,jane.doe,username,add,Skill,Sales,2.5,failed,\"level: \"\"2.5\"\" is not a whole number from 1 to 5\"
3,jane.doe,username,add,Skill,Support,1.0,added,add at level 1
4,jane.doe,username,update,Language,French,5.0,updated,update level 2 to 5
5,jane.doe,username,add,Skill,Billing,3,added,add at level 3
"
    );
    assert_eq!(
        profs(&world, &jane),
        [
            p("Language", "French", 5.0),
            p("Language", "German", 3.0),
            p("Skill", "Billing", 3.0),
            p("Skill", "Support", 1.0)
        ]
    );
    // (The sandbox refuses a whole call holding 2.5, so a single successful
    // associate shows 2.5 was never sent.)
    let calls = world.connect.calls();
    assert_eq!(calls.user_count("AssociateUserProficiencies", &jane), 1);
    assert_eq!(calls.user_count("UpdateUserProficiencies", &jane), 1);

    // AND only the 2.5 row stays in the file, with its reason
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
identifier,identifier_type,action,attribute,value,level,error
jane.doe,username,add,Skill,Sales,2.5,\"level: \"\"2.5\"\" is not a whole number from 1 to 5\"
"
    );
}

#[tokio::test]
async fn a_set_row_that_fails_leaves_the_agents_attribute_exactly_as_it_was() {
    // GIVEN jane holding Lang=French and Lang=Spanish, and the file:
    // two contradicting `set` rows for French and one for German
    let world = ConnectWorld::new(ConnectConfig::new()).await;
    let c = &world.connect;
    c.add_attribute("Lang", &["French", "German", "Spanish"]);
    c.add_attribute("Skill", &["Sales"]);
    let jane = c.add_agent("jane.doe");
    c.set_proficiency(&jane, "Lang", "French", 2.0);
    c.set_proficiency(&jane, "Lang", "Spanish", 3.0);
    let key = "inbox/connect/set.csv";
    world
        .drop_csv(
            key,
            "\
identifier,identifier_type,action,attribute,value,level
jane.doe,username,set,Lang,French,3
jane.doe,username,set,Lang,French,4
jane.doe,username,set,Lang,German,2
jane.doe,username,add,Skill,Sales,2
",
        )
        .await;
    let handler = world.handler(world.config(50.0));

    // WHEN it runs
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN jane's Lang proficiencies are exactly as they were; her other row applied
    assert_eq!(
        profs(&world, &jane),
        [
            p("Lang", "French", 2.0),
            p("Lang", "Spanish", 3.0),
            p("Skill", "Sales", 2.0)
        ]
    );
    let calls = world.connect.calls();
    assert_eq!(calls.user_count("DisassociateUserProficiencies", &jane), 0);
    assert_eq!(calls.user_count("AssociateUserProficiencies", &jane), 1);

    // AND every Lang row says why
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        "\
line,identifier,identifier_type,action,attribute,value,level,outcome,reason
2,jane.doe,username,set,Lang,French,3,failed,\"conflicting rows for Lang = French: lines 2, 3; the agent's Lang proficiencies were left as they were\"
3,jane.doe,username,set,Lang,French,4,failed,\"conflicting rows for Lang = French: lines 2, 3; the agent's Lang proficiencies were left as they were\"
4,jane.doe,username,set,Lang,German,2,failed,\"not applied: the set rows for attribute Lang go together and lines 2, 3 failed; the agent's Lang proficiencies were left as they were\"
5,jane.doe,username,add,Skill,Sales,2,added,add at level 2
"
    );

    // AND the three Lang rows stay in the file together, for a corrected retry
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
identifier,identifier_type,action,attribute,value,level,error
jane.doe,username,set,Lang,French,3,\"conflicting rows for Lang = French: lines 2, 3; the agent's Lang proficiencies were left as they were\"
jane.doe,username,set,Lang,French,4,\"conflicting rows for Lang = French: lines 2, 3; the agent's Lang proficiencies were left as they were\"
jane.doe,username,set,Lang,German,2,\"not applied: the set rows for attribute Lang go together and lines 2, 3 failed; the agent's Lang proficiencies were left as they were\"
"
    );
}

#[tokio::test]
async fn a_malformed_user_id_fails_its_rows_and_the_rest_of_the_file_is_applied() {
    // GIVEN a file naming an agent by something that is no user id at all
    // (Connect answers DescribeUser with a 400), a well-formed id of nobody,
    // and rows for two real agents
    let (world, [jane, _, omar]) = instance(ConnectConfig::new()).await;
    let key = "inbox/connect/ids.csv";
    let nobody = "00000000-0000-4000-8000-000000000000";
    world
        .drop_csv(
            key,
            &format!(
                "\
identifier,identifier_type,action,attribute,value,level
not-a-user-id,user_id,add,Skill,Sales,2
{omar},user_id,add,Skill,Sales,2
not-a-user-id,user_id,remove,Language,French,
jane.doe,username,add,Language,Spanish,4
{nobody},user_id,add,Skill,Refunds,1
"
            ),
        )
        .await;
    let handler = world.handler(world.config(50.0));

    // WHEN it runs
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("a refused user id does not fail the file");

    // THEN the rows naming the bad id failed with Connect's answer, and the rest applied
    let refused = "\"identifier: \"\"not-a-user-id\"\" is not a valid user id \
                   (Connect DescribeUser answered InvalidParameterException: The UserId is not valid.)\"";
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        report,
        format!(
            "\
line,identifier,identifier_type,action,attribute,value,level,outcome,reason
2,not-a-user-id,user_id,add,Skill,Sales,2,failed,{refused}
3,{omar},user_id,add,Skill,Sales,2,added,add at level 2
4,not-a-user-id,user_id,remove,Language,French,,failed,{refused}
5,jane.doe,username,add,Language,Spanish,4,added,add at level 4
6,{nobody},user_id,add,Skill,Refunds,1,failed,\"identifier: no agent has the user id \"\"{nobody}\"\"\"
"
        )
    );
    assert_eq!(profs(&world, &omar), [p("Skill", "Sales", 2.0)]);
    assert_eq!(
        profs(&world, &jane),
        [
            p("Language", "French", 2.0),
            p("Language", "German", 3.0),
            p("Language", "Spanish", 4.0)
        ]
    );
    assert_eq!(world.connect.calls().count("DescribeUser"), 3);

    // AND the failed rows stay in the file with their reasons
    assert_eq!(
        world.text(key).await.unwrap(),
        format!(
            "\
identifier,identifier_type,action,attribute,value,level,error
not-a-user-id,user_id,add,Skill,Sales,2,{refused}
not-a-user-id,user_id,remove,Language,French,,{refused}
{nobody},user_id,add,Skill,Refunds,1,\"identifier: no agent has the user id \"\"{nobody}\"\"\"
"
        )
    );
}
