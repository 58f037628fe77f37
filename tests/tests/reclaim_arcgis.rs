//! Licence reclamation end to end: the real sweep handler with the real S3
//! and SES adapters against moto and the real ArcGIS client against the
//! sandbox, over simulated days. Each run's clock is its scheduled event's
//! `time`, and the sandbox's clock (which its 30-day rule reads) is set to
//! the same moment before each run.

use std::cell::Cell;

use chrono::{DateTime, Duration as Days, Utc};
use connectors::aws::AwsClients;
use connectors::store::{NewObject, ObjectStore, S3Store, StoredObject};
use connectors::Error;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::moto::SentMail;
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::{InBucket, World};
use serde_json::{json, Value};
use sweep::{Downgrade, SweepAction, SweepConfig, SweepError, SweepFunction};

const VIEWER: &str = "iAAAAAAAAAAAAAAA";

/// Day 0: 2026-06-01 06:00 UTC.
fn day(n: i64) -> DateTime<Utc> {
    "2026-06-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Days::days(n)
}

fn ms(n: i64) -> i64 {
    day(n).timestamp_millis()
}

/// The schedule's event at `at`, with the sandbox's clock set to it.
fn scheduled(world: &World, at: DateTime<Utc>) -> LambdaEvent<Value> {
    world.sandbox.set_clock(at.timestamp_millis());
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/sweep/scheduled.json")).unwrap();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    LambdaEvent::new(event, Context::default())
}

/// A Creator of this world's org with `role`, last signed in on day `last_login`.
fn creator(world: &World, name: &str, role: &str, last_login: i64) -> SeedMember {
    SeedMember::new(name)
        .email(&world.address(name))
        .role(role)
        .user_type("creatorUT")
        .last_login(Some(ms(last_login)))
        .created(ms(-400))
}

/// A live sweep that downgrades to Viewer.
fn downgrading(world: &World) -> SweepConfig {
    let mut config = world.sweep_config();
    config.action = SweepAction::Downgrade(Downgrade {
        to: "viewerUT".into(),
        role: None,
    });
    config
}

/// The member's user type and role id, as the sandbox holds them.
fn holds(world: &World, name: &str) -> (String, String) {
    let m = world.sandbox.member(name).unwrap();
    (m.user_type, m.role_id.unwrap_or(m.role))
}

async fn reclaimed(world: &World) -> Value {
    serde_json::from_str(&world.text("state/reclaimed.json").await.unwrap()).unwrap()
}

async fn mails(world: &World, name: &str) -> Vec<SentMail> {
    world.moto.sent_mails_to(&world.address(name)).await
}

/// The report line of `name` in the report at `uri`.
async fn line(world: &World, uri: &str, name: &str) -> String {
    let report = world.text_at(uri).await;
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("no line for {name}: {report}"))
        .to_string()
}

/// The admins' mail of the run on `date`.
async fn summary(world: &World, date: &str) -> SentMail {
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    mails
        .into_iter()
        .rev()
        .find(|m| m.subject.starts_with(&format!("rollcall sweep {date}")))
        .unwrap_or_else(|| panic!("no summary of {date}"))
}

