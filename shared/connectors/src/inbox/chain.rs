//! Continuation: a job too long for one invocation hands its rows not
//! reached to the next one, through S3 alone.
//!
//! A live run that stops at its deadline margin writes the rows it did not
//! reach as a *link*: `<inbox>continue/<job-id>/<n>.csv` under the job's own
//! inbox prefix, so its `ObjectCreated` event starts link `n`. The link carries
//! its job, its number and the source object's key and version in its
//! metadata (and not the "written by rollcall" mark, which makes an event
//! ignored). An admin sees a waiting link in the bucket, pauses the job by
//! deleting it, and resumes it by uploading it again.
//!
//! The job's story is kept in `state/jobs/<job-id>.json` ([`JobState`]):
//! rows done and total, the links, the estimated finish, the last error, each
//! link's counts, failed rows and report. Every change to it is a
//! conditional put on the ETag read, so concurrent links never lose an
//! update; a link *claims* its number there first, so a duplicate or
//! concurrent event of a link does nothing.
//!
//! The chain is bounded: past `MAX_CONTINUATIONS` links the rows wait in
//! `<inbox>paused/<job-id>.csv`, which S3's event does not start and one
//! console invoke resumes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outcome::{Counts, Outcome, Vocabulary};
use crate::store::{NewObject, ObjectStore, StoredObject};
use crate::Error;

/// Metadata key naming the job a link (or a source rewritten by a job) belongs to.
pub const JOB_METADATA: &str = "rollcall-job";
/// Metadata key of a link's number in its job (the source file is link 1).
pub const LINK_METADATA: &str = "rollcall-link";
/// Metadata key of the key of the file the job started from.
pub const SOURCE_KEY_METADATA: &str = "rollcall-source-key";
/// Metadata key of the version (S3 version id, or ETag) of that file.
pub const SOURCE_VERSION_METADATA: &str = "rollcall-source-version";
/// Metadata key marking a link that waits for a console invoke.
pub const PAUSED_METADATA: &str = "rollcall-paused";

/// The default of `MAX_CONTINUATIONS`.
pub const DEFAULT_MAX_CONTINUATIONS: usize = 50;

/// At most this many failed rows per link are kept in the job state for
/// the summary; the link's report has them all.
pub(super) const FAILED_ROWS_KEPT: usize = 50;

/// How many times a conditional update of the job state is retried against
/// concurrent writers.
const STATE_ATTEMPTS: usize = 8;

/// One link of a job, as its object's metadata tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub job: String,
    /// 2 for the first continuation (the source file is link 1).
    pub number: u32,
    pub source_key: String,
    pub source_version: String,
    /// Waits for a console invoke (the chain reached `MAX_CONTINUATIONS`).
    pub paused: bool,
}

impl Link {
    /// The link an object's metadata describes, if it is one.
    pub fn from_metadata(metadata: &HashMap<String, String>) -> Option<Self> {
        Some(Self {
            job: metadata.get(JOB_METADATA)?.clone(),
            number: metadata.get(LINK_METADATA)?.parse().ok()?,
            source_key: metadata.get(SOURCE_KEY_METADATA)?.clone(),
            source_version: metadata.get(SOURCE_VERSION_METADATA)?.clone(),
            paused: metadata.get(PAUSED_METADATA).is_some_and(|v| v == "true"),
        })
    }

    /// The metadata of this link's object.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::from([
            (JOB_METADATA.to_string(), self.job.clone()),
            (LINK_METADATA.to_string(), self.number.to_string()),
            (SOURCE_KEY_METADATA.to_string(), self.source_key.clone()),
            (
                SOURCE_VERSION_METADATA.to_string(),
                self.source_version.clone(),
            ),
        ]);
        if self.paused {
            metadata.insert(PAUSED_METADATA.to_string(), "true".into());
        }
        metadata
    }

    /// True when the source file now holds a newer upload than the one this
    /// job started from: its rows replace the link's. A source rewritten by
    /// the job itself, or gone, is not newer.
    pub fn is_stale(&self, source: Option<&StoredObject>) -> bool {
        source.is_some_and(|object| {
            version_of(object) != self.source_version
                && object.metadata.get(JOB_METADATA) != Some(&self.job)
        })
    }
}

/// The version that ties a job to its source: the S3 version id when the
/// bucket keeps versions, else the ETag.
pub fn version_of(object: &StoredObject) -> String {
    object
        .version_id
        .clone()
        .filter(|v| !v.is_empty() && v != "null")
        .unwrap_or_else(|| object.etag.clone())
}

