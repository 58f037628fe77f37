//! Teamworks AMS accounts from `inbox/ams/` files: `create` rows make new
//! accounts (an existing username or email is left alone), `update` rows
//! change the fields they give on the account their key finds, as a
//! read-modify-write of the whole person record. AMS has no batch calls, so
//! saves run `AMS_CONCURRENCY` at a time.

mod apply;
mod directory;
pub mod rows;

use connectors::ams::{AmsPeople, AmsSettings, AmsUsers};
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::{
    Applied, CsvJob, FieldProblem, Headline, JobSpec, Outcome, ReportColumn, Run, Valid, Vocabulary,
};
use connectors::Error;

pub use rows::{AmsRow, Checked, Field, Key, Value};

/// Every AMS call the job makes.
pub trait AmsOnboardingPorts: AmsUsers + AmsPeople {}

impl<T: AmsUsers + AmsPeople> AmsOnboardingPorts for T {}

/// The outcome words of AMS files.
pub const VOCABULARY: Vocabulary = Vocabulary {
    outcomes: &[
        Outcome::Created,
        Outcome::Exists,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Planned,
    ],
    success_total: None,
    headline: &[
        Headline::Count(Outcome::Created, "created"),
        Headline::Count(Outcome::Exists, "existing"),
        Headline::Count(Outcome::Updated, "updated"),
        Headline::Count(Outcome::Unchanged, "unchanged"),
        Headline::Count(Outcome::Failed, "failed"),
        Headline::Count(Outcome::Skipped, "skipped"),
    ],
    listed: &[],
};

/// Report column: `create` or `update` (as written, for a row that failed its checks).
pub const ACTION: &str = "action";
/// Report column: the AMS id of the account the row created or changed.
pub const USER_ID: &str = "user_id";
/// Report column: which column found the account of an `update` row.
pub const KEY: &str = "key";

/// AMS files: their columns, words and report
/// (`line,action,username,user_id,key,outcome,reason`).
pub const SPEC: JobSpec = JobSpec {
    columns: rows::COLUMNS,
    vocabulary: &VOCABULARY,
    report: &[
        ReportColumn::Line,
        ReportColumn::Input(ACTION),
        ReportColumn::Input("username"),
        ReportColumn::Output(USER_ID),
        ReportColumn::Output(KEY),
        ReportColumn::Outcome,
        ReportColumn::Reason,
    ],
    inbox: crate::route::AMS_PREFIX,
    unique_column: Some("username"),
    subject: "username",
};

/// The AMS job over one site.
pub struct AmsOnboarding<'a, T> {
    pub ams: &'a T,
    pub settings: &'a AmsSettings,
}

impl<T: AmsOnboardingPorts> CsvJob for AmsOnboarding<'_, T> {
    const SPEC: &'static JobSpec = &SPEC;
    type Row = Checked;
    /// Rows are checked without the service: every row is checked before any call.
    type Context = ();

    async fn context(&self) -> Result<(), Error> {
        Ok(())
    }

    fn validate(
        &self,
        row: &Row,
        columns: &ColumnMap,
        _context: &(),
    ) -> Result<Checked, Vec<FieldProblem>> {
        rows::validate(row, columns)
    }

    async fn apply(
        &self,
        rows: Vec<Valid<Checked>>,
        _context: &(),
        run: &Run,
    ) -> Result<Applied, Error> {
        self.run(rows, run).await
    }
}
