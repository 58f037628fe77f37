//! End-to-end inactivity sweep: the real handler with the real S3 and SES
//! adapters against moto and the real ArcGIS client against the sandbox.
//! The run's clock is the scheduled event's `time`, so a test steps through
//! days by sending events with later times.

use chrono::{DateTime, Duration as Days, Utc};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::InBucket;
use rollcall_tests::world::World;
use serde_json::Value;
use sweep::SweepFunction;

const PROTECTED_GROUP: &str = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf";

/// Day 0 of every test: 2026-06-01 06:00 UTC.
fn day(n: i64) -> DateTime<Utc> {
    "2026-06-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Days::days(n)
}

fn ms(n: i64) -> i64 {
    day(n).timestamp_millis()
}

/// The EventBridge schedule's event, as in `events/sweep/scheduled.json`, at `at`.
fn scheduled(at: DateTime<Utc>) -> LambdaEvent<Value> {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/sweep/scheduled.json")).unwrap();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    LambdaEvent::new(event, Context::default())
}

/// A member of this world's org, with its own address, signed in on `last_login` (days).
fn member(world: &World, name: &str, last_login: Option<i64>, created: i64) -> SeedMember {
    let mut m = SeedMember::new(name)
        .email(&world.address(name))
        .created(ms(created));
    m = m.last_login(last_login.map(ms));
    m
}

/// An org with one member in each class on day 0.
async fn org_of_every_class() -> World {
    let world = World::new(SandboxConfig::online()).await;
    let s = &world.sandbox;
    s.add_group(PROTECTED_GROUP, "Break-glass accounts");
    s.add_member(member(&world, "active.member", Some(-3), -400));
    s.add_member(member(&world, "idle.member", Some(-70), -400));
    s.add_member(member(&world, "gone.member", Some(-120), -400));
    s.add_member(member(&world, "never.signedin", None, -65));
    s.add_member(member(&world, "new.member", None, -10));
    s.add_member(member(&world, "off.member", Some(-200), -400).disabled(true));
    s.add_member(member(&world, "boss.admin", Some(-300), -400).role("org_admin"));
    s.add_member(member(&world, "esri_livingatlas", Some(-900), -1000));
    s.add_member(member(&world, "listed.member", Some(-300), -400));
    s.add_member(member(&world, "glass.member", Some(-300), -400).groups(&[PROTECTED_GROUP]));
    world
}

fn protections(world: &World) -> sweep::SweepConfig {
    let mut config = world.sweep_config();
    config.protected_users = vec!["Listed.Member".into()];
    config.protected_groups = vec![PROTECTED_GROUP.into()];
    config
}