/// A job's id: the same for every delivery of the same upload's event (S3's
/// `sequencer`), so a retried first link writes the same links. 32 hex
/// digits of two FNV-1a hashes, stable across builds.
pub fn job_id(function: &str, key: &str, version: &str, nonce: &str) -> String {
    let input = format!("{function}\n{key}\n{version}\n{nonce}");
    let fnv = |seed: u64| {
        input.bytes().fold(seed, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

/// Where link `number` of `job` waits: `<inbox>continue/<job>/<number>.csv`.
pub fn link_key(inbox: &str, job: &str, number: u32) -> String {
    format!("{inbox}continue/{job}/{number}.csv")
}

/// Where a job's rows wait once the chain reached its limit.
pub fn paused_key(inbox: &str, job: &str) -> String {
    format!("{inbox}paused/{job}.csv")
}

/// Where the job's progress is kept.
pub fn job_state_key(job: &str) -> String {
    format!("state/jobs/{job}.json")
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// A link is running or waiting for its event.
    Running,
    /// Every row was done or failed.
    Finished,
    /// The chain reached `MAX_CONTINUATIONS`; the rows wait for a console invoke.
    Paused,
    /// The source file was replaced by a newer upload; the rows left were not applied.
    Superseded,
}

/// A link that holds its number: another event of the same link does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub run_id: String,
    /// After this the claim lapses (the run was killed).
    pub until: DateTime<Utc>,
}

/// One failed row of a link, for the job's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRow {
    pub link: u32,
    /// The line in the link's file (the source file for link 1).
    pub line: u64,
    pub subject: String,
    pub reason: String,
}

/// What one finished link did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDone {
    pub link: u32,
    pub key: String,
    pub run_id: String,
    /// Rows the link read.
    pub rows: usize,
    /// Rows it handed to the next link.
    pub handed_on: usize,
    pub counts: BTreeMap<Outcome, usize>,
    /// Up to 50 of its failed rows.
    pub failed_rows: Vec<FailedRow>,
    pub report: Option<String>,
    pub finished_at: DateTime<Utc>,
}

/// The progress of a job, at `state/jobs/<job-id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub job: String,
    pub function: String,
    pub bucket: String,
    pub source_key: String,
    pub source_version: String,
    pub status: JobStatus,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Rows of the source file.
    pub rows_total: usize,
    /// Rows finished or failed so far, over every link.
    pub rows_done: usize,
    pub rows_failed: usize,
    /// Links finished so far (the source file counts as link 1).
    pub links: u32,
    /// The link the chain was last resumed at (1 at the start): the limit
    /// counts links from there.
    pub counted_from: u32,
    /// When the rows left should be done, at the pace so far.
    pub estimated_finish: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// `s3://` URI of the object the rows left wait in.
    pub waiting: Option<String>,
    pub finished: Vec<LinkDone>,
    pub claims: BTreeMap<u32, Claim>,
    /// The job's summary mail was sent (or handed to the run that sends it).
    pub summarised: bool,
}

impl JobState {
    /// A job that has just started, before any link finished.
    pub fn new(job: &str, function: &str, bucket: &str, link: &Link, now: DateTime<Utc>) -> Self {
        Self {
            job: job.to_string(),
            function: function.to_string(),
            bucket: bucket.to_string(),
            source_key: link.source_key.clone(),
            source_version: link.source_version.clone(),
            status: JobStatus::Running,
            started_at: now,
            updated_at: now,
            rows_total: 0,
            rows_done: 0,
            rows_failed: 0,
            links: 0,
            counted_from: 1,
            estimated_finish: None,
            last_error: None,
            waiting: None,
            finished: Vec::new(),
            claims: BTreeMap::new(),
            summarised: false,
        }
    }

    /// The job's counts over every link, in `vocabulary`'s words.
    pub fn counts(&self, vocabulary: &Vocabulary) -> Counts {
        let mut counts = Counts::new(vocabulary);
        for link in &self.finished {
            for (outcome, n) in &link.counts {
                counts.add_many(*outcome, *n);
            }
        }
        counts
    }

    /// Records `done` (replacing an earlier record of the same link, so a
    /// retried link counts once) and works out the totals and the estimate.
    pub fn record(&mut self, done: LinkDone, now: DateTime<Utc>) {
        let number = done.link;
        if number == 1 {
            self.rows_total = done.rows;
        }
        self.finished.retain(|l| l.link != number);
        self.finished.push(done);
        self.finished.sort_by_key(|l| l.link);
        self.claims.remove(&number);
        self.links = self.finished.len() as u32;
        self.rows_done = self.finished.iter().map(|l| l.rows - l.handed_on).sum();
        self.rows_failed = self
            .finished
            .iter()
            .map(|l| l.counts.get(&Outcome::Failed).copied().unwrap_or(0))
            .sum();
        self.updated_at = now;
        let left = self.rows_total.saturating_sub(self.rows_done);
        let elapsed = (now - self.started_at).num_milliseconds().max(1);
        self.estimated_finish = (left > 0 && self.rows_done > 0).then(|| {
            let per_row = elapsed as f64 / self.rows_done as f64;
            now + chrono::Duration::milliseconds((per_row * left as f64) as i64)
        });
    }

