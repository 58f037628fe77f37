//! The run record: what a live run over a file still has to do once it has
//! changed the org, kept where a retry finds it.
//!
//! A run writes its report, then this record (which rows stay in the file,
//! and the summary mail), then rewrites the file, then mails, then marks the
//! record done. A run that fails or is killed after the record leaves it for
//! the next invocation of the same file (Lambda's retry, or the event of the
//! rewritten file), which finishes the rewrite and the mail without applying
//! a row again and without mailing twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chain::{JobState, JobStatus, Link, LinkDone};
use crate::mail::Mail;
use crate::store::{NewObject, ObjectStore, StoredObject, RUN_ID_METADATA};
use crate::Error;

/// One row that stays in the file, with the reason written beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub line: u64,
    pub reason: String,
}

/// What a live run over one file has to finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub version: u32,
    pub key: String,
    /// The ETag of the file the run read; the rewrite is conditional on it.
    pub source_etag: String,
    pub run_id: String,
    /// Until then the run may still be finishing by itself.
    pub finish_by: DateTime<Utc>,
    /// The run stopped with an error; the next invocation finishes it now.
    pub failed: bool,
    /// `s3://` URI of the run's report.
    pub report: String,
    /// The rows that stay in the file (all others leave it).
    pub keep: Vec<Kept>,
    /// The admins' summary, if they get one.
    pub mail: Option<Mail>,
    /// The run finished: the file rewritten and the mail (if any) sent.
    pub done: bool,
    /// What the run adds to its job's state, when the file is a link of one.
    #[serde(default)]
    pub job: Option<JobUpdate>,
}

/// What one link adds to its job's state: applied by the run, or by the
/// invocation that finishes it from the record (applying twice is the same
/// as once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUpdate {
    pub link: Link,
    pub done: LinkDone,
    pub status: JobStatus,
    /// `s3://` URI of the object the rows left wait in.
    pub waiting: Option<String>,
}

impl JobUpdate {
    /// Applies the update to `state` at `now`.
    pub fn apply(&self, state: &mut JobState, now: DateTime<Utc>) {
        state.record(self.done.clone(), now);
        state.status = self.status;
        state.waiting = self.waiting.clone();
        if self.status != JobStatus::Running {
            state.summarised = true;
        }
    }
}

/// What an invocation does about a record it finds for its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Done, or about another upload of the file: process the file as usual.
    Over,
    /// The run that wrote it may still be finishing: leave the file alone.
    Running,
    /// The run stopped before finishing: finish it from the record.
    Unfinished,
}

/// Where the record of `function`'s run over `key` lives.
pub fn record_key(function: &str, key: &str) -> String {
    format!("state/files/{function}/{key}.json")
}

impl RunRecord {
    /// What an invocation at `now` does about this record, for `object` as
    /// it reads it now.
    pub fn standing(&self, object: &StoredObject, now: DateTime<Utc>) -> Standing {
        let same_upload = object.etag == self.source_etag;
        let rewritten_by_it = object
            .metadata
            .get(RUN_ID_METADATA)
            .is_some_and(|run| *run == self.run_id);
        if self.done || !(same_upload || rewritten_by_it) {
            Standing::Over
        } else if self.failed || now > self.finish_by {
            Standing::Unfinished
        } else {
            Standing::Running
        }
    }

    /// The record for `function`'s run over `key` in `bucket`, if any.
    pub async fn load<S: ObjectStore>(
        store: &S,
        bucket: &str,
        function: &str,
        key: &str,
    ) -> Result<Option<Self>, Error> {
        let at = record_key(function, key);
        let Some(object) = store.get(bucket, &at).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&object.body)
            .map(Some)
            .map_err(|e| Error::Decode {
                service: "S3",
                operation: format!("s3://{bucket}/{at}"),
                path: format!("line {} column {}", e.line(), e.column()),
                message: e.to_string(),
            })
    }

    /// Writes the record (replacing an earlier one for the same file).
    pub async fn save<S: ObjectStore>(
        &self,
        store: &S,
        bucket: &str,
        function: &str,
    ) -> Result<(), Error> {
        let body = serde_json::to_vec_pretty(self).expect("a run record serialises");
        let mut object = NewObject::csv(
            bucket,
            &record_key(function, &self.key),
            body,
            function,
            &self.run_id,
        );
        object.content_type = "application/json".into();
        store.put(object).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn record() -> RunRecord {
        RunRecord {
            version: 1,
            key: "inbox/arcgis/a.csv".into(),
            source_etag: "\"e1\"".into(),
            run_id: "r1".into(),
            finish_by: "2026-06-01T06:05:00Z".parse().unwrap(),
            failed: false,
            report: "s3://b/reports/onboard/2026-06-01/r1.csv".into(),
            keep: vec![],
            mail: None,
            done: false,
            job: None,
        }
    }

    fn object(etag: &str, run: Option<&str>) -> StoredObject {
        StoredObject {
            body: vec![],
            etag: etag.into(),
            metadata: run
                .map(|r| HashMap::from([(RUN_ID_METADATA.to_string(), r.to_string())]))
                .unwrap_or_default(),
            version_id: None,
        }
    }

    #[test]
    fn a_record_is_finished_only_once_its_run_is_over() {
        let during: DateTime<Utc> = "2026-06-01T06:01:00Z".parse().unwrap();
        let after: DateTime<Utc> = "2026-06-01T06:06:00Z".parse().unwrap();
        let original = object("\"e1\"", None);
        let rewritten = object("\"e2\"", Some("r1"));
        let new_upload = object("\"e3\"", None);
        let r = record();
        assert_eq!(r.standing(&original, during), Standing::Running);
        assert_eq!(r.standing(&rewritten, during), Standing::Running);
        assert_eq!(r.standing(&rewritten, after), Standing::Unfinished);
        assert_eq!(r.standing(&new_upload, after), Standing::Over);
        let failed = RunRecord {
            failed: true,
            ..record()
        };
        assert_eq!(failed.standing(&original, during), Standing::Unfinished);
        let done = RunRecord {
            done: true,
            ..failed
        };
        assert_eq!(done.standing(&rewritten, after), Standing::Over);
    }
}
