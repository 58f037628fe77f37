//! The SAM template deploys what the README promises: cfn-lint (which runs
//! the SAM transform and lints the CloudFormation it produces) finds nothing,
//! and the bucket and function keep the safety properties users rely on.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

fn template_path() -> PathBuf {
    workspace_root().join("infra").join("template.yaml")
}

fn template_text() -> String {
    let path = template_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// A part of the template: its lines as (indentation, content), comments and
/// blank lines removed. Enough YAML for the block style the template uses.
#[derive(Clone, Debug)]
struct Block(Vec<(usize, String)>);

impl Block {
    fn template() -> Self {
        let text = template_text();
        Block(
            text.lines()
                .map(|line| {
                    let line = match line.find(" #") {
                        Some(comment) => &line[..comment],
                        None => line,
                    };
                    let content = line.trim_start();
                    (line.len() - content.len(), content.trim_end().to_owned())
                })
                .filter(|(_, content)| !content.is_empty() && !content.starts_with('#'))
                .collect(),
        )
    }

    fn indent(&self) -> usize {
        self.0.iter().map(|(indent, _)| *indent).min().unwrap_or(0)
    }

    /// The lines nested under `key:` (or `key: !Tag`) among this block's
    /// least-indented lines (so a deeper key of the same name does not match).
    fn get(&self, key: &str) -> Option<Block> {
        let indent = self.indent();
        let header = format!("{key}:");
        let start = self.0.iter().position(|(at, content)| {
            let rest = content.strip_prefix(&header).filter(|_| *at == indent);
            rest.is_some_and(|rest| {
                let rest = rest.trim();
                rest.is_empty() || (rest.starts_with('!') && !rest.contains(' '))
            })
        })?;
        Some(Block(
            self.0[start + 1..]
                .iter()
                .take_while(|(at, _)| *at > indent)
                .cloned()
                .collect(),
        ))
    }

    /// The block under a path of mapping keys; panics naming the path.
    fn at(&self, path: &[&str]) -> Block {
        path.iter().fold(self.clone(), |block, key| {
            block
                .get(key)
                .unwrap_or_else(|| panic!("infra/template.yaml has no {path:?} (at `{key}`)"))
        })
    }

    /// The value written on the `key: value` line among the least-indented lines.
    fn value(&self, key: &str) -> Option<String> {
        let indent = self.indent();
        let prefix = format!("{key}:");
        self.0.iter().find_map(|(at, content)| {
            let value = content.strip_prefix(&prefix).filter(|_| *at == indent)?;
            Some(value.trim().to_owned())
        })
    }

    /// The items of a block sequence, each with its `- ` removed so that its
    /// first key lines up with the others.
    fn items(&self) -> Vec<Block> {
        let indent = self.indent();
        let mut items: Vec<Block> = Vec::new();
        for (at, content) in &self.0 {
            match content.strip_prefix("- ").filter(|_| *at == indent) {
                Some(first) => items.push(Block(vec![(at + 2, first.to_owned())])),
                None => items
                    .last_mut()
                    .expect("a sequence starts with `- `")
                    .0
                    .push((*at, content.clone())),
            }
        }
        items
    }

    /// The mapping keys among this block's least-indented lines.
    fn keys(&self) -> Vec<String> {
        let indent = self.indent();
        self.0
            .iter()
            .filter(|(at, _)| *at == indent)
            .filter_map(|(_, content)| Some(content.split_once(':')?.0.to_owned()))
            .collect()
    }

    fn lines(&self) -> Vec<String> {
        self.0.iter().map(|(_, content)| content.clone()).collect()
    }
}

/// The lines nested under a path of mapping keys, e.g. `["Parameters",
/// "SweepDryRun"]`, with indentation and comments removed.
fn template_block(path: &[&str]) -> Vec<String> {
    Block::template().at(path).lines()
}

/// `(Action, Resource)` of each statement of a `Statement:` block, as written
/// on their lines (`!Sub` alone when the value continues below). A statement
/// under `!If [Condition, statement, !Ref AWS::NoValue]` reads as
/// `("if Condition: <Action>", <Resource>)`.
fn statements(block: &Block) -> Vec<(String, String)> {
    block
        .items()
        .into_iter()
        .map(|statement| {
            let lines = statement.lines();
            if lines.first().map(String::as_str) == Some("!If") {
                let condition = lines[1].trim_start_matches("- ").to_owned();
                let find = |key: &str| {
                    lines
                        .iter()
                        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                        .unwrap_or_else(|| panic!("a statement has no `{key}`: {lines:?}"))
                        .to_owned()
                };
                return (
                    format!("if {condition}: {}", find("Action")),
                    find("Resource"),
                );
            }
            let value = |key: &str| {
                statement
                    .value(key)
                    .unwrap_or_else(|| panic!("a statement has no `{key}`: {statement:?}"))
            };
            (value("Action"), value("Resource"))
        })
        .collect()
}

/// A resource of the template, e.g. `resource("Bucket")`.
fn resource(name: &str) -> Block {
    Block::template().at(&["Resources", name])
}

/// The block of a function that sets `key`: the function's own `Properties`
/// or, when they do not, the template's `Globals.Function`, which SAM applies
/// to every function.
fn function_setting(function: &Block, key: &str) -> Block {
    let own = function.at(&["Properties"]);
    if own.keys().iter().any(|k| k == key) {
        own
    } else {
        Block::template().at(&["Globals", "Function"])
    }
}

/// `(Name, Value)` of each key filter rule of an S3 event source.
fn s3_key_rules(event: &Block) -> Vec<(String, String)> {
    event
        .at(&["Properties", "Filter", "S3Key", "Rules"])
        .items()
        .iter()
        .map(|rule| {
            (
                rule.value("Name").unwrap_or_default(),
                rule.value("Value").unwrap_or_default(),
            )
        })
        .collect()
}

/// Every S3 event source of every resource, as `(resource, event name, event)`.
fn s3_events() -> Vec<(String, String, Block)> {
    let resources = Block::template().at(&["Resources"]);
    let mut found = Vec::new();
    for name in resources.keys() {
        let Some(events) = resources
            .at(&[name.as_str()])
            .get("Properties")
            .and_then(|properties| properties.get("Events"))
        else {
            continue;
        };
        for event_name in events.keys() {
            let event = events.at(&[event_name.as_str()]);
            if event.value("Type").as_deref() == Some("S3") {
                found.push((name.clone(), event_name, event));
            }
        }
    }
    found
}

fn assert_has_line(lines: &[String], wanted: &str, why: &str) {
    assert!(
        lines.iter().any(|line| line == wanted),
        "infra/template.yaml has no line `{wanted}`: {why}"
    );
}

#[test]
fn cfn_lint_finds_nothing_in_the_template() {
    // GIVEN the template WHEN cfn-lint checks it, informational rules included
    let output = match Command::new("cfn-lint")
        .arg(template_path())
        .args(["--format", "json", "--include-checks", "I"])
        .current_dir(workspace_root())
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == ErrorKind::NotFound => panic!(
            "cfn-lint is not on PATH: run the project test command (scripts/test), \
             which installs it, or `pip install cfn-lint`"
        ),
        Err(err) => panic!("cannot run cfn-lint: {err}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    // THEN it reports no finding of any level, and the SAM transform succeeded
    // (a failed transform is reported as finding E0001).
    let findings: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!("cfn-lint did not print a JSON list ({err}).\nstdout:\n{stdout}\nstderr:\n{stderr}")
    });
    let described: Vec<String> = findings
        .iter()
        .map(|finding| {
            format!(
                "{} line {}: {}",
                finding["Rule"]["Id"].as_str().unwrap_or("?"),
                finding["Location"]["Start"]["LineNumber"],
                finding["Message"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert!(
        output.status.success() && findings.is_empty(),
        "cfn-lint exited with {} and found:\n{}\nstderr:\n{stderr}",
        output.status,
        described.join("\n"),
    );
}

#[test]
fn bucket_is_versioned_private_encrypted_and_cleans_old_versions() {
    // GIVEN the bucket resource
    let bucket = resource("Bucket");
    let properties = bucket.at(&["Properties"]);

    // THEN it is retained, versioned, encrypted and private
    assert_eq!(
        bucket.value("DeletionPolicy").as_deref(),
        Some("Retain"),
        "deleting the stack keeps the data"
    );
    assert_eq!(
        properties
            .at(&["VersioningConfiguration"])
            .value("Status")
            .as_deref(),
        Some("Enabled"),
        "versioning keeps every original upload"
    );
    assert_has_line(
        &properties.at(&["BucketEncryption"]).lines(),
        "SSEAlgorithm: AES256",
        "objects are encrypted at rest",
    );
    let public_access = properties.at(&["PublicAccessBlockConfiguration"]);
    for key in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            public_access.value(key).as_deref(),
            Some("true"),
            "the bucket is private: {key}"
        );
    }
    assert_has_line(
        &properties.at(&["OwnershipControls", "Rules"]).lines(),
        "- ObjectOwnership: BucketOwnerEnforced",
        "ACLs are off",
    );

    // AND an enabled lifecycle rule expires old versions and failed uploads
    let rules = properties.at(&["LifecycleConfiguration", "Rules"]).items();
    let expiring = rules
        .iter()
        .find(|rule| rule.get("NoncurrentVersionExpiration").is_some())
        .unwrap_or_else(|| panic!("old versions expire: no rule has NoncurrentVersionExpiration"));
    assert_eq!(expiring.value("Status").as_deref(), Some("Enabled"));
    assert_eq!(
        expiring
            .at(&["NoncurrentVersionExpiration"])
            .value("NoncurrentDays")
            .as_deref(),
        Some("!Ref NoncurrentVersionDays"),
        "old versions expire"
    );
    assert!(
        expiring.get("AbortIncompleteMultipartUpload").is_some(),
        "failed uploads are cleaned: {expiring:?}"
    );

    // AND the bucket's policy denies plain HTTP
    let policy = resource("BucketPolicy").at(&["Properties"]);
    assert_eq!(policy.value("Bucket").as_deref(), Some("!Ref Bucket"));
    let statements = policy.at(&["PolicyDocument", "Statement"]).items();
    assert!(
        statements.iter().any(|statement| {
            statement.value("Effect").as_deref() == Some("Deny")
                && statement
                    .lines()
                    .iter()
                    .any(|line| line == "aws:SecureTransport: \"false\"")
        }),
        "plain HTTP is denied: {statements:?}"
    );
}

#[test]
fn onboard_is_triggered_by_csvs_in_both_inboxes_only() {
    // GIVEN onboard's event sources
    let events = resource("OnboardFunction").at(&["Properties", "Events"]);

    // THEN each is an S3 notification of every key in one inbox: no suffix
    // filter, since S3's are case-sensitive and the function itself takes
    // .csv in any case (and passes over anything else)
    let mut prefixes = Vec::new();
    for name in events.keys() {
        let event = events.at(&[name.as_str()]);
        assert_eq!(event.value("Type").as_deref(), Some("S3"), "{name}");
        let rules = s3_key_rules(&event);
        assert!(
            rules.iter().all(|(rule, _)| rule == "prefix"),
            "a suffix filter would miss .CSV: {name} {rules:?}"
        );
        prefixes.extend(
            rules
                .into_iter()
                .filter(|(rule, _)| rule == "prefix")
                .map(|(_, prefix)| prefix),
        );
    }
    prefixes.sort();
    assert_eq!(
        prefixes,
        ["inbox/ams/", "inbox/arcgis/"],
        "ArcGIS and AMS uploads trigger onboard"
    );

    // AND no function is triggered outside inbox/ (reports/ and state/ must not)
    for (function, event, block) in s3_events() {
        for (rule, value) in s3_key_rules(&block) {
            assert!(
                rule != "prefix" || value.starts_with("inbox/"),
                "only inbox/ prefixes may trigger a function: {function}.{event} has `{value}`"
            );
        }
    }
}

#[test]
fn onboard_is_built_by_cargo_lambda_for_arm64_and_retries_into_a_queue() {
    // GIVEN the onboard function
    let onboard = resource("OnboardFunction");

    // THEN it runs the cargo-lambda build of its binary on arm64
    for (key, wanted, why) in [
        (
            "Runtime",
            "provided.al2023",
            "Rust runs on the OS-only runtime",
        ),
        ("Architectures", "[arm64]", "Graviton"),
        (
            "Handler",
            "bootstrap",
            "cargo-lambda names the binary bootstrap",
        ),
    ] {
        assert_eq!(
            function_setting(&onboard, key).value(key).as_deref(),
            Some(wanted),
            "{why}"
        );
    }
    let logging = function_setting(&onboard, "LoggingConfig").at(&["LoggingConfig"]);
    assert_eq!(
        logging.value("LogFormat").as_deref(),
        Some("JSON"),
        "logs are structured"
    );
    let metadata = onboard.at(&["Metadata"]);
    assert_eq!(
        metadata.value("BuildMethod").as_deref(),
        Some("rust-cargolambda"),
        "sam build uses cargo-lambda"
    );
    assert_eq!(
        metadata.at(&["BuildProperties"]).value("Binary").as_deref(),
        Some("onboard"),
        "the workspace builds several binaries"
    );
    assert_eq!(
        onboard.at(&["Properties"]).value("CodeUri").as_deref(),
        Some(".."),
        "cargo-lambda builds from the workspace root"
    );

    // AND its failed S3 invokes are retried, then kept in the encrypted failure queue
    let invoke = onboard.at(&["Properties", "EventInvokeConfig"]);
    assert_eq!(
        invoke.value("MaximumRetryAttempts").as_deref(),
        Some("2"),
        "S3 invokes are retried"
    );
    let on_failure = invoke.at(&["DestinationConfig", "OnFailure"]);
    assert_eq!(
        on_failure.value("Type").as_deref(),
        Some("SQS"),
        "failed events are kept"
    );
    assert_eq!(
        on_failure.value("Destination").as_deref(),
        Some("!GetAtt FailureQueue.Arn"),
        "failed events go to the failure queue"
    );
    assert_eq!(
        resource("FailureQueue")
            .at(&["Properties"])
            .value("SqsManagedSseEnabled")
            .as_deref(),
        Some("true"),
        "the failure queue is encrypted"
    );
}

#[test]
fn no_policy_grants_a_wildcard_resource() {
    // Every policy of the stack is a resource (or a function's Policies).
    for line in Block::template().at(&["Resources"]).lines() {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            !matches!(
                compact.as_str(),
                "Resource:*" | "Resource:\"*\"" | "Resource:'*'" | "-\"*\"" | "-'*'"
            ),
            "least privilege: `{line}` in infra/template.yaml"
        );
    }
}

#[test]
fn samconfig_deploys_the_rollcall_stack_with_the_beta_build() {
    let path = workspace_root().join("infra").join("samconfig.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    for wanted in [
        "stack_name = \"rollcall\"",
        "capabilities = \"CAPABILITY_IAM\"",
        "beta_features = true",
        "resolve_s3 = true",
    ] {
        assert!(
            text.lines().any(|line| line.trim() == wanted),
            "infra/samconfig.toml has no line `{wanted}`"
        );
    }
}

const SWEEP: &[&str] = &["Resources", "SweepFunction"];

fn sweep_block(below: &[&str]) -> Vec<String> {
    let path: Vec<&str> = SWEEP.iter().chain(below).copied().collect();
    template_block(&path)
}

#[test]
fn sweep_runs_daily_on_a_scheduled_rule_that_can_be_switched_off() {
    // GIVEN the sweep's event source
    let daily = sweep_block(&["Properties", "Events", "Daily"]);
    // THEN it is an EventBridge rule (whose event is the "Scheduled Event"
    // envelope the function parses), on the parameter's schedule, that the
    // parameter can disable, and with no constant Input replacing the envelope.
    assert_has_line(
        &daily,
        "Type: Schedule",
        "an EventBridge rule delivers the Scheduled Event envelope (ScheduleV2 does not)",
    );
    assert_has_line(
        &daily,
        "Schedule: !Ref SweepSchedule",
        "the schedule is a parameter",
    );
    assert_has_line(
        &daily,
        "State: !If [SweepScheduleOn, ENABLED, DISABLED]",
        "SweepScheduleEnabled switches the rule (SAM's Enabled takes no parameter)",
    );
    assert!(
        !daily.iter().any(|line| line.starts_with("Input:")),
        "a constant Input would replace the envelope: {daily:?}"
    );
    let events = sweep_block(&["Properties", "Events"]);
    assert!(
        !events.iter().any(|line| line == "Type: ScheduleV2"),
        "EventBridge Scheduler delivers a constant input, not the Scheduled Event envelope"
    );
    assert_has_line(
        &template_block(&["Conditions"]),
        "SweepScheduleOn: !Equals [!Ref SweepScheduleEnabled, \"true\"]",
        "the switch is the SweepScheduleEnabled parameter",
    );

    let schedule = template_block(&["Parameters", "SweepSchedule"]);
    assert_has_line(
        &schedule,
        "Default: cron(0 6 * * ? *)",
        "daily at 06:00 UTC",
    );
    let enabled = template_block(&["Parameters", "SweepScheduleEnabled"]);
    assert_has_line(&enabled, "Default: \"true\"", "the schedule is on");
}

#[test]
fn sweep_is_a_dry_run_unless_configured_otherwise() {
    let parameter = template_block(&["Parameters", "SweepDryRun"]);
    assert_has_line(
        &parameter,
        "Default: \"true\"",
        "the sweep defaults to dry run",
    );
    assert_has_line(
        &parameter,
        "AllowedValues: [\"true\", \"false\"]",
        "DRY_RUN is true or false",
    );
    let variables = sweep_block(&["Properties", "Environment", "Variables"]);
    assert_has_line(
        &variables,
        "DRY_RUN: !Ref SweepDryRun",
        "the sweep's DRY_RUN is its own parameter, not onboard's",
    );
    // Onboard keeps its own switch.
    let onboard = template_block(&[
        "Resources",
        "OnboardFunction",
        "Properties",
        "Environment",
        "Variables",
    ]);
    assert_has_line(&onboard, "DRY_RUN: !Ref DryRun", "onboard keeps DryRun");
}

#[test]
fn sweep_gets_exactly_the_configuration_contract() {
    let variables = sweep_block(&["Properties", "Environment", "Variables"]);
    let expected = [
        "DRY_RUN: !Ref SweepDryRun",
        "MAIL_FROM: !Ref MailFrom",
        "ADMIN_EMAILS: !Ref AdminEmails",
        "ARCGIS_URL: !Ref ArcgisUrl",
        "ARCGIS_SECRET_ID: !Ref ArcgisSecretArn",
        "REPORT_BUCKET: !Ref Bucket",
        "NOTIFY_AFTER_DAYS: !Ref NotifyAfterDays",
        "DISABLE_AFTER_DAYS: !Ref DisableAfterDays",
        "NOTICE_DAYS: !Ref NoticeDays",
        "NEW_ACCOUNT_GRACE_DAYS: !Ref NewAccountGraceDays",
        "PROTECTED_USERS: !Ref ProtectedUsers",
        "PROTECTED_GROUPS: !Ref ProtectedGroups",
        "MAX_DISABLES_PER_RUN: !Ref MaxDisablesPerRun",
        "SWEEP_ACTION: !Ref SweepAction",
        "DOWNGRADE_TO: !Ref DowngradeTo",
        "DOWNGRADE_ROLE: !Ref DowngradeRole",
        "SIGN_IN_URL: !Ref SignInUrl",
        "SUPPORT_CONTACT: !Ref SupportContact",
    ];
    let mut got = variables.clone();
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|line| (*line).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "the sweep's environment");

    for (parameter, default) in [
        ("NotifyAfterDays", "60"),
        ("DisableAfterDays", "90"),
        ("NoticeDays", "14"),
        ("NewAccountGraceDays", "30"),
        ("MaxDisablesPerRun", "50"),
        ("SweepAction", "disable"),
        ("DowngradeTo", "viewerUT"),
        ("DowngradeRole", "\"\""),
        ("ProtectedUsers", "\"\""),
        ("ProtectedGroups", "\"\""),
        ("SignInUrl", "\"\""),
        ("SupportContact", "\"\""),
    ] {
        let block = template_block(&["Parameters", parameter]);
        assert_has_line(
            &block,
            &format!("Default: {default}"),
            &format!("{parameter} defaults to {default}"),
        );
    }
    assert_has_line(
        &template_block(&["Parameters", "NoticeDays"]),
        "MinValue: 1",
        "a notice period is at least a day",
    );
    assert_has_line(
        &template_block(&["Parameters", "MaxDisablesPerRun"]),
        "MinValue: 0",
        "the cap cannot be negative",
    );
    assert_has_line(
        &template_block(&["Parameters", "SweepAction"]),
        "AllowedValues: [disable, downgrade]",
        "the sweep disables or downgrades, nothing else",
    );
}

