//! The inactivity sweep under faults, end to end: the real handler with the
//! real S3, SES and ArcGIS adapters against moto and the sandbox, one step
//! at a time made to fail by a thin wrapper around a real adapter (the
//! state put, the report put, a warning mail, a disable call) or by the
//! Lambda deadline. Each test reads what an admin and the members would
//! see (the org in the sandbox, `state/sweep.json` and the report in moto's
//! S3, mails in moto's SES outbox), checks they agree, and retries the run:
//! the retry mails nobody twice and loses no disable.

use std::cell::{Cell, RefCell};

use chrono::{DateTime, Duration as Days, Utc};
use connectors::arcgis::{
    ArcgisClient, BulkResult, Group, GroupLookup, GroupMembers, Licences, MemberListing,
    MemberLookup, MemberStatus, MemberUpdate, OrgCatalog, OrgInfo, Portal, ProfileChanges, Role,
    RoleAdmin, RoleDetail, Seats, User, UserDefaults, UserPage, UserType, UsernameAvailability,
};
use connectors::aws::AwsClients;
use connectors::mail::{Mail, Mailer, SesMailer};
use connectors::store::{NewObject, ObjectStore, S3Store, StoredObject};
use connectors::Error;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::{InBucket, World};
use serde_json::{json, Value};
use sweep::{SweepError, SweepFunction};

/// S3 with a switch: the nth put under a prefix fails as if S3 were down.
struct FlakyStore {
    inner: S3Store,
    fail_nth_put_under: RefCell<Option<(String, usize)>>,
    puts: Cell<usize>,
}

impl FlakyStore {
    fn fail_nth_put_under(&self, prefix: &str, n: usize) {
        *self.fail_nth_put_under.borrow_mut() = Some((prefix.into(), n));
        self.puts.set(0);
    }

    fn heal(&self) {
        *self.fail_nth_put_under.borrow_mut() = None;
    }
}

impl ObjectStore for FlakyStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, Error> {
        self.inner.get(bucket, key).await
    }

    async fn put(&self, object: NewObject) -> Result<(), Error> {
        if let Some((prefix, n)) = self.fail_nth_put_under.borrow().as_ref() {
            if object.key.starts_with(prefix.as_str()) {
                self.puts.set(self.puts.get() + 1);
                if self.puts.get() == *n {
                    return Err(Error::Unavailable {
                        service: "S3",
                        status: 503,
                        attempts: 3,
                    });
                }
            }
        }
        self.inner.put(object).await
    }
}

// A report here is smaller than a part, so it reaches S3 as one put, where
// the switch above applies.
rollcall_tests::multipart_through_inner!(FlakyStore);

/// SES with a switch: mails to these addresses are rejected.
struct FlakyMailer {
    inner: SesMailer,
    refuse_to: RefCell<Vec<String>>,
}

impl Mailer for FlakyMailer {
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        if mail.to.iter().any(|t| self.refuse_to.borrow().contains(t)) {
            return Err(Error::Aws {
                service: "SES",
                operation: "SendEmail",
                code: "MessageRejected".into(),
                message: "Email address is not verified.".into(),
            });
        }
        self.inner.send(mail).await
    }
}

/// The ArcGIS client with a switch: the disable call reaches the portal,
/// which disables the members, and then its answer is lost.
struct FlakyPortal {
    inner: ArcgisClient,
    lose_disable_answer: Cell<bool>,
}

impl OrgInfo for FlakyPortal {
    async fn portal(&self) -> Result<Portal, Error> {
        self.inner.portal().await
    }
}

impl MemberListing for FlakyPortal {
    async fn users_page(&self, start: u64, num: u64) -> Result<UserPage, Error> {
        self.inner.users_page(start, num).await
    }
}

impl MemberLookup for FlakyPortal {
    async fn user(&self, username: &str) -> Result<Option<User>, Error> {
        self.inner.user(username).await
    }

    async fn check_usernames(
        &self,
        usernames: &[String],
    ) -> Result<Vec<(String, UsernameAvailability)>, Error> {
        self.inner.check_usernames(usernames).await
    }
}

impl GroupLookup for FlakyPortal {
    async fn group(&self, id: &str) -> Result<Option<Group>, Error> {
        self.inner.group(id).await
    }
}

impl GroupMembers for FlakyPortal {
    async fn group_members(&self, group_id: &str) -> Result<Vec<String>, Error> {
        self.inner.group_members(group_id).await
    }
}

