//! The Lambda handler: a console or S3 event in, a JSON summary out.

use connectors::connect::ConnectDirectory;
use connectors::deadline::Deadline;
use connectors::inbox::{self, is_csv, Inbox, InboxError, InboxResponse, Requested, Target};
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::instrument;

use crate::config::ProficiencyConfig;
use crate::job::{ProficiencyUpdate, REMAINING_PREFIX};

/// The function name in object metadata, report paths and mail subjects.
pub const FUNCTION: &str = "proficiency";
/// Files dropped here start the function and are consumed.
pub const INBOX_PREFIX: &str = "inbox/connect/";

/// The clients and settings, built once per cold start.
pub struct Handler<S, M, C> {
    pub store: S,
    pub mailer: M,
    pub connect: C,
    pub config: ProficiencyConfig,
}

impl<S: ObjectStore, M: Mailer, C: ConnectDirectory> Handler<S, M, C> {
    /// Handles a console `{"bucket","key","dry_run"}` or an S3 notification
    /// for `inbox/connect/*.csv`.
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<InboxResponse, InboxError> {
        let inbox = Inbox {
            store: &self.store,
            mailer: &self.mailer,
            mail: &self.config.common.mail,
            function: FUNCTION,
        };
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let job = ProficiencyUpdate {
            connect: &self.connect,
            config: &self.config,
        };
        let objects = inbox::requested(&event.payload)?;
        let mut files = Vec::new();
        for (position, object) in objects.iter().filter(|o| accepts(o)).enumerate() {
            let target = self.target(object);
            let run = inbox.run(
                &event.context.request_id,
                position,
                &target,
                deadline,
                self.config.common.deadline_margin,
            );
            files.push(inbox.file(&job, &target, &run).await?);
        }
        Ok(InboxResponse::new(files))
    }

    fn target(&self, object: &Requested) -> Target {
        Target {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            dry_run: object.dry_run.unwrap_or(self.config.common.dry_run),
            consume: is_consumed(&object.key),
            skip_self_written: object.from_s3,
        }
    }
}

/// S3 starts the function for CSVs in its inbox; a console run names any file.
fn accepts(object: &Requested) -> bool {
    !object.from_s3 || (object.key.starts_with(INBOX_PREFIX) && is_csv(&object.key))
}

/// Files whose finished rows are taken out by a live run: the inbox and
/// the remainders. A file elsewhere, run from the console, is left as it is.
pub fn is_consumed(key: &str) -> bool {
    key.starts_with(INBOX_PREFIX) || key.starts_with(REMAINING_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_files_and_accepted_events() {
        assert!(
            is_consumed("remaining/x.csv")
                && is_consumed("inbox/connect/x.csv")
                && !is_consumed("uploads/x.csv")
        );
        let s3 = |key: &str| Requested {
            bucket: "b".into(),
            key: key.into(),
            dry_run: None,
            from_s3: true,
        };
        assert!(accepts(&s3("inbox/connect/a.csv")));
        assert!(!accepts(&s3("inbox/arcgis/a.csv")));
        assert!(accepts(&Requested {
            from_s3: false,
            ..s3("uploads/a.txt")
        }));
    }
}
