//! Job logic with in-memory fakes of the ports: the cases the sandbox does
//! not make easy to stage (a group refusing a member, a batch refused whole,
//! a permission failure), the sweep's circuit breaker and the proficiency
//! remainder. No moto, no sandbox.

use connectors::arcgis::{ArcgisSettings, LastLogin, User};
use connectors::config::{Common, MailSettings};
use connectors::connect::ConnectSettings;
use connectors::inbox::Outcome;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::fakes::{s3_event, with_deadline, FakeConnect, FakeMailer, FakeOrg, FakeStore};
use serde_json::json;

const ADMINS: &str = "admins@example.org";

fn common() -> Common {
    Common {
        mail: MailSettings {
            from: "rollcall@example.org".into(),
            admins: vec![ADMINS.into()],
        },
        ..Common::new(false)
    }
}

fn arcgis() -> ArcgisSettings {
    ArcgisSettings::new("https://fake.example.org/portal", "rollcall/arcgis")
}

mod onboard_with_fakes {
    use super::*;
    use onboard::{Handler, OnboardConfig, Systems};
    use rollcall_tests::fakes::FakeAms;

    const KEY: &str = "inbox/arcgis/f.csv";
    const FILE: &str = "username,firstname,lastname,email,groups\nfirst.member,A,One,a@example.org,g1\nsecond.member,B,Two,b@example.org,g1\n";

    fn handler(org: FakeOrg) -> Handler<FakeStore, FakeMailer, FakeOrg, FakeAms> {
        Handler {
            store: FakeStore::with(KEY, FILE),
            mailer: FakeMailer::default(),
            service: Systems {
                arcgis: Some(org),
                ams: None,
            },
            config: OnboardConfig::new(common(), arcgis()),
        }
    }

    #[tokio::test]
    async fn a_member_the_group_refuses_stays_in_the_file_as_failed() {
        // GIVEN a group that lists the second member in notAdded
        let handler = handler(FakeOrg {
            not_added: vec!["second.member".into()],
            ..FakeOrg::default()
        });

        // WHEN the file arrives
        let response = handler.handle(s3_event(KEY)).await.unwrap();

        // THEN the first is done, the second failed with the portal's reason
        let rows = &response.files[0].rows;
        assert_eq!(rows[0].result.outcome, Outcome::Invited);
        assert_eq!(rows[1].result.outcome, Outcome::Failed);
        assert_eq!(
            rows[1].result.reason,
            "invited, but not added to group g1 (the portal listed the member in notAdded)"
        );
        assert_eq!(
            handler.service.arcgis.as_ref().unwrap().groups.borrow()["g1"],
            ["first.member"]
        );
        // AND only the failed row stays in the file, with its reason
        assert_eq!(
            handler.store.text(KEY).unwrap(),
            "username,firstname,lastname,email,groups,error\n\
             second.member,B,Two,b@example.org,g1,\"invited, but not added to group g1 (the portal listed the member in notAdded)\"\n"
        );
    }

    #[tokio::test]
    async fn a_refused_invite_batch_fails_its_rows_and_keeps_them() {
        let handler = handler(FakeOrg {
            refuse_invites: true,
            ..FakeOrg::default()
        });
        let response = handler.handle(s3_event(KEY)).await.unwrap();
        assert_eq!(response.counts.get(Outcome::Failed), 2);
        let csv = handler.store.text(KEY).unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(
            csv.contains(
                "not created: ArcGIS portals/self/invite failed (400): Unable to invite users."
            ),
            "{csv}"
        );
        assert!(handler
            .service
            .arcgis
            .as_ref()
            .unwrap()
            .member("first.member")
            .is_none());
    }

    #[tokio::test]
    async fn a_permission_failure_fails_the_invocation_and_leaves_the_file() {
        let handler = handler(FakeOrg {
            deny_portal: true,
            ..FakeOrg::default()
        });
        let error = handler.handle(s3_event(KEY)).await.unwrap_err();
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "PermissionDenied");
        assert!(
            diagnostic
                .error_message
                .contains("s3://fake-bucket/inbox/arcgis/f.csv"),
            "{}",
            diagnostic.error_message
        );
        assert_eq!(handler.store.text(KEY).unwrap(), FILE);
        assert!(handler.mailer.sent.borrow().is_empty());
        assert_eq!(handler.service.arcgis.as_ref().unwrap().count("invite"), 0);
    }
}

mod sweep_with_fakes {
    use super::*;
    use sweep::{Handler, SweepConfig, SweepError, SweepFunction};

    const DAY_MS: i64 = 86_400_000;
    /// 2026-06-01T06:00:00Z
    const NOW_MS: i64 = 1_780_293_600_000;

    fn idle(username: &str) -> User {
        User {
            username: username.into(),
            email: Some(format!("{username}@example.org")),
            last_login: LastLogin::At(NOW_MS - 150 * DAY_MS),
            created: Some(NOW_MS - 400 * DAY_MS),
            ..User::default()
        }
    }

    fn scheduled() -> LambdaEvent<serde_json::Value> {
        LambdaEvent::new(
            json!({"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": "2026-06-01T06:00:00Z", "region": "us-east-1",
                "resources": [], "detail": {}}),
            Context::default(),
        )
    }