fn report_lines(report: &str) -> Vec<String> {
    let mut lines: Vec<String> = report.lines().skip(1).map(str::to_string).collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn every_member_is_classified_and_only_the_inactive_are_warned() {
    // GIVEN an org with a member of every kind
    let world = org_of_every_class().await;
    let handler = world.sweep_handler(protections(&world)).await;

    // WHEN the daily schedule fires on day 0
    let result = handler
        .handle(scheduled(day(0)))
        .await
        .expect("the sweep succeeds");

    // THEN the report classifies each member, and only the inactive are warned
    let report = world.text_at(&result.report).await;
    assert!(report
        .starts_with("username,email,last_login,days_inactive,classification,action,reason\n"));
    let a = |n: &str| world.address(n);
    let signed_in = day(-3).format("%Y-%m-%d");
    let expected = vec![
        format!("active.member,{},{signed_in},3,active,none,signed in 3 days ago", a("active.member")),
        format!("boss.admin,{},{},300,protected,none,protected: an org administrator", a("boss.admin"), day(-300).format("%Y-%m-%d")),
        format!("esri_livingatlas,{},{},900,protected,none,protected: a system account", a("esri_livingatlas"), day(-900).format("%Y-%m-%d")),
        format!("glass.member,{},{},300,protected,none,protected: a member of a group in PROTECTED_GROUPS", a("glass.member"), day(-300).format("%Y-%m-%d")),
        format!("gone.member,{},{},120,warn,warned,\"signed in 120 days ago; past the disable threshold, so warned first\"", a("gone.member"), day(-120).format("%Y-%m-%d")),
        format!("idle.member,{},{},70,warn,warned,signed in 70 days ago", a("idle.member"), day(-70).format("%Y-%m-%d")),
        format!("listed.member,{},{},300,protected,none,protected: listed in PROTECTED_USERS", a("listed.member"), day(-300).format("%Y-%m-%d")),
        format!("never.signedin,{},never,65,warn,warned,never signed in; created 65 days ago", a("never.signedin")),
        format!("new.member,{},never,10,active,none,\"new account, created 10 days ago (grace 30 days)\"", a("new.member")),
        format!("off.member,{},{},200,already_disabled,none,already disabled", a("off.member"), day(-200).format("%Y-%m-%d")),
    ];
    let mut lines = report_lines(&report);
    lines.retain(|l| !l.starts_with("rollcall_admin,"));
    assert_eq!(lines, expected);
    assert_eq!(result.classes.get("warn"), Some(&3));
    assert!(!result.breaker_tripped);

    // AND nobody is disabled on the day they are warned
    assert!(world
        .sandbox
        .members()
        .iter()
        .filter(|m| m.disabled)
        .map(|m| m.username.as_str())
        .eq(["off.member"]));

    // AND each warned member got one mail saying when and how to keep the account
    for name in ["idle.member", "gone.member", "never.signedin"] {
        let mails = world.moto.sent_mails_to(&a(name)).await;
        assert_eq!(mails.len(), 1, "{name}: {mails:?}");
        assert_eq!(mails[0].to, [a(name)], "only the member is addressed");
        assert_eq!(mails[0].source, world.mail_from);
        assert!(mails[0].body.contains("sign in"), "{}", mails[0].body);
        assert!(mails[0].body.contains(name), "{}", mails[0].body);
    }
    let idle = &world.moto.sent_mails_to(&a("idle.member")).await[0];
    assert_eq!(
        idle.subject,
        format!(
            "Your Rollcall Sandbox ArcGIS account will be disabled on {}",
            day(20).format("%A %-d %B %Y")
        )
    );
    assert!(idle.body.contains("for 70 days"), "{}", idle.body);
    for untouched in [
        "active.member",
        "boss.admin",
        "esri_livingatlas",
        "listed.member",
        "glass.member",
        "new.member",
        "off.member",
    ] {
        assert!(
            world.moto.sent_mails_to(&a(untouched)).await.is_empty(),
            "{untouched} was mailed"
        );
    }

    // AND the admins' summary lists the warned members and the report
    let summary = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(summary.len(), 1);
    assert_eq!(
        summary[0].subject,
        "rollcall sweep 2026-06-01: 0 members disabled, 3 warned, 8 untouched"
    );
    for text in [
        ">Members acted on<",
        "idle.member",
        "gone.member",
        "never.signedin",
        &result.report,
        "not tripped (0 of at most 50 disables today)",
    ] {
        assert!(
            summary[0].body.contains(text),
            "{text} missing: {}",
            summary[0].body
        );
    }
}

#[tokio::test]
async fn the_notice_period_runs_warn_wait_disable_across_days() {
    // GIVEN an org with one idle member and one who will come back
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_member(member(&world, "idle.member", Some(-80), -400));
    world
        .sandbox
        .add_member(member(&world, "back.member", Some(-80), -400));
    let handler = world.sweep_handler(world.sweep_config()).await;
    let mails = |name: &'static str| {
        let address = world.address(name);
        let moto = world.moto.clone();
        async move { moto.sent_mails_to(&address).await }
    };

    // Day 0: both warned.
    let day0 = handler.handle(scheduled(day(0))).await.unwrap();
    assert_eq!(day0.warned.len(), 2);
    assert_eq!(
        (
            mails("idle.member").await.len(),
            mails("back.member").await.len()
        ),
        (1, 1)
    );

    // Day 1: nobody is warned again.
    let day1 = handler.handle(scheduled(day(1))).await.unwrap();
    assert!(day1.warned.is_empty() && day1.disabled.is_empty());
    assert_eq!(
        (
            mails("idle.member").await.len(),
            mails("back.member").await.len()
        ),
        (1, 1)
    );

    // back.member signs in on day 5.
    world.sandbox.set_last_login("back.member", Some(ms(5)));

    // Day 13: past 90 days inactive, but the 14-day notice is not over yet.
    let day13 = handler.handle(scheduled(day(13))).await.unwrap();
    assert!(day13.disabled.is_empty(), "{:?}", day13.disabled);
    assert!(!world.sandbox.member("idle.member").unwrap().disabled);

    // Day 14: the notice is over; only the still-inactive member is disabled.
    let day14 = handler.handle(scheduled(day(14))).await.unwrap();
    let report14 = world.text_at(&day14.report).await;
    assert_eq!(day14.disabled, ["idle.member"], "{report14}");
    assert!(world.sandbox.member("idle.member").unwrap().disabled);
    assert!(!world.sandbox.member("back.member").unwrap().disabled);
    let idle = mails("idle.member").await;
    assert_eq!(idle.len(), 2, "a warning, then the disable notice");
    assert!(
        idle[1]
            .subject
            .ends_with("ArcGIS account has been disabled"),
        "{}",
        idle[1].subject
    );
    assert!(
        idle[1].body.contains("gis-help@example.org"),
        "{}",
        idle[1].body
    );
    assert_eq!(mails("back.member").await.len(), 1);
    assert_eq!(world.sandbox.calls().count("disableUsers"), 1);

    // AND the state keeps no warning for either any more
    let state: Value =
        serde_json::from_str(&world.text("state/sweep.json").await.unwrap()).unwrap();
    assert_eq!(state["warned"], serde_json::json!({}));
}

