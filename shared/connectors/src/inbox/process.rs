//! One CSV object through a job: open, validate, apply, then finish in an
//! order that survives a failure at any step: report, remainder, run record,
//! rewrite, mail.

use std::collections::HashMap;

use chrono::Utc;
use tracing::{info, warn};

use super::record::{Kept, RunRecord, Standing};
use super::{
    summary_mail, CsvJob, Deferral, Fate, FieldProblem, FileReport, FileStatus, Inbox, JobSpec,
    ReportColumn, ReportedRow, RowResult, Run, Target, Valid,
};
use crate::csvfile::{self, ColumnMap, Row, Table};
use crate::mail::Mailer;
use crate::report::{put_report, ReportWriter};
use crate::store::{Bounded, NewObject, ObjectStore, StoredObject, WRITTEN_BY_METADATA};
use crate::Error;

/// How long a run without a known deadline may take to finish by itself
/// before another invocation finishes it from its record.
const FINISH_WITHOUT_DEADLINE: chrono::Duration = chrono::Duration::minutes(15);

/// A CSV object as read: its rows, where its columns are, and the ETag a
/// rewrite must match.
struct Opened {
    table: Table,
    columns: ColumnMap,
    etag: String,
}

impl<S: ObjectStore, M: Mailer> Inbox<'_, S, M> {
    /// One CSV object, start to finish, through `job`. Errors are failures
    /// of the whole file; a run that changed something and then failed
    /// leaves a record the next invocation of the file finishes.
    pub(super) async fn process<J: CsvJob>(
        &self,
        job: &J,
        target: &Target,
        run: &Run,
    ) -> Result<FileReport, Error> {
        let spec = J::SPEC;
        let limit = self.limits.max_input_bytes;
        let object = match self
            .store
            .get_at_most(&target.bucket, &target.key, limit)
            .await?
        {
            None => {
                let mut file = FileReport::new(target, FileStatus::Missing, spec.vocabulary);
                file.add_note("the object was gone when the run read it");
                return Ok(file);
            }
            Some(Bounded::TooLarge { size }) => {
                let problem = format!(
                    "the file is {size} bytes, more than MAX_INPUT_BYTES allows ({limit} bytes); split it into smaller files"
                );
                return self.unusable(spec, target, run, problem).await;
            }
            Some(Bounded::Whole(object)) => object,
        };
        let live = !run.dry_run && target.consume;
        if live {
            let record = RunRecord::load(self.store, &target.bucket, run.function, &target.key);
            if let Some(record) = record.await? {
                match record.standing(&object, Utc::now()) {
                    Standing::Over => {}
                    Standing::Running => return Ok(running(spec, target, &object)),
                    Standing::Unfinished => {
                        return self.finish_recorded(spec, target, record, object).await
                    }
                }
            }
        }
        if target.skip_self_written && object.metadata.contains_key(WRITTEN_BY_METADATA) {
            info!(bucket = %target.bucket, key = %target.key, "object written by rollcall itself; ignored");
            return Ok(FileReport::new(
                target,
                FileStatus::SelfWritten,
                spec.vocabulary,
            ));
        }
        let opened = match csvfile::read(&object.body, spec.columns) {
            Ok((table, columns)) => Opened {
                table,
                columns,
                etag: object.etag,
            },
            Err(problem) => return self.unusable(spec, target, run, problem.to_string()).await,
        };
        let mut file = FileReport::new(target, FileStatus::Processed, spec.vocabulary);
        if opened.table.rows.is_empty() {
            file.add_note("the file has a header but no rows");
            return Ok(file);
        }

        let context = job.context().await?;
        let checked = check_rows(job, &opened, &context);
        // Boxed: a job's future nests deep (streams over paced calls); one
        // allocation per file keeps every handler's future shallow.
        let applied = Box::pin(job.apply(checked.valid, &context, run)).await?;
        let results = settle(
            checked.results,
            checked.valid_at,
            applied.results,
            spec,
            target,
        );
        file.stats = applied.stats;
        for note in applied.notes {
            file.add_note(note);
        }
        for result in &results {
            file.counts.add(result.outcome);
        }
        file.rows = report_rows(spec, &opened, &results);

        // The finish: each step's record comes before the next step.
        self.write_report(spec, &mut file, run).await?;
        if !run.dry_run {
            self.send_remainder(spec, &mut file, &opened, &results, run)
                .await?;
        }
        if !live {
            self.mail(spec, &mut file).await?;
            return Ok(file);
        }
        let record = RunRecord {
            version: 1,
            key: file.key.clone(),
            source_etag: opened.etag.clone(),
            run_id: run.id.clone(),
            finish_by: run
                .deadline
                .at_utc()
                .unwrap_or_else(|| Utc::now() + FINISH_WITHOUT_DEADLINE),
            failed: false,
            report: file.report.clone().unwrap_or_default(),
            keep: kept(spec, target, &opened, &results),
            mail: self.summary(
                spec,
                &FileReport {
                    csv_rewritten: true,
                    ..file.clone()
                },
            ),
            done: false,
        };
        record.save(self.store, &file.bucket, run.function).await?;
        match self
            .rewrite_and_mail(spec, &mut file, &opened, &record)
            .await
        {
            Ok(()) => {
                info!(bucket = %file.bucket, key = %file.key, counts = ?file.counts, csv_rewritten = file.csv_rewritten, "file done");
                Ok(file)
            }
            Err(e) => {
                let failed = RunRecord {
                    failed: true,
                    ..record
                };
                if let Err(also) = failed.save(self.store, &file.bucket, run.function).await {
                    warn!(error = %also, "the run record could not be marked failed; it is finished after its deadline");
                }
                Err(e)
            }
        }
    }

    /// Rewrites the file keeping the recorded rows, mails the summary, and
    /// marks the record done.
    async fn rewrite_and_mail(
        &self,
        spec: &JobSpec,
        file: &mut FileReport,
        opened: &Opened,
        record: &RunRecord,
    ) -> Result<(), Error> {
        self.rewrite(file, opened, record).await?;
        self.mail(spec, file).await?;
        self.mark_done(record, &file.bucket).await;
        Ok(())
    }

    /// Finishes a run that stopped after its record: the rewrite if the file
    /// is still the one it read, then the mail it did not send.
    async fn finish_recorded(
        &self,
        spec: &JobSpec,
        target: &Target,
        record: RunRecord,
        object: StoredObject,
    ) -> Result<FileReport, Error> {
        info!(key = %target.key, run = %record.run_id, "finishing a run that stopped after changing the org");
        let mut file = FileReport::new(target, FileStatus::Processed, spec.vocabulary);
        file.report = Some(record.report.clone());
        file.add_note(format!(
            "this invocation finished run {} over the file, which stopped after it had applied its rows; its report has every row",
            record.run_id
        ));
        if object.etag == record.source_etag {
            let (table, columns) =
                csvfile::read(&object.body, spec.columns).map_err(|problem| Error::Decode {
                    service: "S3",
                    operation: format!("s3://{}/{}", target.bucket, target.key),
                    path: "(body)".into(),
                    message: problem.to_string(),
                })?;
            let opened = Opened {
                table,
                columns,
                etag: object.etag,
            };
            self.rewrite(&mut file, &opened, &record).await?;
        } else {
            file.csv_rewritten = true;
        }
        if let Some(mail) = &record.mail {
            self.mailer.send(mail).await?;
            file.mail_sent = true;
        }
        self.mark_done(&record, &file.bucket).await;
        Ok(file)
    }

    /// The conditional rewrite keeping `record.keep`: if the file changed
    /// since it was read, it is left alone (the new upload has its own event).
    async fn rewrite(
        &self,
        file: &mut FileReport,
        opened: &Opened,
        record: &RunRecord,
    ) -> Result<(), Error> {
        let reasons: HashMap<u64, &str> = record
            .keep
            .iter()
            .map(|k| (k.line, k.reason.as_str()))
            .collect();
        let keep: Vec<(&Row, String)> = opened
            .table
            .rows
            .iter()
            .filter_map(|row| reasons.get(&row.line).map(|r| (row, r.to_string())))
            .collect();
        let body = csvfile::rewrite(&opened.table, opened.columns.error_column, &keep);
        let function = self.function;
        let mut rewrite = NewObject::csv(&file.bucket, &file.key, body, function, &record.run_id);
        rewrite.if_match = Some(opened.etag.clone());
        match self.store.put(rewrite).await {
            Ok(()) => file.csv_rewritten = true,
            Err(Error::PreconditionFailed { .. }) => {
                warn!(bucket = %file.bucket, key = %file.key, "file changed during the run; left alone");
                file.add_note("the file changed during the run, so it was left alone; the new upload is processed on its own, and rows already done are found done");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The record is done; a failure to say so is logged, not raised (the
    /// work is finished, and a later invocation finds nothing left to do
    /// but the mail, which the record still holds).
    async fn mark_done(&self, record: &RunRecord, bucket: &str) {
        let done = RunRecord {
            done: true,
            ..record.clone()
        };
        if let Err(e) = done.save(self.store, bucket, self.function).await {
            warn!(error = %e, "the run record could not be marked done");
        }
    }

    /// The summary for the admins, if they get one for this file.
    fn summary(&self, spec: &JobSpec, file: &FileReport) -> Option<crate::mail::Mail> {
        let worth_a_mail = matches!(file.status, FileStatus::Processed | FileStatus::Unusable)
            && file.counts.total() > 0;
        (worth_a_mail && !self.common.mail.admins.is_empty())
            .then(|| summary_mail(self.function, spec.vocabulary, file, &self.common.mail))
    }

    /// Mails the admins the file's summary. A failure is raised: the run is
    /// retried (and a live run finishes from its record).
    async fn mail(&self, spec: &JobSpec, file: &mut FileReport) -> Result<(), Error> {
        if let Some(mail) = self.summary(spec, file) {
            self.mailer.send(&mail).await?;
            file.mail_sent = true;
        }
        Ok(())
    }

    /// The report and summary of a file that cannot be used; the file itself
    /// is left untouched.
    async fn unusable(
        &self,
        spec: &JobSpec,
        target: &Target,
        run: &Run,
        problem: String,
    ) -> Result<FileReport, Error> {
        warn!(bucket = %target.bucket, key = %target.key, %problem, "file left untouched");
        let mut file = FileReport::new(target, FileStatus::Unusable, spec.vocabulary);
        file.add_note(format!("{problem}; the file was left untouched"));
        let result = RowResult::failed(problem);
        file.counts.add(result.outcome);
        file.rows.push(ReportedRow {
            line: 1,
            cells: cells(spec, 1, None, &result),
            result,
            subject: String::new(),
        });
        self.write_report(spec, &mut file, run).await?;
        self.mail(spec, &mut file).await?;
        Ok(file)
    }

    /// Adds the rows not reached to the job's remainder file, when it keeps one.
    async fn send_remainder(
        &self,
        spec: &JobSpec,
        file: &mut FileReport,
        opened: &Opened,
        results: &[RowResult],
        run: &Run,
    ) -> Result<(), Error> {
        let Deferral::Remainder { prefix } = spec.deferral else {
            return Ok(());
        };
        let deferred: Vec<(&Row, String)> = opened
            .table
            .rows
            .iter()
            .zip(results)
            .filter(|(_, r)| r.fate == Fate::Deferred)
            .map(|(row, r)| (row, r.reason.clone()))
            .collect();
        if deferred.is_empty() {
            return Ok(());
        }
        let key = if file.key.starts_with(prefix) {
            file.key.clone()
        } else {
            let key = format!("{prefix}{}", file.key);
            let body = csvfile::rewrite(&opened.table, opened.columns.error_column, &deferred);
            self.append_remainder(&file.bucket, &key, body, run).await?;
            key
        };
        file.remaining = Some(format!("s3://{}/{key}", file.bucket));
        Ok(())
    }

    /// Adds `body`'s rows (after its header) to the remainder at `key`,
    /// creating it or appending under its ETag; retried a few times against
    /// concurrent runs.
    async fn append_remainder(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        run: &Run,
    ) -> Result<(), Error> {
        for _ in 0..4 {
            let existing = self.store.get(bucket, key).await?;
            let mut object = NewObject::csv(bucket, key, Vec::new(), run.function, &run.id);
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
            match self.store.put(object).await {
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

    async fn write_report(
        &self,
        spec: &JobSpec,
        file: &mut FileReport,
        run: &Run,
    ) -> Result<(), Error> {
        let headers: Vec<&str> = spec.report.iter().map(|c| c.header()).collect();
        let mut report = ReportWriter::new(&headers);
        for row in &file.rows {
            report.row(&row.cells);
        }
        let date = run.now.date_naive();
        let uri = put_report(
            self.store,
            &file.bucket,
            run.function,
            date,
            &run.id,
            report,
        )
        .await?;
        file.report = Some(uri);
        Ok(())
    }
}

/// The answer for a file another run is still finishing.
fn running(spec: &JobSpec, target: &Target, object: &StoredObject) -> FileReport {
    let status = if object.metadata.contains_key(WRITTEN_BY_METADATA) {
        FileStatus::SelfWritten
    } else {
        FileStatus::InProgress
    };
    let mut file = FileReport::new(target, status, spec.vocabulary);
    if status == FileStatus::InProgress {
        file.add_note("another run is finishing this file; it was left to that run");
    }
    file
}

/// The rows that stay in the file after a live run, with their reasons.
fn kept(spec: &JobSpec, target: &Target, opened: &Opened, results: &[RowResult]) -> Vec<Kept> {
    let deferred_stay = match spec.deferral {
        Deferral::StayInFile => true,
        Deferral::Remainder { prefix } => target.key.starts_with(prefix),
    };
    opened
        .table
        .rows
        .iter()
        .zip(results)
        .filter(|(_, r)| match r.fate {
            Fate::Done => false,
            Fate::Retry => true,
            Fate::Deferred => deferred_stay,
        })
        .map(|(row, r)| Kept {
            line: row.line,
            reason: r.reason.clone(),
        })
        .collect()
}

/// The rows after validation: the results of those that failed it (by row
/// index), and the valid ones for the job.
struct Checked<R> {
    results: Vec<Option<RowResult>>,
    valid: Vec<Valid<R>>,
    /// The row index of each valid row.
    valid_at: Vec<usize>,
}

/// A row with more or fewer fields than the header: its values may have
/// shifted (an unquoted comma), so none of them is shown anywhere.
fn misaligned(row: &Row, columns: &ColumnMap) -> bool {
    row.fields.len() != columns.width
}

/// Validates every row: its shape, the job's unique column, then the job's
/// own checks. Every problem of a row is kept, each naming its field.
fn check_rows<J: CsvJob>(job: &J, opened: &Opened, context: &J::Context) -> Checked<J::Row> {
    let Opened { table, columns, .. } = opened;
    let duplicates = J::SPEC
        .unique_column
        .map(|column| duplicates(table, columns, column))
        .unwrap_or_default();
    let mut checked = Checked {
        results: Vec::with_capacity(table.rows.len()),
        valid: Vec::new(),
        valid_at: Vec::new(),
    };
    for (index, row) in table.rows.iter().enumerate() {
        let problems = if misaligned(row, columns) {
            vec![FieldProblem::row(format!(
                "line {} has {} fields but the header has {} (a comma inside a value needs quotes); no value of it is shown",
                row.line,
                row.fields.len(),
                columns.width
            ))]
        } else if let Some(duplicate) = duplicates.get(&index) {
            vec![duplicate.clone()]
        } else {
            match job.validate(row, columns, context) {
                Ok(parsed) => {
                    checked.valid.push(Valid {
                        line: row.line,
                        row: parsed,
                    });
                    checked.valid_at.push(index);
                    checked.results.push(None);
                    continue;
                }
                Err(problems) => problems,
            }
        };
        checked.results.push(Some(RowResult::invalid(&problems)));
    }
    checked
}

/// Every row's result in file order: the job's answers put in place of the
/// valid rows, and each row not reached told where it waits.
fn settle(
    mut results: Vec<Option<RowResult>>,
    valid_at: Vec<usize>,
    answers: Vec<RowResult>,
    spec: &JobSpec,
    target: &Target,
) -> Vec<RowResult> {
    if answers.len() != valid_at.len() {
        warn!(
            given = valid_at.len(),
            answered = answers.len(),
            "the job did not answer for every row; the rest count as not reached"
        );
    }
    let mut answers = answers.into_iter();
    for index in valid_at {
        results[index] = Some(answers.next().unwrap_or_else(RowResult::deferred));
    }
    let left_in = match spec.deferral {
        Deferral::StayInFile => "left in the file for the next run".to_string(),
        Deferral::Remainder { prefix } if target.key.starts_with(prefix) => {
            "left in this file for the next run".to_string()
        }
        Deferral::Remainder { prefix } => format!("left in {prefix}{}", target.key),
    };
    let mut results: Vec<RowResult> = results.into_iter().flatten().collect();
    for result in results.iter_mut().filter(|r| r.fate == Fate::Deferred) {
        result.reason = format!("{}; {left_in}", result.reason);
    }
    results
}

/// Second and later rows repeating a value of `column` (ignoring case), by
/// row index, with the problem naming the first line.
fn duplicates(table: &Table, columns: &ColumnMap, column: &str) -> HashMap<usize, FieldProblem> {
    let mut first: HashMap<String, u64> = HashMap::new();
    let mut repeated = HashMap::new();
    for (index, row) in table.rows.iter().enumerate() {
        let value = columns.get(row, column);
        if value.is_empty() || misaligned(row, columns) {
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

fn report_rows(spec: &JobSpec, opened: &Opened, results: &[RowResult]) -> Vec<ReportedRow> {
    let Opened { table, columns, .. } = opened;
    let column = spec.subject;
    table
        .rows
        .iter()
        .zip(results)
        .map(|(row, result)| {
            // A misaligned row's values may be anything, a password included.
            let input = (!misaligned(row, columns)).then_some((row, columns));
            let reported = result.values.iter().find(|(k, _)| *k == column);
            ReportedRow {
                line: row.line,
                cells: cells(spec, row.line, input, result),
                subject: match (reported, input) {
                    (Some((_, value)), _) => value.clone(),
                    (None, Some((row, columns))) => columns.get(row, column).to_string(),
                    (None, None) => String::new(),
                },
                result: result.clone(),
            }
        })
        .collect()
}

fn cells(
    spec: &JobSpec,
    line: u64,
    input: Option<(&Row, &ColumnMap)>,
    result: &RowResult,
) -> Vec<String> {
    let values: HashMap<&str, &str> = result
        .values
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    spec.report
        .iter()
        .map(|column| match column {
            ReportColumn::Line => line.to_string(),
            ReportColumn::Input(name) => match (values.get(name), input) {
                (Some(value), _) => value.to_string(),
                (None, Some((row, columns))) => columns.get(row, name).to_string(),
                (None, None) => String::new(),
            },
            ReportColumn::Output(name) => values.get(name).copied().unwrap_or("").to_string(),
            ReportColumn::Outcome => result.outcome.as_str().to_string(),
            ReportColumn::Reason => result.reason.clone(),
        })
        .collect()
}
