//! Job logic with in-memory fakes of the ports: the cases the sandbox does
//! not make easy to stage (a group refusing a member, a batch refused whole,
//! a permission failure), the sweep's circuit breaker and the proficiency
//! remainder. No moto, no sandbox.

use connectors::arcgis::{ArcgisSettings, LastLogin, User};
use connectors::config::{Common, MailSettings};
use connectors::connect::ConnectSettings;
use connectors::inbox::Outcome;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use rollcall_tests::fakes::{
    console, s3_event, with_deadline, FakeConnect, FakeMailer, FakeOrg, FakeStore,
};
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
    use onboard::{Handler, OnboardConfig};

    const KEY: &str = "inbox/arcgis/f.csv";
    const FILE: &str = "username,firstname,lastname,email,groups\nfirst.member,A,One,a@example.org,g1\nsecond.member,B,Two,b@example.org,g1\n";

    fn handler(org: FakeOrg) -> Handler<FakeStore, FakeMailer, FakeOrg> {
        Handler {
            store: FakeStore::with(KEY, FILE),
            mailer: FakeMailer::default(),
            service: org,
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
        assert_eq!(handler.service.groups.borrow()["g1"], ["first.member"]);
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
        assert!(handler.service.member("first.member").is_none());
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
        assert_eq!(handler.service.count("invite"), 0);
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
            "rollcall sweep 2026-06-01: circuit breaker tripped, 3 would be disabled; nobody was warned or disabled"
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
}

mod proficiency_with_fakes {
    use super::*;
    use proficiency::{Handler, ProficiencyConfig};

    const KEY: &str = "inbox/connect/team.csv";
    const REMAINDER: &str = "remaining/inbox/connect/team.csv";

    #[tokio::test]
    async fn rows_not_reached_go_to_a_remainder_that_a_second_run_finishes() {
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

        // THEN no agent was touched, the valid rows wait in remaining/<key>,
        // and only the failed row stays in the inbox file
        assert!(handler.service.writes.borrow().is_empty());
        assert_eq!(
            first.remaining.as_deref(),
            Some("s3://fake-bucket/remaining/inbox/connect/team.csv")
        );
        assert_eq!(
            handler.store.text(REMAINDER).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n\
             jane.doe,username,add,Language,French,4,not reached before the Lambda deadline; left in remaining/inbox/connect/team.csv\n\
             li.wei,username,add,Language,English,2,not reached before the Lambda deadline; left in remaining/inbox/connect/team.csv\n"
        );
        assert_eq!(
            handler.store.text(KEY).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n\
             li.wei,username,add,Language,Klingon,2,\"value: \"\"Klingon\"\" is not a value of attribute Language (values: English, French)\"\n"
        );

        // WHEN the remainder is run from the console
        let second = handler.handle(console(REMAINDER, false)).await.unwrap();

        // THEN both agents have their proficiencies and the remainder is empty
        assert_eq!(second.counts.get(Outcome::Added), 2);
        assert_eq!(handler.service.of("jane.doe"), ["Language=French@4"]);
        assert_eq!(handler.service.of("li.wei"), ["Language=English@2"]);
        assert_eq!(
            handler.store.text(REMAINDER).unwrap(),
            "identifier,identifier_type,action,attribute,value,level,error\n"
        );
        assert!(second.remaining.is_none());
    }
}