#[test]
fn sweep_is_built_by_cargo_lambda_and_may_run_fifteen_minutes() {
    let metadata = sweep_block(&["Metadata"]);
    assert_has_line(
        &metadata,
        "BuildMethod: rust-cargolambda",
        "sam build uses cargo-lambda",
    );
    assert_has_line(&metadata, "Binary: sweep", "the sweep crate's binary");
    let properties = sweep_block(&["Properties"]);
    for (wanted, why) in [
        ("CodeUri: ..", "cargo-lambda builds from the workspace root"),
        (
            "Timeout: 900",
            "the sweep watches the deadline of the longest timeout",
        ),
        ("MemorySize: 512", "the sweep's memory"),
    ] {
        assert_has_line(&properties, wanted, why);
    }
}

#[test]
fn a_failed_sweep_is_not_retried_and_goes_to_the_failure_queue() {
    let config = sweep_block(&["Properties", "EventInvokeConfig"]);
    for (wanted, why) in [
        (
            "MaximumRetryAttempts: 0",
            "the circuit breaker fails on purpose; tomorrow's run is the retry",
        ),
        ("MaximumEventAgeInSeconds: 3600", "a stale run is dropped"),
        ("Type: SQS", "failed events are kept"),
        (
            "Destination: !GetAtt FailureQueue.Arn",
            "failed events go to the failure queue",
        ),
    ] {
        assert_has_line(&config, wanted, why);
    }
}