    #[tokio::test]
    async fn a_dry_run_reports_planned_warnings_among_the_other_candidates_in_listing_order() {
        // GIVEN members to warn listed between members to disable (warned
        // two months ago), and an active member
        let member = |name: &str, days: i64| User {
            last_login: LastLogin::At(NOW_MS - days * DAY_MS),
            ..idle(name)
        };
        let state = json!({"version": 1, "warned": {
            "b.gone": {"warned_at": "2026-04-01T06:00:00Z"},
            "e.gone": {"warned_at": "2026-04-01T06:00:00Z"}}})
        .to_string();
        let dry_run = |max_disables_per_run: usize| {
            let org = FakeOrg::default();
            for (name, days) in [
                ("a.warn", 75),
                ("b.gone", 150),
                ("c.active", 5),
                ("d.warn", 75),
                ("e.gone", 150),
            ] {
                org.add_member(member(name, days));
            }
            let mut config = SweepConfig::new(common(), arcgis(), "fake-bucket");
            config.common.dry_run = true;
            config.thresholds.max_disables_per_run = max_disables_per_run;
            Handler {
                store: FakeStore::with("state/sweep.json", &state),
                mailer: FakeMailer::default(),
                service: org,
                config,
            }
        };
        let lines = |handler: &Handler<FakeStore, FakeMailer, FakeOrg>| -> Vec<String> {
            let report = handler.store.only("reports/sweep/2026-06-01/");
            report
                .lines()
                .filter(|l| l.contains(".warn,") || l.contains(".gone,") || l.contains(".active,"))
                .map(String::from)
                .collect()
        };
        let names = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|l| l.split(',').next().unwrap().to_string())
                .collect()
        };

        // WHEN the dry run plans
        let handler = dry_run(10);
        let result = handler.handle(scheduled()).await.unwrap();

        // THEN the member needing nothing comes first, then every member
        // awaiting an action in listing order, each with its plan
        assert_eq!(result.warned, ["a.warn", "d.warn"]);
        let planned = lines(&handler);
        assert_eq!(
            names(&planned),
            ["c.active", "a.warn", "b.gone", "d.warn", "e.gone"]
        );
        assert!(planned[1].contains(",warn,planned_warn,"), "{}", planned[1]);
        assert!(
            planned[2].contains(",disable,planned_disable,"),
            "{}",
            planned[2]
        );
        assert!(planned[3].contains(",warn,planned_warn,"), "{}", planned[3]);

        // WHEN a cap of one trips the breaker
        let handler = dry_run(1);
        let _ = handler.handle(scheduled()).await;

        // THEN the same lines plan nothing, each saying why (quoted: the
        // reason holds a comma)
        let tripped = lines(&handler);
        assert_eq!(names(&tripped), names(&planned));
        let why = "circuit breaker: 2 members would be disabled, more than MAX_DISABLES_PER_RUN (1); nobody was warned or disabled";
        for line in &tripped[1..] {
            assert!(line.contains(",none,"), "{line}");
            assert!(line.ends_with(&format!("{why}\"")), "{line}");
        }
    }

    #[tokio::test]
    async fn the_breaker_trips_when_more_would_be_disabled_than_allowed() {
        // GIVEN three members warned two months ago and still idle, and a cap of two
        let org = FakeOrg::default();
        for name in ["gone.one", "gone.two", "gone.three"] {
            org.add_member(idle(name));
        }
        let state = json!({"version": 1, "warned": {
            "gone.one": {"warned_at": "2026-04-01T06:00:00Z"},
            "gone.two": {"warned_at": "2026-04-01T06:00:00Z"},
            "gone.three": {"warned_at": "2026-04-01T06:00:00Z"}}})
        .to_string();
        let mut config = SweepConfig::new(common(), arcgis(), "fake-bucket");
        config.thresholds.max_disables_per_run = 2;
        let handler = Handler {
            store: FakeStore::with("state/sweep.json", &state),
            mailer: FakeMailer::default(),
            service: org,
            config,
        };

        // WHEN the schedule runs
        let error = handler.handle(scheduled()).await.unwrap_err();

        // THEN the invocation fails as a tripped breaker and nobody is touched
        assert!(
            matches!(
                error,
                SweepError::BreakerTripped {
                    would_disable: 3,
                    max: 2,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(Diagnostic::from(error).error_type, "CircuitBreakerTripped");
        assert_eq!(handler.service.count("disable_users"), 0);
        assert!(!handler.service.member("gone.one").unwrap().disabled);
        // AND no member is mailed; the admins get the summary
        let sent = handler.mailer.sent.borrow();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].to, [ADMINS]);
        assert_eq!(
            sent[0].subject,
            "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or disabled"
        );
        // AND the report says why for each, and the state is as it was
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert_eq!(
            report
                .lines()
                .filter(|l| l.contains("circuit breaker: 3 members would be disabled"))
                .count(),
            3,
            "{report}"
        );
        assert_eq!(handler.store.text("state/sweep.json").unwrap(), state);
    }

    // ---- Write ahead, faults, the deadline, the daily cap, `now`, `lastLogin`.

    use connectors::mail::Mail;
    use rollcall_tests::fakes::{DisableFault, FakeStore as Store};

    type Sweeper = Handler<FakeStore, FakeMailer, FakeOrg>;

    const WARN_SUBJECT: &str = "account will be disabled on";
    const NOTICE_SUBJECT: &str = "account has been disabled";

    /// Inactive for `days` days, created long before.
    fn inactive(username: &str, days: i64) -> User {
        User {
            last_login: LastLogin::At(NOW_MS - days * DAY_MS),
            ..idle(username)
        }
    }

    fn address(username: &str) -> String {
        format!("{username}@example.org")
    }

    /// The schedule's event at `time` on 2026-06-01 (`06:00:00` is day 0).
    fn scheduled_at(time: &str) -> LambdaEvent<serde_json::Value> {
        let mut event = scheduled();
        event.payload["time"] = format!("2026-06-01T{time}Z").into();
        event
    }

    /// Two members to warn (70 days idle) and two to disable (150 days idle,
    /// warned on 2026-05-01), in a live sweep whose state holds those warnings.
    fn org_to_warn_and_disable() -> Sweeper {
        let org = FakeOrg::default();
        for name in ["warn.one", "warn.two"] {
            org.add_member(inactive(name, 70));
        }
        for name in ["gone.one", "gone.two"] {
            org.add_member(inactive(name, 150));
        }
        let state = json!({"version": 1, "warned": {
            "gone.one": {"warned_at": "2026-05-01T06:00:00Z"},
            "gone.two": {"warned_at": "2026-05-01T06:00:00Z"}}});
        Handler {
            store: Store::with("state/sweep.json", &state.to_string()),
            mailer: FakeMailer::default(),
            service: org,
            config: SweepConfig::new(common(), arcgis(), "fake-bucket"),
        }
    }

    /// The mails `username` got whose subject says `kind`.
    fn mails(handler: &Sweeper, username: &str, kind: &str) -> Vec<Mail> {
        handler
            .mailer
            .to(&address(username))
            .into_iter()
            .filter(|m| m.subject.contains(kind))
            .collect()
    }

    fn state(handler: &Sweeper) -> serde_json::Value {
        serde_json::from_str(&handler.store.text("state/sweep.json").unwrap()).unwrap()
    }

    fn disabled_in_org(handler: &Sweeper) -> Vec<String> {
        handler
            .service
            .members
            .borrow()
            .values()
            .filter(|m| m.disabled)
            .map(|m| m.username.clone())
            .collect()
    }

    /// The usernames an admins' mail lists in its "Members acted on" table
    /// with `what` as what happened (its text part), in the table's order.
    fn acted(mail: &Mail, what: &str) -> Vec<String> {
        let Some((_, after)) = mail.text.split_once("\nMembers acted on:\n") else {
            return Vec::new();
        };
        after
            .lines()
            .map_while(|l| l.strip_prefix("- "))
            .filter(|l| l.contains(&format!("; What happened: {what}; ")))
            .filter_map(|l| Some(l.strip_prefix("Username: ")?.split(';').next()?.to_string()))
            .collect()
    }

    /// The names an admins' mail gives as the fact `label: a, b`.
    fn fact_names(mail: &Mail, label: &str) -> Vec<String> {
        mail.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label}: ")))
            .map(|names| names.split(", ").map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// The names in brackets of the "Needs attention" line starting `start`.
    fn attention_names(mail: &Mail, start: &str) -> Vec<String> {
        mail.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("! {start}")))
            .and_then(|l| l.split_once('(')?.1.split_once(')'))
            .map(|(names, _)| names.split(", ").map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn sorted(mut names: Vec<String>) -> Vec<String> {
        names.sort();
        names
    }

    /// After any failure and a retry: every member was mailed at most once
    /// of each kind, every due disable happened with one notice, and the
    /// state holds no intent.
    fn assert_retry_repeats_nothing_and_loses_nothing(handler: &Sweeper) {
        for name in ["warn.one", "warn.two"] {
            assert_eq!(mails(handler, name, WARN_SUBJECT).len(), 1, "{name}");
        }
        for name in ["gone.one", "gone.two"] {
            assert!(handler.service.member(name).unwrap().disabled, "{name}");
            assert_eq!(mails(handler, name, NOTICE_SUBJECT).len(), 1, "{name}");
            assert!(mails(handler, name, WARN_SUBJECT).is_empty(), "{name}");
        }
        let state = state(handler);
        assert_eq!(
            state["pending"],
            json!({"warn": {}, "disable": {}, "notify": {}})
        );
        assert_eq!(state["notices_due"], json!({}));
        assert_eq!(
            state["disabled"]["2026-06-01"],
            json!(["gone.one", "gone.two"])
        );
        assert_eq!(
            state["warned"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["warn.one", "warn.two"]
        );
    }

    #[tokio::test]
    async fn a_live_run_writes_each_batch_ahead_to_the_state() {
        // GIVEN members to warn and to disable
        let handler = org_to_warn_and_disable();

        // WHEN the schedule runs
        let result = handler.handle(scheduled()).await.unwrap();

        // THEN it warned two, disabled two and sent two notices
        assert_eq!(sorted(result.warned.clone()), ["warn.one", "warn.two"]);
        assert_eq!(sorted(result.disabled.clone()), ["gone.one", "gone.two"]);
        assert_eq!(handler.service.count("disable_users"), 1);
        // AND the state says so, in the version 2 shape
        let state = state(&handler);
        assert_eq!(state["version"], 2);
        assert_eq!(
            state["warned"],
            json!({"warn.one": {"warned_at": "2026-06-01T06:00:00Z"},
                   "warn.two": {"warned_at": "2026-06-01T06:00:00Z"}})
        );
        assert_eq!(
            state["disabled"],
            json!({"2026-06-01": ["gone.one", "gone.two"]})
        );
        assert_eq!(state["notices_due"], json!({}));
        assert_eq!(
            state["pending"],
            json!({"warn": {}, "disable": {}, "notify": {}})
        );
        // AND the summary lists the notices
        let summary = &handler.mailer.to(ADMINS)[0];
        assert_eq!(
            sorted(fact_names(summary, "Disable notices sent")),
            ["gone.one", "gone.two"]
        );
    }

    #[tokio::test]
    async fn whichever_state_write_fails_the_mail_tells_what_was_done_and_a_retry_repeats_nothing()
    {
        // A clean run writes the state six times: the warnings' intents and
        // results, the disables' intents and results, the notices' intents
        // and results.
        for failing in 1..=6 {
            // GIVEN members to warn and disable, and S3 failing the nth state write
            let handler = org_to_warn_and_disable();
            handler.store.fail_nth_put_under("state/", failing);

            // WHEN the schedule runs
            let error = handler.handle(scheduled()).await.unwrap_err();

            // THEN the invocation fails on the state step
            let report_uri = match &error {
                SweepError::Stopped(stopped) => {
                    assert_eq!(stopped.step, sweep::job::Step::State, "write {failing}");
                    stopped.report.clone().expect("the report was written")
                }
                other => panic!("write {failing}: {other}"),
            };
            assert_eq!(
                Diagnostic::from(error).error_type,
                "ServiceUnavailable",
                "write {failing}"
            );
            // AND the admins' mail lists exactly who was mailed and disabled
            let warned: Vec<String> = ["warn.one", "warn.two"]
                .into_iter()
                .filter(|n| !mails(&handler, n, WARN_SUBJECT).is_empty())
                .map(str::to_string)
                .collect();
            let noticed: Vec<String> = ["gone.one", "gone.two"]
                .into_iter()
                .filter(|n| !mails(&handler, n, NOTICE_SUBJECT).is_empty())
                .map(str::to_string)
                .collect();
            let admins = handler.mailer.to(ADMINS);
            assert_eq!(admins.len(), 1, "write {failing}");
            let failure = &admins[0];
            assert!(
                failure.subject.starts_with(
                    "rollcall sweep 2026-06-01 failed while recording the state in state/sweep.json"
                ),
                "write {failing}: {}",
                failure.subject
            );
            assert_eq!(sorted(acted(failure, "warned")), warned, "write {failing}");
            assert_eq!(
                sorted(acted(failure, "disabled")),
                disabled_in_org(&handler),
                "write {failing}"
            );
            assert_eq!(
                sorted(fact_names(failure, "Disable notices sent")),
                noticed,
                "write {failing}"
            );
            // AND the report agrees with the org
            let report = handler
                .store
                .text(report_uri.trim_start_matches("s3://fake-bucket/"))
                .unwrap();
            for name in &warned {
                assert!(report.contains(&format!("{name},")), "{report}");
                assert!(
                    report
                        .lines()
                        .any(|l| l.starts_with(name.as_str()) && l.contains(",warned,")),
                    "write {failing}: {report}"
                );
            }
            for name in disabled_in_org(&handler) {
                assert!(
                    report
                        .lines()
                        .any(|l| l.starts_with(name.as_str()) && l.contains(",disabled,")),
                    "write {failing}: {report}"
                );
            }

            // WHEN the run is retried a minute later and S3 works again
            handler
                .handle(scheduled_at("06:01:00"))
                .await
                .unwrap_or_else(|e| panic!("write {failing}: the retry failed: {e}"));

            // THEN nobody got a mail twice, no disable was lost, no intent is left
            assert_retry_repeats_nothing_and_loses_nothing(&handler);
        }
    }

    #[tokio::test]
    async fn a_failed_report_fails_the_run_and_the_mail_says_what_was_done() {
        // GIVEN members to warn and disable, and S3 refusing reports
        let handler = org_to_warn_and_disable();
        *handler.store.fail_puts_under.borrow_mut() = Some("reports/".into());

        // WHEN the schedule runs
        let error = handler.handle(scheduled()).await.unwrap_err();

        // THEN everything was done and recorded, and the mail says so
        assert!(
            error
                .to_string()
                .starts_with("sweep stopped while writing the report: S3 is unavailable"),
            "{error}"
        );
        assert!(error.to_string().ends_with(
            "before that it warned 2, disabled 2 and sent 2 disable notice(s) (report: not written)"
        ));
        let failure = &handler.mailer.to(ADMINS)[0];
        assert_eq!(sorted(acted(failure, "warned")), ["warn.one", "warn.two"]);
        assert_eq!(sorted(acted(failure, "disabled")), ["gone.one", "gone.two"]);
        assert!(failure.text.contains("Report: could not be written"));
        assert!(handler.store.keys("reports/").is_empty());

        // WHEN it is retried with S3 well
        *handler.store.fail_puts_under.borrow_mut() = None;
        let retry = handler.handle(scheduled_at("06:01:00")).await.unwrap();

        // THEN it repeats nothing, and its report shows the members as done
        assert!(retry.warned.is_empty() && retry.disabled.is_empty());
        assert_retry_repeats_nothing_and_loses_nothing(&handler);
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert!(
            report.contains("warn.one,warn.one@example.org,2026-03-23,70,warn,none,inactive 70 days; warned on 2026-06-01"),
            "{report}"
        );
        assert!(
            report.contains("gone.one,gone.one@example.org,2026-01-02,150,already_disabled,none,already disabled\n"),
            "{report}"
        );
    }

    #[tokio::test]
    async fn a_refused_warning_mail_is_reported_and_sent_by_the_next_run_only() {
        // GIVEN SES rejecting one member's address
        let handler = org_to_warn_and_disable();
        handler
            .mailer
            .refuse_to
            .borrow_mut()
            .push(address("warn.one"));

        // WHEN the schedule runs
        let result = handler.handle(scheduled()).await.unwrap();

        // THEN the others are done; that member is not counted as warned
        assert_eq!(result.warned, ["warn.two"]);
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert!(
            report.contains("warn.one,warn.one@example.org,2026-03-23,70,warn,none,signed in 70 days ago; warning mail failed: SES SendEmail failed: MessageRejected: Email address is not verified.\n"),
            "{report}"
        );
        assert!(state(&handler)["warned"].get("warn.one").is_none());
        let summary = &handler.mailer.to(ADMINS)[0];
        assert_eq!(
            summary.subject,
            "rollcall sweep 2026-06-01: 2 members disabled, 1 warned, 1 failed, 1 untouched"
        );
        assert_eq!(acted(summary, "warned"), ["warn.two"]);
        assert_eq!(
            acted(
                summary,
                "warning mail failed: SES SendEmail failed: MessageRejected: Email address is not verified."
            ),
            ["warn.one"]
        );
        assert!(
            summary
                .text
                .contains("! 1 warning mail failed (warn.one): the next run tries again."),
            "{}",
            summary.text
        );

        // WHEN the next run finds the address fixed
        handler.mailer.refuse_to.borrow_mut().clear();
        let next = handler.handle(scheduled_at("06:01:00")).await.unwrap();

        // THEN only that member is warned
        assert_eq!(next.warned, ["warn.one"]);
        assert_retry_repeats_nothing_and_loses_nothing(&handler);
    }

    #[tokio::test]
    async fn a_disable_call_whose_answer_is_lost_is_confirmed_and_the_run_stops() {
        // GIVEN a portal that disables the members and then loses its answer
        let handler = org_to_warn_and_disable();
        handler
            .service
            .disable_fault
            .set(Some(DisableFault::AnswerLost));

        // WHEN the schedule runs
        let error = handler.handle(scheduled()).await.unwrap_err();

        // THEN the members were looked up, found disabled and recorded so
        let SweepError::Stopped(stopped) = &error else {
            panic!("{error}");
        };
        assert_eq!(stopped.step, sweep::job::Step::Disable);
        assert_eq!(handler.service.count("user"), 2);
        assert_eq!(disabled_in_org(&handler), ["gone.one", "gone.two"]);
        let failure = &handler.mailer.to(ADMINS)[0];
        assert!(
            failure.subject.starts_with(
                "rollcall sweep 2026-06-01 failed while disabling members: 2 warned, 2 disabled"
            ),
            "{}",
            failure.subject
        );
        assert_eq!(sorted(acted(failure, "disabled")), ["gone.one", "gone.two"]);
        assert!(
            !failure.text.contains("without confirming it"),
            "{}",
            failure.text
        );
        // AND the notices wait in the state, and the report says so
        let state = state(&handler);
        assert_eq!(
            state["notices_due"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["gone.one", "gone.two"]
        );
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert!(
            report.contains(",disable,disabled,\"inactive 150 days; warned on 2026-05-01, notice period over; the disable notice is still due; the next run sends it\""),
            "{report}"
        );

        // WHEN the portal answers again and the run is retried
        handler.service.disable_fault.set(None);
        handler.handle(scheduled_at("06:01:00")).await.unwrap();

        // THEN the notices go out once and nobody is disabled twice
        assert_eq!(handler.service.count("disable_users"), 1);
        assert_retry_repeats_nothing_and_loses_nothing(&handler);
    }

    #[tokio::test]
    async fn a_disable_call_that_fails_leaves_an_intent_the_next_run_completes() {
        // GIVEN a portal that fails every disable call
        let handler = org_to_warn_and_disable();
        handler
            .service
            .disable_fault
            .set(Some(DisableFault::Unavailable));

        // WHEN the schedule runs
        let error = handler.handle(scheduled()).await.unwrap_err();

        // THEN nobody is disabled, and the mail says the outcome is being checked
        assert!(disabled_in_org(&handler).is_empty());
        let failure = &handler.mailer.to(ADMINS)[0];
        assert!(acted(failure, "disabled").is_empty(), "{}", failure.text);
        assert_eq!(
            sorted(attention_names(
                failure,
                "The portal was asked to disable 2 members without confirming it"
            )),
            ["gone.one", "gone.two"]
        );
        assert_eq!(Diagnostic::from(error).error_type, "ServiceUnavailable");
        assert_eq!(
            state(&handler)["pending"]["disable"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["gone.one", "gone.two"]
        );

        // WHEN the portal works again
        handler.service.disable_fault.set(None);
        let retry = handler.handle(scheduled_at("06:01:00")).await.unwrap();

        // THEN the next run checks, disables and notifies them
        assert_eq!(sorted(retry.disabled), ["gone.one", "gone.two"]);
        assert_retry_repeats_nothing_and_loses_nothing(&handler);
    }

    #[tokio::test]
    async fn a_killed_run_leaves_intents_the_next_run_settles() {
        // GIVEN the state a run leaves when killed mid-batch: two warnings
        // started, two disables started (one done by the portal), one notice started
        let org = FakeOrg::default();
        org.add_member(inactive("mailed.maybe", 70));
        org.add_member(User {
            disabled: true,
            ..inactive("disabled.unrecorded", 150)
        });
        org.add_member(inactive("not.disabled.yet", 150));
        org.add_member(User {
            disabled: true,
            ..inactive("notice.maybe", 150)
        });
        let intent = json!({"run": "20260601T060000Z-killed01", "at": "2026-06-01T06:00:00Z"});
        let killed = json!({
            "version": 2,
            "warned": {
                "disabled.unrecorded": {"warned_at": "2026-05-01T06:00:00Z"},
                "not.disabled.yet": {"warned_at": "2026-05-01T06:00:00Z"}},
            "disabled": {"2026-06-01": ["notice.maybe"]},
            "notices_due": {"notice.maybe": {"disabled_at": "2026-06-01T06:00:00Z"}},
            "pending": {
                "warn": {"mailed.maybe": intent},
                "disable": {"disabled.unrecorded": intent, "not.disabled.yet": intent},
                "notify": {"notice.maybe": intent}}});
        let handler = Handler {
            store: Store::with("state/sweep.json", &killed.to_string()),
            mailer: FakeMailer::default(),
            service: org,
            config: SweepConfig::new(common(), arcgis(), "fake-bucket"),
        };

        // WHEN the next run comes
        let result = handler.handle(scheduled_at("06:05:00")).await.unwrap();

        // THEN a started warning or notice is not sent again
        assert!(mails(&handler, "mailed.maybe", WARN_SUBJECT).is_empty());
        assert!(mails(&handler, "notice.maybe", NOTICE_SUBJECT).is_empty());
        // AND the disable that happened is completed, with its notice
        assert_eq!(
            mails(&handler, "disabled.unrecorded", NOTICE_SUBJECT).len(),
            1
        );
        // AND the one that did not happen is done now
        assert_eq!(result.disabled, ["not.disabled.yet"]);
        assert_eq!(mails(&handler, "not.disabled.yet", NOTICE_SUBJECT).len(), 1);
        let state = state(&handler);
        assert_eq!(
            state["warned"],
            json!({"mailed.maybe": {"warned_at": "2026-06-01T06:00:00Z"}})
        );
        assert_eq!(
            state["disabled"]["2026-06-01"],
            json!(["disabled.unrecorded", "not.disabled.yet", "notice.maybe"])
        );
        assert_eq!(state["notices_due"], json!({}));
        assert_eq!(
            state["pending"],
            json!({"warn": {}, "disable": {}, "notify": {}})
        );
        // AND the summary says what it settled
        let summary = &handler.mailer.to(ADMINS)[0];
        for note in [
            "1 member(s) whose warning an earlier run started without recording it count as warned (a mail is sent at most once): mailed.maybe",
            "1 member(s) an earlier run disabled without recording it are now recorded as disabled: disabled.unrecorded",
            "1 member(s) an earlier run set out to disable were not disabled; they were classified afresh: not.disabled.yet",
            "1 disable notice(s) an earlier run started without recording it count as sent: notice.maybe",
        ] {
            assert!(summary.text.contains(note), "{note}: {}", summary.text);
        }
    }

    #[tokio::test]
    async fn no_loop_starts_work_at_the_deadline_and_the_next_run_does_it() {
        // GIVEN members to warn and to disable, and one disabled member whose
        // notice an earlier run could not send before its deadline
        let handler = org_to_warn_and_disable();
        handler.service.add_member(User {
            disabled: true,
            ..inactive("notice.due", 150)
        });
        let mut before = state(&handler);
        before["notices_due"] = json!({"notice.due": {"disabled_at": "2026-05-31T06:00:00Z"}});
        handler
            .store
            .upload("state/sweep.json", &before.to_string());
        let margin = handler.config.common.deadline_margin.as_millis() as i64;

        // WHEN the run starts with less time left than the margin
        let cut = handler
            .handle(with_deadline(scheduled(), margin - 1_000))
            .await
            .unwrap();

        // THEN no mail is sent and nobody is disabled, and the report says why
        assert!(cut.warned.is_empty() && cut.disabled.is_empty());
        assert_eq!(handler.service.count("disable_users"), 0);
        assert_eq!(handler.mailer.sent.borrow().len(), 1, "the summary only");
        let report = handler.store.only("reports/sweep/2026-06-01/");
        for line in [
            "warn.one,warn.one@example.org,2026-03-23,70,warn,none,signed in 70 days ago; not reached before the Lambda deadline; the next run warns",
            "gone.one,gone.one@example.org,2026-01-02,150,disable,none,\"inactive 150 days; warned on 2026-05-01, notice period over; not reached before the Lambda deadline; the next run disables\"",
            "notice.due,notice.due@example.org,2026-01-02,150,already_disabled,none,already disabled; rollcall disabled the account on 2026-05-31; the disable notice was not sent before the Lambda deadline; the next run sends it",
        ] {
            assert!(report.contains(line), "{line}\n{report}");
        }
        // AND the state still holds all of it
        assert_eq!(state(&handler), before);

        // WHEN the next run has time
        handler.handle(scheduled_at("06:01:00")).await.unwrap();

        // THEN it does everything once
        assert_retry_repeats_nothing_and_loses_nothing(&handler);
        assert_eq!(mails(&handler, "notice.due", NOTICE_SUBJECT).len(), 1);
    }

    #[tokio::test]
    async fn the_disable_cap_holds_per_day_across_runs() {
        // GIVEN a cap of two, one member disabled by an earlier run today,
        // and two more due
        let org = FakeOrg::default();
        for name in ["gone.one", "gone.two"] {
            org.add_member(inactive(name, 150));
        }
        let state_before = json!({"version": 2,
            "warned": {
                "gone.one": {"warned_at": "2026-05-01T06:00:00Z"},
                "gone.two": {"warned_at": "2026-05-01T06:00:00Z"}},
            "disabled": {"2026-06-01": ["earlier.today"]}})
        .to_string();
        let mut config = SweepConfig::new(common(), arcgis(), "fake-bucket");
        config.thresholds.max_disables_per_run = 2;
        let handler = Handler {
            store: Store::with("state/sweep.json", &state_before),
            mailer: FakeMailer::default(),
            service: org,
            config,
        };

        // WHEN the schedule runs again the same day
        let error = handler.handle(scheduled_at("06:01:00")).await.unwrap_err();

        // THEN the breaker trips on the daily cap and nobody is touched
        assert!(
            matches!(
                error,
                SweepError::BreakerTripped {
                    would_disable: 2,
                    disabled_today: 1,
                    max: 2,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().starts_with("circuit breaker: 2 members would be disabled after 1 already disabled today, more than the daily cap of 2"), "{error}");
        assert_eq!(Diagnostic::from(error).error_type, "CircuitBreakerTripped");
        assert_eq!(handler.service.count("disable_users"), 0);
        let summary = &handler.mailer.to(ADMINS)[0];
        assert_eq!(
            summary.subject,
            "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or disabled"
        );
        assert!(
            summary.text.contains("Circuit breaker: tripped by the daily cap (2 members due to be disabled after 1 earlier today, more than the 2 allowed a day)"),
            "{}",
            summary.text
        );
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert!(report.contains("circuit breaker: 2 members would be disabled after 1 already disabled on 2026-06-01, more than the daily cap MAX_DISABLES_PER_RUN (2); nobody was warned or disabled"), "{report}");
        assert_eq!(
            handler.store.text("state/sweep.json").unwrap(),
            state_before
        );

        // WHEN the next day comes
        let mut tomorrow = scheduled();
        tomorrow.payload["time"] = "2026-06-02T06:00:00Z".into();
        let result = handler.handle(tomorrow).await.unwrap();

        // THEN both are disabled, counted for that day
        assert_eq!(result.disabled_today, 0);
        assert_eq!(sorted(result.disabled), ["gone.one", "gone.two"]);
        assert_eq!(
            state(&handler)["disabled"]["2026-06-02"],
            json!(["gone.one", "gone.two"])
        );
    }

    #[tokio::test]
    async fn now_is_refused_on_a_live_run_and_touches_nobody() {
        // GIVEN members to warn and disable, and a live deployment
        let handler = org_to_warn_and_disable();
        let state_before = handler.store.text("state/sweep.json").unwrap();
        for (event, because) in [
            (
                json!({"dry_run": false, "now": "2030-01-01T00:00:00Z"}),
                "the event says \"dry_run\": false",
            ),
            (
                json!({"now": "2030-01-01T00:00:00Z"}),
                "DRY_RUN is false and the event does not say \"dry_run\"",
            ),
        ] {
            // WHEN a console event sets `now` on a live run
            let error = handler
                .handle(LambdaEvent::new(event.clone(), Context::default()))
                .await
                .unwrap_err();

            // THEN it is refused with a clear error, before anything is read or done
            assert_eq!(
                error.to_string(),
                format!("`now` is accepted in dry runs only: a live run warns and disables by the schedule's clock, and this run would be live ({because}); add \"dry_run\": true or leave `now` out"),
                "{event}"
            );
            assert_eq!(Diagnostic::from(error).error_type, "InvalidEvent");
        }
        assert!(handler.mailer.sent.borrow().is_empty());
        assert!(handler.service.calls.borrow().is_empty());
        assert_eq!(
            handler.store.text("state/sweep.json").unwrap(),
            state_before
        );
        assert!(handler.store.keys("reports/").is_empty());

        // AND a dry run may still set its clock
        let dry = handler
            .handle(LambdaEvent::new(
                json!({"dry_run": true, "now": "2030-01-01T00:00:00Z"}),
                Context::default(),
            ))
            .await
            .unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.now.to_rfc3339(), "2030-01-01T00:00:00+00:00");
        assert!(disabled_in_org(&handler).is_empty());
        assert_eq!(
            handler.store.text("state/sweep.json").unwrap(),
            state_before
        );
    }

    #[tokio::test]
    async fn a_member_without_last_login_is_never_warned_or_disabled() {
        // GIVEN a member warned long ago whose answer lacks lastLogin
        let org = FakeOrg::default();
        org.add_member(User {
            last_login: LastLogin::Unknown,
            ..idle("quiet.member")
        });
        let state_before = json!({"version": 1, "warned": {
            "quiet.member": {"warned_at": "2026-04-01T06:00:00Z"}}});
        let handler = Handler {
            store: Store::with("state/sweep.json", &state_before.to_string()),
            mailer: FakeMailer::default(),
            service: org,
            config: SweepConfig::new(common(), arcgis(), "fake-bucket"),
        };

        // WHEN the schedule runs
        let result = handler.handle(scheduled()).await.unwrap();

        // THEN the member is left alone, and the report says why
        assert!(result.warned.is_empty() && result.disabled.is_empty());
        assert!(!handler.service.member("quiet.member").unwrap().disabled);
        assert!(handler.mailer.to(&address("quiet.member")).is_empty());
        assert_eq!(result.classes.get("unknown"), Some(&1));
        let report = handler.store.only("reports/sweep/2026-06-01/");
        assert!(
            report.contains("quiet.member,quiet.member@example.org,unknown,,unknown,none,the portal did not say when the member last signed in (no lastLogin); left alone\n"),
            "{report}"
        );
        // AND the warning is kept for when the portal says again
        assert_eq!(state(&handler)["warned"], state_before["warned"]);
    }
}

mod proficiency_with_fakes {
    use super::*;
    use connectors::Error;
    use proficiency::{Handler, ProficiencyConfig};

    const KEY: &str = "inbox/connect/team.csv";

    #[tokio::test]
    async fn rows_not_reached_continue_in_a_link_whose_event_finishes_the_job() {
        // GIVEN two agents, a file for both, and a run whose deadline is already at the margin
        let connect = FakeConnect::new(
            &["jane.doe", "li.wei"],
            &[("Language", &["English", "French"])],
        );
        let file = "identifier,identifier_type,action,attribute,value,level\n\
                    jane.doe,username,add,Language,French,4\n\
                    li.wei,username,add,Language,English,2\n\
                    li.wei,username,add,Language,Klingon,2\n";
        let handler = Handler {
            store: FakeStore::with(KEY, file),
            mailer: FakeMailer::default(),
            service: connect,
            config: ProficiencyConfig::new(common(), ConnectSettings::new("instance-1")),
        };
        let margin = handler.config.common.deadline_margin.as_millis() as i64;

        // WHEN the S3 event's run has no time left
        let first = handler
            .handle(with_deadline(s3_event(KEY), margin - 1_000))
            .await
            .unwrap();

        // THEN no agent was touched, the valid rows wait in link 2 of the
        // job, only the failed row stays in the inbox file, and no mail yet
        assert!(handler.service.writes.borrow().is_empty());
        let job = first.files[0].job.clone().unwrap();
        let link = format!("inbox/connect/continue/{job}/2.csv");
        assert_eq!(
            first.remaining.as_deref(),
            Some(format!("s3://fake-bucket/{link}").as_str())
        );
        assert_eq!(
            handler.store.text(&link).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n\
             jane.doe,username,add,Language,French,4,\n\
             li.wei,username,add,Language,English,2,\n"
        );
        assert_eq!(
            handler.store.text(KEY).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n\
             li.wei,username,add,Language,Klingon,2,\"value: \"\"Klingon\"\" is not a value of attribute Language (values: English, French)\"\n"
        );
        let report = handler
            .store
            .text(
                first
                    .report
                    .as_deref()
                    .unwrap()
                    .trim_start_matches("s3://fake-bucket/"),
            )
            .unwrap();
        assert!(
            report.contains(&format!(",skipped,not reached before the Lambda deadline; handed on to s3://fake-bucket/{link}\n")),
            "{report}"
        );
        assert!(handler.mailer.sent.borrow().is_empty());

        // WHEN the link's S3 event arrives
        let second = handler.handle(s3_event(&link)).await.unwrap();

        // THEN both agents have their proficiencies, the link is empty, and
        // one summary covers both links
        assert_eq!(second.counts.get(Outcome::Added), 2);
        assert_eq!(handler.service.of("jane.doe"), ["Language=French@4"]);
        assert_eq!(handler.service.of("li.wei"), ["Language=English@2"]);
        assert_eq!(
            handler.store.text(&link).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n"
        );
        assert!(second.remaining.is_none());
        let sent = handler.mailer.sent.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].subject,
            "rollcall proficiency: 2 successful, 1 failed, 0 skipped (inbox/connect/team.csv, finished in 2 links)"
        );
        assert!(
            sent[0]
                .text
                .contains("- Line: 4; Username: li.wei; Field: value; Reason: \"Klingon\""),
            "{}",
            sent[0].text
        );
        assert!(
            sent[0].text.contains("Rows: 3 of 3 done"),
            "{}",
            sent[0].text
        );
    }

    const IDS: &str = "inbox/connect/ids.csv";
    const IDS_FILE: &str = "identifier,identifier_type,action,attribute,value,level\n\
                            jane.doe#1,user_id,add,Language,French,4\n\
                            id-li.wei,user_id,add,Language,English,2\n\
                            jane.doe#1,user_id,remove,Language,English,\n\
                            jane.doe,username,add,Language,English,3\n";

    fn ids_handler(connect: FakeConnect) -> Handler<FakeStore, FakeMailer, FakeConnect> {
        Handler {
            store: FakeStore::with(IDS, IDS_FILE),
            mailer: FakeMailer::default(),
            service: connect,
            config: ProficiencyConfig::new(common(), ConnectSettings::new("instance-1")),
        }
    }

    #[tokio::test]
    async fn a_user_id_connect_refuses_fails_only_the_rows_naming_it() {
        // GIVEN an instance whose DescribeUser refuses "jane.doe#1" as no id at all
        let connect = FakeConnect {
            malformed_ids: vec!["jane.doe#1".into()],
            ..FakeConnect::new(
                &["jane.doe", "li.wei"],
                &[("Language", &["English", "French"])],
            )
        };
        let handler = ids_handler(connect);

        // WHEN the file arrives
        let response = handler.handle(s3_event(IDS)).await.unwrap();

        // THEN the two rows naming it failed with Connect's answer, and the rest was applied
        assert_eq!(response.counts.get(Outcome::Added), 2);
        assert_eq!(response.counts.get(Outcome::Failed), 2);
        assert_eq!(handler.service.of("li.wei"), ["Language=English@2"]);
        assert_eq!(handler.service.of("jane.doe"), ["Language=English@3"]);
        assert_eq!(
            handler.store.text(IDS).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n\
             jane.doe#1,user_id,add,Language,French,4,\"identifier: \"\"jane.doe#1\"\" is not a valid user id (Connect DescribeUser answered InvalidParameterException: The UserId is not valid.)\"\n\
             jane.doe#1,user_id,remove,Language,English,,\"identifier: \"\"jane.doe#1\"\" is not a valid user id (Connect DescribeUser answered InvalidParameterException: The UserId is not valid.)\"\n"
        );
    }

    #[tokio::test]
    async fn a_throttled_or_failing_describe_user_still_fails_the_whole_file() {
        /// A failure of DescribeUser, and the Lambda `errorType` it becomes.
        type Failure = (fn() -> Error, &'static str);
        let failures: [Failure; 3] = [
            (
                || Error::Throttled {
                    service: "Connect",
                    attempts: 8,
                },
                "Throttled",
            ),
            (
                || Error::Unavailable {
                    service: "Connect",
                    status: 500,
                    attempts: 8,
                },
                "ServiceUnavailable",
            ),
            (
                || Error::Permission {
                    service: "Connect",
                    operation: "DescribeUser".into(),
                    message: "not authorized to perform connect:DescribeUser".into(),
                },
                "PermissionDenied",
            ),
        ];
        for (failure, error_type) in failures {
            // GIVEN an instance whose DescribeUser fails for every id
            let connect = FakeConnect {
                describe_failure: Some(failure),
                ..FakeConnect::new(
                    &["jane.doe", "li.wei"],
                    &[("Language", &["English", "French"])],
                )
            };
            let handler = ids_handler(connect);

            // WHEN the file arrives
            let error = handler.handle(s3_event(IDS)).await.unwrap_err();

            // THEN the invocation fails, and the file and the agents are untouched
            assert_eq!(Diagnostic::from(error).error_type, error_type);
            assert_eq!(handler.store.text(IDS).unwrap(), IDS_FILE);
            assert!(handler.service.writes.borrow().is_empty());
        }
    }
}