impl MemberStatus for FlakyPortal {
    async fn disable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        let results = self.inner.disable_users(usernames).await?;
        if self.lose_disable_answer.get() {
            return Err(Error::Unavailable {
                service: "ArcGIS",
                status: 504,
                attempts: 4,
            });
        }
        Ok(results)
    }

    async fn enable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        self.inner.enable_users(usernames).await
    }
}

impl OrgCatalog for FlakyPortal {
    async fn roles(&self) -> Result<Vec<Role>, Error> {
        self.inner.roles().await
    }

    async fn user_types(&self) -> Result<Vec<UserType>, Error> {
        self.inner.user_types().await
    }

    async fn user_defaults(&self) -> Result<UserDefaults, Error> {
        self.inner.user_defaults().await
    }
}

impl MemberUpdate for FlakyPortal {
    async fn update_profile(&self, username: &str, changes: &ProfileChanges) -> Result<(), Error> {
        self.inner.update_profile(username, changes).await
    }

    async fn update_role(&self, username: &str, role_id: &str) -> Result<(), Error> {
        self.inner.update_role(username, role_id).await
    }

    async fn update_user_type(
        &self,
        usernames: &[String],
        user_type: &str,
    ) -> Result<Vec<BulkResult>, Error> {
        self.inner.update_user_type(usernames, user_type).await
    }

    async fn assign_credits(&self, username: &str, credits: Option<f64>) -> Result<(), Error> {
        self.inner.assign_credits(username, credits).await
    }
}

impl RoleAdmin for FlakyPortal {
    async fn role_details(&self) -> Result<Vec<RoleDetail>, Error> {
        self.inner.role_details().await
    }

    async fn create_role(&self, name: &str, description: &str) -> Result<String, Error> {
        self.inner.create_role(name, description).await
    }

    async fn update_role_description(
        &self,
        role_id: &str,
        name: &str,
        description: &str,
    ) -> Result<(), Error> {
        self.inner
            .update_role_description(role_id, name, description)
            .await
    }

    async fn set_privileges(&self, role_id: &str, privileges: &[String]) -> Result<(), Error> {
        self.inner.set_privileges(role_id, privileges).await
    }
}

impl Licences for FlakyPortal {
    async fn seats(&self) -> Result<Option<Vec<Seats>>, Error> {
        self.inner.seats().await
    }
}

type FlakyHandler = sweep::Handler<FlakyStore, FlakyMailer, FlakyPortal>;

/// Day 0: 2026-06-01 06:00 UTC.
fn day(n: i64) -> DateTime<Utc> {
    "2026-06-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Days::days(n)
}

/// The schedule's event at `at`.
fn scheduled(at: DateTime<Utc>) -> LambdaEvent<Value> {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/sweep/scheduled.json")).unwrap();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    LambdaEvent::new(event, Context::default())
}

const WARN_SUBJECT: &str = "account will be disabled on";
const NOTICE_SUBJECT: &str = "account has been disabled";
const TO_WARN: [&str; 2] = ["warn.one", "warn.two"];
const TO_DISABLE: [&str; 2] = ["gone.one", "gone.two"];

struct Setup {
    world: World,
    handler: FlakyHandler,
}

/// An org where, on day 0, two members are due a warning (70 days idle) and
/// two are due disabling (150 days idle, warned on day -30 by a real run).
async fn setup() -> Setup {
    let world = World::new(SandboxConfig::online()).await;
    for (names, idle) in [(TO_WARN, 70), (TO_DISABLE, 150)] {
        for name in names {
            world.sandbox.add_member(
                SeedMember::new(name)
                    .email(&world.address(name))
                    .last_login(Some(day(-idle).timestamp_millis()))
                    .created(day(-400).timestamp_millis()),
            );
        }
    }
    let aws = AwsClients::from_conf(&world.moto.conf);
    let handler = sweep::Handler {
        store: FlakyStore {
            inner: aws.s3,
            fail_nth_put_under: RefCell::new(None),
            puts: Cell::new(0),
        },
        mailer: FlakyMailer {
            inner: aws.mail,
            refuse_to: RefCell::new(Vec::new()),
        },
        service: FlakyPortal {
            inner: world.arcgis_client().await,
            lose_disable_answer: Cell::new(false),
        },
        config: world.sweep_config(),
    };
    let before = handler.handle(scheduled(day(-30))).await.unwrap();
    assert_eq!(
        sorted(before.warned),
        TO_DISABLE,
        "day -30 warns the long idle"
    );
    Setup { world, handler }
}

