//! End-to-end onboarding: the real handler with the real S3, SES and Secrets
//! Manager adapters against moto, and the real ArcGIS client against the
//! sandbox portal. Every test asserts what an admin would see: members in
//! the org, the CSV after the run, the report, the mail.

use connectors::inbox::Outcome;
use std::time::Duration;

use connectors::inbox::FileStatus;
use connectors::store::S3Store;
use connectors::store::{NewObject, ObjectStore, StoredObject};
use rollcall_tests::moto::Moto;
use rollcall_tests::sandbox::{SandboxConfig, SeedMember};
use rollcall_tests::world::InBucket;
use rollcall_tests::world::World;

const FIELD_GROUP: &str = "0f1e1d2c3b4a59687766554433221100";
const STAFF_GROUP: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

/// An org with two groups and one existing member, `dana.existing`.
async fn world(config: SandboxConfig) -> World {
    let world = World::new(config).await;
    world.sandbox.add_group(FIELD_GROUP, "Field Crews");
    world.sandbox.add_group(STAFF_GROUP, "All Staff");
    world
        .sandbox
        .add_member(SeedMember::new("dana.existing").groups(&[STAFF_GROUP]));
    world
}

const MIXED: &str = "\
username,password,firstname,lastname,email,user type,role,credit allocation,groups
ahmed.khan_geo,Welcome-2026!,Ahmed,Khan,ahmed.khan@example.org,Creator,Publisher,500,0f1e1d2c3b4a59687766554433221100
bea.lopez_geo,,Bea,López,bea.lopez@example.org,Viewer,Viewer,,
dana.existing,,Dana,Existing,dana@example.org,Creator,User,,0f1e1d2c3b4a59687766554433221100
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,,
ahmed.khan_geo,,Ahmed,Again,ahmed2@example.org,Creator,User,,
fay.role_geo,,Fay,Role,fay@example.org,Creator,Wizard,,
";