#[test]
fn sweep_may_touch_only_its_state_reports_and_mail_templates() {
    // GIVEN the sweep's bucket policy WHEN its statements are read
    let access = Block::template().at(&["Resources", "SweepBucketAccess", "Properties"]);
    assert_eq!(
        access.value("Roles").as_deref(),
        Some("[!Ref SweepFunctionRole]"),
        "the policy is attached to the sweep's role"
    );
    let bucket = statements(&access.at(&["PolicyDocument", "Statement"]));
    // THEN they are exactly these: no inbox/, no whole-bucket object access.
    let expected: Vec<(String, String)> = [
        (
            "[s3:GetObject, s3:PutObject]",
            "!Sub ${Bucket.Arn}/state/sweep.json",
        ),
        (
            "[s3:GetObject, s3:PutObject]",
            "!Sub ${Bucket.Arn}/state/reclaimed.json",
        ),
        ("s3:PutObject", "!Sub ${Bucket.Arn}/reports/sweep/*"),
        ("s3:GetObject", "!Sub ${Bucket.Arn}/templates/*"),
        ("s3:ListBucket", "!GetAtt Bucket.Arn"),
    ]
    .iter()
    .map(|(action, resource)| ((*action).to_owned(), (*resource).to_owned()))
    .collect();
    assert_eq!(bucket, expected, "the sweep's bucket access");

    // AND its own policy reads only the ArcGIS secret and sends only as the
    // SES identity.
    let policies = Block::template()
        .at(&["Resources", "SweepFunction", "Properties", "Policies"])
        .items();
    let [policy] = <[Block; 1]>::try_from(policies)
        .unwrap_or_else(|items| panic!("one inline policy, found {}", items.len()));
    let inline = statements(&policy.at(&["Statement"]));
    let inline: Vec<(&str, &str)> = inline
        .iter()
        .map(|(action, resource)| (action.as_str(), resource.as_str()))
        .collect();
    assert_eq!(
        inline,
        [
            ("secretsmanager:GetSecretValue", "!Ref ArcgisSecretArn"),
            // Only for a secret under a customer-managed key.
            ("if HasSecretsKmsKey: kms:Decrypt", "!Ref SecretsKmsKeyArn"),
            // A !Sub of the identity's ARN, as onboard's.
            ("ses:SendEmail", "!Sub"),
        ],
        "the sweep reads the ArcGIS secret and no other, and sends as the identity"
    );
    let identity = policy.at(&["Statement"]).items()[2]
        .at(&["Resource"])
        .lines();
    assert_eq!(
        identity.first().map(String::as_str),
        Some("- arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity}"),
        "ses:SendEmail is scoped to the one identity"
    );
}

#[test]
fn outputs_say_where_the_sweep_and_its_reports_are() {
    for (output, wanted) in [
        ("SweepFunctionArn", "Value: !GetAtt SweepFunction.Arn"),
        ("SweepReports", "Value: !Sub s3://${Bucket}/reports/sweep/"),
        ("SweepState", "Value: !Sub s3://${Bucket}/state/sweep.json"),
    ] {
        assert_has_line(
            &template_block(&["Outputs", output]),
            wanted,
            &format!("the {output} output"),
        );
    }
}

/// True when `value` matches `pattern`, where `*` stands for any run of
/// characters (`/` included), as IAM resource ARNs and the `StringLike`
/// condition operator read it.
fn wildcard_match(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            let Some(rest) = value.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|at| rest.is_char_boundary(*at))
                .any(|at| wildcard_match(tail, &rest[at..]))
        }
    }
}