#[tokio::test]
async fn licences_are_released_and_given_back_across_days_as_licences_come_free() {
    // GIVEN an org of three Creator licences: two idle Creators (a publisher
    // and a user), an active one, and an idle member who is a Viewer already
    let world = World::new(SandboxConfig::online()).await;
    let s = &world.sandbox;
    s.add_member(creator(&world, "idle.publisher", "org_publisher", -120));
    s.add_member(creator(&world, "idle.user", "org_user", -120));
    s.add_member(creator(&world, "active.member", "org_user", -3));
    s.add_member(
        SeedMember::new("idle.viewer")
            .email(&world.address("idle.viewer"))
            .role(VIEWER)
            .user_type("viewerUT")
            .last_login(Some(ms(-200)))
            .created(ms(-400)),
    );
    let handler = world.sweep_handler(downgrading(&world)).await;

    // WHEN the sweep runs on day -30 (warnings) and day 0
    let warned = handler.handle(scheduled(&world, day(-30))).await.unwrap();
    assert_eq!(warned.warned, ["idle.publisher", "idle.user"]);
    let warning = &mails(&world, "idle.publisher").await[0];
    assert_eq!(
        warning.subject,
        "Your Rollcall Sandbox ArcGIS Creator licence will be released on Saturday 16 May 2026"
    );
    let day0 = handler.handle(scheduled(&world, day(0))).await.unwrap();

    // THEN both keep their accounts as Viewers with the Viewer role
    for name in ["idle.publisher", "idle.user"] {
        assert_eq!(
            holds(&world, name),
            ("viewerUT".into(), VIEWER.into()),
            "{name}"
        );
        assert!(!world.sandbox.member(name).unwrap().disabled);
    }
    assert_eq!(holds(&world, "active.member").0, "creatorUT");
    assert_eq!(world.sandbox.calls().count("disableUsers"), 0);
    assert_eq!(
        world.sandbox.calls().count("updateUserLicenseType"),
        1,
        "one call for both"
    );
    // AND state/reclaimed.json holds what each had
    let state = reclaimed(&world).await;
    assert_eq!(
        state["members"],
        json!({
            "idle.publisher": {"user_type": "creatorUT", "role": "org_publisher",
                "downgraded_to": "viewerUT", "downgraded_at": "2026-06-01T06:00:00Z"},
            "idle.user": {"user_type": "creatorUT", "role": "org_user",
                "downgraded_to": "viewerUT", "downgraded_at": "2026-06-01T06:00:00Z"}
        })
    );
    assert_eq!(
        state["pending"],
        json!({"downgrade": {}, "restore": {}, "notify": {}})
    );
    // AND each is told, and the admins count the licences per user type
    let released = &mails(&world, "idle.publisher").await[1];
    assert_eq!(
        released.subject,
        "Your Rollcall Sandbox ArcGIS Creator licence was released"
    );
    assert!(
        released.body.contains("Sign in and it will be restored")
            && released.body.contains(">Sign in to get it back</a>"),
        "{}",
        released.body
    );
    let sum = summary(&world, "2026-06-01").await;
    assert_eq!(
        sum.subject,
        "rollcall sweep 2026-06-01: 2 members downgraded, 0 warned, 3 untouched"
    );
    assert!(sum.body.contains(">Licences released</td>"), "{}", sum.body);
    assert!(sum.body.contains("Creator 2"), "{}", sum.body);
    assert_eq!(
        line(&world, &day0.report, "idle.viewer").await,
        format!(
            "idle.viewer,{},{},200,already_downgraded,none,holds the viewerUT user type already; no licence to reclaim,viewerUT,,",
            world.address("idle.viewer"),
            day(-200).format("%Y-%m-%d")
        )
    );

    // WHEN two new Creators take the freed licences, both members sign in
    // on day 34, and the day-35 sweep runs
    s.add_member(creator(&world, "new.one", "org_user", 0));
    s.add_member(creator(&world, "new.two", "org_user", 0));
    let held = s.assigned_licences("creatorUT");
    s.set_purchased_licences(&[("creatorUT", held), ("viewerUT", 10)]);
    for name in ["idle.publisher", "idle.user"] {
        s.set_last_login(name, Some(ms(34)));
    }
    let day35 = handler.handle(scheduled(&world, day(35))).await.unwrap();

    // THEN both wait: the org has no Creator licence free
    assert_eq!(world.sandbox.calls().count("updateUserLicenseType"), 1);
    assert_eq!(holds(&world, "idle.publisher").0, "viewerUT");
    let waiting = line(&world, &day35.report, "idle.publisher").await;
    assert!(
        waiting.ends_with(
            &format!(",active,waiting,signed in on 2026-07-05 after the creatorUT licence was released on 2026-06-01; waiting: no Creator licence free (0 of {held}); each run tries again while the member is waiting,viewerUT,creatorUT,")
        ),
        "{waiting}"
    );
    let sum = summary(&world, "2026-07-06").await;
    assert_eq!(
        sum.subject,
        "rollcall sweep 2026-07-06: 0 members downgraded, 0 warned, 2 waiting, 5 untouched"
    );
    assert!(
        sum.body.contains(&format!(
            ">waiting: no Creator licence free (0 of {held})</td>"
        )) && sum
            .body
            .contains(">tried again each run until a licence is free</td>"),
        "{}",
        sum.body
    );

    // WHEN one more Creator licence is bought and the day-36 sweep runs
    s.set_purchased_licences(&[("creatorUT", held + 1), ("viewerUT", 10)]);
    let day36 = handler.handle(scheduled(&world, day(36))).await.unwrap();

    // THEN the first gets their Creator licence and Publisher role back, and
    // the other still waits, for want of a licence
    assert_eq!(
        holds(&world, "idle.publisher"),
        ("creatorUT".into(), "org_publisher".into())
    );
    assert_eq!(
        holds(&world, "idle.user"),
        ("viewerUT".into(), VIEWER.into())
    );
    assert_eq!(day36.actions.get("restored"), Some(&1));
    assert_eq!(day36.actions.get("waiting"), Some(&1));
    let back = mails(&world, "idle.publisher").await;
    assert_eq!(back.len(), 3, "warning, released, restored");
    assert_eq!(
        back[2].subject,
        "Your Rollcall Sandbox ArcGIS Creator licence is back"
    );
    assert_eq!(mails(&world, "idle.user").await.len(), 2);
    let state = reclaimed(&world).await;
    assert_eq!(
        state["members"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["idle.user"]
    );
    assert_eq!(
        state["waiting"]["idle.user"]["reason"],
        format!("no Creator licence free (0 of {})", held + 1)
    );
    assert_eq!(
        state["waiting"]["idle.user"]["since"],
        "2026-07-06T06:00:00Z"
    );
    let sum = summary(&world, "2026-07-07").await;
    assert_eq!(
        sum.subject,
        "rollcall sweep 2026-07-07: 0 members downgraded, 0 warned, 1 given their licence back, 1 waiting, 5 untouched"
    );
}

#[tokio::test]
async fn a_restore_the_portal_refuses_within_30_days_waits_for_its_date_and_is_tried_again() {
    // GIVEN a publisher downgraded on day 0 who signs in on day 5
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_member(creator(&world, "idle.publisher", "org_publisher", -150));
    let handler = world.sweep_handler(downgrading(&world)).await;
    handler.handle(scheduled(&world, day(-30))).await.unwrap();
    handler.handle(scheduled(&world, day(0))).await.unwrap();
    world.sandbox.set_last_login("idle.publisher", Some(ms(5)));

    // WHEN the sweep runs on days 6 and 7
    let day6 = handler.handle(scheduled(&world, day(6))).await.unwrap();
    handler.handle(scheduled(&world, day(7))).await.unwrap();

    // THEN the portal refuses each time, and the member waits for 2026-07-01
    assert_eq!(world.sandbox.calls().count("updateUserLicenseType"), 3);
    assert_eq!(
        holds(&world, "idle.publisher"),
        ("viewerUT".into(), VIEWER.into())
    );
    let waiting = line(&world, &day6.report, "idle.publisher").await;
    assert!(
        waiting.ends_with(
            "was changed less than 30 days ago; it can be changed again on 2026-07-01.); each run tries again, possible from 2026-07-01\",viewerUT,creatorUT,2026-07-01"
        ),
        "{waiting}"
    );
    assert!(summary(&world, "2026-06-07")
        .await
        .body
        .contains(">tried again each run; possible from 1 Jul 2026</td>"));
    let state = reclaimed(&world).await;
    assert_eq!(state["waiting"]["idle.publisher"]["until"], "2026-07-01");
    assert_eq!(
        state["waiting"]["idle.publisher"]["since"],
        "2026-06-07T06:00:00Z"
    );

    // WHEN the sweep runs on day 30
    handler.handle(scheduled(&world, day(30))).await.unwrap();

    // THEN the member has their type and role back, and waits no more
    assert_eq!(
        holds(&world, "idle.publisher"),
        ("creatorUT".into(), "org_publisher".into())
    );
    let state = reclaimed(&world).await;
    assert_eq!(
        (state["members"].clone(), state["waiting"].clone()),
        (json!({}), json!({}))
    );
    assert_eq!(mails(&world, "idle.publisher").await.len(), 3);
}

#[tokio::test]
async fn the_breaker_caps_downgrades_and_a_dry_run_changes_nothing() {
    // GIVEN three idle Creators warned on day -30, and a cap of two
    let world = World::new(SandboxConfig::online()).await;
    for name in ["gone.one", "gone.two", "gone.three"] {
        world
            .sandbox
            .add_member(creator(&world, name, "org_publisher", -150));
    }
    let mut config = downgrading(&world);
    config.thresholds.max_disables_per_run = 2;
    let handler = world.sweep_handler(config.clone()).await;
    handler.handle(scheduled(&world, day(-30))).await.unwrap();
    // The members but rollcall's own account (whose sign-ins the runs move on).
    let members = || {
        let mut all = world.sandbox.members();
        all.retain(|m| m.username.starts_with("gone."));
        all
    };
    let before = members();

    // WHEN a dry run, then a live run, would downgrade three
    let mut dry = config.clone();
    dry.common.dry_run = true;
    dry.thresholds.max_disables_per_run = 50;
    let planned = world
        .sweep_handler(dry)
        .await
        .handle(scheduled(&world, day(0)))
        .await
        .unwrap();
    let error = handler.handle(scheduled(&world, day(0))).await.unwrap_err();

    // THEN the dry run planned three downgrades and changed nothing
    assert_eq!(planned.actions.get("planned_downgrade"), Some(&3));
    assert!(line(&world, &planned.report, "gone.one")
        .await
        .contains(",downgrade,planned_downgrade,"));
    // AND the breaker stopped the live run before any change
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "CircuitBreakerTripped");
    assert!(
        diagnostic.error_message.starts_with(
            "circuit breaker: 3 members would be downgraded, more than 2; nobody was warned or downgraded"
        ),
        "{}",
        diagnostic.error_message
    );
    assert_eq!(members(), before);
    for call in ["updateUserLicenseType", "updateUserRole", "disableUsers"] {
        assert_eq!(world.sandbox.calls().count(call), 0, "{call}");
    }
    assert!(world.text("state/reclaimed.json").await.is_none());
    for name in ["gone.one", "gone.two", "gone.three"] {
        assert_eq!(
            mails(&world, name).await.len(),
            1,
            "{name}: the day -30 warning only"
        );
    }
    let sum = summary(&world, "2026-06-01").await;
    assert_eq!(
        sum.subject,
        "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or downgraded"
    );
}