#[tokio::test]
async fn mixed_file_online_creates_invites_and_keeps_failures() {
    // GIVEN an ArcGIS Online org and a mixed file dropped into the inbox
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/new starters.csv";
    world.drop_csv(key, MIXED).await;
    let mut config = world.config();
    config.default_groups = vec![STAFF_GROUP.to_string()];
    let handler = world.handler(config).await;

    // WHEN the S3 event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN the org holds exactly the new members, with what the rows asked for
    let ahmed = world
        .sandbox
        .member("ahmed.khan_geo")
        .expect("ahmed created");
    assert_eq!(
        (ahmed.role.as_str(), ahmed.user_type.as_str()),
        ("org_publisher", "creatorUT")
    );
    assert_eq!(ahmed.credits, Some(500.0));
    assert!(ahmed.has_password && !ahmed.invited);
    assert_eq!(ahmed.groups, [FIELD_GROUP, STAFF_GROUP]);
    let bea = world.sandbox.member("bea.lopez_geo").expect("bea invited");
    assert_eq!(bea.role_id.as_deref(), Some("iAAAAAAAAAAAAAAA"));
    assert_eq!(bea.user_type, "viewerUT");
    assert_eq!(bea.last_name, "López");
    assert!(bea.invited && !bea.has_password);
    assert_eq!(bea.groups, [STAFF_GROUP]);
    let dana = world
        .sandbox
        .member("dana.existing")
        .expect("dana still there");
    assert_eq!(dana.groups, [FIELD_GROUP, STAFF_GROUP]);
    assert_eq!(
        dana.email, "dana.existing@example.com",
        "an existing member's fields are not overwritten"
    );
    for absent in ["eve.typo_geo", "fay.role_geo"] {
        assert!(
            world.sandbox.member(absent).is_none(),
            "{absent} must not be created"
        );
    }
    let usernames: Vec<String> = world
        .sandbox
        .members()
        .into_iter()
        .map(|m| m.username)
        .collect();
    assert_eq!(
        usernames,
        [
            "ahmed.khan_geo",
            "bea.lopez_geo",
            "dana.existing",
            "rollcall_admin"
        ]
    );
    // The group owner (the admin who made it) is a member too.
    assert_eq!(
        world.sandbox.group_members(FIELD_GROUP),
        ["ahmed.khan_geo", "dana.existing", "rollcall_admin"]
    );

    // AND the CSV keeps the header and only the failed rows, with their reasons
    assert_eq!(
        world.text(key).await.unwrap(),
        "\
username,password,firstname,lastname,email,user type,role,credit allocation,groups,error
eve.typo_geo,,Eve,Typo,eve.example.org,Creator,User,,,\"email: \"\"eve.example.org\"\" is not a valid address\"
ahmed.khan_geo,,Ahmed,Again,ahmed2@example.org,Creator,User,,,\"username: \"\"ahmed.khan_geo\"\" is a duplicate of line 2\"
fay.role_geo,,Fay,Role,fay@example.org,Creator,Wizard,,,\"role: unknown role \"\"Wizard\"\" (use a role id or one of: Administrator, Publisher, User, Viewer, Data Editor)\"
"
    );

    // AND the report has one line per input row, and no password
    let report_uri = response.report.clone().expect("a report");
    assert!(report_uri.starts_with(&format!("s3://{}/reports/onboard/", world.bucket)));
    let report = world.text_at(&report_uri).await;
    assert_eq!(
        report,
        format!(
            "\
line,username,outcome,groups_added,reason
2,ahmed.khan_geo,created,{FIELD_GROUP};{STAFF_GROUP},created
3,bea.lopez_geo,invited,{STAFF_GROUP},invitation sent to bea.lopez@example.org
4,dana.existing,exists,{FIELD_GROUP},already a member; added to the missing groups
5,eve.typo_geo,failed,,\"email: \"\"eve.example.org\"\" is not a valid address\"
6,ahmed.khan_geo,failed,,\"username: \"\"ahmed.khan_geo\"\" is a duplicate of line 2\"
7,fay.role_geo,failed,,\"role: unknown role \"\"Wizard\"\" (use a role id or one of: Administrator, Publisher, User, Viewer, Data Editor)\"
"
        )
    );
    assert!(!report.contains("Welcome-2026!"));

    // AND the summary returned and mailed says the same
    assert_eq!(
        serde_json::to_value(response.counts).unwrap(),
        serde_json::json!({"created": 1, "invited": 1, "exists": 1, "updated": 0, "unchanged": 0, "disabled": 0, "enabled": 0, "deleted": 0, "failed": 3, "skipped": 0, "planned": 0})
    );
    assert!(response.csv_rewritten);
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.source, world.mail_from);
    assert_eq!(
        mail.subject,
        "rollcall onboard: 1 created, 1 invited, 1 existing, 3 failed, 0 skipped (inbox/arcgis/new starters.csv)"
    );
    assert!(mail.body.contains("eve.typo_geo"), "{}", mail.body);
    assert!(mail.body.contains(&report_uri));
    assert!(!mail.body.contains("Welcome-2026!"));
}