#[test]
fn roles_files_reach_onboard_through_the_arcgis_inbox_trigger_and_access() {
    // GIVEN a roles file's key, which onboard routes to the roles job
    let key = "inbox/arcgis/roles/custom roles.csv";
    assert_eq!(
        onboard::route::route(key),
        onboard::route::Route::ArcgisRoles { dry_run: false }
    );
    assert_eq!(
        onboard::route::route("inbox/arcgis/roles/dry-run/custom roles.csv"),
        onboard::route::Route::ArcgisRoles { dry_run: true }
    );

    // THEN exactly one S3 notification delivers it, and to onboard
    let triggered: Vec<(String, String)> = s3_events()
        .into_iter()
        .filter(|(_, _, event)| {
            s3_key_rules(event)
                .iter()
                .all(|(rule, value)| rule != "prefix" || key.starts_with(value.as_str()))
        })
        .map(|(function, event, _)| (function, event))
        .collect();
    assert_eq!(
        triggered,
        [("OnboardFunction".to_owned(), "ArcgisCsv".to_owned())]
    );

    // AND onboard may read and rewrite it, and list its prefix (so a file
    // deleted since the event reads as missing, not as access denied)
    let access = resource("OnboardBucketAccess").at(&["Properties", "PolicyDocument", "Statement"]);
    let object = format!("!Sub ${{Bucket.Arn}}/{key}");
    let statements = statement_lists(&access);
    for action in ["s3:GetObject", "s3:PutObject"] {
        assert!(
            statements.iter().any(|(_, actions, resources)| {
                actions.iter().any(|a| a == action)
                    && resources.iter().any(|r| wildcard_match(r, &object))
            }),
            "OnboardBucketAccess grants no {action} on {object}: {statements:?}"
        );
    }
    let list = access
        .items()
        .into_iter()
        .find(|s| s.value("Action").as_deref() == Some("s3:ListBucket"))
        .expect("a ListBucket statement");
    let prefixes = values(&list.at(&["Condition", "StringLike"]), "s3:prefix");
    assert!(
        prefixes.iter().any(|p| wildcard_match(p, key)),
        "ListBucket's s3:prefix {prefixes:?} does not cover {key}"
    );

    // AND the stack's outputs say where roles files go
    assert_has_line(
        &template_block(&["Outputs", "ArcgisRolesUploadPrefix"]),
        "Value: !Sub s3://${Bucket}/inbox/arcgis/roles/",
        "the ArcgisRolesUploadPrefix output",
    );
}

#[test]
fn wildcards_match_as_iam_reads_them() {
    assert!(wildcard_match("inbox/arcgis/*", "inbox/arcgis/roles/a.csv"));
    assert!(wildcard_match("a*c*e", "abcde"));
    assert!(!wildcard_match("inbox/ams/*", "inbox/arcgis/roles/a.csv"));
    assert!(!wildcard_match("inbox/arcgis/", "inbox/arcgis/roles/a.csv"));
}

const PROFICIENCY: &[&str] = &["Resources", "ProficiencyFunction"];

fn proficiency_block(below: &[&str]) -> Block {
    let path: Vec<&str> = PROFICIENCY.iter().chain(below).copied().collect();
    Block::template().at(&path)
}

/// What `key:` holds among a block's least-indented lines, one entry per
/// item: a block sequence (`- a` lines), a flow sequence (`[a, b]`) or a
/// single value, each as written (`!Sub ...` included).
fn values(block: &Block, key: &str) -> Vec<String> {
    let written = block
        .value(key)
        .unwrap_or_else(|| panic!("no `{key}` in {block:?}"));
    if let Some(flow) = written
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return flow.split(',').map(|item| item.trim().to_owned()).collect();
    }
    if !written.is_empty() {
        return vec![written];
    }
    block
        .at(&[key])
        .items()
        .iter()
        .map(|item| item.lines()[0].clone())
        .collect()
}

/// `(Sid, Actions, Resources)` of each statement of a `Statement:` block.
fn statement_lists(block: &Block) -> Vec<(String, Vec<String>, Vec<String>)> {
    block
        .items()
        .iter()
        .map(|statement| {
            assert_eq!(
                statement.value("Effect").as_deref(),
                Some("Allow"),
                "{statement:?}"
            );
            (
                statement.value("Sid").unwrap_or_default(),
                values(statement, "Action"),
                values(statement, "Resource"),
            )
        })
        .collect()
}

/// The Connect instance the stack names, and its agents (users).
const CONNECT_INSTANCE: &str = "!Sub arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/${ConnectInstanceId}";
const CONNECT_AGENTS: &str = "!Sub arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/${ConnectInstanceId}/agent/*";

#[test]
fn proficiency_is_triggered_by_csvs_in_the_connect_inbox_only() {
    // GIVEN the proficiency function's event sources
    let events = proficiency_block(&["Properties", "Events"]);
    let names = events.keys();
    let [name] = <[String; 1]>::try_from(names)
        .unwrap_or_else(|names| panic!("one event source, found {names:?}"));
    let event = events.at(&[name.as_str()]);

    // THEN it is one S3 notification of the stack's bucket, for created
    // objects whose key is under inbox/connect/ (any case of .csv: the
    // function filters by extension itself)
    assert_eq!(event.value("Type").as_deref(), Some("S3"));
    let properties = event.at(&["Properties"]);
    assert_eq!(properties.value("Bucket").as_deref(), Some("!Ref Bucket"));
    assert_eq!(
        properties.value("Events").as_deref(),
        Some("s3:ObjectCreated:*")
    );
    assert_eq!(
        s3_key_rules(&event),
        [("prefix".to_owned(), "inbox/connect/".to_owned())],
        "reports/, state/ and the other inboxes must not trigger proficiency"
    );
}

