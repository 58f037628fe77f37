//! Licence reclamation (`SWEEP_ACTION=downgrade`) with in-memory fakes of
//! the ports: a member past the notice period keeps the account and gives
//! back the paid licence; signing in again gets it back when one is free.
//! Each test reads what an admin and the members would see: the fake org's
//! members, `state/reclaimed.json`, the report and the mails. The end-to-end
//! runs against moto and the sandbox are in `reclaim_arcgis.rs`.

use std::collections::BTreeMap;

use connectors::arcgis::{ArcgisSettings, LastLogin, RoleDetail, User};
use connectors::config::{Common, MailSettings};
use connectors::mail::Mail;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::fakes::{FakeMailer, FakeOrg, FakeStore};
use serde_json::{json, Value};
use sweep::{Downgrade, Handler, SweepAction, SweepConfig, SweepError, SweepFunction};

const ADMINS: &str = "admins@example.org";
const DAY_MS: i64 = 86_400_000;
/// 2026-06-01T06:00:00Z: day 0.
const DAY0_MS: i64 = 1_780_293_600_000;
const VIEWER: &str = "iAAAAAAAAAAAAAAA";

type Sweeper = Handler<FakeStore, FakeMailer, FakeOrg>;

fn common() -> Common {
    Common {
        mail: MailSettings {
            from: "rollcall@example.org".into(),
            admins: vec![ADMINS.into()],
        },
        ..Common::new(false)
    }
}