#[tokio::test]
async fn enterprise_creates_accounts_with_create_user_and_adds_groups() {
    // GIVEN an ArcGIS Enterprise portal and a file with built-in and IdP logins
    let world = world(SandboxConfig::enterprise()).await;
    let key = "inbox/arcgis/enterprise.csv";
    world
        .drop_csv(
            key,
            "username,password,firstname,lastname,email,user type,role,provider,idp_username,groups\n\
             gis.builtin01,Str0ng-Pass!,Gil,Builtin,gil@example.org,creatorUT,org_publisher,,,0f1e1d2c3b4a59687766554433221100\n\
             saml.user01,,Sam,Saml,sam@example.org,Viewer,Viewer,enterprise,sam@CORP,\n\
             no.password01,,Nia,Nopass,nia@example.org,Creator,User,,,\n\
             dana.existing,Other-Pass1!,Dana,Existing,dana@example.org,Creator,User,,,0f1e1d2c3b4a59687766554433221100\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN the event arrives
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds");

    // THEN built-in and IdP accounts exist through portaladmin createUser
    let gil = world.sandbox.member("gis.builtin01").expect("created");
    assert_eq!(
        (gil.role.as_str(), gil.user_type.as_str(), gil.has_password),
        ("org_publisher", "creatorUT", true)
    );
    assert_eq!(gil.groups, [FIELD_GROUP]);
    let sam = world.sandbox.member("saml.user01").expect("created");
    assert_eq!(
        (sam.provider.as_str(), sam.idp_username.as_deref()),
        ("enterprise", Some("sam@CORP"))
    );
    assert_eq!(sam.credits, None, "Enterprise has no credits");
    assert!(world.sandbox.member("no.password01").is_none());
    assert_eq!(
        world.sandbox.member("dana.existing").unwrap().groups,
        [FIELD_GROUP, STAFF_GROUP]
    );
    let calls = world.sandbox.calls();
    assert_eq!(calls.count("createUser"), 2, "{calls:?}");
    assert_eq!(calls.count("invite"), 0);

    // AND only the row Enterprise cannot take is left, with its reason
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,password,firstname,lastname,email,user type,role,provider,idp_username,groups,error\n\
         no.password01,,Nia,Nopass,nia@example.org,Creator,User,,,,\
         password: ArcGIS Enterprise built-in accounts need a password (or give provider enterprise and idp_username)\n"
    );
    assert_eq!(
        serde_json::to_value(response.counts).unwrap(),
        serde_json::json!({"created": 2, "invited": 0, "exists": 1, "updated": 0, "unchanged": 0, "disabled": 0, "enabled": 0, "deleted": 0, "failed": 1, "skipped": 0, "planned": 0})
    );
}

#[tokio::test]
async fn the_same_event_three_times_changes_the_org_once() {
    // GIVEN a file and its event, delivered three times (S3 is at-least-once)
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/again.csv";
    world.drop_csv(key, MIXED).await;
    let handler = world.handler(world.config()).await;

    // WHEN the handler runs for each delivery
    let first = handler.handle(world.s3_event(key)).await.unwrap();
    let members_after_one = world.sandbox.members();
    let csv_after_one = world.text(key).await.unwrap();
    let second = handler.handle(world.s3_event(key)).await.unwrap();
    let third = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the later deliveries see rollcall's own rewrite and do nothing
    assert_eq!(first.files[0].status, FileStatus::Processed);
    for again in [&second, &third] {
        assert_eq!(again.files[0].status, FileStatus::SelfWritten);
        assert_eq!(again.counts.total(), 0);
    }
    assert_eq!(world.sandbox.members(), members_after_one);
    assert_eq!(world.text(key).await.unwrap(), csv_after_one);
    assert_eq!(world.sandbox.calls().count("invite"), 1);
    assert_eq!(
        world.sandbox.invitations().len(),
        1,
        "bea gets one invitation mail"
    );

    // AND uploading the original file again duplicates nothing: its members exist
    world.drop_csv(key, MIXED).await;
    let rerun = handler.handle(world.s3_event(key)).await.unwrap();
    assert_eq!(rerun.counts.get(Outcome::Exists), 3, "{:?}", rerun.counts);
    assert_eq!(
        rerun.counts.get(Outcome::Created) + rerun.counts.get(Outcome::Invited),
        0
    );
    assert_eq!(world.sandbox.members(), members_after_one);
    assert_eq!(world.sandbox.invitations().len(), 1);
}

