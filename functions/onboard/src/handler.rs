//! The Lambda handler: an S3 event in, a JSON summary out.

use aws_lambda_events::s3::S3Event;
use chrono::Utc;
use connectors::arcgis::ArcgisDirectory;
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use tracing::{error, info, instrument, warn};

use crate::config::OnboardConfig;
use crate::event::{self, Route};
use crate::job::{Counts, Deadline, FileStatus, FileSummary, Job, RunInfo};
use crate::summary;

/// What the invocation returns.
#[derive(Debug, Clone, Serialize)]
pub struct OnboardResponse {
    /// Rows per outcome over all files.
    pub counts: Counts,
    /// The report of the file (the first, when an event names several).
    pub report: Option<String>,
    /// Every processed file's CSV was rewritten.
    pub csv_rewritten: bool,
    pub files: Vec<FileSummary>,
}

/// A failure of the whole invocation; the file is left untouched and the
/// asynchronous invoke retries, then goes to the failure destination.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error("s3://{bucket}/{key}: {source}")]
    File {
        bucket: String,
        key: String,
        #[source]
        source: connectors::Error,
    },
}

impl From<OnboardError> for Diagnostic {
    fn from(error: OnboardError) -> Self {
        let OnboardError::File { source, .. } = &error;
        let error_type = match source {
            connectors::Error::SignIn { .. } | connectors::Error::InvalidToken { .. } => {
                "SignInFailed"
            }
            connectors::Error::Permission { .. } => "PermissionDenied",
            connectors::Error::Throttled { .. } => "Throttled",
            connectors::Error::Unavailable { .. } | connectors::Error::Transport { .. } => {
                "ServiceUnavailable"
            }
            connectors::Error::Aws { .. } => "AwsError",
            _ => "OnboardFailed",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// The clients and settings, built once per cold start.
pub struct Handler<S, M, D> {
    pub store: S,
    pub mailer: M,
    pub arcgis: D,
    pub config: OnboardConfig,
}

impl<S: ObjectStore, M: Mailer, D: ArcgisDirectory> Handler<S, M, D> {
    /// Handles one S3 event.
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    pub async fn handle(
        &self,
        event: LambdaEvent<S3Event>,
    ) -> Result<OnboardResponse, OnboardError> {
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let base_id = connectors::deadline::run_id(&event.context.request_id);
        let mut files = Vec::new();
        let objects = event::objects(&event.payload);
        for (position, object) in objects.iter().enumerate() {
            let run = RunInfo {
                run_id: if position == 0 {
                    base_id.clone()
                } else {
                    format!("{base_id}-{}", position + 1)
                },
                now: Utc::now(),
            };
            let summary = match event::route(&object.key) {
                Route::Arcgis { dry_run } => {
                    let job = Job {
                        store: &self.store,
                        arcgis: &self.arcgis,
                        config: &self.config,
                    };
                    job.arcgis_file(&object.bucket, &object.key, dry_run, &run, deadline)
                        .await
                        .map_err(|source| {
                            error!(bucket = %object.bucket, key = %object.key, error = %source, "file failed");
                            OnboardError::File {
                                bucket: object.bucket.clone(),
                                key: object.key.clone(),
                                source,
                            }
                        })?
                }
                Route::Ams => {
                    warn!(key = %object.key, "Teamworks AMS onboarding is not part of this build");
                    let mut s = FileSummary::new(
                        &object.bucket,
                        &object.key,
                        FileStatus::NotHandled,
                        self.config.dry_run,
                    );
                    s.note = Some("Teamworks AMS onboarding is not available in this version; the file was left untouched".into());
                    s
                }
                Route::Ignore => {
                    info!(key = %object.key, "not an onboarding file; ignored");
                    FileSummary::new(
                        &object.bucket,
                        &object.key,
                        FileStatus::NotHandled,
                        self.config.dry_run,
                    )
                }
            };
            files.push(self.notify(summary).await);
        }
        let mut counts = Counts::default();
        for file in &files {
            counts.merge(&file.counts);
        }
        let processed: Vec<&FileSummary> = files
            .iter()
            .filter(|f| f.status == FileStatus::Processed)
            .collect();
        Ok(OnboardResponse {
            counts,
            report: files.iter().find_map(|f| f.report.clone()),
            csv_rewritten: !processed.is_empty() && processed.iter().all(|f| f.csv_rewritten),
            files,
        })
    }

    /// Mails the admins about a processed or unusable file. A mail failure is
    /// logged and recorded, not raised: the CSV is already consumed.
    async fn notify(&self, mut summary: FileSummary) -> FileSummary {
        let worth_a_mail = matches!(summary.status, FileStatus::Processed | FileStatus::Unusable)
            && summary.counts.total() > 0;
        if !worth_a_mail || self.config.admin_emails.is_empty() {
            return summary;
        }
        let mail = summary::mail(&summary, &self.config.mail_from, &self.config.admin_emails);
        match self.mailer.send(&mail).await {
            Ok(_) => summary.mail_sent = true,
            Err(e) => {
                error!(error = %e, "summary mail not sent");
                let note = format!("summary mail not sent: {e}");
                summary.note = Some(match summary.note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                });
            }
        }
        summary
    }
}