/// S3 whose `n`th put of `state/reclaimed.json` fails as if S3 were down.
struct FailingNthReclaimedPut {
    inner: S3Store,
    fail_at: Cell<usize>,
    puts: Cell<usize>,
}

impl ObjectStore for FailingNthReclaimedPut {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        self.inner.get(bucket, key).await
    }

    async fn put(&self, object: NewObject) -> Result<(), Error> {
        if object.key == "state/reclaimed.json" {
            self.puts.set(self.puts.get() + 1);
            if self.puts.get() == self.fail_at.get() {
                return Err(Error::Unavailable {
                    service: "S3",
                    status: 503,
                    attempts: 3,
                });
            }
        }
        self.inner.put(object).await
    }
}

rollcall_tests::multipart_through_inner!(FailingNthReclaimedPut);

#[tokio::test]
async fn a_state_put_lost_after_a_downgrade_is_neither_repeated_nor_lost() {
    // GIVEN an idle publisher warned on day -30, and S3 failing the second
    // write of state/reclaimed.json on day 0: the downgrade's result
    let world = World::new(SandboxConfig::online()).await;
    world
        .sandbox
        .add_member(creator(&world, "idle.publisher", "org_publisher", -150));
    let aws = AwsClients::from_conf(&world.moto.conf);
    let handler = sweep::Handler {
        store: FailingNthReclaimedPut {
            inner: aws.s3,
            fail_at: Cell::new(0),
            puts: Cell::new(0),
        },
        mailer: aws.mail,
        service: world.arcgis_client().await,
        config: downgrading(&world),
    };
    handler.handle(scheduled(&world, day(-30))).await.unwrap();
    handler.store.fail_at.set(2);

    // WHEN the day-0 sweep runs
    let error = handler.handle(scheduled(&world, day(0))).await.unwrap_err();

    // THEN the member was downgraded, the run stopped on the state, and the
    // admins' mail says who was downgraded before the failure
    let SweepError::Stopped(stopped) = &error else {
        panic!("{error}");
    };
    assert_eq!(stopped.step, sweep::job::Step::Reclaimed);
    assert_eq!(stopped.done.downgraded, ["idle.publisher"]);
    assert_eq!(
        holds(&world, "idle.publisher"),
        ("viewerUT".into(), VIEWER.into())
    );
    let failed = summary(&world, "2026-06-01").await;
    assert_eq!(
        failed.subject,
        "rollcall sweep 2026-06-01 failed while recording the licences in state/reclaimed.json: 0 warned, 0 disabled, 1 downgraded, 0 given back before the failure"
    );
    assert!(
        failed.body.contains(">idle.publisher</td>")
            && failed.body.contains(">licence released</td>"),
        "{}",
        failed.body
    );
    let state = reclaimed(&world).await;
    assert_eq!(state["members"], json!({}));
    assert_eq!(
        state["pending"]["downgrade"]["idle.publisher"]["user_type"], "creatorUT",
        "the intent, with what the member had"
    );
    assert_eq!(
        mails(&world, "idle.publisher").await.len(),
        1,
        "the warning only"
    );

    // WHEN the schedule runs again a minute later
    let retry = handler
        .handle(scheduled(&world, day(0) + Days::minutes(1)))
        .await
        .unwrap();

    // THEN the downgrade is recorded, not repeated, and the member is told once
    assert_eq!(world.sandbox.calls().count("updateUserLicenseType"), 1);
    assert!(
        retry.notes.iter().any(|n| n.starts_with(
            "1 member(s) an earlier run downgraded without recording it are now recorded as downgraded: idle.publisher"
        )),
        "{:?}",
        retry.notes
    );
    let state = reclaimed(&world).await;
    assert_eq!(
        state["members"]["idle.publisher"],
        json!({"user_type": "creatorUT", "role": "org_publisher",
            "downgraded_to": "viewerUT", "downgraded_at": "2026-06-01T06:00:00Z"})
    );
    assert_eq!(state["downgraded"]["2026-06-01"], json!(["idle.publisher"]));
    assert_eq!(
        state["pending"],
        json!({"downgrade": {}, "restore": {}, "notify": {}})
    );
    assert_eq!(state["notices_due"], json!({}));
    let sent = mails(&world, "idle.publisher").await;
    assert_eq!(sent.len(), 2, "the warning, then one licence notice");
    assert!(sent[1].subject.ends_with("Creator licence was released"));

    // AND a sign-in later gives everything back: nothing was lost
    world.sandbox.set_last_login("idle.publisher", Some(ms(40)));
    handler.handle(scheduled(&world, day(41))).await.unwrap();
    assert_eq!(
        holds(&world, "idle.publisher"),
        ("creatorUT".into(), "org_publisher".into())
    );
}