#[tokio::test]
async fn too_many_disables_trip_the_breaker_and_nobody_is_touched() {
    // GIVEN three members who were warned long ago and a cap of two
    let world = World::new(SandboxConfig::online()).await;
    for name in ["gone.one", "gone.two", "gone.three"] {
        world
            .sandbox
            .add_member(member(&world, name, Some(-120), -400));
    }
    world
        .sandbox
        .add_member(member(&world, "idle.member", Some(-70), -400));
    let mut config = world.sweep_config();
    config.thresholds.max_disables_per_run = 2;
    let handler = world.sweep_handler(config).await;
    handler
        .handle(scheduled(day(-30)))
        .await
        .expect("day -30: the first three are warned");

    // WHEN the sweep would disable three on day 0
    let error = handler.handle(scheduled(day(0))).await.unwrap_err();

    // THEN it disables and warns nobody, and fails for the failure destination
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "CircuitBreakerTripped");
    assert!(
        diagnostic
            .error_message
            .starts_with("circuit breaker: 3 members would be disabled, more than 2"),
        "{}",
        diagnostic.error_message
    );
    assert!(world.sandbox.members().iter().all(|m| !m.disabled));
    assert_eq!(world.sandbox.calls().count("disableUsers"), 0);
    assert!(
        world
            .moto
            .sent_mails_to(&world.address("idle.member"))
            .await
            .is_empty(),
        "no warning either"
    );
    let summary = world.moto.sent_mails_to(&world.admin_email).await;
    let last = summary.last().unwrap();
    assert_eq!(
        last.subject,
        "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or disabled"
    );
    assert!(
        last.body
            .contains("Circuit breaker tripped: 3 members are due to be disabled, more than the 2 allowed in a run or a day."),
        "{}",
        last.body
    );
    let reports = world
        .moto
        .list_keys(&world.bucket, "reports/sweep/2026-06-01/")
        .await;
    assert_eq!(reports.len(), 1);
    let report = world.text(&reports[0]).await.unwrap();
    assert!(report.contains("gone.one,"), "{report}");
    assert!(
        report.contains("circuit breaker: 3 members would be disabled"),
        "{report}"
    );
}

