//! The inbox: the life of one CSV object, written once for every CSV job.
//!
//! [`process`] opens the object (read with its ETag and metadata; missing,
//! self-written and unusable files are outcomes, not errors), hands the rows
//! to a [`CsvJob`] (validate, then plan and apply), consumes the file (a
//! conditional rewrite keeping the header and the unfinished rows with an
//! `error` column), and writes the per-row report. [`Inbox`] runs it for each
//! object of an event and mails the admins a summary of each file.
//!
//! A new CSV job is a type implementing [`CsvJob`]: its rows, its
//! validation, its plan and apply, its outcome words. Nothing else.

pub mod chain;
mod event;
mod job;
mod outcome;
mod process;
mod record;
mod summary;

use serde::{Serialize, Serializer};

pub use event::{is_csv, requested, Requested};
pub use job::{
    Applied, CsvJob, Fate, FieldProblem, JobSpec, ReportColumn, RowResult, Run, Stat, Valid,
    NOT_REACHED,
};
pub use outcome::{Counts, Headline, Outcome, Vocabulary};
pub use record::{record_key, JobUpdate, RunRecord};
pub use summary::{job_summary_mail, summary_mail};

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::config::Common;
use crate::deadline::Deadline;
use crate::error::{Classified, ErrorKind};
use crate::lambda::Function;
use crate::mail::Mailer;
use crate::store::ObjectStore;
use crate::Error;

/// One object to process, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub key: String,
    /// Plan only, whatever the configuration says (a dry-run folder, a console flag).
    pub dry_run: bool,
    /// Take the finished rows out of the file after a live run.
    pub consume: bool,
    /// Ignore the object when rollcall wrote it (events from S3 do; a console
    /// run on a rewritten file does not).
    pub skip_self_written: bool,
    /// S3's `sequencer` of the event, which tells two uploads of the same
    /// content apart; `None` for a console run.
    pub sequencer: Option<String>,
}

/// How a file was handled as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Rows were processed (or planned).
    Processed,
    /// rollcall wrote this object itself; its event is ignored.
    SelfWritten,
    /// The object was gone when read.
    Missing,
    /// The file cannot be read as the job's CSV; left untouched.
    Unusable,
    /// Not a file this function takes (prefix or suffix), or a target this
    /// build does not serve.
    NotHandled,
    /// Another run is still finishing this file; it was left to that run.
    InProgress,
    /// A link of a job that reached `MAX_CONTINUATIONS`: it waits for a
    /// console invoke.
    Paused,
    /// A link already done, whose event came again: ignored.
    Duplicate,
    /// A link whose source file was replaced by a newer upload: not applied.
    Superseded,
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedRow {
    pub line: u64,
    /// The report's cells in [`CsvJob::report_columns`] order.
    pub cells: Vec<String>,
    pub result: RowResult,
    /// The row's first input cell (the username or agent it is about).
    pub subject: String,
    /// The member's full name and email, when the file has them.
    pub name: String,
    pub email: String,
}

/// The result of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub bucket: String,
    pub key: String,
    pub status: FileStatus,
    pub dry_run: bool,
    pub counts: Counts,
    #[serde(flatten, serialize_with = "stats_as_fields")]
    pub stats: Vec<Stat>,
    /// `s3://bucket/reports/<function>/<date>/<run-id>.csv`
    pub report: Option<String>,
    /// A presigned HTTPS link that downloads the report, for the mail.
    #[serde(skip)]
    pub report_download: Option<String>,
    /// The CSV now holds only the unfinished rows.
    pub csv_rewritten: bool,
    /// `s3://` URI of the link (or paused object) the rows not reached
    /// before the deadline were handed on to.
    pub remaining: Option<String>,
    /// The job the file is a link of, when it has handed rows on or is a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// `s3://` URI of the job's progress (`state/jobs/<job>.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Anything the admin should know about the file as a whole.
    pub note: Option<String>,
    pub mail_sent: bool,
    #[serde(skip)]
    pub rows: Vec<ReportedRow>,
    /// The job's chain stopped at `MAX_CONTINUATIONS` in this run.
    #[serde(skip)]
    pub chain_stopped: bool,
}

