//! A fault at each step of an inbox run (the report put, the run record,
//! the CSV rewrite, the mail, a service call, the deadline), against moto and
//! the sandboxes: afterwards the org, the file, the report and the admins'
//! mail agree, and the retry Lambda makes repeats no mail and loses no row.

use std::time::Duration;

use connectors::aws::AwsClients;
use connectors::inbox::Outcome;
use connectors::lambda::Function;
use connectors::mail::SesMailer;
use connectors::store::S3Store;
use rollcall_tests::faulty::{FaultyMailer, FaultyStore};
use rollcall_tests::sandbox::{ConnectConfig, SandboxConfig, SeedMember};
use rollcall_tests::world::{ConnectWorld, InBucket, World};

const KEY: &str = "inbox/arcgis/starters.csv";
const FILE: &str = "\
username,password,firstname,lastname,email,user type,role
ahmed.khan_geo,Welcome-2026!,Ahmed,Khan,ahmed@example.org,Creator,Publisher
bea.lopez_geo,,Bea,Lopez,bea@example.org,Viewer,Viewer
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User
";
const KEPT: &str = "\
username,password,firstname,lastname,email,user type,role,error
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,\"email: \"\"eve.example.org\"\" is not a valid address\"
";

/// Where a run is made to fail once.
#[derive(Debug, Clone, Copy)]
enum Step {
    Report,
    Record,
    Rewrite,
    Mail,
}

type FaultyOnboard = Function<
    FaultyStore<S3Store>,
    FaultyMailer<SesMailer>,
    onboard::Systems<connectors::arcgis::ArcgisClient, connectors::ams::AmsClient>,
    onboard::OnboardConfig,
>;

/// The real S3 and SES adapters of `moto`, failing once at `step`.
fn failing_at(
    moto: &rollcall_tests::moto::Moto,
    step: Step,
) -> (FaultyStore<S3Store>, FaultyMailer<SesMailer>) {
    let aws = AwsClients::from_conf(&moto.conf);
    let store = FaultyStore::new(aws.s3);
    let (store, mails_failing) = match step {
        Step::Report => (store.fail_puts_under("reports/", 1), 0),
        Step::Record => (store.fail_puts_under("state/files/", 1), 0),
        Step::Rewrite => (store.fail_puts_under("inbox/", 1), 0),
        Step::Mail => (store, 1),
    };
    (store, FaultyMailer::new(aws.mail, mails_failing))
}

async fn onboard_failing_at(world: &World, step: Step) -> FaultyOnboard {
    let (store, mailer) = failing_at(&world.moto, step);
    Function {
        store,
        mailer,
        service: onboard::Systems {
            arcgis: Some(world.arcgis_client().await),
            ams: None,
        },
        config: world.config(),
    }
}

#[tokio::test]
async fn onboarding_that_fails_at_any_step_ends_with_one_report_one_mail_and_every_row_right() {
    for step in [Step::Report, Step::Record, Step::Rewrite, Step::Mail] {
        // GIVEN a file of two good rows and a bad one, and a run that fails once at `step`
        let world = World::new(SandboxConfig::online()).await;
        world.drop_csv(KEY, FILE).await;
        let handler = onboard_failing_at(&world, step).await;

        // WHEN the event arrives, and Lambda retries it after the failure
        let first = handler.handle(world.s3_event(KEY)).await;
        assert!(first.is_err(), "{step:?}: the first run fails");
        let retry = handler
            .handle(world.s3_event(KEY))
            .await
            .unwrap_or_else(|e| panic!("{step:?}: the retry succeeds: {e}"));

        // THEN each member exists once, the file keeps only the bad row
        let members: Vec<String> = world
            .sandbox
            .members()
            .into_iter()
            .map(|m| m.username)
            .collect();
        assert_eq!(
            members,
            ["ahmed.khan_geo", "bea.lopez_geo", "rollcall_admin"],
            "{step:?}"
        );
        assert_eq!(world.text(KEY).await.unwrap(), KEPT, "{step:?}");

        // AND the admins got exactly one summary, naming a report that exists
        let mails = world.moto.sent_mails_to(&world.admin_email).await;
        assert_eq!(mails.len(), 1, "{step:?}: {mails:?}");
        let report_uri = retry.report.clone().expect("a report");
        assert!(
            mails[0].body.contains(&report_uri),
            "{step:?}: {}",
            mails[0].body
        );
        let report = world.text_at(&report_uri).await;
        assert!(
            report.contains("\n4,eve.typo_geo,failed,,"),
            "{step:?}: {report}"
        );
        // Before the record, the retry applies the rows again and finds them
        // there; after it, the retry finishes the first run and its report.
        let (ahmed, bea) = match step {
            Step::Report | Step::Record => ("exists", "exists"),
            Step::Rewrite | Step::Mail => ("created", "invited"),
        };
        assert!(
            report.contains(&format!("\n2,ahmed.khan_geo,{ahmed},"))
                && report.contains(&format!("\n3,bea.lopez_geo,{bea},")),
            "{step:?}: {report}"
        );
        assert!(
            mails[0].subject.starts_with("rollcall onboard: "),
            "{step:?}"
        );

        // AND the rewritten file's own event, and any later redelivery, change nothing
        let again = handler.handle(world.s3_event(KEY)).await.unwrap();
        assert_eq!(again.counts.total(), 0, "{step:?}");
        assert_eq!(world.moto.sent_mails_to(&world.admin_email).await.len(), 1);
    }
}