#[tokio::test]
async fn dry_run_is_the_default_and_changes_nothing() {
    // GIVEN the default configuration (dry run) and members to warn and disable
    let world = org_of_every_class().await;
    let mut config = protections(&world);
    let deployed = connectors::config::Env::from_pairs(&[
        ("MAIL_FROM", "rollcall@example.org"),
        ("ARCGIS_URL", "https://example.maps.arcgis.com"),
        ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
        ("REPORT_BUCKET", "rollcall-reports"),
    ]);
    config.common.dry_run = sweep::SweepConfig::from_env(&deployed)
        .expect("the least configuration")
        .common
        .dry_run;
    let handler = world.sweep_handler(config).await;
    let before: Vec<(String, bool)> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| (m.username, m.disabled))
        .collect();

    // WHEN the schedule fires
    let result = handler.handle(scheduled(day(0))).await.unwrap();

    // THEN the report plans, but no member is mailed or disabled and no state is written
    assert!(result.dry_run);
    let report = world.text_at(&result.report).await;
    assert!(report.contains(&format!("idle.member,{},", world.address("idle.member"))));
    assert!(
        report.contains(",warn,planned_warn,signed in 70 days ago"),
        "{report}"
    );
    let after: Vec<(String, bool)> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| (m.username, m.disabled))
        .collect();
    assert_eq!(after, before);
    assert_eq!(world.sandbox.calls().count("disableUsers"), 0);
    for name in ["idle.member", "gone.member", "never.signedin"] {
        assert!(world
            .moto
            .sent_mails_to(&world.address(name))
            .await
            .is_empty());
    }
    assert!(world.text("state/sweep.json").await.is_none());
    let summary = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(
        summary[0].subject,
        "rollcall sweep 2026-06-01: Dry run: 0 would be disabled, 3 would be warned, 8 untouched"
    );

    // AND a console event can ask for a dry run over a live configuration
    let live = world.sweep_handler(protections(&world)).await;
    let console = LambdaEvent::new(
        serde_json::json!({"dry_run": true, "now": day(0).to_rfc3339()}),
        Context::default(),
    );
    assert!(live.handle(console).await.unwrap().dry_run);
    assert!(world
        .moto
        .sent_mails_to(&world.address("idle.member"))
        .await
        .is_empty());
}

#[tokio::test]
async fn a_name_crafted_to_inject_headers_is_neutralised() {
    // GIVEN an admin template that puts the member's name in the subject,
    // and a member whose first name carries a CRLF and a Bcc header
    let world = World::new(SandboxConfig::online()).await;
    let mut evil = member(&world, "eve.member", Some(-70), -400);
    evil.first_name = "Eve\r\nBcc: attacker@evil.example".into();
    world.sandbox.add_member(evil);
    world
        .moto
        .put_object(
            &world.bucket,
            "templates/warn.txt",
            b"Subject: {{first_name}}, your account needs you\n\nHello {{first_name}}, sign in by {{disable_date}}: {{sign_in_url}}\n",
            &[],
        )
        .await;
    world
        .moto
        .put_object(
            &world.bucket,
            "templates/warn.html",
            b"<p>Hello {{first_name}} <script>x</script></p>",
            &[],
        )
        .await;
    let handler = world.sweep_handler(world.sweep_config()).await;

    // WHEN the member is warned
    handler.handle(scheduled(day(0))).await.unwrap();

    // THEN the subject is one line, the only recipient is the member, and the
    // name is escaped in the HTML the admin's template renders
    let mails = world.moto.sent_mails_to(&world.address("eve.member")).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "Eve Bcc: attacker@evil.example, your account needs you"
    );
    assert_eq!(mails[0].to, [world.address("eve.member")]);
    assert!(mails[0].cc.is_empty() && mails[0].bcc.is_empty());
    assert!(world
        .moto
        .sent_mails_to("attacker@evil.example")
        .await
        .is_empty());
    assert_eq!(
        mails[0].body,
        "<p>Hello Eve\r\nBcc: attacker@evil.example <script>x</script></p>"
    );
}

#[tokio::test]
async fn an_account_without_the_privileges_stops_the_sweep_at_once() {
    // GIVEN rollcall signing in as a member who is not an administrator
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_member(member(&world, "plain.user", Some(-1), -400).password("Plain-Password1"));
    world
        .sandbox
        .add_member(member(&world, "idle.member", Some(-70), -400));
    let secret = serde_json::json!({"username": "plain.user", "password": "Plain-Password1"});
    world
        .moto
        .put_secret_value(&world.secret_id, &secret.to_string())
        .await;
    let handler = world.sweep_handler(world.sweep_config()).await;

    // WHEN the schedule fires
    let error = Diagnostic::from(handler.handle(scheduled(day(0))).await.unwrap_err());

    // THEN it names the missing privilege and touches nobody
    assert_eq!(error.error_type, "PermissionDenied");
    assert!(
        error
            .error_message
            .contains("lacks the privilege portal:admin:viewUsers"),
        "{}",
        error.error_message
    );
    assert!(world
        .moto
        .sent_mails_to(&world.address("idle.member"))
        .await
        .is_empty());
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails[0].subject, "rollcall sweep failed");
}