    /// Gives `link` to run `run_id` until `until`, unless it is done or
    /// another run holds it at `now`. A paused link resumes the job, and the
    /// limit counts links anew from it.
    pub fn claim(
        &mut self,
        link: &Link,
        run_id: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Claimed {
        if self.finished.iter().any(|l| l.link == link.number) {
            return Claimed::AlreadyDone;
        }
        if let Some(claim) = self.claims.get(&link.number) {
            if claim.run_id != run_id && claim.until > now {
                return Claimed::Busy {
                    run_id: claim.run_id.clone(),
                };
            }
        }
        let claim = Claim {
            run_id: run_id.to_string(),
            until,
        };
        self.claims.insert(link.number, claim);
        if link.paused {
            self.counted_from = link.number;
        }
        self.status = JobStatus::Running;
        self.summarised = false;
        Claimed::Go
    }

    /// Every failed row kept, link by link.
    pub fn failed_rows(&self) -> impl Iterator<Item = &FailedRow> {
        self.finished.iter().flat_map(|l| l.failed_rows.iter())
    }

    /// The reports of every link, in order.
    pub fn reports(&self) -> Vec<String> {
        self.finished
            .iter()
            .filter_map(|l| l.report.clone())
            .collect()
    }
}

/// What a link may do once it asked for its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The link is this run's.
    Go,
    /// The link already finished: its event came again.
    AlreadyDone,
    /// Another run holds the link now.
    Busy { run_id: String },
}

/// A job's state in a bucket, read and changed by conditional puts.
pub struct JobBook<'s, S> {
    store: &'s S,
    bucket: String,
    function: &'static str,
}

impl<'s, S: ObjectStore> JobBook<'s, S> {
    pub fn new(store: &'s S, bucket: &str, function: &'static str) -> Self {
        Self {
            store,
            bucket: bucket.to_string(),
            function,
        }
    }