#[tokio::test]
async fn an_object_rollcall_wrote_is_ignored() {
    // GIVEN an object carrying rollcall's own metadata
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/rewritten.csv";
    let body = "username,firstname,lastname,email,error\nnew.person01,New,Person,new@example.org,earlier reason\n";
    world
        .moto
        .put_object(
            &world.bucket,
            key,
            body.as_bytes(),
            &[("rollcall-written-by", "onboard")],
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN its event arrives
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN nothing is created, written, reported or mailed
    assert_eq!(response.files[0].status, FileStatus::SelfWritten);
    assert!(world.sandbox.member("new.person01").is_none());
    assert_eq!(world.text(key).await.unwrap(), body);
    assert!(world
        .moto
        .list_keys(&world.bucket, "reports/")
        .await
        .is_empty());
    assert!(world
        .moto
        .sent_mails_to(&world.admin_email)
        .await
        .is_empty());
    assert_eq!(world.sandbox.calls().total, 0);
}

/// The real S3 adapter, plus an admin uploading a new version of the file
/// right after the run has read it.
struct ReplacedAfterRead {
    inner: S3Store,
    moto: Moto,
    replacement: String,
}

impl ObjectStore for ReplacedAfterRead {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<StoredObject>, connectors::Error> {
        let object = self.inner.get(bucket, key).await?;
        self.moto
            .put_object(bucket, key, self.replacement.as_bytes(), &[])
            .await;
        Ok(object)
    }

    async fn put(&self, object: NewObject) -> Result<(), connectors::Error> {
        self.inner.put(object).await
    }
}

#[tokio::test]
async fn a_file_replaced_during_the_run_is_left_alone() {
    // GIVEN a file that the admin replaces while the run works on it
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/replaced.csv";
    world.drop_csv(key, MIXED).await;
    let replacement =
        "username,firstname,lastname,email\nlate.comer01,Late,Comer,late@example.org\n";
    let real = world.handler(world.config()).await;
    let handler = onboard::Handler {
        store: ReplacedAfterRead {
            inner: real.store,
            moto: world.moto.clone(),
            replacement: replacement.to_string(),
        },
        mailer: real.mailer,
        service: real.service,
        config: real.config,
    };

    // WHEN the run finishes
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the new upload is intact, the run says why it did not rewrite,
    // and the rows it finished are in the org
    assert_eq!(world.text(key).await.unwrap(), replacement);
    assert!(!response.csv_rewritten);
    let note = response.files[0].note.clone().unwrap();
    // (after the licence check's note: the sandbox does not say what it holds)
    assert!(
        note.contains("; the file changed during the run, so it was left alone"),
        "{note}"
    );
    assert!(world.sandbox.member("ahmed.khan_geo").is_some());
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(report.contains("\n2,ahmed.khan_geo,created,"), "{report}");

    // AND the new upload's own event processes it
    let handler = world.handler(world.config()).await;
    let next = handler.handle(world.s3_event(key)).await.unwrap();
    assert_eq!(next.counts.get(Outcome::Invited), 1);
    assert!(world.sandbox.member("late.comer01").is_some());
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,firstname,lastname,email,error\n"
    );
}

/// 40 new members, one group each: enough calls for faults to land.
fn forty_rows() -> String {
    let mut csv = String::from("username,password,firstname,lastname,email,groups\n");
    for i in 0..40 {
        let password = if i % 2 == 0 { "Fault-Tolerant1!" } else { "" };
        csv.push_str(&format!(
            "member.{i:03},{password},Member,No{i},member{i}@example.org,{FIELD_GROUP}\n"
        ));
    }
    csv
}