/// Day `n`'s schedule event, at 06:00 UTC.
fn day(n: i64) -> LambdaEvent<Value> {
    let time = chrono::DateTime::from_timestamp_millis(DAY0_MS + n * DAY_MS).unwrap();
    LambdaEvent::new(
        json!({"version": "0", "id": "e1", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012",
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": "us-east-1", "resources": [], "detail": {}}),
        Context::default(),
    )
}

/// A Creator publisher who last signed in `idle` days before day 0.
fn creator(username: &str, idle: i64) -> User {
    User {
        username: username.into(),
        email: Some(format!("{username}@example.org")),
        role: Some("org_publisher".into()),
        user_license_type_id: Some("creatorUT".into()),
        last_login: LastLogin::At(DAY0_MS - idle * DAY_MS),
        created: Some(DAY0_MS - 400 * DAY_MS),
        ..User::default()
    }
}

/// A live downgrading sweep over `members`, whose state warned each member
/// 30 days before day 0; the admin may change roles and licences.
fn sweeper(members: &[User], downgrade: Downgrade) -> Sweeper {
    let mut org = FakeOrg::default();
    org.admin.privileges.extend([
        "portal:admin:changeUserRoles".to_string(),
        "portal:admin:manageLicenses".to_string(),
    ]);
    org.add_member(org.admin.clone());
    let mut warned = serde_json::Map::new();
    for m in members {
        org.add_member(m.clone());
        warned.insert(
            m.username.clone(),
            json!({"warned_at": "2026-05-02T06:00:00Z"}),
        );
    }
    let state = json!({"version": 2, "warned": warned}).to_string();
    let mut config = SweepConfig::new(common(), arcgis(), "fake-bucket");
    config.action = SweepAction::Downgrade(downgrade);
    Handler {
        store: FakeStore::with("state/sweep.json", &state),
        mailer: FakeMailer::default(),
        service: org,
        config,
    }
}

fn arcgis() -> ArcgisSettings {
    ArcgisSettings::new("https://fake.example.org/portal", "rollcall/arcgis")
}

fn to_viewer() -> Downgrade {
    Downgrade {
        to: "viewerUT".into(),
        role: None,
    }
}

fn reclaimed(handler: &Sweeper) -> Value {
    serde_json::from_str(&handler.store.text("state/reclaimed.json").unwrap()).unwrap()
}

/// The member's user type and role id, as the org holds them.
fn holds(handler: &Sweeper, username: &str) -> (String, String) {
    let m = handler.service.member(username).unwrap();
    (
        m.user_license_type_id.unwrap_or_default(),
        m.role_id.or(m.role).unwrap_or_default(),
    )
}

fn mails(handler: &Sweeper, username: &str) -> Vec<Mail> {
    handler.mailer.to(&format!("{username}@example.org"))
}

fn sign_in(handler: &Sweeper, username: &str, day: i64) {
    let mut members = handler.service.members.borrow_mut();
    members.get_mut(username).unwrap().last_login =
        LastLogin::At(DAY0_MS + day * DAY_MS + 3_600_000);
}

/// The report line of `name` in the day's report written last.
fn line(handler: &Sweeper, day: &str, name: &str) -> String {
    let keys = handler.store.keys(&format!("reports/sweep/{day}/"));
    let report = handler.store.text(keys.last().unwrap()).unwrap();
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("no line for {name}: {report}"))
        .to_string()
}

/// Each member an admins' mail lists in its "Members acted on" table (its
/// text part): username, what happened, and the next step.
fn acted(mail: &Mail) -> Vec<(String, String, String)> {
    let Some((_, after)) = mail.text.split_once("\nMembers acted on:\n") else {
        return Vec::new();
    };
    let cell = |line: &str, column: &str| {
        line.split_once(&format!("{column}: "))
            .map(|(_, rest)| rest.split("; Next step: ").next().unwrap_or(rest))
            .map(|value| value.split("; ").next().unwrap_or(value).to_string())
            .unwrap_or_default()
    };
    after
        .lines()
        .map_while(|l| l.strip_prefix("- "))
        .map(|l| {
            let what = l
                .split_once("What happened: ")
                .and_then(|(_, rest)| rest.split_once("; Next step: "))
                .map_or(String::new(), |(what, _)| what.to_string());
            let next = l
                .split_once("; Next step: ")
                .map_or(String::new(), |(_, next)| next.to_string());
            (cell(l, "Username"), what, next)
        })
        .collect()
}

/// The usernames the "Members acted on" table lists with `what` as what happened.
fn acted_as(mail: &Mail, what: &str) -> Vec<String> {
    acted(mail)
        .into_iter()
        .filter(|(_, w, _)| w == what)
        .map(|(name, _, _)| name)
        .collect()
}

fn last_summary(handler: &Sweeper) -> Mail {
    handler
        .mailer
        .to(ADMINS)
        .last()
        .cloned()
        .expect("a summary")
}

#[tokio::test]
async fn a_downgrade_releases_the_licence_and_signing_in_gives_it_back() {
    // GIVEN a Creator publisher warned 30 days ago and still idle
    let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());

    // WHEN the day-0 sweep runs
    let result = handler.handle(day(0)).await.unwrap();

    // THEN the member keeps the account as a Viewer, with the Viewer role
    assert_eq!(
        holds(&handler, "idle.creator"),
        ("viewerUT".into(), VIEWER.into())
    );
    assert!(!handler.service.member("idle.creator").unwrap().disabled);
    assert_eq!(handler.service.count("disable_users"), 0);
    // AND state/reclaimed.json records what they had
    let state = reclaimed(&handler);
    assert_eq!(
        state["members"],
        json!({"idle.creator": {"user_type": "creatorUT", "role": "org_publisher",
            "downgraded_to": "viewerUT", "downgraded_at": "2026-06-01T06:00:00Z"}})
    );
    assert_eq!(state["downgraded"], json!({"2026-06-01": ["idle.creator"]}));
    assert_eq!(
        state["pending"],
        json!({"downgrade": {}, "restore": {}, "notify": {}})
    );
    assert_eq!(state["notices_due"], json!({}));
    // AND the member is told, once
    let sent = mails(&handler, "idle.creator");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].subject,
        "Your Fake Org ArcGIS Creator licence was released"
    );
    assert!(
        sent[0].text.contains("Your Creator licence in Fake Org ArcGIS (username idle.creator) was released on Monday 1 June 2026")
            && sent[0].text.contains("your account is now Viewer")
            && sent[0].text.contains("Sign in and it will be restored"),
        "{}",
        sent[0].text
    );
    // AND the report, the answer and the summary count the licence reclaimed
    assert_eq!(
        line(&handler, "2026-06-01", "idle.creator"),
        "idle.creator,idle.creator@example.org,2026-02-01,120,downgrade,downgraded,\
\"inactive 120 days; warned on 2026-05-02, notice period over; the licence-released notice was sent\",\
viewerUT,creatorUT,"
    );
    assert_eq!(result.sweep_action, "downgrade");
    assert_eq!(
        result.licences.reclaimed,
        BTreeMap::from([("creatorUT".into(), 1)])
    );
    let summary = last_summary(&handler);
    assert_eq!(
        summary.subject,
        "rollcall sweep 2026-06-01: 1 member downgraded, 0 warned, 1 untouched"
    );
    assert!(
        summary.text.contains("Licences released: Creator 1"),
        "{}",
        summary.text
    );
    assert_eq!(acted_as(&summary, "licence released"), ["idle.creator"]);
    assert_eq!(
        serde_json::to_value(&result).unwrap()["licences"],
        json!({"reclaimed": {"creatorUT": 1}, "restored": {}, "waiting": {}})
    );

    // WHEN the next days pass without a sign-in
    handler.handle(day(1)).await.unwrap();
    // THEN nothing more happens to the member
    assert_eq!(handler.service.count("update_user_type"), 1);
    assert_eq!(mails(&handler, "idle.creator").len(), 1);
    assert!(line(&handler, "2026-06-02", "idle.creator").contains(
        ",downgraded,none,the creatorUT licence was released on 2026-06-01; given back when the member signs in,viewerUT,creatorUT,"
    ));

    // WHEN the member signs in on day 5 and the day-6 sweep runs
    sign_in(&handler, "idle.creator", 5);
    let result = handler.handle(day(6)).await.unwrap();

    // THEN they have their Creator licence and Publisher role back, and are told
    assert_eq!(
        holds(&handler, "idle.creator"),
        ("creatorUT".into(), "org_publisher".into())
    );
    assert_eq!(reclaimed(&handler)["members"], json!({}));
    let sent = mails(&handler, "idle.creator");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].subject,
        "Your Fake Org ArcGIS Creator licence is back"
    );
    assert_eq!(
        result.licences.restored,
        BTreeMap::from([("creatorUT".into(), 1)])
    );
    assert!(line(&handler, "2026-06-07", "idle.creator").contains(",active,restored,"));
    assert_eq!(
        last_summary(&handler).subject,
        "rollcall sweep 2026-06-07: 0 members downgraded, 0 warned, 1 given their licence back, 1 untouched"
    );
}