    /// The job's state as stored now, with the ETag a change must match.
    pub async fn read(&self, job: &str) -> Result<Option<(JobState, String)>, Error> {
        let key = job_state_key(job);
        let Some(object) = self.store.get(&self.bucket, &key).await? else {
            return Ok(None);
        };
        let state = serde_json::from_slice(&object.body).map_err(|e| Error::Decode {
            service: "S3",
            operation: format!("s3://{}/{key}", self.bucket),
            path: format!("line {} column {}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        Ok(Some((state, object.etag)))
    }

    /// Applies `change` to the job's state (a new state for `link` when there
    /// is none yet) and writes it, conditional on what was read; retried
    /// against concurrent writers. Returns what `change` returned.
    pub async fn update<T>(
        &self,
        link: &Link,
        run_id: &str,
        mut change: impl FnMut(&mut JobState) -> T,
    ) -> Result<T, Error> {
        let key = job_state_key(&link.job);
        for _ in 0..STATE_ATTEMPTS {
            let now = Utc::now();
            let (mut state, etag) = match self.read(&link.job).await? {
                Some((state, etag)) => (state, Some(etag)),
                None => (
                    JobState::new(&link.job, self.function, &self.bucket, link, now),
                    None,
                ),
            };
            let answer = change(&mut state);
            let body = serde_json::to_vec_pretty(&state).expect("a job state serialises");
            let mut object = NewObject::csv(&self.bucket, &key, body, self.function, run_id);
            object.content_type = "application/json".into();
            match etag {
                Some(etag) => object.if_match = Some(etag),
                None => object.if_absent = true,
            }
            match self.store.put(object).await {
                Ok(()) => return Ok(answer),
                Err(Error::PreconditionFailed { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::PreconditionFailed {
            bucket: self.bucket.clone(),
            key,
        })
    }

    /// Claims `link` for run `run_id` until `until`; with the answer, the
    /// link the chain's limit counts from.
    pub async fn claim(
        &self,
        link: &Link,
        run_id: &str,
        until: DateTime<Utc>,
    ) -> Result<(Claimed, u32), Error> {
        self.update(link, run_id, |state| {
            let claimed = state.claim(link, run_id, until, Utc::now());
            (claimed, state.counted_from)
        })
        .await
    }

    /// Lets go of `link` after its run failed, keeping the error for the
    /// progress file, so a retry may take it at once.
    pub async fn release(&self, link: &Link, run_id: &str, error: &str) -> Result<(), Error> {
        self.update(link, run_id, |state| {
            if state
                .claims
                .get(&link.number)
                .is_some_and(|c| c.run_id == run_id)
            {
                state.claims.remove(&link.number);
            }
            state.last_error = Some(format!("link {}: {error}", link.number));
            state.updated_at = Utc::now();
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(etag: &str, job: Option<&str>) -> StoredObject {
        StoredObject {
            body: vec![],
            etag: etag.into(),
            metadata: job
                .map(|j| HashMap::from([(JOB_METADATA.to_string(), j.to_string())]))
                .unwrap_or_default(),
            version_id: None,
        }
    }

    fn link() -> Link {
        Link {
            job: "j1".into(),
            number: 2,
            source_key: "inbox/connect/a.csv".into(),
            source_version: "\"e1\"".into(),
            paused: false,
        }
    }

    #[test]
    fn a_link_round_trips_through_its_metadata() {
        let paused = Link {
            paused: true,
            ..link()
        };
        assert_eq!(Link::from_metadata(&paused.metadata()), Some(paused));
        assert_eq!(Link::from_metadata(&link().metadata()), Some(link()));
        assert!(!link()
            .metadata()
            .contains_key(crate::store::WRITTEN_BY_METADATA));
        assert_eq!(Link::from_metadata(&HashMap::new()), None);
    }

    #[test]
    fn only_a_newer_upload_of_the_source_makes_a_link_stale() {
        let l = link();
        assert!(!l.is_stale(None), "a deleted source");
        assert!(
            !l.is_stale(Some(&object("\"e1\"", None))),
            "the same upload"
        );
        assert!(
            !l.is_stale(Some(&object("\"e2\"", Some("j1")))),
            "the job's own rewrite"
        );
        assert!(l.is_stale(Some(&object("\"e3\"", None))), "a new upload");
        assert!(
            l.is_stale(Some(&object("\"e4\"", Some("j9")))),
            "another job's rewrite"
        );
    }

    #[test]
    fn job_ids_are_stable_and_distinct() {
        let a = job_id("proficiency", "inbox/connect/a.csv", "\"e1\"", "s1");
        assert_eq!(
            a,
            job_id("proficiency", "inbox/connect/a.csv", "\"e1\"", "s1")
        );
        assert_eq!(a.len(), 32);
        assert_ne!(
            a,
            job_id("proficiency", "inbox/connect/a.csv", "\"e1\"", "s2")
        );
        assert_eq!(
            link_key("inbox/connect/", &a, 3),
            format!("inbox/connect/continue/{a}/3.csv")
        );
    }

    #[test]
    fn a_link_is_held_by_one_run_until_it_is_done_or_its_claim_lapses() {
        let now: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let until = now + chrono::Duration::minutes(15);
        let mut state = JobState::new("j1", "proficiency", "b", &link(), now);
        assert_eq!(state.claim(&link(), "r1", until, now), Claimed::Go);
        assert_eq!(
            state.claim(&link(), "r2", until, now),
            Claimed::Busy {
                run_id: "r1".into()
            }
        );
        assert_eq!(
            state.claim(&link(), "r1", until, now),
            Claimed::Go,
            "its own retry"
        );
        let later = until + chrono::Duration::seconds(1);
        assert_eq!(
            state.claim(&link(), "r2", later, later),
            Claimed::Go,
            "a lapsed claim"
        );
        let paused = Link {
            number: 5,
            paused: true,
            ..link()
        };
        assert_eq!(state.claim(&paused, "r3", later, later), Claimed::Go);
        assert_eq!(state.counted_from, 5, "a resume counts links anew");
        state.finished.push(LinkDone {
            link: 2,
            key: "k".into(),
            run_id: "r2".into(),
            rows: 1,
            handed_on: 0,
            counts: BTreeMap::new(),
            failed_rows: vec![],
            report: None,
            finished_at: later,
        });
        assert_eq!(
            state.claim(&link(), "r4", later, later),
            Claimed::AlreadyDone
        );
    }

    #[test]
    fn a_retried_link_counts_once_and_the_estimate_follows_the_pace() {
        let start: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let mut state = JobState::new("j1", "proficiency", "b", &link(), start);
        let done = |number: u32, rows: usize, handed_on: usize| LinkDone {
            link: number,
            key: format!("k{number}"),
            run_id: format!("r{number}"),
            rows,
            handed_on,
            counts: BTreeMap::from([(Outcome::Added, rows - handed_on)]),
            failed_rows: vec![],
            report: Some(format!("s3://b/r{number}.csv")),
            finished_at: start,
        };
        state.record(done(1, 300, 200), start + chrono::Duration::minutes(15));
        state.record(done(1, 300, 200), start + chrono::Duration::minutes(15));
        assert_eq!(
            (state.links, state.rows_done, state.rows_total),
            (1, 100, 300)
        );
        assert_eq!(
            state.estimated_finish,
            Some(start + chrono::Duration::minutes(45))
        );
        state.record(done(2, 200, 0), start + chrono::Duration::minutes(30));
        assert_eq!((state.links, state.rows_done), (2, 300));
        assert_eq!(state.estimated_finish, None);
        assert_eq!(state.reports().len(), 2);
    }
}