#[test]
fn proficiency_may_call_only_the_connect_operations_it_uses_on_its_instance() {
    // GIVEN the proficiency function's own policy
    let policies = proficiency_block(&["Properties", "Policies"]).items();
    let [policy] = <[Block; 1]>::try_from(policies)
        .unwrap_or_else(|items| panic!("one inline policy, found {}", items.len()));
    let statements = statement_lists(&policy.at(&["Statement"]));

    // THEN its Connect actions are exactly the nine the job calls
    let mut actions: Vec<&str> = statements
        .iter()
        .flat_map(|(_, actions, _)| actions.iter().map(String::as_str))
        .filter(|action| action.starts_with("connect:"))
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "connect:AssociateUserProficiencies",
            "connect:DescribePredefinedAttribute",
            "connect:DescribeUser",
            "connect:DisassociateUserProficiencies",
            "connect:ListPredefinedAttributes",
            "connect:ListUserProficiencies",
            "connect:ListUsers",
            "connect:SearchUsers",
            "connect:UpdateUserProficiencies",
        ],
        "the Connect actions of the proficiency role"
    );

    // AND each is granted on the resource type IAM authorizes it against
    // (Service Authorization Reference), all inside the one instance: the
    // instance for searches, lists and attributes, its agents for
    // DescribeUser, both for the proficiency calls. No `*` reaches another
    // instance or account.
    let connect: Vec<(&str, Vec<&str>, Vec<&str>)> = statements
        .iter()
        .filter(|(_, actions, _)| actions.iter().any(|a| a.starts_with("connect:")))
        .map(|(sid, actions, resources)| {
            assert!(
                actions.iter().all(|a| a.starts_with("connect:")),
                "{sid}: Connect and other actions in one statement"
            );
            (
                sid.as_str(),
                actions.iter().map(String::as_str).collect(),
                resources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        connect,
        [
            (
                "ConnectInstanceReads",
                vec![
                    "connect:SearchUsers",
                    "connect:ListUsers",
                    "connect:ListPredefinedAttributes",
                    "connect:DescribePredefinedAttribute",
                ],
                vec![CONNECT_INSTANCE],
            ),
            (
                "ConnectDescribeAgents",
                vec!["connect:DescribeUser"],
                vec![CONNECT_AGENTS],
            ),
            (
                "ConnectAgentProficiencies",
                vec![
                    "connect:ListUserProficiencies",
                    "connect:AssociateUserProficiencies",
                    "connect:UpdateUserProficiencies",
                    "connect:DisassociateUserProficiencies",
                ],
                vec![CONNECT_INSTANCE, CONNECT_AGENTS],
            ),
        ]
    );

    // AND besides Connect it may only send mail as the SES identity.
    let others: Vec<(&[String], &[String])> = statements
        .iter()
        .filter(|(_, actions, _)| !actions.iter().any(|a| a.starts_with("connect:")))
        .map(|(_, actions, resources)| (actions.as_slice(), resources.as_slice()))
        .collect();
    assert_eq!(
        others,
        [(&["ses:SendEmail".to_owned()][..], &["!Sub".to_owned()][..])],
        "only ses:SendEmail besides Connect"
    );
    let identity = policy.at(&["Statement"]).items()[3]
        .at(&["Resource"])
        .lines();
    assert_eq!(
        identity.first().map(String::as_str),
        Some("- arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity}"),
        "ses:SendEmail is scoped to the one identity"
    );
}

#[test]
fn proficiency_reads_no_secret() {
    // Connect is called with the function's role: no secret to read.
    let function = Block::template().at(PROFICIENCY).lines();
    let bucket = template_block(&["Resources", "ProficiencyBucketAccess"]);
    for line in function.iter().chain(&bucket) {
        assert!(
            !line.contains("secretsmanager") && !line.contains("SECRET"),
            "the proficiency function needs no secret: `{line}`"
        );
    }
}

#[test]
fn proficiency_may_touch_only_its_inbox_job_state_and_reports() {
    // GIVEN the proficiency function's bucket policy WHEN its statements are read
    let access = Block::template().at(&["Resources", "ProficiencyBucketAccess", "Properties"]);
    assert_eq!(
        access.value("Roles").as_deref(),
        Some("[!Ref ProficiencyFunctionRole]"),
        "the policy is attached to the proficiency function's role"
    );
    let bucket = statements(&access.at(&["PolicyDocument", "Statement"]));
    // THEN they are exactly these: its own inbox (where a long job's links
    // and paused rows live too), reports, run records and long jobs'
    // progress, and no other function's inbox or reports.
    let expected: Vec<(String, String)> = [
        (
            "[s3:GetObject, s3:PutObject]",
            "!Sub ${Bucket.Arn}/inbox/connect/*",
        ),
        ("s3:PutObject", "!Sub ${Bucket.Arn}/reports/proficiency/*"),
        (
            "[s3:GetObject, s3:PutObject]",
            "!Sub ${Bucket.Arn}/state/files/proficiency/*",
        ),
        (
            "[s3:GetObject, s3:PutObject]",
            "!Sub ${Bucket.Arn}/state/jobs/*",
        ),
        ("s3:ListBucket", "!GetAtt Bucket.Arn"),
    ]
    .iter()
    .map(|(action, resource)| ((*action).to_owned(), (*resource).to_owned()))
    .collect();
    assert_eq!(bucket, expected, "the proficiency function's bucket access");
}

#[test]
fn proficiency_gets_exactly_the_configuration_contract() {
    let variables = proficiency_block(&["Properties", "Environment", "Variables"]).lines();
    let mut got = variables.clone();
    got.sort();
    let mut want: Vec<String> = [
        "DRY_RUN: !Ref ProficiencyDryRun",
        "MAIL_FROM: !Ref MailFrom",
        "ADMIN_EMAILS: !Ref AdminEmails",
        "CONNECT_INSTANCE_ID: !Ref ConnectInstanceId",
        "CONNECT_MAX_RPS: !Ref ConnectMaxRps",
        "MAX_CONTINUATIONS: !Ref MaxContinuations",
    ]
    .iter()
    .map(|line| (*line).to_owned())
    .collect();
    want.sort();
    assert_eq!(got, want, "the proficiency function's environment");

    // The instance id is optional: without it no proficiency function (nor
    // its role, trigger or outputs) is created, so an ArcGIS-only deploy
    // needs no Connect instance. Given, it is the id, not the ARN (the ARN
    // would not fit the policy's resources).
    let instance = template_block(&["Parameters", "ConnectInstanceId"]);
    assert_has_line(&instance, "Default: \"\"", "optional");
    assert_has_line(
        &instance,
        "AllowedPattern: \"^$|^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$\"",
        "empty, or the instance id and not its ARN",
    );
    assert_has_line(
        &template_block(&["Conditions"]),
        "HasConnect: !Not [!Equals [!Ref ConnectInstanceId, \"\"]]",
        "the condition",
    );
    for resource in ["ProficiencyFunction", "ProficiencyBucketAccess"] {
        assert_has_line(
            &template_block(&["Resources", resource]),
            "Condition: HasConnect",
            &format!("{resource} only with an instance"),
        );
    }
    let rate = template_block(&["Parameters", "ConnectMaxRps"]);
    assert_has_line(&rate, "Type: Number", "a rate");
    assert_has_line(&rate, "Default: 2", "Connect's default write quota");
    let dry_run = template_block(&["Parameters", "ProficiencyDryRun"]);
    assert_has_line(&dry_run, "Default: \"false\"", "uploads apply by default");
    assert_has_line(
        &dry_run,
        "AllowedValues: [\"true\", \"false\"]",
        "DRY_RUN is true or false",
    );
}

#[test]
fn proficiency_is_built_by_cargo_lambda_and_may_run_fifteen_minutes() {
    let metadata = proficiency_block(&["Metadata"]).lines();
    assert_has_line(
        &metadata,
        "BuildMethod: rust-cargolambda",
        "sam build uses cargo-lambda",
    );
    assert_has_line(
        &metadata,
        "Binary: proficiency",
        "the proficiency crate's binary",
    );
    let properties = proficiency_block(&["Properties"]);
    let globals = Block::template().at(&["Globals", "Function"]);
    assert_eq!(
        properties
            .value("Timeout")
            .or(globals.value("Timeout"))
            .as_deref(),
        Some("900"),
        "the proficiency function's Timeout (its own, or the global one)"
    );
    for (key, wanted) in [("CodeUri", ".."), ("MemorySize", "512")] {
        assert_eq!(
            properties.value(key).as_deref(),
            Some(wanted),
            "the proficiency function's {key}"
        );
    }
}

#[test]
fn failed_proficiency_uploads_are_retried_twice_then_kept_in_the_failure_queue() {
    let config = proficiency_block(&["Properties", "EventInvokeConfig"]).lines();
    for (wanted, why) in [
        (
            "MaximumRetryAttempts: 2",
            "S3 invokes are retried (a re-run skips what is done)",
        ),
        ("Type: SQS", "failed events are kept"),
        (
            "Destination: !GetAtt FailureQueue.Arn",
            "failed events go to the failure queue",
        ),
    ] {
        assert_has_line(&config, wanted, why);
    }
}

#[test]
fn outputs_say_where_proficiency_csvs_go_and_which_function_to_test() {
    for (output, wanted) in [
        (
            "ProficiencyFunctionArn",
            "Value: !GetAtt ProficiencyFunction.Arn",
        ),
        (
            "ConnectUploadPrefix",
            "Value: !Sub s3://${Bucket}/inbox/connect/",
        ),
        (
            "ProficiencyReports",
            "Value: !Sub s3://${Bucket}/reports/proficiency/",
        ),
    ] {
        assert_has_line(
            &template_block(&["Outputs", output]),
            wanted,
            &format!("the {output} output"),
        );
    }
}

#[test]
fn secrets_under_a_customer_key_are_decrypted_only_through_secrets_manager() {
    // GIVEN the optional key parameter, empty by default
    let parameter = Block::template().at(&["Parameters", "SecretsKmsKeyArn"]);
    assert_eq!(parameter.value("Default").as_deref(), Some("\"\""));
    // THEN each function reading a secret may decrypt with that key only,
    // only when it is given, and only on Secrets Manager's behalf
    for function in ["OnboardFunction", "SweepFunction", "ExportFunction"] {
        let policy = resource(function).at(&["Properties", "Policies"]).items()[0].clone();
        let decrypt: Vec<Block> = policy
            .at(&["Statement"])
            .items()
            .into_iter()
            .filter(|s| s.lines().iter().any(|l| l == "Action: kms:Decrypt"))
            .collect();
        let [statement] = <[Block; 1]>::try_from(decrypt).unwrap_or_else(|found| {
            panic!("{function}: one decrypt statement, found {}", found.len())
        });
        let lines = statement.lines();
        for wanted in [
            "!If",
            "- HasSecretsKmsKey",
            "Resource: !Ref SecretsKmsKeyArn",
            "kms:ViaService: !Sub secretsmanager.${AWS::Region}.amazonaws.com",
            "- !Ref AWS::NoValue",
        ] {
            assert!(
                lines.iter().any(|l| l == wanted),
                "{function}: {wanted} in {lines:?}"
            );
        }
    }
}

#[test]
fn list_bucket_is_granted_only_for_the_prefixes_each_function_reads() {
    for (policy, prefixes) in [
        (
            "OnboardBucketAccess",
            "s3:prefix: [inbox/arcgis/*, inbox/ams/*, state/files/onboard/*, state/jobs/*]",
        ),
        (
            "SweepBucketAccess",
            "s3:prefix: [state/sweep.json, state/reclaimed.json, templates/*]",
        ),
        (
            "ProficiencyBucketAccess",
            "s3:prefix: [inbox/connect/*, state/files/proficiency/*, state/jobs/*]",
        ),
    ] {
        let statements = resource(policy)
            .at(&["Properties", "PolicyDocument", "Statement"])
            .items();
        let list: Vec<&Block> = statements
            .iter()
            .filter(|s| s.value("Action").as_deref() == Some("s3:ListBucket"))
            .collect();
        let [list] = <[&Block; 1]>::try_from(list).unwrap_or_else(|found| {
            panic!("{policy}: one ListBucket statement, found {}", found.len())
        });
        assert!(
            list.lines().iter().any(|l| l == prefixes),
            "{policy}: {:?}",
            list.lines()
        );
        // AND no policy reads object versions (the code reads the latest)
        assert!(
            statements
                .iter()
                .all(|s| !s.lines().iter().any(|l| l.contains("GetObjectVersion"))),
            "{policy}"
        );
    }
}

#[test]
fn one_sweep_runs_at_a_time() {
    assert_eq!(
        resource("SweepFunction")
            .at(&["Properties"])
            .value("ReservedConcurrentExecutions")
            .as_deref(),
        Some("1"),
        "a console run and the schedule never overlap"
    );
}

const EXPORT: &[&str] = &["Resources", "ExportFunction"];

fn export_block(below: &[&str]) -> Block {
    let path: Vec<&str> = EXPORT.iter().chain(below).copied().collect();
    Block::template().at(&path)
}

#[test]
fn export_is_built_by_cargo_lambda_and_runs_only_when_invoked() {
    let metadata = export_block(&["Metadata"]).lines();
    assert_has_line(
        &metadata,
        "BuildMethod: rust-cargolambda",
        "sam build uses cargo-lambda",
    );
    assert_has_line(&metadata, "Binary: export", "the export crate's binary");
    let properties = export_block(&["Properties"]);
    assert_has_line(
        &properties.lines(),
        "CodeUri: ..",
        "cargo-lambda builds from the workspace root",
    );
    // arm64 and the 15-minute timeout come from the globals.
    let export = resource("ExportFunction");
    assert_eq!(
        function_setting(&export, "Architectures")
            .value("Architectures")
            .as_deref(),
        Some("[arm64]")
    );
    assert_eq!(
        function_setting(&export, "Timeout")
            .value("Timeout")
            .as_deref(),
        Some("900")
    );
    assert!(
        !properties.keys().iter().any(|k| k == "Events"),
        "no trigger: the export runs from the console"
    );
    assert!(
        s3_events()
            .iter()
            .all(|(name, _, _)| name != "ExportFunction"),
        "no S3 event reaches the export"
    );
}

#[test]
fn export_may_only_write_under_exports() {
    // GIVEN the export's bucket policy WHEN its statements are read
    let access = resource("ExportBucketAccess").at(&["Properties"]);
    assert_eq!(
        access.value("Roles").as_deref(),
        Some("[!Ref ExportFunctionRole]"),
        "the policy is attached to the export's role"
    );
    let bucket = statement_lists(&access.at(&["PolicyDocument", "Statement"]));
    // THEN it may put objects (and multipart uploads) under exports/ and
    // abort its own uploads there, and read nothing
    assert_eq!(
        bucket,
        [(
            "WriteExports".to_owned(),
            vec![
                "s3:PutObject".to_owned(),
                "s3:AbortMultipartUpload".to_owned()
            ],
            vec!["!Sub ${Bucket.Arn}/exports/*".to_owned()],
        )],
        "the export's bucket access"
    );
}

#[test]
fn export_reads_the_arcgis_and_ams_secrets_and_sends_no_mail() {
    let policies = export_block(&["Properties", "Policies"]).items();
    let [policy] = <[Block; 1]>::try_from(policies)
        .unwrap_or_else(|items| panic!("one inline policy, found {}", items.len()));
    let statements = policy.at(&["Statement"]).items();
    let secrets = &statements[0];
    assert_eq!(
        secrets.value("Action").as_deref(),
        Some("secretsmanager:GetSecretValue")
    );
    assert_eq!(
        values(secrets, "Resource"),
        [
            "!Ref ArcgisSecretArn",
            "!If [HasAmsSecret, !Ref AmsSecretArn, !Ref AWS::NoValue]"
        ],
        "the ArcGIS secret, and the AMS secret when there is one"
    );
    assert_eq!(
        statements[1].lines()[..2],
        ["!If".to_owned(), "- HasSecretsKmsKey".to_owned()],
        "kms:Decrypt only with a customer key"
    );
    assert_eq!(
        statements.len(),
        2,
        "no other grant (no SES: the export mails nobody)"
    );
}

#[test]
fn export_gets_exactly_the_configuration_contract() {
    let mut got = export_block(&["Properties", "Environment", "Variables"]).lines();
    got.sort();
    let mut want = [
        "REPORT_BUCKET: !Ref Bucket",
        "ARCGIS_URL: !Ref ArcgisUrl",
        "ARCGIS_SECRET_ID: !Ref ArcgisSecretArn",
        "ARCGIS_CONCURRENCY: !Ref ArcgisConcurrency",
        "AMS_URL: !If [HasAmsUrl, !Ref AmsUrl, !Ref AWS::NoValue]",
        "AMS_SECRET_ID: !If [HasAmsSecret, !Ref AmsSecretArn, !Ref AWS::NoValue]",
        "AMS_CONCURRENCY: !Ref AmsConcurrency",
    ]
    .map(str::to_owned);
    want.sort();
    assert_eq!(got, want, "the export's environment: no DRY_RUN, no mail");
    for parameter in ["ArcgisConcurrency", "AmsConcurrency"] {
        let block = template_block(&["Parameters", parameter]);
        assert_has_line(&block, "Default: 8", "the code's default");
        assert_has_line(&block, "MinValue: 1", "at least one call at a time");
    }
}

#[test]
fn outputs_say_where_the_export_and_its_files_are() {
    for (output, wanted) in [
        ("ExportFunctionArn", "Value: !GetAtt ExportFunction.Arn"),
        ("Exports", "Value: !Sub s3://${Bucket}/exports/"),
        (
            "ExportLogGroup",
            "Value: !Sub /aws/lambda/${ExportFunction}",
        ),
    ] {
        assert_has_line(
            &template_block(&["Outputs", output]),
            wanted,
            &format!("the {output} output"),
        );
    }
}

#[test]
fn onboard_gets_the_rails_of_member_files() {
    // GIVEN the onboard function's environment
    let variables = resource("OnboardFunction")
        .at(&["Properties", "Environment", "Variables"])
        .lines();

    // THEN the delete cap and the protected accounts come from parameters,
    // the protected accounts the same parameter the sweep reads
    for line in [
        "MAX_DELETES_PER_RUN: !Ref MaxDeletesPerRun",
        "PROTECTED_USERS: !Ref ProtectedUsers",
    ] {
        assert_has_line(&variables, line, "the member files' safety rails");
    }
    let parameter = template_block(&["Parameters", "MaxDeletesPerRun"]);
    assert_has_line(&parameter, "Default: 25", "the README's default");
}

// ---------------------------------------------------------------- long jobs

/// The inboxes whose files may become long jobs: `(function, its bucket
/// policy, the inbox prefix its links and paused rows go under)`, the
/// prefixes as the code names them.
fn long_job_inboxes() -> [(&'static str, &'static str, &'static str); 4] {
    [
        (
            "OnboardFunction",
            "OnboardBucketAccess",
            onboard::route::ARCGIS_PREFIX,
        ),
        (
            "OnboardFunction",
            "OnboardBucketAccess",
            onboard::route::ARCGIS_ROLES_PREFIX,
        ),
        (
            "OnboardFunction",
            "OnboardBucketAccess",
            onboard::route::AMS_PREFIX,
        ),
        (
            "ProficiencyFunction",
            "ProficiencyBucketAccess",
            proficiency::handler::INBOX_PREFIX,
        ),
    ]
}

/// The `(resource, event)` of every S3 notification that delivers `key`.
fn notified(key: &str) -> Vec<(String, String)> {
    s3_events()
        .into_iter()
        .filter(|(_, _, event)| {
            s3_key_rules(event)
                .iter()
                .all(|(rule, value)| match rule.as_str() {
                    "prefix" => key.starts_with(value.as_str()),
                    "suffix" => key.ends_with(value.as_str()),
                    _ => false,
                })
        })
        .map(|(function, event, _)| (function, event))
        .collect()
}

/// Whether `policy` grants `action` on the object `key` of the bucket.
fn grants(policy: &str, action: &str, key: &str) -> bool {
    let object = format!("!Sub ${{Bucket.Arn}}/{key}");
    statement_lists(&resource(policy).at(&["Properties", "PolicyDocument", "Statement"]))
        .iter()
        .any(|(_, actions, resources)| {
            actions.iter().any(|a| a == action)
                && resources.iter().any(|r| wildcard_match(r, &object))
        })
}

/// The `s3:prefix` patterns of `policy`'s one ListBucket statement.
fn listed_prefixes(policy: &str) -> Vec<String> {
    let list = resource(policy)
        .at(&["Properties", "PolicyDocument", "Statement"])
        .items()
        .into_iter()
        .find(|s| s.value("Action").as_deref() == Some("s3:ListBucket"))
        .unwrap_or_else(|| panic!("{policy}: a ListBucket statement"));
    values(&list.at(&["Condition", "StringLike"]), "s3:prefix")
}

#[test]
fn a_long_job_s_links_start_its_function_which_may_read_and_write_them() {
    use connectors::inbox::chain::{job_state_key, link_key, paused_key};
    let job = "0123456789abcdef0123456789abcdef";
    for (function, policy, inbox) in long_job_inboxes() {
        // GIVEN the keys the code writes for link 2 of a job and its paused rows
        let link = link_key(inbox, job, 2);
        let paused = paused_key(inbox, job);
        assert!(link.starts_with(inbox) && paused.starts_with(inbox));

        // THEN a link's S3 event reaches the job's function, through the
        // same notification as the inbox's uploads, and no other (the
        // paused object's event reaches it too; the function ignores it
        // for its metadata until a console invoke names it)
        for key in [&link, &paused] {
            let triggered = notified(key);
            assert!(
                triggered.len() == 1 && triggered[0].0 == function,
                "{key} must start {function} alone, but starts {triggered:?}"
            );
        }

        // AND the function may write the link, read it back and rewrite
        // it, and list where it lives (a link deleted to pause the job
        // reads as missing, not as access denied)
        for key in [&link, &paused] {
            for action in ["s3:GetObject", "s3:PutObject"] {
                assert!(
                    grants(policy, action, key),
                    "{policy} grants no {action} on {key}"
                );
            }
            let prefixes = listed_prefixes(policy);
            assert!(
                prefixes.iter().any(|p| wildcard_match(p, key)),
                "{policy}: ListBucket's s3:prefix {prefixes:?} does not cover {key}"
            );
        }

        // AND it may read and write the job's progress, and list it (a job
        // with no progress file yet reads as missing)
        let state = job_state_key(job);
        assert!(state.starts_with("state/jobs/"), "{state}");
        for action in ["s3:GetObject", "s3:PutObject"] {
            assert!(
                grants(policy, action, &state),
                "{policy} grants no {action} on {state}"
            );
        }
        let prefixes = listed_prefixes(policy);
        assert!(
            prefixes.iter().any(|p| p == "state/jobs/*"),
            "{policy}: ListBucket's s3:prefix {prefixes:?} lacks state/jobs/*"
        );
    }

    // AND the progress is granted by one statement per function, on
    // state/jobs/* and nothing else
    for policy in ["OnboardBucketAccess", "ProficiencyBucketAccess"] {
        let statements =
            statement_lists(&resource(policy).at(&["Properties", "PolicyDocument", "Statement"]));
        let long_jobs: Vec<_> = statements
            .iter()
            .filter(|(sid, _, _)| sid == "LongJobs")
            .collect();
        assert_eq!(
            long_jobs,
            [&(
                "LongJobs".to_owned(),
                vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()],
                vec!["!Sub ${Bucket.Arn}/state/jobs/*".to_owned()],
            )],
            "{policy}"
        );
    }
}

#[test]
fn max_continuations_bounds_both_inbox_functions_chains() {
    // GIVEN the MaxContinuations parameter
    let parameter = Block::template().at(&["Parameters", "MaxContinuations"]);
    // THEN it is a number, the code's default, and may be 0 (no continuation)
    assert_eq!(parameter.value("Type").as_deref(), Some("Number"));
    assert_eq!(
        parameter.value("Default"),
        Some(connectors::inbox::chain::DEFAULT_MAX_CONTINUATIONS.to_string()),
        "the code's default"
    );
    assert_eq!(parameter.value("MinValue").as_deref(), Some("0"));
    assert!(
        template_block(&[
            "Metadata",
            "AWS::CloudFormation::Interface",
            "ParameterGroups"
        ])
        .iter()
        .any(|line| line.contains("MaxContinuations")),
        "the console shows MaxContinuations in a parameter group"
    );

    // AND both functions whose files may become long jobs get it as
    // MAX_CONTINUATIONS, and no other function does
    for function in ["OnboardFunction", "ProficiencyFunction"] {
        assert_has_line(
            &resource(function)
                .at(&["Properties", "Environment", "Variables"])
                .lines(),
            "MAX_CONTINUATIONS: !Ref MaxContinuations",
            &format!("{function} reads MAX_CONTINUATIONS"),
        );
    }
    for function in ["SweepFunction", "ExportFunction"] {
        assert!(
            !resource(function)
                .at(&["Properties", "Environment", "Variables"])
                .lines()
                .iter()
                .any(|line| line.starts_with("MAX_CONTINUATIONS:")),
            "{function} has no long jobs"
        );
    }

    // AND their chains through S3 are not cut by Lambda's recursive loop
    // detection (about 16 invocations): MAX_CONTINUATIONS bounds them, while
    // the sweep and the export keep the stack's Terminate
    for function in ["OnboardFunction", "ProficiencyFunction"] {
        assert_eq!(
            resource(function)
                .at(&["Properties"])
                .value("RecursiveLoop")
                .as_deref(),
            Some("Allow"),
            "{function}"
        );
    }
    for function in ["SweepFunction", "ExportFunction"] {
        assert_eq!(
            function_setting(&resource(function), "RecursiveLoop")
                .value("RecursiveLoop")
                .as_deref(),
            Some("Terminate"),
            "{function}"
        );
    }

    // AND each limit alarm says where the rows wait and how to resume them
    for alarm in [
        "OnboardContinuationLimitAlarm",
        "ProficiencyContinuationLimitAlarm",
    ] {
        // (the description is the folded text among the alarm's properties)
        let description = resource(alarm).at(&["Properties"]).lines().join(" ");
        for wanted in ["paused/<job-id>.csv", "console invoke", "resumes"] {
            assert!(
                description.contains(wanted),
                "{alarm}'s description lacks `{wanted}`: {description}"
            );
        }
    }
}

#[test]
fn nothing_speaks_of_the_old_remaining_prefix() {
    // Rows not reached continue in links under the inboxes; nothing is
    // written to, read from or documented under remaining/ any more.
    for path in ["infra/template.yaml", "README.md", "docs/deploy.md"] {
        let text = std::fs::read_to_string(workspace_root().join(path))
            .unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
        for (number, line) in text.lines().enumerate() {
            assert!(
                !line.contains("remaining/"),
                "{path} line {}: `{line}`",
                number + 1
            );
        }
    }
    assert!(
        Block::template()
            .at(&["Outputs"])
            .get("ProficiencyRemaining")
            .is_none(),
        "the ProficiencyRemaining output is gone"
    );
}

#[test]
fn outputs_say_where_long_jobs_stand_and_wait() {
    assert_has_line(
        &template_block(&["Outputs", "JobProgress"]),
        "Value: !Sub s3://${Bucket}/state/jobs/",
        "the JobProgress output",
    );
    let paused = template_block(&["Outputs", "PausedJobs"]);
    assert!(
        paused.iter().any(|line| line.contains("inbox/*/paused/")),
        "the PausedJobs output names inbox/*/paused/: {paused:?}"
    );
    assert!(
        paused.iter().any(|line| line.starts_with("Value: ")),
        "the PausedJobs output has a value: {paused:?}"
    );
    // Both outputs exist whether or not the proficiency function does.
    for output in ["JobProgress", "PausedJobs"] {
        assert_eq!(
            Block::template()
                .at(&["Outputs", output])
                .value("Condition"),
            None,
            "{output}"
        );
    }
}

// ---------------------------------------------------------------- alarms

/// `(resource, condition)` of every resource of `kind`, e.g. `AWS::CloudWatch::Alarm`.
fn resources_of(kind: &str) -> Vec<(String, Option<String>)> {
    let resources = Block::template().at(&["Resources"]);
    resources
        .keys()
        .into_iter()
        .filter_map(|name| {
            let block = resources.at(&[name.as_str()]);
            (block.value("Type").as_deref() == Some(kind))
                .then(|| (name.clone(), block.value("Condition")))
        })
        .collect()
}

/// What an alarm watches: `(Namespace, MetricName, dimension name, dimension value)`.
fn watched(alarm: &Block) -> (String, String, String, String) {
    let properties = alarm.at(&["Properties"]);
    let dimensions = properties.at(&["Dimensions"]).items();
    assert_eq!(dimensions.len(), 1, "one dimension: {alarm:?}");
    (
        properties.value("Namespace").unwrap_or_default(),
        properties.value("MetricName").unwrap_or_default(),
        dimensions[0].value("Name").unwrap_or_default(),
        dimensions[0].value("Value").unwrap_or_default(),
    )
}

#[test]
fn every_alarm_goes_off_on_the_first_occurrence_and_notifies_the_topic() {
    // GIVEN every CloudWatch alarm of the template
    let alarms = resources_of("AWS::CloudWatch::Alarm");
    assert_eq!(alarms.len(), 8, "{alarms:?}");
    for (name, _) in alarms {
        let properties = resource(&name).at(&["Properties"]);
        // THEN one period above zero raises it, no data is not a breach, and it mails the admins
        let value = |key: &str| properties.value(key).unwrap_or_default();
        assert_eq!(
            value("ComparisonOperator"),
            "GreaterThanThreshold",
            "{name}"
        );
        assert_eq!(value("Threshold"), "0", "{name}");
        assert_eq!(value("EvaluationPeriods"), "1", "{name}");
        assert_eq!(value("TreatMissingData"), "notBreaching", "{name}");
        assert_eq!(value("AlarmActions"), "[!Ref AlarmTopic]", "{name}");
    }
}

#[test]
fn errors_of_every_function_raise_an_alarm() {
    // GIVEN every function of the template and the alarms on AWS/Lambda Errors
    let errors: Vec<(String, Option<String>)> = resources_of("AWS::CloudWatch::Alarm")
        .into_iter()
        .filter_map(|(alarm, condition)| {
            let (namespace, metric, dimension, value) = watched(&resource(&alarm));
            (namespace == "AWS/Lambda" && metric == "Errors" && dimension == "FunctionName")
                .then_some((value, condition))
        })
        .collect();
    let functions = resources_of("AWS::Serverless::Function");
    assert_eq!(functions.len(), 4, "{functions:?}");
    for (function, condition) in functions {
        // THEN each function's errors have an alarm, created with the function
        let alarm = errors
            .iter()
            .find(|(value, _)| *value == format!("!Ref {function}"))
            .unwrap_or_else(|| panic!("no Errors alarm for {function}: {errors:?}"));
        assert_eq!(alarm.1, condition, "{function}");
    }
}

#[test]
fn the_failure_queue_a_tripped_breaker_and_a_continuation_limit_raise_alarms() {
    let expect = |alarm: &str, watches: (&str, &str, &str, &str), condition: Option<&str>| {
        let block = resource(alarm);
        let (namespace, metric, dimension, value) = watched(&block);
        assert_eq!(
            (
                namespace.as_str(),
                metric.as_str(),
                dimension.as_str(),
                value.as_str()
            ),
            watches,
            "{alarm}"
        );
        assert_eq!(block.value("Condition").as_deref(), condition, "{alarm}");
    };
    // A message in the failure queue.
    expect(
        "FailureQueueAlarm",
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "!GetAtt FailureQueue.QueueName",
        ),
        None,
    );
    // The metrics the runs write, by the names the code gives them.
    let breaker = connectors::metrics::Metric::BreakerTripped.name();
    expect(
        "BreakerTrippedAlarm",
        ("Rollcall", &breaker, "Function", "!Ref SweepFunction"),
        None,
    );
    let limit = connectors::metrics::Metric::ContinuationLimitReached.name();
    expect(
        "OnboardContinuationLimitAlarm",
        ("Rollcall", &limit, "Function", "!Ref OnboardFunction"),
        None,
    );
    expect(
        "ProficiencyContinuationLimitAlarm",
        ("Rollcall", &limit, "Function", "!Ref ProficiencyFunction"),
        Some("HasConnect"),
    );
    assert_eq!(connectors::metrics::NAMESPACE, "Rollcall");
    assert_eq!(connectors::metrics::FUNCTION_DIMENSION, "Function");
}