fn stats_as_fields<S: Serializer>(stats: &[Stat], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(stats.iter().map(|s| (s.key, s.value)))
}

impl FileReport {
    /// A file with nothing counted yet.
    pub fn new(target: &Target, status: FileStatus, vocabulary: &Vocabulary) -> Self {
        Self {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            status,
            dry_run: target.dry_run,
            counts: Counts::new(vocabulary),
            stats: Vec::new(),
            report: None,
            report_download: None,
            csv_rewritten: false,
            remaining: None,
            job: None,
            progress: None,
            note: None,
            mail_sent: false,
            rows: Vec::new(),
            chain_stopped: false,
        }
    }

    /// Adds a note for the admin.
    pub fn add_note(&mut self, note: impl Into<String>) {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(earlier) => format!("{earlier}; {note}"),
            None => note,
        });
    }
}

/// A failure of a whole invocation: the file is left untouched and the
/// asynchronous invoke retries, then goes to the failure destination.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the event is not one this function takes: {0}")]
    InvalidEvent(String),
    #[error("s3://{bucket}/{key}: {source}")]
    File {
        bucket: String,
        key: String,
        #[source]
        source: Box<Error>,
    },
}

impl Classified for InboxError {
    fn kind(&self) -> ErrorKind {
        match self {
            InboxError::InvalidEvent(_) => ErrorKind::InvalidEvent,
            InboxError::File { source, .. } => source.kind(),
        }
    }
}

impl From<InboxError> for lambda_runtime::Diagnostic {
    fn from(error: InboxError) -> Self {
        crate::error::diagnostic(&error)
    }
}

/// What an invocation over an event's files returns.
#[derive(Debug, Clone, Serialize)]
pub struct InboxResponse {
    /// Rows per outcome over all files.
    pub counts: Counts,
    /// The report of the file (the first, when an event names several).
    pub report: Option<String>,
    /// Every processed file's CSV was rewritten.
    pub csv_rewritten: bool,
    /// Where rows were handed on for the next link (the first such file).
    pub remaining: Option<String>,
    /// The progress file of the job the run is part of (the first such file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    pub files: Vec<FileReport>,
}

impl InboxResponse {
    pub fn new(files: Vec<FileReport>) -> Self {
        let mut counts = Counts::default();
        for file in &files {
            counts.merge(&file.counts);
        }
        let processed: Vec<&FileReport> = files
            .iter()
            .filter(|f| f.status == FileStatus::Processed)
            .collect();
        Self {
            counts,
            report: files.iter().find_map(|f| f.report.clone()),
            csv_rewritten: !processed.is_empty() && processed.iter().all(|f| f.csv_rewritten),
            remaining: files.iter().find_map(|f| f.remaining.clone()),
            progress: files.iter().find_map(|f| f.progress.clone()),
            files,
        }
    }
}

/// The default of `MAX_INPUT_BYTES`: 50 MB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 50_000_000;

/// `MAX_INPUT_BYTES`: files larger than this are refused before they are
/// read. `MAX_CONTINUATIONS`: how many links a job may hand its rows on to
/// before it pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    pub max_input_bytes: u64,
    pub max_continuations: usize,
}

impl Default for InboxLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_continuations: chain::DEFAULT_MAX_CONTINUATIONS,
        }
    }
}

impl InboxLimits {
    pub fn from_env(env: &crate::config::Env) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            max_input_bytes: env.count("MAX_INPUT_BYTES", DEFAULT_MAX_INPUT_BYTES as usize)? as u64,
            max_continuations: env.whole("MAX_CONTINUATIONS", chain::DEFAULT_MAX_CONTINUATIONS)?,
        })
    }
}

/// One invocation of an inbox function: its store and mailer, where the
/// summaries go, and the clock it runs against.
pub struct Inbox<'a, S, M> {
    store: &'a S,
    mailer: &'a M,
    common: &'a Common,
    limits: InboxLimits,
    /// The function's name in mail subjects.
    function: &'static str,
    request_id: String,
    deadline: Deadline,
}