#[tokio::test]
async fn a_member_waits_while_the_org_has_no_licence_free() {
    // GIVEN a member downgraded on day 0 and an org of one Creator licence
    let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    handler.handle(day(0)).await.unwrap();
    *handler.service.lifecycle.purchased.borrow_mut() = Some(BTreeMap::from([
        ("creatorUT".into(), 1),
        ("viewerUT".into(), 10),
    ]));
    handler.service.add_member(creator("new.creator", 1));

    // WHEN the member signs in and the next sweep runs
    sign_in(&handler, "idle.creator", 2);
    let result = handler.handle(day(3)).await.unwrap();

    // THEN the licence is not asked for, and the member waits
    assert_eq!(handler.service.count("update_user_type"), 1, "day 0 only");
    assert_eq!(holds(&handler, "idle.creator").0, "viewerUT");
    assert_eq!(
        line(&handler, "2026-06-04", "idle.creator"),
        "idle.creator,idle.creator@example.org,2026-06-03,0,active,waiting,\
signed in on 2026-06-03 after the creatorUT licence was released on 2026-06-01; \
waiting: no Creator licence free (0 of 1); each run tries again while the member is waiting,\
viewerUT,creatorUT,"
    );
    assert_eq!(
        result.licences.waiting,
        BTreeMap::from([("creatorUT".into(), 1)])
    );
    let summary = last_summary(&handler);
    assert_eq!(
        summary.subject,
        "rollcall sweep 2026-06-04: 0 members downgraded, 0 warned, 1 waiting, 2 untouched"
    );
    assert_eq!(
        acted(&summary),
        [(
            "idle.creator".to_string(),
            "waiting: no Creator licence free (0 of 1)".to_string(),
            "tried again each run until a licence is free".to_string()
        )]
    );
    assert_eq!(
        reclaimed(&handler)["waiting"]["idle.creator"]["reason"],
        "no Creator licence free (0 of 1)"
    );

    // WHEN a Creator licence comes free and the next sweep runs
    handler.service.members.borrow_mut().remove("new.creator");
    handler.handle(day(4)).await.unwrap();

    // THEN the member gets it back and waits no more
    assert_eq!(holds(&handler, "idle.creator").0, "creatorUT");
    let state = reclaimed(&handler);
    assert_eq!(
        (state["members"].clone(), state["waiting"].clone()),
        (json!({}), json!({}))
    );
}

