//! What a CSV job brings to the inbox: its columns, its outcome words, how to
//! validate a row, and how to plan and apply the valid ones.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::outcome::{Outcome, Vocabulary};
use crate::csvfile::{Column, ColumnMap, Row};
use crate::deadline::Deadline;
use crate::Error;

/// One problem with one field of a row: the report and the CSV's `error`
/// column show it as `field: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct FieldProblem {
    /// The column, as the job names it; empty for the row as a whole.
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A problem of the row as a whole (its shape, not one field).
    pub fn row(message: impl Into<String>) -> Self {
        Self::new("", message)
    }
}

/// The reason of a row not reached before the deadline.
pub const NOT_REACHED: &str = "not reached before the Lambda deadline";

/// What becomes of a row's line in the CSV after a live run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Finished: the line leaves the file.
    Done,
    /// Failed: the line stays, with its reason in the `error` column.
    Retry,
    /// Not reached before the deadline: handed on to the job's next link.
    Deferred,
}

/// The result of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub outcome: Outcome,
    /// Why, in words; for a failure, every problem as `field: message`.
    pub reason: String,
    /// The field a failure is about, when it is about one.
    pub field: Option<String>,
    pub fate: Fate,
    /// Values the job reports beside the input (e.g. the groups added), by
    /// report column name.
    pub values: Vec<(&'static str, String)>,
}

impl RowResult {
    /// A finished row.
    pub fn done(outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
            field: None,
            fate: Fate::Done,
            values: Vec::new(),
        }
    }

    /// A failed row; it stays in the file with `reason`.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failed,
            fate: Fate::Retry,
            ..Self::done(Outcome::Failed, reason)
        }
    }

    /// A row that failed validation, naming each problem's field.
    pub fn invalid(problems: &[FieldProblem]) -> Self {
        let reason = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            field: problems
                .first()
                .map(|p| p.field.clone())
                .filter(|f| !f.is_empty()),
            ..Self::failed(reason)
        }
    }

    /// A row not reached before the deadline (the inbox says where it went).
    pub fn deferred() -> Self {
        Self {
            fate: Fate::Deferred,
            ..Self::done(Outcome::Skipped, NOT_REACHED)
        }
    }

    /// Dry run: what the row would do.
    pub fn planned(reason: impl Into<String>) -> Self {
        Self::done(Outcome::Planned, reason)
    }

    /// Adds a reported value.
    pub fn with(mut self, column: &'static str, value: impl Into<String>) -> Self {
        self.values.push((column, value.into()));
        self
    }
}

/// A column of the per-row report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportColumn {
    /// The line of the input file.
    Line,
    /// A value of the input row, by the job's column name (header `name`);
    /// a value the job reported under the same name takes its place (the
    /// username the service stored, say).
    Input(&'static str),
    /// A value the job reported with [`RowResult::with`] (header `name`).
    Output(&'static str),
    Outcome,
    Reason,
}

impl ReportColumn {
    pub fn header(self) -> &'static str {
        match self {
            ReportColumn::Line => "line",
            ReportColumn::Input(name) | ReportColumn::Output(name) => name,
            ReportColumn::Outcome => "outcome",
            ReportColumn::Reason => "reason",
        }
    }
}

/// One valid row handed to [`CsvJob::apply`].
#[derive(Debug, Clone)]
pub struct Valid<R> {
    /// 1-based line of the input file where the row starts.
    pub line: u64,
    pub row: R,
}

/// The identity, clock and limits of one run over one file.
#[derive(Debug, Clone)]
pub struct Run {
    /// The function the file belongs to: names the report path and marks
    /// what the run writes.
    pub function: &'static str,
    pub id: String,
    pub now: DateTime<Utc>,
    /// Plan only: nothing is written anywhere but the report.
    pub dry_run: bool,
    pub deadline: Deadline,
    /// Work is not started when less than this is left before the deadline.
    pub margin: Duration,
}

impl Run {
    /// True while there is time to start another piece of work.
    pub fn may_start(&self) -> bool {
        self.deadline.allows(self.margin)
    }
}

/// What [`CsvJob::apply`] gives back.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// One result per row given, in the same order.
    pub results: Vec<RowResult>,
    /// Figures about the file as a whole, for the summary (e.g. agents).
    pub stats: Vec<Stat>,
    /// What the admin should know about the file as a whole (a column
    /// ignored, say), for the summary and the JSON answer.
    pub notes: Vec<String>,
}

/// A figure about a file as a whole: `key` in the JSON answer, `label` in the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub key: &'static str,
    pub label: &'static str,
    pub value: usize,
}

/// What a job declares about its files.
#[derive(Debug)]
pub struct JobSpec {
    /// The columns a file may have.
    pub columns: &'static [Column],
    /// The outcome words the job uses.
    pub vocabulary: &'static Vocabulary,
    /// The per-row report's columns.
    pub report: &'static [ReportColumn],
    /// The inbox prefix of the job's files (`inbox/connect/`): rows not
    /// reached before the deadline continue in `<inbox>continue/<job>/<n>.csv`.
    pub inbox: &'static str,
    /// A column whose value must not repeat in a file (ignoring case): a
    /// second row with the same value fails, naming the first line.
    pub unique_column: Option<&'static str>,
    /// The column naming whom a row is about (a username, an agent), shown
    /// beside each failed row in the summary.
    pub subject: &'static str,
}

/// A job over the rows of a CSV object: only what is its own. The inbox
/// ([`super::process`]) opens the object, hands the rows over, consumes
/// the file, writes the report and summarises.
pub trait CsvJob {
    /// The job's columns, words and report.
    const SPEC: &'static JobSpec;
    /// A row that passed validation.
    type Row;
    /// What validation needs from the service, read once per file (an org's
    /// roles and user types, say).
    type Context;

    /// Reads what validation needs (only for a file with rows).
    async fn context(&self) -> Result<Self::Context, Error>;

    /// Checks one row; every problem names its field.
    fn validate(
        &self,
        row: &Row,
        columns: &ColumnMap,
        context: &Self::Context,
    ) -> Result<Self::Row, Vec<FieldProblem>>;

    /// Plans the valid rows and, unless `run.dry_run`, applies them. An error
    /// is a failure of the whole file (sign-in, permission, service down)
    /// that leaves it untouched.
    async fn apply(
        &self,
        rows: Vec<Valid<Self::Row>>,
        context: &Self::Context,
        run: &Run,
    ) -> Result<Applied, Error>;
}