#[tokio::test]
async fn a_run_cut_short_by_the_deadline_keeps_every_warning_for_the_next_run() {
    // GIVEN 150 idle members (two pages), all warned on day 0
    let world = World::new(SandboxConfig::online()).await;
    for i in 0..150 {
        world
            .sandbox
            .add_member(member(&world, &format!("idle.{i:03}"), Some(-80), -400));
    }
    let mut config = world.sweep_config();
    config.thresholds.max_disables_per_run = 1000;
    let handler = world.sweep_handler(config).await;
    assert_eq!(
        handler
            .handle(scheduled(day(0)))
            .await
            .unwrap()
            .warned
            .len(),
        150
    );

    // WHEN the day-14 run starts with less time left than its safety margin
    let mut late = scheduled(day(14));
    let margin_ms = handler.config.common.deadline_margin.as_millis() as u64;
    late.context.deadline = Utc::now().timestamp_millis() as u64 + margin_ms - 1_000;
    let cut = handler.handle(late).await.unwrap();

    // THEN it stops after the first page, says so, disables nobody it did not
    // reach in time, and keeps every warning
    assert!(!cut.complete);
    assert_eq!(cut.members, 100, "the first page");
    assert!(cut.disabled.is_empty());
    assert!(
        cut.notes.iter().any(|n| n
            .starts_with("stopped listing before the Lambda deadline after 100 of 151 members")),
        "{:?}",
        cut.notes
    );
    let state: Value =
        serde_json::from_str(&world.text("state/sweep.json").await.unwrap()).unwrap();
    assert_eq!(state["warned"].as_object().unwrap().len(), 150);
    assert!(world.sandbox.members().iter().all(|m| !m.disabled));

    // AND the next run with time enough disables all 150
    let next = handler.handle(scheduled(day(14))).await.unwrap();
    assert!(next.complete);
    assert_eq!(next.disabled.len(), 150);
    assert_eq!(world.sandbox.calls().count("disableUsers"), 6, "25 a call");
    assert_eq!(
        world
            .sandbox
            .members()
            .iter()
            .filter(|m| m.disabled)
            .count(),
        150
    );
}

#[tokio::test]
async fn a_member_whose_answer_lacks_last_login_is_never_warned_or_disabled() {
    // GIVEN a member warned long ago and still idle, whose answers then
    // stop saying when they last signed in, and one who never signed in
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_member(member(&world, "quiet.member", Some(-150), -400));
    world
        .sandbox
        .add_member(member(&world, "never.signedin", None, -400));
    let handler = world.sweep_handler(world.sweep_config()).await;
    handler.handle(scheduled(day(-30))).await.unwrap();
    world.sandbox.withhold_last_login("quiet.member");

    // WHEN the sweep runs when the notice period is over
    let result = handler.handle(scheduled(day(0))).await.unwrap();

    // THEN that member is not disabled, and the report says why
    assert!(!world.sandbox.member("quiet.member").unwrap().disabled);
    assert_eq!(
        world
            .moto
            .sent_mails_to(&world.address("quiet.member"))
            .await
            .len(),
        1,
        "only the day -30 warning"
    );
    let report = world.text_at(&result.report).await;
    assert!(
        report.contains(&format!(
            "quiet.member,{},unknown,,unknown,none,the portal did not say when the member last signed in (no lastLogin); left alone\n",
            world.address("quiet.member")
        )),
        "{report}"
    );
    // AND "never" (`-1`) is still read as never: that member was disabled after the notice
    assert_eq!(result.classes.get("unknown"), Some(&1));
    assert_eq!(result.disabled, ["never.signedin"]);
    assert!(world.sandbox.member("never.signedin").unwrap().disabled);
}