impl Setup {
    async fn mails(&self, name: &str, kind: &str) -> usize {
        self.world
            .moto
            .sent_mails_to(&self.world.address(name))
            .await
            .iter()
            .filter(|m| m.subject.contains(kind))
            .count()
    }

    /// The admins' mails of day 0 (the day -30 summary left out).
    async fn admin_mails(&self) -> Vec<rollcall_tests::moto::SentMail> {
        let mut mails = self.world.moto.sent_mails_to(&self.world.admin_email).await;
        mails.retain(|m| m.subject.contains("2026-06-01"));
        mails
    }

    async fn state(&self) -> Value {
        serde_json::from_str(&self.world.text("state/sweep.json").await.unwrap()).unwrap()
    }

    fn disabled_in_org(&self) -> Vec<String> {
        self.world
            .sandbox
            .members()
            .into_iter()
            .filter(|m| m.disabled)
            .map(|m| m.username)
            .collect()
    }

    /// Day-0 reports, oldest first.
    async fn reports(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self
            .world
            .moto
            .list_keys(&self.world.bucket, "reports/sweep/2026-06-01/")
            .await
        {
            out.push(self.world.text(&key).await.unwrap());
        }
        out
    }

    /// The retry a minute later finds nothing to repeat: each member has one
    /// mail of each kind due, every due disable happened, and the state
    /// holds no intent.
    async fn assert_retry_repeats_nothing_and_loses_nothing(&self) {
        self.handler
            .handle(scheduled(day(0) + Days::minutes(1)))
            .await
            .expect("the retry succeeds");
        for name in TO_WARN {
            assert_eq!(self.mails(name, WARN_SUBJECT).await, 1, "{name}");
        }
        for name in TO_DISABLE {
            assert_eq!(self.mails(name, WARN_SUBJECT).await, 1, "{name}: day -30");
            assert_eq!(self.mails(name, NOTICE_SUBJECT).await, 1, "{name}");
        }
        assert_eq!(self.disabled_in_org(), TO_DISABLE);
        let state = self.state().await;
        assert_eq!(
            state["pending"],
            json!({"warn": {}, "disable": {}, "notify": {}})
        );
        assert_eq!(state["notices_due"], json!({}));
        assert_eq!(state["disabled"]["2026-06-01"], json!(TO_DISABLE));
        assert_eq!(
            state["warned"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            TO_WARN
        );
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// The cells of each row of the admins' mail's table titled `title` (its
/// HTML body); the header and the "and N more" line left out.
fn table_rows(body: &str, title: &str) -> Vec<Vec<String>> {
    let Some((_, after)) = body.split_once(&format!(">{title}</td></tr>")) else {
        return Vec::new();
    };
    let table = after.split_once("</table>").map_or("", |(t, _)| t);
    table
        .split("<tr>")
        .map(|row| {
            row.split("<td")
                .skip(1)
                .filter_map(|cell| Some(cell.split_once('>')?.1.split_once("</td>")?.0.to_string()))
                .collect::<Vec<String>>()
        })
        .filter(|cells| cells.len() > 1)
        .collect()
}

/// The usernames, sorted, the "Members acted on" table lists with `what`
/// as what happened.
fn acted(body: &str, what: &str) -> Vec<String> {
    let mut names: Vec<String> = table_rows(body, "Members acted on")
        .into_iter()
        .filter(|cells| cells.get(4).map(String::as_str) == Some(what))
        .map(|cells| cells[0].clone())
        .collect();
    names.sort();
    names
}

/// The names, sorted, an admins' mail gives as the fact `label`.
fn fact_names(body: &str, label: &str) -> Vec<String> {
    let Some((_, after)) = body.split_once(&format!(">{label}</td><td")) else {
        return Vec::new();
    };
    let value = after
        .split_once('>')
        .and_then(|(_, v)| v.split_once("</td>"))
        .map_or("", |(v, _)| v);
    let mut names: Vec<String> = value.split(", ").map(str::to_string).collect();
    names.sort();
    names
}

/// The report line of `name`.
fn line<'r>(report: &'r str, name: &str) -> &'r str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("no line for {name}: {report}"))
}

#[tokio::test]
async fn a_state_put_lost_after_the_disables_leaves_an_intent_the_retry_completes() {
    // GIVEN S3 failing the fourth state write of day 0: the disables' results
    let s = setup().await;
    s.handler.store.fail_nth_put_under("state/", 4);

    // WHEN the schedule fires on day 0
    let error = s.handler.handle(scheduled(day(0))).await.unwrap_err();

    // THEN the invocation fails on the state step
    let SweepError::Stopped(stopped) = &error else {
        panic!("{error}");
    };
    assert_eq!(stopped.step, sweep::job::Step::State);
    let report_uri = stopped.report.clone().expect("the report was written");
    assert_eq!(Diagnostic::from(error).error_type, "ServiceUnavailable");
    // AND the org, the mails, the report and the admins' mail agree: two
    // warned, two disabled, no notice sent yet
    assert_eq!(s.disabled_in_org(), TO_DISABLE);
    for name in TO_WARN {
        assert_eq!(s.mails(name, WARN_SUBJECT).await, 1, "{name}");
    }
    for name in TO_DISABLE {
        assert_eq!(s.mails(name, NOTICE_SUBJECT).await, 0, "{name}");
    }
    let admins = s.admin_mails().await;
    assert_eq!(admins.len(), 1);
    assert_eq!(
        admins[0].subject,
        "rollcall sweep 2026-06-01 failed while recording the state in state/sweep.json: 2 warned, 2 disabled before the failure"
    );
    assert_eq!(acted(&admins[0].body, "warned"), TO_WARN);
    assert_eq!(acted(&admins[0].body, "disabled"), TO_DISABLE);
    assert!(admins[0].body.contains(&report_uri), "{}", admins[0].body);
    let report = s.world.text_at(&report_uri).await;
    for name in TO_WARN {
        assert!(line(&report, name).contains(",warn,warned,"), "{report}");
    }
    for name in TO_DISABLE {
        assert!(
            line(&report, name).ends_with(",disable,disabled,\"inactive 150 days; warned on 2026-05-02, notice period over; the disable notice is still due; the next run sends it\""),
            "{report}"
        );
    }
    // AND the state holds the warnings and the disables' intents
    let state = s.state().await;
    assert_eq!(
        state["pending"]["disable"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        TO_DISABLE
    );

    // WHEN the run is retried
    s.handler.store.heal();

    // THEN it confirms the disables, sends each notice once and repeats nothing
    s.assert_retry_repeats_nothing_and_loses_nothing().await;
}

#[tokio::test]
async fn a_report_put_that_fails_is_told_with_what_was_done() {
    // GIVEN S3 refusing the day-0 report
    let s = setup().await;
    s.handler.store.fail_nth_put_under("reports/", 1);

    // WHEN the schedule fires on day 0
    let error = s.handler.handle(scheduled(day(0))).await.unwrap_err();

    // THEN everything was done and recorded; only the report is missing
    assert!(
        error.to_string().starts_with(
            "sweep stopped while writing the report: S3 is unavailable: HTTP 503 after 3 attempts; before that it warned 2, disabled 2 and sent 2 disable notice(s)"
        ),
        "{error}"
    );
    assert!(s.reports().await.is_empty());
    let admins = s.admin_mails().await;
    assert_eq!(acted(&admins[0].body, "warned"), TO_WARN);
    assert_eq!(acted(&admins[0].body, "disabled"), TO_DISABLE);
    assert_eq!(
        fact_names(&admins[0].body, "Disable notices sent"),
        TO_DISABLE
    );
    assert!(admins[0].body.contains("could not be written"));
    assert_eq!(s.disabled_in_org(), TO_DISABLE);
    assert_eq!(s.state().await["notices_due"], json!({}));

    // WHEN the run is retried, THEN it repeats nothing and writes its report
    s.handler.store.heal();
    s.assert_retry_repeats_nothing_and_loses_nothing().await;
    let reports = s.reports().await;
    assert_eq!(reports.len(), 1);
    assert!(line(&reports[0], "gone.one").contains(",already_disabled,none,already disabled"));
}

#[tokio::test]
async fn a_refused_warning_mail_is_not_counted_and_the_next_run_sends_only_it() {
    // GIVEN SES rejecting one member's address
    let s = setup().await;
    s.handler
        .mailer
        .refuse_to
        .borrow_mut()
        .push(s.world.address("warn.one"));

    // WHEN the schedule fires on day 0
    let result = s.handler.handle(scheduled(day(0))).await.unwrap();

    // THEN the other member is warned; the summary, report and state agree
    assert_eq!(result.warned, ["warn.two"]);
    assert_eq!(s.mails("warn.one", WARN_SUBJECT).await, 0);
    let summary = &s.admin_mails().await[0];
    assert_eq!(
        summary.subject,
        "rollcall sweep 2026-06-01: 2 members disabled, 1 warned, 1 failed, 1 untouched"
    );
    assert_eq!(acted(&summary.body, "warned"), ["warn.two"]);
    assert_eq!(
        acted(
            &summary.body,
            "warning mail failed: SES SendEmail failed: MessageRejected: Email address is not verified."
        ),
        ["warn.one"]
    );
    let report = s.world.text_at(&result.report).await;
    assert!(
        line(&report, "warn.one").ends_with(",warn,none,signed in 70 days ago; warning mail failed: SES SendEmail failed: MessageRejected: Email address is not verified."),
        "{report}"
    );
    assert!(s.state().await["warned"].get("warn.one").is_none());

    // WHEN SES takes the address again, THEN the retry warns only that member
    s.handler.mailer.refuse_to.borrow_mut().clear();
    s.assert_retry_repeats_nothing_and_loses_nothing().await;
}

#[tokio::test]
async fn a_disable_call_whose_answer_is_lost_is_confirmed_member_by_member() {
    // GIVEN a portal that disables the members and loses its answer
    let s = setup().await;
    s.handler.service.lose_disable_answer.set(true);
    s.world.sandbox.reset_calls();

    // WHEN the schedule fires on day 0
    let error = s.handler.handle(scheduled(day(0))).await.unwrap_err();

    // THEN the sweep looked each member up, found them disabled, recorded
    // it, and stopped with the admins told exactly that
    let SweepError::Stopped(stopped) = &error else {
        panic!("{error}");
    };
    assert_eq!(stopped.step, sweep::job::Step::Disable);
    assert_eq!(s.world.sandbox.calls().count("disableUsers"), 1);
    assert_eq!(s.world.sandbox.calls().count("community/users"), 2);
    assert_eq!(s.disabled_in_org(), TO_DISABLE);
    let admins = s.admin_mails().await;
    assert_eq!(
        admins[0].subject,
        "rollcall sweep 2026-06-01 failed while disabling members: 2 warned, 2 disabled before the failure"
    );
    assert_eq!(acted(&admins[0].body, "disabled"), TO_DISABLE);
    let state = s.state().await;
    assert_eq!(state["disabled"]["2026-06-01"], json!(TO_DISABLE));
    assert_eq!(
        state["notices_due"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        TO_DISABLE
    );

    // WHEN the portal answers again, THEN the retry only sends the notices
    s.handler.service.lose_disable_answer.set(false);
    s.assert_retry_repeats_nothing_and_loses_nothing().await;
    assert_eq!(s.world.sandbox.calls().count("disableUsers"), 1);
}

#[tokio::test]
async fn a_run_at_the_deadline_starts_nothing_and_the_next_run_does_everything_once() {
    // GIVEN day 0 with warnings and disables due, and a run with less time
    // left than its safety margin
    let s = setup().await;
    let mut late = scheduled(day(0));
    let margin_ms = s.handler.config.common.deadline_margin.as_millis() as u64;
    late.context.deadline = Utc::now().timestamp_millis() as u64 + margin_ms - 1_000;
    let state_before = s.state().await;

    // WHEN it runs
    let cut = s.handler.handle(late).await.unwrap();

    // THEN no loop started work: no mail, no disable, the state as it was,
    // and the report and summary say what waits for the next run
    assert!(cut.warned.is_empty() && cut.disabled.is_empty());
    assert!(s.disabled_in_org().is_empty());
    for name in TO_WARN {
        assert_eq!(s.mails(name, WARN_SUBJECT).await, 0);
    }
    assert_eq!(s.state().await, state_before);
    let report = s.world.text_at(&cut.report).await;
    assert!(line(&report, "warn.one")
        .ends_with("; not reached before the Lambda deadline; the next run warns"));
    assert!(line(&report, "gone.one")
        .ends_with("; not reached before the Lambda deadline; the next run disables\""));
    let summary = &s.admin_mails().await[0];
    assert_eq!(
        summary.subject,
        "rollcall sweep 2026-06-01: 0 members disabled, 0 warned, 4 left for the next run, 1 untouched"
    );
    assert_eq!(
        table_rows(&summary.body, "Members acted on")
            .iter()
            .filter(|cells| cells[4] == "not reached before the time limit")
            .count(),
        4
    );

    // WHEN the next run has time, THEN it does everything once
    s.assert_retry_repeats_nothing_and_loses_nothing().await;
}
