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

/// The template's lines with indentation and trailing comments removed.
fn template_lines() -> Vec<String> {
    template_text()
        .lines()
        .map(|line| match line.find(" #") {
            Some(comment) => line[..comment].trim().to_owned(),
            None => line.trim().to_owned(),
        })
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
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
    let lines = template_lines();
    for (wanted, why) in [
        ("Status: Enabled", "versioning keeps every original upload"),
        ("SSEAlgorithm: AES256", "objects are encrypted at rest"),
        ("BlockPublicAcls: true", "the bucket is private"),
        ("BlockPublicPolicy: true", "the bucket is private"),
        ("IgnorePublicAcls: true", "the bucket is private"),
        ("RestrictPublicBuckets: true", "the bucket is private"),
        ("- ObjectOwnership: BucketOwnerEnforced", "ACLs are off"),
        ("NoncurrentVersionExpiration:", "old versions expire"),
        (
            "NoncurrentDays: !Ref NoncurrentVersionDays",
            "old versions expire",
        ),
        (
            "AbortIncompleteMultipartUpload:",
            "failed uploads are cleaned",
        ),
        ("aws:SecureTransport: \"false\"", "plain HTTP is denied"),
        (
            "DeletionPolicy: Retain",
            "deleting the stack keeps the data",
        ),
    ] {
        assert_has_line(&lines, wanted, why);
    }
}

#[test]
fn onboard_is_triggered_by_csvs_in_both_inboxes_only() {
    let lines = template_lines();
    assert_has_line(
        &lines,
        "Value: inbox/arcgis/",
        "ArcGIS uploads trigger onboard",
    );
    assert_has_line(&lines, "Value: inbox/ams/", "AMS uploads trigger onboard");
    assert_has_line(&lines, "Value: .csv", "only CSV files trigger onboard");
    // S3 filter rules are a `- Name: prefix` line followed by its `Value:`.
    let prefixes: Vec<&str> = lines
        .windows(2)
        .filter(|pair| pair[0] == "- Name: prefix")
        .map(|pair| pair[1].as_str())
        .collect();
    assert!(
        prefixes
            .iter()
            .all(|line| line.starts_with("Value: inbox/")),
        "only inbox/ prefixes may trigger a function (reports/ and state/ must not): {prefixes:?}"
    );
}

#[test]
fn onboard_is_built_by_cargo_lambda_for_arm64_and_retries_into_a_queue() {
    let lines = template_lines();
    for (wanted, why) in [
        (
            "Runtime: provided.al2023",
            "Rust runs on the OS-only runtime",
        ),
        ("Architectures: [arm64]", "Graviton"),
        (
            "Handler: bootstrap",
            "cargo-lambda names the binary bootstrap",
        ),
        (
            "BuildMethod: rust-cargolambda",
            "sam build uses cargo-lambda",
        ),
        ("Binary: onboard", "the workspace builds several binaries"),
        ("CodeUri: ..", "cargo-lambda builds from the workspace root"),
        ("LogFormat: JSON", "logs are structured"),
        ("MaximumRetryAttempts: 2", "S3 invokes are retried"),
        ("OnFailure:", "failed events are kept"),
        ("Type: SQS", "failed events go to the failure queue"),
        (
            "SqsManagedSseEnabled: true",
            "the failure queue is encrypted",
        ),
    ] {
        assert_has_line(&lines, wanted, why);
    }
}

#[test]
fn no_policy_grants_a_wildcard_resource() {
    for line in template_lines() {
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
