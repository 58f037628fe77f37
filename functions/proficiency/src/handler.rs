//! What proficiency does with each object an event names.

use connectors::config::Common;
use connectors::connect::ConnectDirectory;
use connectors::inbox::{
    is_csv, FileReport, Inbox, InboxError, InboxFunction, InboxLimits, Requested,
};
use connectors::lambda::Function;
use connectors::mail::Mailer;
use connectors::store::ObjectStore;

use crate::config::ProficiencyConfig;
use crate::job::ProficiencyUpdate;

/// The function name in object metadata, report paths and mail subjects.
pub const FUNCTION: &str = "proficiency";
/// Files dropped here start the function and are consumed.
pub const INBOX_PREFIX: &str = "inbox/connect/";

/// The proficiency function: its S3 store, mailer, Connect instance and configuration.
pub type Handler<S, M, C> = Function<S, M, C, ProficiencyConfig>;

impl<S: ObjectStore, M: Mailer, C: ConnectDirectory> InboxFunction<S, M, C> for ProficiencyConfig {
    const NAME: &'static str = FUNCTION;

    fn common(&self) -> &Common {
        &self.common
    }

    fn limits(&self) -> InboxLimits {
        self.limits
    }

    /// A console `{"bucket","key","dry_run"}` names any file; S3 starts the
    /// function for `inbox/connect/*.csv`.
    async fn object(
        function: &Handler<S, M, C>,
        inbox: &Inbox<'_, S, M>,
        object: &Requested,
        position: usize,
    ) -> Result<Option<FileReport>, InboxError> {
        if !accepts(object) {
            return Ok(None);
        }
        let job = ProficiencyUpdate {
            connect: &function.service,
            config: &function.config,
        };
        let target = inbox.target(object, false, is_consumed(&object.key));
        inbox.file(&job, &target, position).await.map(Some)
    }
}

/// S3 starts the function for CSVs in its inbox; a console run names any file.
fn accepts(object: &Requested) -> bool {
    !object.from_s3 || (object.key.starts_with(INBOX_PREFIX) && is_csv(&object.key))
}

/// Files whose finished rows are taken out by a live run: the inbox, with
/// the links and paused objects of long jobs. A file elsewhere, run from
/// the console, is left as it is.
pub fn is_consumed(key: &str) -> bool {
    key.starts_with(INBOX_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_files_and_accepted_events() {
        assert!(
            is_consumed("inbox/connect/continue/j/2.csv")
                && is_consumed("inbox/connect/x.csv")
                && !is_consumed("uploads/x.csv")
        );
        let s3 = |key: &str| Requested {
            bucket: "b".into(),
            key: key.into(),
            dry_run: None,
            from_s3: true,
            sequencer: None,
        };
        assert!(accepts(&s3("inbox/connect/a.csv")));
        assert!(!accepts(&s3("inbox/arcgis/a.csv")));
        assert!(accepts(&Requested {
            from_s3: false,
            ..s3("uploads/a.txt")
        }));
    }
}