impl<'a, S: ObjectStore, M: Mailer> Inbox<'a, S, M> {
    /// The invocation `context` of `function`, with its clients and settings.
    pub fn new(
        store: &'a S,
        mailer: &'a M,
        (common, limits): (&'a Common, InboxLimits),
        function: &'static str,
        context: &lambda_runtime::Context,
    ) -> Self {
        Self {
            store,
            mailer,
            common,
            limits,
            function,
            request_id: context.request_id.clone(),
            deadline: Deadline::from_epoch_ms(context.deadline),
        }
    }

    /// What `object` asks for: a target with the dry run the caller, the
    /// folder or the configuration chose.
    pub fn target(&self, object: &Requested, dry_run_folder: bool, consume: bool) -> Target {
        Target {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            dry_run: dry_run_folder || object.dry_run.unwrap_or(self.common.dry_run),
            consume,
            skip_self_written: object.from_s3,
            sequencer: object.sequencer.clone(),
        }
    }

    /// The run over `target`, the `position`-th object of the invocation.
    pub fn run(&self, position: usize, target: &Target) -> Run {
        let base = crate::deadline::run_id(&self.request_id);
        Run {
            function: self.function,
            id: if position == 0 {
                base
            } else {
                format!("{base}-{}", position + 1)
            },
            now: chrono::Utc::now(),
            dry_run: target.dry_run,
            deadline: self.deadline,
            margin: self.common.deadline_margin,
        }
    }

    /// Processes the `position`-th file of the invocation through `job`,
    /// within the invocation's deadline. A failure of the whole file is
    /// returned with the file named.
    pub async fn file<J: CsvJob>(
        &self,
        job: &J,
        target: &Target,
        position: usize,
    ) -> Result<FileReport, InboxError> {
        let run = self.run(position, target);
        let mut metrics = self.common.metrics.start(self.function, &run.id);
        let work = Box::pin(self.process(job, target, &run));
        let done = self.deadline.scope(self.common.deadline_margin, work).await;
        if let Ok(file) = &done {
            metrics.rows(&file.counts);
            if file.chain_stopped {
                metrics.set(crate::metrics::Metric::ContinuationLimitReached, 1);
            }
        }
        metrics.emit();
        done.map_err(|source| {
                tracing::error!(bucket = %target.bucket, key = %target.key, error = %source, "file failed");
                InboxError::File {
                    bucket: target.bucket.clone(),
                    key: target.key.clone(),
                    source: Box::new(source),
                }
            })
    }

    /// A file this invocation does not process, for the answer.
    pub fn not_handled(&self, object: &Requested, vocabulary: &Vocabulary) -> FileReport {
        FileReport::new(
            &self.target(object, false, false),
            FileStatus::NotHandled,
            vocabulary,
        )
    }
}

/// A function whose invocations name CSV objects (an S3 notification, or a
/// console `{"bucket","key","dry_run"}`): it says only what to do with one
/// object, usually by handing it to a [`CsvJob`] through [`Inbox::file`].
pub trait InboxFunction<S, M, P>: Sized {
    /// The function's name in reports, object marks and mail subjects.
    const NAME: &'static str;

    /// Dry run, mail and deadline margin.
    fn common(&self) -> &Common;

    /// How large a file may be.
    fn limits(&self) -> InboxLimits;

    /// Processes (or passes over) the `position`-th object of an
    /// invocation; `None` leaves it out of the answer.
    async fn object(
        function: &Function<S, M, P, Self>,
        inbox: &Inbox<'_, S, M>,
        object: &Requested,
        position: usize,
    ) -> Result<Option<FileReport>, InboxError>;
}

impl<S: ObjectStore, M: Mailer, P, C: InboxFunction<S, M, P>> Function<S, M, P, C> {
    /// Handles one invocation: every object it names, in order.
    #[tracing::instrument(skip_all, fields(function = C::NAME, request_id = %event.context.request_id))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<InboxResponse, InboxError> {
        let settings = (self.config.common(), self.config.limits());
        let inbox = Inbox::new(&self.store, &self.mailer, settings, C::NAME, &event.context);
        let mut files = Vec::new();
        for (position, object) in requested(&event.payload)?.iter().enumerate() {
            if let Some(file) = C::object(self, &inbox, object, position).await? {
                files.push(file);
            }
        }
        Ok(InboxResponse::new(files))
    }
}