#[tokio::test]
async fn throttling_server_errors_and_an_expiring_token_still_end_every_row_right() {
    // GIVEN a portal that answers 10% of calls with 429/503 (status or
    // HTTP-200 envelope), and whose tokens all expire once the invites begin
    let world = world(SandboxConfig::online()).await;
    world.sandbox.set_latency(Duration::from_millis(10));
    world.sandbox.set_retry_after(0);
    world.sandbox.set_fault_rate(0.1);
    let key = "inbox/arcgis/flaky.csv";
    world.drop_csv(key, &forty_rows()).await;
    let mut config = world.config();
    config.invite_batch = 5;
    config.arcgis.as_mut().expect("an org").concurrency = 2;
    let handler = world.handler(config).await;
    let expire = {
        let control = world.sandbox.control_url();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let state: serde_json::Value = http
                    .get(format!("{control}/sandbox/state"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if state["calls"]["by_operation"]["invite"]
                    .as_u64()
                    .unwrap_or(0)
                    >= 1
                {
                    http.post(format!("{control}/sandbox/expire-tokens"))
                        .send()
                        .await
                        .unwrap();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    // WHEN the run goes through
    let response = handler
        .handle(world.s3_event(key))
        .await
        .expect("the run succeeds despite the faults");
    expire.await.expect("the token expiry happened mid-run");

    // THEN every row ended right: 20 created, 20 invited, all in the group
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(
        serde_json::to_value(response.counts).unwrap(),
        serde_json::json!({"created": 20, "invited": 20, "exists": 0, "updated": 0, "unchanged": 0, "disabled": 0, "enabled": 0, "deleted": 0, "failed": 0, "skipped": 0, "planned": 0}),
        "{report}"
    );
    for i in 0..40 {
        let member = world
            .sandbox
            .member(&format!("member.{i:03}"))
            .expect("member exists");
        assert_eq!(member.groups, [FIELD_GROUP]);
    }
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,password,firstname,lastname,email,groups,error\n"
    );
    let calls = world.sandbox.calls();
    assert!(calls.faults > 0, "faults were injected: {calls:?}");
    assert!(
        calls.count("generateToken") > 1,
        "the token was refreshed: {calls:?}"
    );
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_changes_nothing() {
    for (via, key) in [
        ("DRY_RUN", "inbox/arcgis/plan.csv"),
        ("the dry-run folder", "inbox/arcgis/dry-run/plan.csv"),
    ] {
        // GIVEN a mixed file, dry run asked for by configuration or by folder
        let world = world(SandboxConfig::online()).await;
        let etag = world.drop_csv(key, MIXED).await;
        let mut config = world.config();
        config.common.dry_run = via == "DRY_RUN";
        let members = || {
            // Signing in moves the admin's last login; everything else must stay.
            let mut members = world.sandbox.members();
            members.iter_mut().for_each(|m| m.last_login = None);
            members
        };
        let members_before = members();
        let handler = world.handler(config).await;

        // WHEN the event arrives
        let response = handler.handle(world.s3_event(key)).await.unwrap();

        // THEN the org and the file are untouched, and the report is the plan
        assert_eq!(members(), members_before, "{via}");
        let (body, _, etag_after) = world.moto.get_object(&world.bucket, key).await.unwrap();
        assert_eq!(
            (String::from_utf8(body).unwrap().as_str(), etag_after),
            (MIXED, etag),
            "{via}"
        );
        assert!(!response.csv_rewritten);
        assert!(response.files[0].dry_run);
        let calls = world.sandbox.calls();
        for write in ["invite", "createUser", "addUsers"] {
            assert_eq!(calls.count(write), 0, "{via}: {write} called");
        }
        let report = world.text_at(response.report.as_deref().unwrap()).await;
        assert_eq!(
            report,
            "\
line,username,outcome,groups_added,reason
2,ahmed.khan_geo,planned,,would create the account and add to 0f1e1d2c3b4a59687766554433221100
3,bea.lopez_geo,planned,,would invite bea.lopez@example.org
4,dana.existing,planned,,already a member; would add to 0f1e1d2c3b4a59687766554433221100
5,eve.typo_geo,failed,,\"email: \"\"eve.example.org\"\" is not a valid address\"
6,ahmed.khan_geo,failed,,\"username: \"\"ahmed.khan_geo\"\" is a duplicate of line 2\"
7,fay.role_geo,failed,,\"role: unknown role \"\"Wizard\"\" (use a role id or one of: Administrator, Publisher, User, Viewer, Data Editor)\"
",
            "{via}"
        );
        let mails = world.moto.sent_mails_to(&world.admin_email).await;
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0]
                .subject
                .starts_with("rollcall onboard: dry run: 3 planned, 3 failed"),
            "{}",
            mails[0].subject
        );
    }
}

#[tokio::test]
async fn a_file_with_an_unusable_header_is_left_untouched() {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "missing column",
            b"username,firstname,email\nsome.person1,Some,some@example.org\n",
            "unusable header: required column 'lastname' is missing",
        ),
        (
            "unknown column",
            b"username,firstname,lastname,email,grups\nsome.person1,Some,Person,some@example.org,g1\n",
            "unusable header: unknown column 'grups'",
        ),
        (
            "not UTF-8",
            b"username,firstname,lastname,email\nj\xe9r\xf4me.x,J\xe9r\xf4me,X,j@example.org\n",
            "the file is not UTF-8 text (first bad byte on line 2); save it as 'CSV UTF-8'",
        ),
        ("empty", b"", "the file is empty"),
    ];
    for (case, body, reason) in cases {
        // GIVEN a file whose header (or encoding) cannot be used
        let world = world(SandboxConfig::online()).await;
        let key = "inbox/arcgis/broken.csv";
        let etag = world.moto.put_object(&world.bucket, key, body, &[]).await;
        let handler = world.handler(world.config()).await;

        // WHEN its event arrives
        let response = handler.handle(world.s3_event(key)).await.unwrap();

        // THEN the file is untouched, and the report and the mail say why
        let (after, _, etag_after) = world.moto.get_object(&world.bucket, key).await.unwrap();
        assert_eq!((after.as_slice(), etag_after), (body, etag), "{case}");
        assert_eq!(response.files[0].status, FileStatus::Unusable, "{case}");
        assert!(!response.csv_rewritten);
        let report = world.text_at(response.report.as_deref().unwrap()).await;
        assert!(
            report.starts_with(
                "line,username,outcome,groups_added,reason
1,,failed,,"
            ),
            "{case}: {report}"
        );
        assert!(report.contains(reason), "{case}: {report}");
        let mails = world.moto.sent_mails_to(&world.admin_email).await;
        assert_eq!(mails.len(), 1, "{case}");
        assert!(
            mails[0]
                .subject
                .starts_with("rollcall onboard: file not processed"),
            "{case}"
        );
        assert!(
            mails[0].body.contains("left untouched"),
            "{case}: {}",
            mails[0].body
        );
        assert_eq!(
            world.sandbox.calls().total,
            0,
            "{case}: no portal call for an unusable file"
        );
    }
}