#[test]
fn the_alarm_topic_mails_up_to_five_alarm_emails() {
    // GIVEN the AlarmEmails parameter, empty by default
    let parameter = Block::template().at(&["Parameters", "AlarmEmails"]);
    assert_eq!(parameter.value("Default").as_deref(), Some("\"\""));
    // (at most five addresses, each with an @, no spaces: what the
    // subscriptions below can take apart)
    assert_eq!(
        parameter.value("AllowedPattern").as_deref(),
        Some(r#""^$|^[^,\\s@]+@[^,\\s@]+(,[^,\\s@]+@[^,\\s@]+){0,4}$""#)
    );
    // THEN the topic subscribes each address it holds, by email, and no other
    let subscriptions = resource("AlarmTopic")
        .at(&["Properties", "Subscription"])
        .items();
    assert_eq!(subscriptions.len(), 5);
    let conditions = Block::template().at(&["Conditions"]);
    for (index, subscription) in subscriptions.iter().enumerate() {
        let lines = subscription.lines();
        let condition = format!("HasAlarmEmail{}", index + 1);
        let select =
            format!("Endpoint: !Select [{index}, !Split [\",\", !Sub \"${{AlarmEmails}},,,,,\"]]");
        assert_eq!(lines[0], "!If");
        assert_eq!(lines[1], format!("- {condition}"));
        assert_eq!(lines[2], "- Protocol: email");
        assert_eq!(lines[3], select);
        assert_eq!(lines[4], "- !Ref AWS::NoValue");
        let defined = conditions.value(&condition).unwrap_or_default();
        assert_eq!(
            defined,
            format!("!Not [!Equals [!Select [{index}, !Split [\",\", !Sub \"${{AlarmEmails}},,,,,\"]], \"\"]]"),
        );
    }
    // AND the outputs say where the topic and the dashboard are
    let outputs = Block::template().at(&["Outputs"]).keys();
    assert!(
        outputs.contains(&"AlarmTopicArn".to_string()),
        "{outputs:?}"
    );
    assert!(outputs.contains(&"DashboardUrl".to_string()), "{outputs:?}");
}

/// The dashboard's JSON with or without the proficiency widgets, every
/// `${...}` replaced by the name in it.
fn dashboard(with_proficiency: bool) -> Value {
    let text = template_text();
    let start = text
        .find("      DashboardBody: !Sub\n")
        .expect("the dashboard's body is a !Sub");
    let mut body = Vec::new();
    let mut widgets = Vec::new();
    let mut into: Option<&mut Vec<String>> = None;
    for line in text[start..].lines().skip(1) {
        match line {
            "        - |" => into = Some(&mut body),
            "            - !Sub |" => into = Some(&mut widgets),
            _ if line.starts_with("                ") => {
                if let Some(lines) = into.as_mut() {
                    lines.push(line.trim_start().to_string());
                }
            }
            _ if line.starts_with("          ") && !line.trim_start().starts_with('-') => {
                if let Some(lines) = into.as_mut() {
                    lines.push(line.trim_start().to_string());
                }
            }
            _ if !line.starts_with("        ") => break,
            _ => into = None,
        }
    }
    let proficiency = if with_proficiency {
        widgets.join("\n")
    } else {
        String::new()
    };
    let mut json = body
        .join("\n")
        .replace("${ProficiencyWidgets}", &proficiency);
    while let Some(at) = json.find("${") {
        let end = at + json[at..].find('}').expect("a closed ${...}");
        let name = json[at + 2..end].to_string();
        json.replace_range(at..=end, &name);
    }
    serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the dashboard is not JSON ({e}):\n{json}"))
}

/// The metric names each widget of `dashboard` plots for `function`.
fn plotted(dashboard: &Value, function: &str) -> Vec<String> {
    let mut names = Vec::new();
    for widget in dashboard["widgets"].as_array().expect("widgets") {
        let mut current = None;
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let metric = metric.as_array().expect("a metric is an array");
            if metric[3] != "." {
                current = metric[3].as_str().map(str::to_string);
            }
            if current.as_deref() == Some(function) {
                names.push(metric[1].as_str().unwrap_or_default().to_string());
            }
        }
    }
    names
}

