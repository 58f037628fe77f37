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

mod event;
mod job;
mod outcome;
mod summary;

use std::collections::HashMap;

use serde::{Serialize, Serializer};
use tracing::{info, warn};

pub use event::{is_csv, requested, Requested};
pub use job::{
    Applied, CsvJob, Deferral, Fate, FieldProblem, ReportColumn, RowResult, Run, Stat, Valid,
};
pub use outcome::{Counts, Headline, Outcome, Vocabulary};
pub use summary::summary_mail;

use crate::config::MailSettings;
use crate::csvfile::{self, ColumnMap, FileProblem, Row, Table};
use crate::deadline::Deadline;
use crate::error::{Classified, ErrorKind};
use crate::mail::Mailer;
use crate::report::{put_report, ReportWriter};
use crate::store::{NewObject, ObjectStore, WRITTEN_BY_METADATA};
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
    /// run on a remainder file does not).
    pub skip_self_written: bool,
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
    /// The CSV now holds only the unfinished rows.
    pub csv_rewritten: bool,
    /// `s3://bucket/<remainder key>` when rows were left for another run.
    pub remaining: Option<String>,
    /// Anything the admin should know about the file as a whole.
    pub note: Option<String>,
    pub mail_sent: bool,
    #[serde(skip)]
    pub rows: Vec<ReportedRow>,
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
            csv_rewritten: false,
            remaining: None,
            note: None,
            mail_sent: false,
            rows: Vec::new(),
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

/// One CSV object, start to finish, through `job`. Errors are failures of
/// the whole file (the store or the service) that leave it untouched.
pub async fn process<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    target: &Target,
    run: &Run,
) -> Result<FileReport, Error> {
    let vocabulary = job.vocabulary();
    let Some(object) = store.get(&target.bucket, &target.key).await? else {
        let mut file = FileReport::new(target, FileStatus::Missing, vocabulary);
        file.add_note("the object was gone when the run read it");
        return Ok(file);
    };
    if target.skip_self_written && object.metadata.contains_key(WRITTEN_BY_METADATA) {
        info!(bucket = %target.bucket, key = %target.key, "object written by rollcall itself; ignored");
        return Ok(FileReport::new(target, FileStatus::SelfWritten, vocabulary));
    }
    let (table, columns) = match csvfile::read(&object.body, job.columns()) {
        Ok(read) => read,
        Err(problem) => return unusable(store, job, target, run, problem).await,
    };
    let mut file = FileReport::new(target, FileStatus::Processed, vocabulary);
    if table.rows.is_empty() {
        file.add_note("the file has a header but no rows");
        return Ok(file);
    }

    let context = job.context().await?;
    let duplicates = job
        .unique_column()
        .map(|column| duplicates(&table, &columns, column))
        .unwrap_or_default();
    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(table.rows.len());
    let mut valid = Vec::new();
    let mut valid_at = Vec::new();
    for (index, row) in table.rows.iter().enumerate() {
        if let Some(duplicate) = duplicates.get(&index) {
            results.push(Some(RowResult::invalid(std::slice::from_ref(duplicate))));
            continue;
        }
        let shape = (row.fields.len() > columns.width).then(|| {
            FieldProblem::row(format!(
                "has {} fields but the header has {} (a comma inside a value needs quotes)",
                row.fields.len(),
                columns.width
            ))
        });
        match (job.validate(row, &columns, &context), shape) {
            (Err(mut problems), Some(shape)) => {
                problems.insert(0, shape);
                results.push(Some(RowResult::invalid(&problems)));
            }
            (Ok(_), Some(shape)) => results.push(Some(RowResult::invalid(&[shape]))),
            (Ok(parsed), None) => {
                valid.push(Valid {
                    line: row.line,
                    row: parsed,
                });
                valid_at.push(index);
                results.push(None);
            }
            (Err(problems), None) => results.push(Some(RowResult::invalid(&problems))),
        }
    }
    // Boxed: a job's future nests deep (streams over paced calls); one
    // allocation per file keeps every handler's future shallow.
    let applied = Box::pin(job.apply(valid, &context, run)).await?;
    if applied.results.len() != valid_at.len() {
        warn!(
            given = valid_at.len(),
            answered = applied.results.len(),
            "the job did not answer for every row; the rest count as not reached"
        );
    }
    let mut answers = applied.results.into_iter();
    for index in valid_at {
        results[index] = Some(answers.next().unwrap_or_else(RowResult::deferred));
    }
    let mut results: Vec<RowResult> = results.into_iter().flatten().collect();
    let left_in = match job.deferral() {
        Deferral::StayInFile => "left in the file for the next run".to_string(),
        Deferral::Remainder { prefix } if target.key.starts_with(prefix) => {
            "left in this file for the next run".to_string()
        }
        Deferral::Remainder { prefix } => format!("left in {prefix}{}", target.key),
    };
    for result in results.iter_mut().filter(|r| r.fate == Fate::Deferred) {
        result.reason = format!("{}; {left_in}", result.reason);
    }
    file.stats = applied.stats;
    for result in &results {
        file.counts.add(result.outcome);
    }
    if !run.dry_run {
        consume(
            store,
            job,
            &mut file,
            &table,
            &columns,
            &results,
            &object.etag,
            run,
            target.consume,
        )
        .await?;
    }
    file.rows = report_rows(job, &table, &columns, results);
    write_report(store, job, &mut file, run).await?;
    info!(bucket = %file.bucket, key = %file.key, counts = ?file.counts, csv_rewritten = file.csv_rewritten, "file done");
    Ok(file)
}

