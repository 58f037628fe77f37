//! The Lambda handler: a console or S3 event in, a JSON summary out.

use chrono::Utc;
use connectors::connect::ConnectDirectory;
use connectors::deadline::{run_id, Deadline};
use connectors::mail::{header_safe, Mail, Mailer, Summary};
use connectors::store::ObjectStore;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing::{error, instrument};

use crate::config::ProficiencyConfig;
use crate::input;
use crate::job::{Counts, FileResult, FileStatus, Job};
use crate::plan::Outcome;

/// What the invocation returns.
#[derive(Debug, Clone, Serialize)]
pub struct ProficiencyResponse {
    /// successful / failed / skipped, and per outcome, over every file.
    pub counts: Counts,
    pub report: Option<String>,
    pub remaining: Option<String>,
    pub files: Vec<FileResult>,
}

/// A failure of the whole invocation; the file is left untouched.
#[derive(Debug, thiserror::Error)]
pub enum ProficiencyError {
    #[error("the event is not a console or S3 event: {0}")]
    Input(String),
    #[error("s3://{bucket}/{key}: {source}")]
    File {
        bucket: String,
        key: String,
        #[source]
        source: connectors::Error,
    },
}

impl From<ProficiencyError> for Diagnostic {
    fn from(error: ProficiencyError) -> Self {
        let error_type = match &error {
            ProficiencyError::Input(_) => "InvalidEvent",
            ProficiencyError::File { source, .. } => match source {
                connectors::Error::Permission { .. } => "PermissionDenied",
                connectors::Error::Throttled { .. } => "Throttled",
                connectors::Error::NotFound { .. } => "NotFound",
                _ => "ServiceUnavailable",
            },
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// The clients and settings, built once per cold start.
pub struct Handler<S, M, C> {
    pub store: S,
    pub mailer: M,
    pub connect: C,
    pub config: ProficiencyConfig,
}

impl<S: ObjectStore, M: Mailer, C: ConnectDirectory> Handler<S, M, C> {
    /// Handles one console or S3 event.
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    pub async fn handle(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<ProficiencyResponse, ProficiencyError> {
        let targets = input::targets(&event.payload).map_err(ProficiencyError::Input)?;
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let base = run_id(&event.context.request_id);
        let job = Job {
            store: &self.store,
            connect: &self.connect,
            config: &self.config,
        };
        let mut files = Vec::new();
        for (n, target) in targets.iter().enumerate() {
            let id = if n == 0 {
                base.clone()
            } else {
                format!("{base}-{}", n + 1)
            };
            let result = job
                .file(target, &id, Utc::now(), deadline)
                .await
                .map_err(|source| {
                    error!(key = %target.key, error = %source, "file failed");
                    ProficiencyError::File {
                        bucket: target.bucket.clone(),
                        key: target.key.clone(),
                        source,
                    }
                })?;
            if matches!(result.status, FileStatus::Processed | FileStatus::Unusable) {
                self.notify(&result).await;
            }
            files.push(result);
        }
        let mut counts = Counts::default();
        for f in &files {
            counts.merge(&f.counts);
        }
        Ok(ProficiencyResponse {
            counts,
            report: files.iter().find_map(|f| f.report.clone()),
            remaining: files.iter().find_map(|f| f.remaining.clone()),
            files,
        })
    }

    async fn notify(&self, result: &FileResult) {
        if self.config.admin_emails.is_empty() {
            return;
        }
        let c = &result.counts;
        let headline = if result.status == FileStatus::Unusable {
            "file not processed".to_string()
        } else if result.dry_run {
            format!(
                "dry run, {} planned, {} skipped, {} failed",
                c.planned, c.skipped, c.failed
            )
        } else {
            format!(
                "{} successful, {} failed, {} skipped",
                c.successful, c.failed, c.skipped
            )
        };
        let mut facts = vec![
            (
                "File".to_string(),
                format!("s3://{}/{}", result.bucket, result.key),
            ),
            ("Agents".to_string(), result.agents.to_string()),
            (
                "Added / updated / removed".to_string(),
                format!("{} / {} / {}", c.added, c.updated, c.removed),
            ),
            ("Skipped".to_string(), c.skipped.to_string()),
            ("Failed".to_string(), c.failed.to_string()),
        ];
        if result.dry_run {
            facts.push((
                "Mode".into(),
                format!(
                    "dry run: {} rows would change, nothing was written",
                    c.planned
                ),
            ));
        }
        for (name, value) in [
            ("Rows left for the next run", &result.remaining),
            ("Note", &result.note),
            ("Report", &result.report),
        ] {
            if let Some(value) = value {
                facts.push((name.into(), value.clone()));
            }
        }
        let failed: Vec<String> = result
            .rows
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .map(|r| format!("line {} ({}): {}", r.line, r.fields[0], r.reason))
            .collect();
        let mut body = Summary::default();
        for (name, value) in facts {
            body.fact(name, value);
        }
        body.list("Rows that failed", failed, 50);
        let (text, html) = body.render();
        let mail = Mail {
            from: self.config.mail_from.clone(),
            to: self.config.admin_emails.clone(),
            subject: header_safe(&format!(
                "rollcall proficiency: {headline} ({})",
                result.key
            )),
            text,
            html,
        };
        if let Err(e) = self.mailer.send(&mail).await {
            error!(error = %e, "summary mail not sent");
        }
    }
}