#[test]
fn the_dashboard_plots_every_function_s_figures() {
    use connectors::metrics::{Metric, Service};
    // GIVEN the dashboard as deployed with and without Connect
    let with = dashboard(true);
    let without = dashboard(false);
    assert!(plotted(&without, "ProficiencyFunction").is_empty());

    // THEN each function's row has its rows per outcome (or the sweep's
    // members), API calls and throttled answers, duration and errors
    let mut onboard_outcomes: Vec<_> = onboard::arcgis::VOCABULARY.outcomes.to_vec();
    onboard_outcomes.extend(onboard::ams::VOCABULARY.outcomes);
    onboard_outcomes.extend(onboard::roles::VOCABULARY.outcomes);
    let rows = |outcomes: &[connectors::inbox::Outcome]| -> Vec<Metric> {
        outcomes.iter().map(|o| Metric::Rows(*o)).collect()
    };
    let api = |services: &[Service]| -> Vec<Metric> {
        services
            .iter()
            .flat_map(|s| [Metric::ApiCalls(*s), Metric::Throttled(*s)])
            .collect()
    };
    let sweep = vec![
        Metric::MembersWarned,
        Metric::MembersDisabled,
        Metric::MembersReclaimed,
        Metric::BreakerTripped,
    ];
    let cases: [(&Value, &str, Vec<Metric>, Vec<Service>); 4] = [
        (
            &without,
            "OnboardFunction",
            rows(&onboard_outcomes),
            vec![Service::ArcGIS, Service::Ams],
        ),
        (&without, "SweepFunction", sweep, vec![Service::ArcGIS]),
        (
            &without,
            "ExportFunction",
            vec![Metric::RowsExported],
            vec![Service::ArcGIS, Service::Ams],
        ),
        (
            &with,
            "ProficiencyFunction",
            rows(proficiency::job::VOCABULARY.outcomes),
            vec![Service::Connect],
        ),
    ];
    for (dashboard, function, figures, services) in cases {
        let plotted = plotted(dashboard, function);
        let mut wanted: Vec<String> = figures.into_iter().map(Metric::name).collect();
        wanted.extend(api(&services).into_iter().map(Metric::name));
        wanted.push(Metric::DurationMs.name());
        wanted.extend(["Invocations".to_string(), "Errors".to_string()]);
        for name in wanted {
            assert!(
                plotted.contains(&name),
                "{function} has no {name} on the dashboard: {plotted:?}"
            );
        }
    }
}