#[tokio::test]
async fn a_restore_refused_within_30_days_waits_with_its_date_and_is_tried_again() {
    // GIVEN a member downgraded on day 0 who signs in on day 2, and a portal
    // refusing a second user-type change within 30 days
    let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    handler.handle(day(0)).await.unwrap();
    sign_in(&handler, "idle.creator", 2);
    handler
        .service
        .lifecycle
        .refuse_user_type
        .borrow_mut()
        .insert(
            "idle.creator".into(),
            "The user type can be changed only once in 30 days.".into(),
        );

    // WHEN the sweep runs on days 3 and 4
    let day3 = handler.handle(day(3)).await.unwrap();
    handler.handle(day(4)).await.unwrap();

    // THEN each run asks, and the member waits for 2026-07-01
    assert_eq!(handler.service.count("update_user_type"), 3);
    assert_eq!(holds(&handler, "idle.creator").0, "viewerUT");
    let waiting = line(&handler, "2026-06-05", "idle.creator");
    assert!(
        waiting.ends_with(
            ",waiting,\"signed in on 2026-06-03 after the creatorUT licence was released on 2026-06-01; \
waiting: the portal allows one user-type change in 30 days (The user type can be changed only once in 30 days.); \
each run tries again, possible from 2026-07-01\",viewerUT,creatorUT,2026-07-01"
        ),
        "{waiting}"
    );
    assert_eq!(
        acted(&last_summary(&handler)),
        [(
            "idle.creator".to_string(),
            "waiting: The user type can be changed only once in 30 days.".to_string(),
            "tried again each run; possible from 1 Jul 2026".to_string()
        )]
    );
    assert_eq!(day3.actions.get("waiting"), Some(&1));
    let state = reclaimed(&handler);
    assert_eq!(
        state["waiting"]["idle.creator"]["since"],
        "2026-06-04T06:00:00Z"
    );
    assert_eq!(state["waiting"]["idle.creator"]["until"], "2026-07-01");
    // AND the role stays Viewer while the type waits
    assert_eq!(holds(&handler, "idle.creator").1, VIEWER);

    // WHEN the portal allows it on day 30
    handler
        .service
        .lifecycle
        .refuse_user_type
        .borrow_mut()
        .clear();
    handler.handle(day(30)).await.unwrap();

    // THEN the member is restored, and the licence-restored notice goes out
    assert_eq!(
        holds(&handler, "idle.creator"),
        ("creatorUT".into(), "org_publisher".into())
    );
    assert_eq!(reclaimed(&handler)["waiting"], json!({}));
    assert_eq!(mails(&handler, "idle.creator").len(), 2);
}

#[tokio::test]
async fn a_downgrade_refused_within_30_days_keeps_the_role_and_is_tried_again() {
    // GIVEN a member whose type an admin changed last week
    let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    handler
        .service
        .lifecycle
        .refuse_user_type
        .borrow_mut()
        .insert(
            "idle.creator".into(),
            "The user type can be changed only once in 30 days.".into(),
        );

    // WHEN the sweep would downgrade them
    let result = handler.handle(day(0)).await.unwrap();

    // THEN they keep their type and, put back, their role; they wait
    assert_eq!(
        holds(&handler, "idle.creator"),
        ("creatorUT".into(), "org_publisher".into())
    );
    assert_eq!(handler.service.count("update_role"), 2, "Viewer, then back");
    assert_eq!(result.actions.get("waiting"), Some(&1));
    assert!(line(&handler, "2026-06-01", "idle.creator")
        .ends_with("possible by 2026-07-01 at the latest\",creatorUT,,2026-07-01"));
    assert!(mails(&handler, "idle.creator").is_empty());
    let state = reclaimed(&handler);
    assert_eq!(state["members"], json!({}));
    assert_eq!(state["waiting"]["idle.creator"]["change"], "downgrade");

    // WHEN the portal allows it the next day
    handler
        .service
        .lifecycle
        .refuse_user_type
        .borrow_mut()
        .clear();
    handler.handle(day(1)).await.unwrap();

    // THEN the licence is released, and the member waits no more
    assert_eq!(holds(&handler, "idle.creator").0, "viewerUT");
    assert_eq!(reclaimed(&handler)["waiting"], json!({}));
}

