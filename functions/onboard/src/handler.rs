//! The Lambda handler: an S3 (or console) event in, a JSON summary out.

use connectors::deadline::Deadline;
use connectors::inbox::{
    self, FileReport, FileStatus, Inbox, InboxError, InboxResponse, Requested, Target,
};
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::arcgis::{MemberOnboarding, OnboardingPorts};
use crate::config::OnboardConfig;
use crate::route::{route, Route};

/// The function name in object metadata, report paths and mail subjects.
pub const FUNCTION: &str = "onboard";

/// The clients and settings, built once per cold start.
pub struct Handler<S, M, D> {
    pub store: S,
    pub mailer: M,
    pub arcgis: D,
    pub config: OnboardConfig,
}

impl<S: ObjectStore, M: Mailer, D: OnboardingPorts> Handler<S, M, D> {
    /// Handles one S3 notification (or a console `{"bucket","key","dry_run"}`).
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<InboxResponse, InboxError> {
        let inbox = Inbox {
            store: &self.store,
            mailer: &self.mailer,
            mail: &self.config.common.mail,
            function: FUNCTION,
        };
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let members = MemberOnboarding {
            arcgis: &self.arcgis,
            config: &self.config,
        };
        let mut files = Vec::new();
        for (position, object) in inbox::requested(&event.payload)?.iter().enumerate() {
            let file = match route(&object.key) {
                Route::Arcgis { dry_run } => {
                    let target = self.target(object, dry_run);
                    let run = inbox.run(
                        &event.context.request_id,
                        position,
                        &target,
                        deadline,
                        self.config.common.deadline_margin,
                    );
                    inbox.file(&members, &target, &run).await?
                }
                Route::Ams => {
                    warn!(key = %object.key, "Teamworks AMS onboarding is not part of this build");
                    let mut file = self.not_handled(object, &members);
                    file.add_note("Teamworks AMS onboarding is not available in this version; the file was left untouched");
                    file
                }
                Route::Ignore => {
                    info!(key = %object.key, "not an onboarding file; ignored");
                    self.not_handled(object, &members)
                }
            };
            files.push(file);
        }
        Ok(InboxResponse::new(files))
    }

    fn target(&self, object: &Requested, dry_run_folder: bool) -> Target {
        Target {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            dry_run: dry_run_folder || object.dry_run.unwrap_or(self.config.common.dry_run),
            consume: true,
            skip_self_written: object.from_s3,
        }
    }

    fn not_handled(&self, object: &Requested, job: &impl inbox::CsvJob) -> FileReport {
        FileReport::new(
            &self.target(object, false),
            FileStatus::NotHandled,
            job.vocabulary(),
        )
    }
}