#[tokio::test]
async fn bulk_disable_answers_without_usernames_are_matched_by_position() {
    // GIVEN a portal answering disableUsers as the ArcGIS API for Python
    // reads it: results[] with a status and no username
    let world = World::new(SandboxConfig::online()).await;
    for name in ["gone.one", "gone.two"] {
        world
            .sandbox
            .add_member(member(&world, name, Some(-150), -400));
    }
    let handler = world.sweep_handler(world.sweep_config()).await;
    handler.handle(scheduled(day(-30))).await.unwrap();
    world.sandbox.set_bulk_results_without_username(true);
    world.sandbox.reset_calls();

    // WHEN the sweep disables them
    let result = handler.handle(scheduled(day(0))).await.unwrap();

    // THEN both are disabled and recorded, without a lookup
    assert_eq!(result.disabled, ["gone.one", "gone.two"]);
    assert!(world.sandbox.member("gone.one").unwrap().disabled);
    assert_eq!(world.sandbox.calls().count("disableUsers"), 1);
    assert_eq!(world.sandbox.calls().count("community/users"), 0);
    let state: Value =
        serde_json::from_str(&world.text("state/sweep.json").await.unwrap()).unwrap();
    assert_eq!(
        state["disabled"]["2026-06-01"],
        serde_json::json!(["gone.one", "gone.two"])
    );
    let report = world.text_at(&result.report).await;
    assert_eq!(report.matches(",disable,disabled,").count(), 2, "{report}");
}

/// A portal whose `disableUsers` answers with `answer` whatever it is
/// asked, and whose `community/users/{u}` says `u` is disabled when listed
/// in `disabled`.
async fn stub_portal(answer: Value, disabled: &'static [&'static str]) -> String {
    use axum::extract::Path;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    let expires = Utc::now().timestamp_millis() + 3_600_000;
    let app =
        Router::new()
            .route(
                "/portal/sharing/rest/generateToken",
                post(move || async move {
                    Json(serde_json::json!({"token": "stub", "expires": expires}))
                }),
            )
            .route(
                "/portal/sharing/rest/portals/self/disableUsers",
                post(move || async move { Json(answer) }),
            )
            .route(
                "/portal/sharing/rest/community/users/{username}",
                get(move |Path(username): Path<String>| async move {
                    Json(serde_json::json!({
                        "username": username,
                        "disabled": disabled.contains(&username.as_str()),
                    }))
                }),
            );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/portal", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn doubtful_bulk_entries_are_confirmed_by_looking_the_member_up() {
    use connectors::arcgis::{ArcgisClient, ArcgisOptions, MemberStatus};
    use connectors::secrets::{Credentials, SecretString};
    let names: Vec<String> = ["a.one", "b.two", "c.three"].map(String::from).to_vec();
    let client = |url: String| {
        ArcgisClient::new(
            &url,
            Credentials::Account {
                username: "admin".into(),
                password: SecretString::new("stub-password"),
            },
            ArcgisOptions::default(),
        )
        .unwrap()
    };
    let outcome = |results: Vec<connectors::arcgis::BulkResult>| -> Vec<(String, bool)> {
        results.into_iter().map(|r| (r.username, r.ok)).collect()
    };

    // GIVEN answers a client cannot match to every user: fewer entries than
    // users and no usernames, or entries without a status
    let fewer = stub_portal(
        serde_json::json!({"results": [{"status": true}, {"status": true}]}),
        &["a.one", "c.three"],
    )
    .await;
    let no_status = stub_portal(
        serde_json::json!({"results": [
            {"username": "a.one", "status": true},
            {"username": "b.two"},
            {"status": "maybe"}]}),
        &["a.one", "b.two"],
    )
    .await;

    // WHEN the sweep's client disables the three
    // THEN each doubtful entry follows the member's own `disabled` flag
    assert_eq!(
        outcome(client(fewer).disable_users(&names).await.unwrap()),
        [
            ("a.one".to_string(), true),
            ("b.two".to_string(), false),
            ("c.three".to_string(), true)
        ]
    );
    let answer = client(no_status).disable_users(&names).await.unwrap();
    assert_eq!(
        outcome(answer.clone()),
        [
            ("a.one".to_string(), true),
            ("b.two".to_string(), true),
            ("c.three".to_string(), false)
        ]
    );
    assert_eq!(
        answer[2].error.as_deref(),
        Some("the portal's answer did not say, and the account is still enabled")
    );
}

/// A console event, as the Lambda console sends it.
fn console(event: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(event, Context::default())
}

