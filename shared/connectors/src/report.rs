//! Per-row run reports written to S3 as CSV: built in memory
//! ([`ReportWriter`], [`put_report`]) or streamed a part at a time
//! ([`ReportUpload`]) when a run may report more rows than memory should hold.

use chrono::NaiveDate;

use crate::store::{CsvUpload, MultipartUploads, NewUpload, ObjectStore};

/// Builds a report CSV in memory.
pub struct ReportWriter {
    writer: csv::Writer<Vec<u8>>,
}

impl ReportWriter {
    /// A report with these column names.
    pub fn new(columns: &[&str]) -> Self {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(columns).expect("write to memory");
        Self { writer }
    }

    /// Appends one row. Values that a spreadsheet would run as a formula are
    /// prefixed with `'` (reports are opened in Excel; names come from users).
    pub fn row<I, S>(&mut self, values: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let values: Vec<String> = values
            .into_iter()
            .map(|v| neutralise_formula(v.as_ref()))
            .collect();
        self.writer.write_record(&values).expect("write to memory");
    }

    /// The finished CSV bytes.
    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner().expect("flush to memory")
    }
}

/// `=`, `+`, `-`, `@` (and tab/CR) at the start of a cell make spreadsheets
/// evaluate it; such values get a leading `'`.
pub fn neutralise_formula(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

/// Undoes [`neutralise_formula`]: a value read back from a CSV rollcall
/// wrote (an export edited into an update file) is the value the service
/// holds. A `'` before anything but a formula character is kept.
pub fn restore_neutralised(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ) =>
        {
            rest
        }
        _ => value,
    }
}

/// Writes a finished report to `reports/<function>/<date>/<run-id>.csv` in
/// `bucket`, marked as `function`'s own; returns its `s3://` URI.
pub async fn put_report<S: crate::store::ObjectStore>(
    store: &S,
    bucket: &str,
    function: &str,
    date: NaiveDate,
    run_id: &str,
    report: ReportWriter,
) -> Result<String, crate::Error> {
    let key = report_key(function, date, run_id);
    store
        .put(crate::store::NewObject {
            bucket: bucket.to_string(),
            key: key.clone(),
            body: report.finish(),
            content_type: "text/csv; charset=utf-8".into(),
            metadata: crate::store::written_by(function, run_id),
            if_match: None,
            if_absent: false,
        })
        .await?;
    Ok(format!("s3://{bucket}/{key}"))
}

/// A report streamed to `reports/<function>/<date>/<run-id>.csv` as it is
/// written: the same bytes [`ReportWriter`] and [`put_report`] would write,
/// sent through a [`CsvUpload`] (a multipart upload whose parts go as they
/// fill; one plain put when the report is smaller than a part). Nothing
/// appears until [`ReportUpload::finish`]; a report dropped or aborted
/// before that leaves no object.
pub struct ReportUpload<'s, S: ObjectStore + MultipartUploads> {
    csv: CsvUpload<'s, S>,
}

impl<'s, S: ObjectStore + MultipartUploads> ReportUpload<'s, S> {
    /// A report with these column names, marked as `function`'s own.
    pub fn new(
        store: &'s S,
        bucket: &str,
        function: &str,
        date: NaiveDate,
        run_id: &str,
        columns: &[&str],
    ) -> Self {
        let key = report_key(function, date, run_id);
        let target = NewUpload::csv(bucket, &key, function, run_id);
        Self {
            csv: CsvUpload::new(store, target, columns),
        }
    }

    /// A report written through `csv` (e.g. one with a smaller part size).
    pub fn from_csv(csv: CsvUpload<'s, S>) -> Self {
        Self { csv }
    }

    /// Appends one row, spreadsheet formulas neutralised as
    /// [`ReportWriter::row`] does; a full part is uploaded.
    pub async fn row<I, V>(&mut self, values: I) -> Result<(), crate::Error>
    where
        I: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.csv
            .row(values.into_iter().map(|v| neutralise_formula(v.as_ref())))
            .await
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.csv.rows()
    }

    /// Writes what is left and makes the report appear; returns its `s3://` URI.
    pub async fn finish(self) -> Result<String, crate::Error> {
        Ok(self.csv.finish().await?.uri())
    }

    /// Gives up: no report appears.
    pub async fn abort(self) -> Result<(), crate::Error> {
        self.csv.abort().await
    }
}

/// `reports/<function>/<yyyy-mm-dd>/<run-id>.csv`
pub fn report_key(function: &str, date: NaiveDate, run_id: &str) -> String {
    format!(
        "reports/{function}/{}/{run_id}.csv",
        date.format("%Y-%m-%d")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_kept() {
        let mut report = ReportWriter::new(&["line", "username", "reason"]);
        report.row(["2", "=HYPERLINK(\"x\")", "a, b"]);
        let csv = String::from_utf8(report.finish()).unwrap();
        assert_eq!(
            csv,
            "line,username,reason\n2,\"'=HYPERLINK(\"\"x\"\")\",\"a, b\"\n"
        );
    }

    #[test]
    fn a_neutralised_value_reads_back_as_it_was() {
        for value in ["=1+1", "+plus", "-", "@home", "O'Brien", "'quoted", "plain"] {
            assert_eq!(restore_neutralised(&neutralise_formula(value)), value);
        }
    }

    #[test]
    fn key_layout() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(
            report_key("onboard", date, "r1"),
            "reports/onboard/2026-11-22/r1.csv"
        );
    }
}