/// Second and later rows repeating a value of `column` (ignoring case), by
/// row index, with the problem naming the first line.
fn duplicates(table: &Table, columns: &ColumnMap, column: &str) -> HashMap<usize, FieldProblem> {
    let mut first: HashMap<String, u64> = HashMap::new();
    let mut repeated = HashMap::new();
    for (index, row) in table.rows.iter().enumerate() {
        let value = columns.get(row, column);
        if value.is_empty() {
            continue;
        }
        match first.get(&value.to_lowercase()) {
            Some(line) => {
                let problem =
                    FieldProblem::new(column, format!("{value:?} is a duplicate of line {line}"));
                repeated.insert(index, problem);
            }
            None => {
                first.insert(value.to_lowercase(), row.line);
            }
        }
    }
    repeated
}

/// The report and summary of a file that cannot be used; the file itself is
/// left untouched.
async fn unusable<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    target: &Target,
    run: &Run,
    problem: FileProblem,
) -> Result<FileReport, Error> {
    warn!(bucket = %target.bucket, key = %target.key, %problem, "file left untouched");
    let mut file = FileReport::new(target, FileStatus::Unusable, job.vocabulary());
    file.add_note(format!("{problem}; the file was left untouched"));
    let result = RowResult::failed(problem.to_string());
    file.counts.add(result.outcome);
    file.rows.push(ReportedRow {
        line: 1,
        cells: cells(job, 1, None, &result),
        result,
        subject: String::new(),
    });
    write_report(store, job, &mut file, run).await?;
    Ok(file)
}