#[tokio::test]
async fn the_breaker_caps_downgrades_per_run_and_per_day() {
    // GIVEN three idle Creators and a cap of two
    let names = ["gone.one", "gone.two", "gone.three"];
    let members: Vec<User> = names.iter().map(|n| creator(n, 120)).collect();
    let mut handler = sweeper(&members, to_viewer());
    handler.config.thresholds.max_disables_per_run = 2;

    // WHEN the sweep would downgrade three
    let error = handler.handle(day(0)).await.unwrap_err();

    // THEN nobody is touched, and the invocation fails as a tripped breaker
    assert!(
        matches!(
            error,
            SweepError::BreakerTripped {
                would_disable: 3,
                max: 2,
                acting: "downgraded",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().starts_with(
            "circuit breaker: 3 members would be downgraded, more than 2; nobody was warned or downgraded"
        ),
        "{error}"
    );
    assert_eq!(Diagnostic::from(error).error_type, "CircuitBreakerTripped");
    assert_eq!(handler.service.count("update_user_type"), 0);
    assert_eq!(handler.service.count("update_role"), 0);
    assert!(handler.store.text("state/reclaimed.json").is_none());
    assert_eq!(
        last_summary(&handler).subject,
        "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or downgraded"
    );

    // WHEN one signs in, two are downgraded, and a third idle member is
    // due the same afternoon
    sign_in(&handler, "gone.three", -1);
    handler.handle(day(0)).await.unwrap();
    assert_eq!(
        reclaimed(&handler)["downgraded"]["2026-06-01"],
        json!(["gone.one", "gone.two"])
    );
    handler.service.add_member(creator("late.one", 120));
    let mut warned: Value =
        serde_json::from_str(&handler.store.text("state/sweep.json").unwrap()).unwrap();
    warned["warned"]["late.one"] = json!({"warned_at": "2026-05-02T06:00:00Z"});
    handler
        .store
        .upload("state/sweep.json", &warned.to_string());
    let mut afternoon = day(0);
    afternoon.payload["time"] = "2026-06-01T14:00:00Z".into();
    let error = handler.handle(afternoon).await.unwrap_err();

    // THEN the day's cap holds
    assert!(
        error.to_string().starts_with(
            "circuit breaker: 1 members would be downgraded after 2 already downgraded today, more than the daily cap of 2"
        ),
        "{error}"
    );
    assert_eq!(holds(&handler, "late.one").0, "creatorUT");
}

#[tokio::test]
async fn a_dry_run_plans_downgrades_and_restores_and_changes_nothing() {
    // GIVEN a member to downgrade and one downgraded earlier who signed in
    let mut handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    let back = User {
        user_license_type_id: Some("viewerUT".into()),
        role_id: Some(VIEWER.into()),
        ..creator("back.member", 2)
    };
    handler.service.add_member(back);
    handler.store.upload(
        "state/reclaimed.json",
        &json!({"version": 1, "members": {"back.member": {"user_type": "creatorUT",
            "role": "org_user", "downgraded_to": "viewerUT",
            "downgraded_at": "2026-05-01T06:00:00Z"}}})
        .to_string(),
    );
    let before = handler.store.text("state/reclaimed.json");
    handler.config.common.dry_run = true;

    // WHEN the schedule runs
    let result = handler.handle(day(0)).await.unwrap();

    // THEN the report plans both, and nothing changes
    assert!(line(&handler, "2026-06-01", "idle.creator").contains(",downgrade,planned_downgrade,"));
    assert!(line(&handler, "2026-06-01", "back.member").contains(",active,planned_restore,"));
    assert_eq!(handler.service.count("update_user_type"), 0);
    assert_eq!(handler.service.count("update_role"), 0);
    assert_eq!(handler.store.text("state/reclaimed.json"), before);
    assert!(mails(&handler, "idle.creator").is_empty());
    assert_eq!(
        result.licences.reclaimed,
        BTreeMap::from([("creatorUT".into(), 1)])
    );
    assert_eq!(
        last_summary(&handler).subject,
        "rollcall sweep 2026-06-01: Dry run: 1 would be downgraded, 0 would be warned, 1 would get their licence back, 1 untouched"
    );
}

#[tokio::test]
async fn the_downgrade_settings_must_name_what_the_org_has() {
    let member = [creator("idle.creator", 120)];
    let member = &member;
    let refused = |downgrade: Downgrade| async move {
        let handler = sweeper(member, downgrade);
        handler
            .service
            .lifecycle
            .roles
            .borrow_mut()
            .push(RoleDetail {
                id: "viewPlusAbcdEFGH".into(),
                name: "Map Reader".into(),
                description: String::new(),
                privileges: vec![
                    "portal:user:viewOrgItems".into(),
                    "portal:user:joinGroup".into(),
                ],
            });
        let error = handler
            .handle(day(0))
            .await
            .map(|_| handler.service.member("idle.creator"));
        (error.map(|m| m.unwrap().role_id), handler)
    };
    // An unknown user type, an unknown role, a role the Viewer type cannot hold
    for (downgrade, message) in [
        (
            Downgrade { to: "liteUT".into(), role: None },
            "environment variable DOWNGRADE_TO: the org has no user type \"liteUT\"; it has creatorUT (Creator), viewerUT (Viewer)",
        ),
        (
            Downgrade { to: "Viewer".into(), role: Some("Reader".into()) },
            "environment variable DOWNGRADE_ROLE: the org has no role \"Reader\"; it has Administrator, Publisher, User, Viewer, Data Editor, Map Reader",
        ),
        (
            Downgrade { to: "viewerUT".into(), role: Some("Publisher".into()) },
            "environment variable DOWNGRADE_ROLE: role \"Publisher\" is not a view role, and the Viewer user type (viewerUT) allows only view roles: leave DOWNGRADE_ROLE empty for Viewer, or name a role with view privileges only",
        ),
    ] {
        let (outcome, handler) = refused(downgrade).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.to_string(), format!("sweep stopped before doing anything: {message}"));
        assert_eq!(Diagnostic::from(error).error_type, "InvalidConfiguration");
        assert_eq!(handler.service.count("users_page"), 0, "before any listing");
    }
    // A custom view role, by name, is given instead of Viewer
    let (outcome, _) = refused(Downgrade {
        to: "viewerUT".into(),
        role: Some("map reader".into()),
    })
    .await;
    assert_eq!(outcome.unwrap(), Some("viewPlusAbcdEFGH".into()));
}

#[tokio::test]
async fn a_reclaimed_state_put_lost_after_the_downgrade_is_neither_repeated_nor_lost() {
    // A clean downgrade writes state/reclaimed.json three times with mails:
    // the intent, the result, the notice's intent, the notice's result.
    for failing in 1..=4 {
        // GIVEN an idle Creator, and S3 failing the nth write of reclaimed.json
        let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
        handler
            .store
            .fail_nth_put_under("state/reclaimed.json", failing);

        // WHEN the sweep runs
        let error = handler.handle(day(0)).await.unwrap_err();

        // THEN it stops on that step, and the admins' mail says what it did
        let SweepError::Stopped(stopped) = &error else {
            panic!("write {failing}: {error}");
        };
        assert_eq!(stopped.step, sweep::job::Step::Reclaimed, "write {failing}");
        let downgraded = holds(&handler, "idle.creator").0 == "viewerUT";
        assert_eq!(downgraded, failing >= 2, "write {failing}");
        let failure = &handler.mailer.to(ADMINS)[0];
        assert_eq!(
            acted_as(failure, "licence released"),
            if downgraded {
                vec!["idle.creator".to_string()]
            } else {
                Vec::new()
            },
            "write {failing}: {}",
            failure.text
        );

        // WHEN the schedule runs again a minute later
        let mut retry = day(0);
        retry.payload["time"] = "2026-06-01T06:01:00Z".into();
        handler.handle(retry).await.unwrap();

        // THEN the member was changed once, mailed once, and the state has it all
        assert_eq!(
            handler.service.count("update_user_type"),
            1,
            "write {failing}"
        );
        assert_eq!(
            holds(&handler, "idle.creator"),
            ("viewerUT".into(), VIEWER.into())
        );
        assert_eq!(mails(&handler, "idle.creator").len(), 1, "write {failing}");
        let state = reclaimed(&handler);
        assert_eq!(state["members"]["idle.creator"]["user_type"], "creatorUT");
        assert_eq!(state["members"]["idle.creator"]["role"], "org_publisher");
        assert_eq!(state["downgraded"]["2026-06-01"], json!(["idle.creator"]));
        assert_eq!(
            state["pending"],
            json!({"downgrade": {}, "restore": {}, "notify": {}}),
            "write {failing}"
        );
        assert_eq!(state["notices_due"], json!({}), "write {failing}");
    }
}

#[tokio::test]
async fn downgrading_needs_the_privileges_to_change_roles_and_licences() {
    // GIVEN an account that may disable members but not manage licences
    let mut handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    handler
        .service
        .admin
        .privileges
        .retain(|p| p != "portal:admin:manageLicenses");

    // WHEN the sweep would downgrade
    let error = handler.handle(day(0)).await.unwrap_err();

    // THEN it stops at once, naming what is missing, and touches nobody
    assert_eq!(
        error.to_string(),
        "sweep stopped before doing anything: the signed-in account lacks the privilege portal:admin:manageLicenses (the sweep needs portal:admin:viewUsers and portal:admin:changeUserRoles and portal:admin:manageLicenses)"
    );
    assert_eq!(Diagnostic::from(error).error_type, "PermissionDenied");
    assert_eq!(holds(&handler, "idle.creator").0, "creatorUT");
    assert_eq!(handler.service.count("users_page"), 0);
}

#[tokio::test]
async fn no_downgrade_starts_at_the_deadline_and_the_next_run_does_it() {
    // GIVEN an idle Creator, and a run that starts inside the deadline margin
    let handler = sweeper(&[creator("idle.creator", 120)], to_viewer());
    let margin = handler.config.common.deadline_margin.as_millis() as i64;
    let late = rollcall_tests::fakes::with_deadline(day(0), margin - 1_000);

    // WHEN it runs
    let result = handler.handle(late).await.unwrap();

    // THEN nobody is changed, and the report says the next run downgrades
    assert_eq!(handler.service.count("update_user_type"), 0);
    assert_eq!(handler.service.count("update_role"), 0);
    assert_eq!(result.licences.reclaimed, BTreeMap::new());
    assert!(line(&handler, "2026-06-01", "idle.creator")
        .contains("not reached before the Lambda deadline; the next run downgrades"));

    // WHEN the next run has time enough
    let mut next = day(0);
    next.payload["time"] = "2026-06-01T06:01:00Z".into();
    handler.handle(next).await.unwrap();

    // THEN the licence is released, once
    assert_eq!(holds(&handler, "idle.creator").0, "viewerUT");
    assert_eq!(handler.service.count("update_user_type"), 1);
    assert_eq!(mails(&handler, "idle.creator").len(), 1);
}

#[tokio::test]
async fn a_run_killed_between_the_role_and_the_type_leaves_nothing_half_done() {
    // GIVEN two publishers a killed run had given the Viewer role and not
    // yet the Viewer type: one still idle, one who has signed in since
    let half_done = |name: &str, idle: i64| User {
        role_id: Some(VIEWER.into()),
        ..creator(name, idle)
    };
    let handler = sweeper(&[half_done("still.idle", 120)], to_viewer());
    handler.service.add_member(half_done("came.back", 1));
    let intent = |name: &str| {
        (
            name.to_string(),
            json!({"run": "killed-run", "at": "2026-06-01T06:00:00Z", "user_type": "creatorUT",
                "role": "org_publisher", "to": "viewerUT"}),
        )
    };
    let pending: serde_json::Map<String, Value> = [intent("still.idle"), intent("came.back")]
        .into_iter()
        .collect();
    handler.store.upload(
        "state/reclaimed.json",
        &json!({"version": 1, "pending": {"downgrade": pending}}).to_string(),
    );

    // WHEN the next run comes
    let mut retry = day(0);
    retry.payload["time"] = "2026-06-01T06:05:00Z".into();
    let result = handler.handle(retry).await.unwrap();

    // THEN the idle one is downgraded, with the role they had recorded
    assert_eq!(
        holds(&handler, "still.idle"),
        ("viewerUT".into(), VIEWER.into())
    );
    let state = reclaimed(&handler);
    assert_eq!(state["members"]["still.idle"]["role"], "org_publisher");
    // AND the one who came back has their role back, and no mail
    assert_eq!(
        holds(&handler, "came.back"),
        ("creatorUT".into(), "org_publisher".into())
    );
    assert!(mails(&handler, "came.back").is_empty());
    assert!(line(&handler, "2026-06-01", "came.back")
        .contains("the role an unfinished downgrade had changed was put back"));
    assert_eq!(
        state["pending"],
        json!({"downgrade": {}, "restore": {}, "notify": {}})
    );
    assert!(
        result.notes.iter().any(|n| n
            .starts_with("2 member(s) an earlier run set out to downgrade were not downgraded")),
        "{:?}",
        result.notes
    );

    // AND a later sign-in gives the idle one back the Publisher role
    sign_in(&handler, "still.idle", 40);
    handler.handle(day(41)).await.unwrap();
    assert_eq!(
        holds(&handler, "still.idle"),
        ("creatorUT".into(), "org_publisher".into())
    );
}