#[tokio::test]
async fn rows_not_reached_before_the_deadline_continue_in_the_next_link() {
    // GIVEN a run that starts with less time left than the safety margin
    let world = world(SandboxConfig::online()).await;
    let key = "inbox/arcgis/late.csv";
    world.drop_csv(key, &forty_rows()).await;
    let handler = world.handler(world.config()).await;
    let mut event = world.s3_event(key);
    let margin_ms = handler.config.common.deadline_margin.as_millis() as u64;
    event.context.deadline = chrono::Utc::now().timestamp_millis() as u64 + margin_ms - 1_000;

    // WHEN it runs
    let response = handler.handle(event).await.unwrap();

    // THEN no account is created, every row is skipped and handed on to
    // link 2 of the job, and the file keeps only its header
    assert_eq!(
        response.counts.get(Outcome::Skipped),
        40,
        "{:?}",
        response.counts
    );
    assert!(world.sandbox.member("member.000").is_none());
    let job = response.files[0].job.clone().unwrap();
    let link = format!("inbox/arcgis/continue/{job}/2.csv");
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert!(
        report.lines().nth(1).unwrap().ends_with(&format!(
            ",not reached before the Lambda deadline; handed on to s3://{}/{link}",
            world.bucket
        )),
        "{report}"
    );
    assert_eq!(
        world.text(key).await.unwrap(),
        "username,password,firstname,lastname,email,groups,error\n"
    );
    assert_eq!(world.text(&link).await.unwrap().lines().count(), 41);

    // AND the link's own event finishes the job
    let next = handler.handle(world.s3_event(&link)).await.unwrap();
    assert_eq!(
        next.counts.get(Outcome::Created) + next.counts.get(Outcome::Invited),
        40
    );
    assert_eq!(
        world.text(&link).await.unwrap(),
        "username,password,firstname,lastname,email,groups,error\n"
    );
}