/// Takes the finished rows out of the file, by a conditional put on the ETag
/// that was read, and sends deferred rows where the job wants them.
#[allow(clippy::too_many_arguments)]
async fn consume<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    file: &mut FileReport,
    table: &Table,
    columns: &ColumnMap,
    results: &[RowResult],
    etag: &str,
    run: &Run,
    consume_file: bool,
) -> Result<(), Error> {
    let rows = table.rows.iter().zip(results);
    let deferred: Vec<(&Row, String)> = rows
        .clone()
        .filter(|(_, r)| r.fate == Fate::Deferred)
        .map(|(row, r)| (row, r.reason.clone()))
        .collect();
    let mut deferred_stay = true;
    if let Deferral::Remainder { prefix } = job.deferral() {
        let own = file.key.starts_with(prefix);
        deferred_stay = own;
        if !deferred.is_empty() {
            let key = if own {
                file.key.clone()
            } else {
                format!("{prefix}{}", file.key)
            };
            if !own {
                let body = csvfile::rewrite(table, columns.error_column, &deferred);
                append_remainder(store, job, &file.bucket, &key, body, run).await?;
            }
            file.remaining = Some(format!("s3://{}/{key}", file.bucket));
        }
    }
    if !consume_file {
        return Ok(());
    }
    let keep: Vec<(&Row, String)> = rows
        .filter(|(_, r)| match r.fate {
            Fate::Done => false,
            Fate::Retry => true,
            Fate::Deferred => deferred_stay,
        })
        .map(|(row, r)| (row, r.reason.clone()))
        .collect();
    let mut rewrite = NewObject::csv(
        &file.bucket,
        &file.key,
        csvfile::rewrite(table, columns.error_column, &keep),
        job.function(),
        &run.id,
    );
    rewrite.if_match = Some(etag.to_string());
    match store.put(rewrite).await {
        Ok(()) => file.csv_rewritten = true,
        Err(Error::PreconditionFailed { .. }) => {
            warn!(bucket = %file.bucket, key = %file.key, "file changed during the run; left alone");
            file.add_note("the file changed during the run, so it was left alone; the new upload is processed on its own, and rows already done are found done");
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Adds `body`'s rows (after its header) to the remainder at `key`, creating
/// it or appending under its ETag; retried a few times against concurrent runs.
async fn append_remainder<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    run: &Run,
) -> Result<(), Error> {
    for _ in 0..4 {
        let existing = store.get(bucket, key).await?;
        let mut object = NewObject::csv(bucket, key, Vec::new(), job.function(), &run.id);
        match &existing {
            None => {
                object.body = body.clone();
                object.if_absent = true;
            }
            Some(current) => {
                let after_header = body
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(body.len(), |p| p + 1);
                object.body = current.body.clone();
                if !object.body.ends_with(b"\n") {
                    object.body.push(b'\n');
                }
                object.body.extend_from_slice(&body[after_header..]);
                object.if_match = Some(current.etag.clone());
            }
        }
        match store.put(object).await {
            Ok(()) => return Ok(()),
            Err(Error::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::PreconditionFailed {
        bucket: bucket.to_string(),
        key: key.to_string(),
    })
}

fn report_rows<J: CsvJob>(
    job: &J,
    table: &Table,
    columns: &ColumnMap,
    results: Vec<RowResult>,
) -> Vec<ReportedRow> {
    let subject_column = job.report_columns().iter().find_map(|c| match c {
        ReportColumn::Input(name) => Some(*name),
        _ => None,
    });
    table
        .rows
        .iter()
        .zip(results)
        .map(|(row, result)| ReportedRow {
            line: row.line,
            cells: cells(job, row.line, Some((row, columns)), &result),
            subject: subject_column
                .map(|c| columns.get(row, c).to_string())
                .unwrap_or_default(),
            result,
        })
        .collect()
}

fn cells<J: CsvJob>(
    job: &J,
    line: u64,
    input: Option<(&Row, &ColumnMap)>,
    result: &RowResult,
) -> Vec<String> {
    let values: HashMap<&str, &str> = result
        .values
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    job.report_columns()
        .iter()
        .map(|column| match column {
            ReportColumn::Line => line.to_string(),
            ReportColumn::Input(name) => input
                .map(|(row, columns)| columns.get(row, name).to_string())
                .unwrap_or_default(),
            ReportColumn::Output(name) => values.get(name).copied().unwrap_or("").to_string(),
            ReportColumn::Outcome => result.outcome.as_str().to_string(),
            ReportColumn::Reason => result.reason.clone(),
        })
        .collect()
}

async fn write_report<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    file: &mut FileReport,
    run: &Run,
) -> Result<(), Error> {
    let headers: Vec<&str> = job.report_columns().iter().map(|c| c.header()).collect();
    let mut report = ReportWriter::new(&headers);
    for row in &file.rows {
        report.row(&row.cells);
    }
    let uri = put_report(
        store,
        &file.bucket,
        job.function(),
        run.now.date_naive(),
        &run.id,
        report,
    )
    .await?;
    file.report = Some(uri);
    Ok(())
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
    /// Where rows were left for another run (the first such file).
    pub remaining: Option<String>,
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
            files,
        }
    }
}

/// The store and mailer an inbox function runs with, and where summaries go.
pub struct Inbox<'a, S, M> {
    pub store: &'a S,
    pub mailer: &'a M,
    pub mail: &'a MailSettings,
    /// The function's name in mail subjects.
    pub function: &'static str,
}

impl<S: ObjectStore, M: Mailer> Inbox<'_, S, M> {
    /// The run over `target`, the `position`-th object of an invocation.
    pub fn run(
        &self,
        request_id: &str,
        position: usize,
        target: &Target,
        deadline: Deadline,
        margin: std::time::Duration,
    ) -> Run {
        let base = crate::deadline::run_id(request_id);
        Run {
            id: if position == 0 {
                base
            } else {
                format!("{base}-{}", position + 1)
            },
            now: chrono::Utc::now(),
            dry_run: target.dry_run,
            deadline,
            margin,
        }
    }

    /// Processes one file through `job`, then mails its summary. A failure
    /// of the whole file is returned with the file named.
    pub async fn file<J: CsvJob>(
        &self,
        job: &J,
        target: &Target,
        run: &Run,
    ) -> Result<FileReport, InboxError> {
        let file = process(self.store, job, target, run).await.map_err(|source| {
            tracing::error!(bucket = %target.bucket, key = %target.key, error = %source, "file failed");
            InboxError::File {
                bucket: target.bucket.clone(),
                key: target.key.clone(),
                source: Box::new(source),
            }
        })?;
        Ok(self.notify(job.vocabulary(), file).await)
    }

    /// Mails the admins about a processed or unusable file. A mail failure
    /// is logged and noted, not raised: the CSV is already consumed.
    pub async fn notify(&self, vocabulary: &Vocabulary, mut file: FileReport) -> FileReport {
        let worth_a_mail = matches!(file.status, FileStatus::Processed | FileStatus::Unusable)
            && file.counts.total() > 0;
        if !worth_a_mail || self.mail.admins.is_empty() {
            return file;
        }
        let mail = summary_mail(self.function, vocabulary, &file, self.mail);
        match self.mailer.send(&mail).await {
            Ok(_) => file.mail_sent = true,
            Err(e) => {
                tracing::error!(error = %e, "summary mail not sent");
                file.add_note(format!("summary mail not sent: {e}"));
            }
        }
        file
    }
}