#[tokio::test]
async fn a_portal_call_that_fails_fails_only_its_rows_and_the_file_says_so() {
    // GIVEN a group that refuses every member (addUsers lists them in notAdded)
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_group("0f1e1d2c3b4a59687766554433221100", "Crews");
    world.sandbox.add_member(SeedMember::new("dana.existing"));
    world.drop_csv(
        KEY,
        "username,firstname,lastname,email,user type,role,groups\n\
         dana.existing,Dana,Existing,dana@example.org,Creator,User,0f1e1d2c3b4a59687766554433221100\n",
    )
    .await;
    let handler = world.handler(world.config()).await;
    world.sandbox.refuse_group_adds(true);

    // WHEN the file is onboarded
    let response = handler.handle(world.s3_event(KEY)).await.unwrap();

    // THEN the row failed with the portal's reason, stays in the file, and
    // the report and the mail say the same
    let row = &response.files[0].rows[0];
    assert_eq!(row.result.outcome, Outcome::Failed);
    assert!(
        row.result.reason.contains("not added to group"),
        "{}",
        row.result.reason
    );
    let csv = world.text(KEY).await.unwrap();
    assert!(csv.contains("not added to group"), "{csv}");
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert!(
        mails[0].body.contains("not added to group"),
        "{}",
        mails[0].body
    );
}

#[tokio::test]
async fn a_portal_call_is_cut_at_the_deadline_not_after_it() {
    // GIVEN a portal answering after 10 s and a run with 5 s left (margin 4 s)
    let world = World::new(SandboxConfig::online()).await;
    world.drop_csv(KEY, FILE).await;
    world.sandbox.set_latency(Duration::from_secs(10));
    let mut config = world.config();
    config.common.deadline_margin = Duration::from_secs(4);
    let handler = world.handler(config).await;
    let mut event = world.s3_event(KEY);
    event.context.deadline = (chrono::Utc::now().timestamp_millis() + 5_000) as u64;

    // WHEN it runs
    let started = std::time::Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(30), handler.handle(event))
        .await
        .expect("the handler returns")
        .unwrap_err();

    // THEN the call was cut before the deadline: the invocation fails as
    // such, with the file untouched and nobody created
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "DeadlineReached");
    assert_eq!(world.text(KEY).await.unwrap(), FILE);
    assert!(world.sandbox.member("ahmed.khan_geo").is_none());
}

const TEAM: &str = "inbox/connect/team.csv";

#[tokio::test]
async fn proficiency_runs_that_fail_at_any_step_end_with_one_mail_and_every_agent_right() {
    for step in [Step::Report, Step::Record, Step::Rewrite, Step::Mail] {
        // GIVEN an agent, a file of one good row and one bad, and a run failing once at `step`
        let world = ConnectWorld::new(ConnectConfig::new()).await;
        world
            .connect
            .add_attribute("Language", &["English", "French"]);
        let jane = world.connect.add_agent("jane.doe");
        world
            .drop_csv(
                TEAM,
                "identifier,identifier_type,action,attribute,value,level\n\
                 jane.doe,username,add,Language,French,4\n\
                 jane.doe,username,add,Klingon,Klingon,2\n",
            )
            .await;
        let (store, mailer) = failing_at(&world.moto, step);
        let config = world.config(50.0);
        let handler = Function {
            store,
            mailer,
            service: world.connect_client(config.connect.max_rps),
            config,
        };

        // WHEN the event arrives, and Lambda retries it after the failure
        assert!(
            handler.handle(world.s3_event(TEAM)).await.is_err(),
            "{step:?}"
        );
        handler
            .handle(world.s3_event(TEAM))
            .await
            .unwrap_or_else(|e| panic!("{step:?}: the retry succeeds: {e}"));

        // THEN the agent has the proficiency once, the file keeps the bad
        // row, and the admins got one summary
        assert_eq!(
            world.connect.proficiencies(&jane),
            [("Language".to_string(), "French".to_string(), 4.0)],
            "{step:?}"
        );
        let csv = world.text(TEAM).await.unwrap();
        assert_eq!(csv.lines().count(), 2, "{step:?}: {csv}");
        assert!(csv.contains("Klingon"), "{step:?}: {csv}");
        let mails = world.moto.sent_mails_to(&world.admin_email).await;
        assert_eq!(mails.len(), 1, "{step:?}: {mails:?}");
    }
}

#[tokio::test]
async fn a_connect_call_is_cut_at_the_deadline_not_after_it() {
    // GIVEN Connect answering after 10 s and a run with 5 s left (margin 4 s)
    let world = ConnectWorld::new(ConnectConfig::new()).await;
    world.connect.add_attribute("Language", &["French"]);
    world.connect.add_agent("jane.doe");
    let file = "identifier,identifier_type,action,attribute,value,level\njane.doe,username,add,Language,French,4\n";
    world.drop_csv(TEAM, file).await;
    world.connect.set_latency(Duration::from_secs(10));
    let mut config = world.config(50.0);
    config.common.deadline_margin = Duration::from_secs(4);
    let handler = world.handler(config);
    let mut event = world.s3_event(TEAM);
    event.context.deadline = (chrono::Utc::now().timestamp_millis() + 5_000) as u64;

    // WHEN it runs
    let started = std::time::Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(30), handler.handle(event))
        .await
        .expect("the handler returns")
        .unwrap_err();

    // THEN the call was cut before the deadline and the file is untouched
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "DeadlineReached"
    );
    assert_eq!(world.text(TEAM).await.unwrap(), file);
}