#[tokio::test]
async fn a_console_now_is_refused_on_a_live_run() {
    // GIVEN a live deployment over an org with members to warn and disable
    let world = org_of_every_class().await;
    let handler = world.sweep_handler(protections(&world)).await;
    let before: Vec<(String, bool)> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| (m.username, m.disabled))
        .collect();

    // WHEN the console asks for a live run in 2030, saying dry_run false or not saying it
    for event in [
        serde_json::json!({"dry_run": false, "now": "2030-01-01T00:00:00Z"}),
        serde_json::json!({"now": "2030-01-01T00:00:00Z"}),
    ] {
        let error = Diagnostic::from(handler.handle(console(event.clone())).await.unwrap_err());

        // THEN it is refused, naming why
        assert_eq!(error.error_type, "InvalidEvent", "{event}");
        assert!(
            error
                .error_message
                .starts_with("`now` is accepted in dry runs only"),
            "{}",
            error.error_message
        );
    }

    // AND nobody is mailed or disabled, and no state or report is written
    let after: Vec<(String, bool)> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| (m.username, m.disabled))
        .collect();
    assert_eq!(after, before);
    assert!(world
        .moto
        .sent_mails_to(&world.address("idle.member"))
        .await
        .is_empty());
    assert!(world
        .moto
        .sent_mails_to(&world.admin_email)
        .await
        .is_empty());
    assert!(world.text("state/sweep.json").await.is_none());
    assert!(world
        .moto
        .list_keys(&world.bucket, "reports/")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_disable_cap_holds_for_the_day_when_the_schedule_runs_every_minute() {
    // GIVEN a cap of two; two members warned at 06:00 on day -14 and a third
    // who reached 60 idle days, and was warned, at 12:00 that day
    let world = World::new(SandboxConfig::online()).await;
    for name in ["gone.one", "gone.two"] {
        world
            .sandbox
            .add_member(member(&world, name, Some(-150), -400));
    }
    world.sandbox.add_member(
        member(&world, "gone.three", None, -400)
            .last_login(Some((day(-74) + Days::hours(3)).timestamp_millis())),
    );
    let mut config = world.sweep_config();
    config.thresholds.max_disables_per_run = 2;
    config.thresholds.disable_after_days = 60;
    let handler = world.sweep_handler(config).await;
    let morning = handler.handle(scheduled(day(-14))).await.unwrap();
    assert_eq!(morning.warned, ["gone.one", "gone.two"]);
    let noon = handler
        .handle(scheduled(day(-14) + Days::hours(6)))
        .await
        .unwrap();
    assert_eq!(noon.warned, ["gone.three"]);

    // WHEN the schedule fires at 06:00, then again at 12:01 the same day
    let morning = handler.handle(scheduled(day(0))).await.unwrap();
    assert_eq!(morning.disabled.len(), 2, "within the cap");
    let error = handler
        .handle(scheduled(day(0) + Days::minutes(6 * 60 + 1)))
        .await
        .unwrap_err();

    // THEN the second run trips the breaker on the day's total
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "CircuitBreakerTripped");
    assert!(
        diagnostic.error_message.starts_with(
            "circuit breaker: 1 members would be disabled after 2 already disabled today, more than the daily cap of 2"
        ),
        "{}",
        diagnostic.error_message
    );
    assert!(!world.sandbox.member("gone.three").unwrap().disabled);
    // AND the summary and the report say it was the daily cap
    let summary = world.moto.sent_mails_to(&world.admin_email).await;
    let last = summary.last().unwrap();
    assert_eq!(
        last.subject,
        "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or disabled"
    );
    assert!(
        last.body.contains("tripped by the daily cap (1 member due to be disabled after 2 earlier today, more than the 2 allowed a day)"),
        "{}",
        last.body
    );
    let reports = world
        .moto
        .list_keys(&world.bucket, "reports/sweep/2026-06-01/")
        .await;
    // (both runs write under the day; run ids sort by wall clock, not by the event)
    let tripped = reports
        .iter()
        .find(|key| !morning.report.ends_with(key.as_str()))
        .expect("the tripped run's report");
    assert_eq!(reports.len(), 2, "{reports:?}");
    let report = world.text(tripped).await.unwrap();
    assert!(
        report.contains(
            "more than the daily cap MAX_DISABLES_PER_RUN (2); nobody was warned or disabled"
        ),
        "{report}"
    );

    // AND the next day the member is disabled
    let next = handler.handle(scheduled(day(1))).await.unwrap();
    assert_eq!(next.disabled, ["gone.three"]);
}
