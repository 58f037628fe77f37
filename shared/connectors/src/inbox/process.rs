//! One CSV object through a job: open, validate, apply, consume, report.

use std::collections::HashMap;

use tracing::{info, warn};

use super::{
    CsvJob, Deferral, Fate, FieldProblem, FileReport, FileStatus, JobSpec, ReportColumn,
    ReportedRow, RowResult, Run, Target, Valid,
};
use crate::csvfile::{self, ColumnMap, FileProblem, Row, Table};
use crate::report::{put_report, ReportWriter};
use crate::store::{NewObject, ObjectStore, WRITTEN_BY_METADATA};
use crate::Error;

/// A CSV object as read: its rows, where its columns are, and the ETag a
/// rewrite must match.
struct Opened {
    table: Table,
    columns: ColumnMap,
    etag: String,
}

/// One CSV object, start to finish, through `job`. Errors are failures of
/// the whole file (the store or the service) that leave it untouched.
pub async fn process<S: ObjectStore, J: CsvJob>(
    store: &S,
    job: &J,
    target: &Target,
    run: &Run,
) -> Result<FileReport, Error> {
    let spec = J::SPEC;
    let Some(object) = store.get(&target.bucket, &target.key).await? else {
        let mut file = FileReport::new(target, FileStatus::Missing, spec.vocabulary);
        file.add_note("the object was gone when the run read it");
        return Ok(file);
    };
    if target.skip_self_written && object.metadata.contains_key(WRITTEN_BY_METADATA) {
        info!(bucket = %target.bucket, key = %target.key, "object written by rollcall itself; ignored");
        return Ok(FileReport::new(
            target,
            FileStatus::SelfWritten,
            spec.vocabulary,
        ));
    }
    let (table, columns) = match csvfile::read(&object.body, spec.columns) {
        Ok(read) => read,
        Err(problem) => return unusable(store, spec, target, run, problem).await,
    };
    let opened = Opened {
        table,
        columns,
        etag: object.etag,
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
    for result in &results {
        file.counts.add(result.outcome);
    }
    if !run.dry_run {
        consume(
            store,
            spec,
            &mut file,
            &opened,
            &results,
            run,
            target.consume,
        )
        .await?;
    }
    file.rows = report_rows(spec, &opened, results);
    write_report(store, spec, &mut file, run).await?;
    info!(bucket = %file.bucket, key = %file.key, counts = ?file.counts, csv_rewritten = file.csv_rewritten, "file done");
    Ok(file)
}

/// The rows after validation: the results of those that failed it (by row
/// index), and the valid ones for the job.
struct Checked<R> {
    results: Vec<Option<RowResult>>,
    valid: Vec<Valid<R>>,
    /// The row index of each valid row.
    valid_at: Vec<usize>,
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
        if let Some(duplicate) = duplicates.get(&index) {
            let result = RowResult::invalid(std::slice::from_ref(duplicate));
            checked.results.push(Some(result));
            continue;
        }
        let mut problems: Vec<FieldProblem> = Vec::new();
        if row.fields.len() > columns.width {
            problems.push(FieldProblem::row(format!(
                "has {} fields but the header has {} (a comma inside a value needs quotes)",
                row.fields.len(),
                columns.width
            )));
        }
        match job.validate(row, columns, context) {
            Ok(parsed) if problems.is_empty() => {
                checked.valid.push(Valid {
                    line: row.line,
                    row: parsed,
                });
                checked.valid_at.push(index);
                checked.results.push(None);
                continue;
            }
            Ok(_) => {}
            Err(more) => problems.extend(more),
        }
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
async fn unusable<S: ObjectStore>(
    store: &S,
    spec: &JobSpec,
    target: &Target,
    run: &Run,
    problem: FileProblem,
) -> Result<FileReport, Error> {
    warn!(bucket = %target.bucket, key = %target.key, %problem, "file left untouched");
    let mut file = FileReport::new(target, FileStatus::Unusable, spec.vocabulary);
    file.add_note(format!("{problem}; the file was left untouched"));
    let result = RowResult::failed(problem.to_string());
    file.counts.add(result.outcome);
    file.rows.push(ReportedRow {
        line: 1,
        cells: cells(spec, 1, None, &result),
        result,
        subject: String::new(),
    });
    write_report(store, spec, &mut file, run).await?;
    Ok(file)
}

/// Takes the finished rows out of the file, by a conditional put on the ETag
/// that was read, and sends deferred rows where the job wants them.
async fn consume<S: ObjectStore>(
    store: &S,
    spec: &JobSpec,
    file: &mut FileReport,
    opened: &Opened,
    results: &[RowResult],
    run: &Run,
    rewrite_file: bool,
) -> Result<(), Error> {
    let Opened {
        table,
        columns,
        etag,
    } = opened;
    let rows = table.rows.iter().zip(results);
    let deferred: Vec<(&Row, String)> = rows
        .clone()
        .filter(|(_, r)| r.fate == Fate::Deferred)
        .map(|(row, r)| (row, r.reason.clone()))
        .collect();
    let mut deferred_stay = true;
    if let Deferral::Remainder { prefix } = spec.deferral {
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
                append_remainder(store, &file.bucket, &key, body, run).await?;
            }
            file.remaining = Some(format!("s3://{}/{key}", file.bucket));
        }
    }
    if !rewrite_file {
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
        run.function,
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
async fn append_remainder<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    run: &Run,
) -> Result<(), Error> {
    for _ in 0..4 {
        let existing = store.get(bucket, key).await?;
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

fn report_rows(spec: &JobSpec, opened: &Opened, results: Vec<RowResult>) -> Vec<ReportedRow> {
    let Opened { table, columns, .. } = opened;
    let subject_column = spec.report.iter().find_map(|c| match c {
        ReportColumn::Input(name) => Some(*name),
        _ => None,
    });
    table
        .rows
        .iter()
        .zip(results)
        .map(|(row, result)| ReportedRow {
            line: row.line,
            cells: cells(spec, row.line, Some((row, columns)), &result),
            subject: subject_column
                .map(|c| columns.get(row, c).to_string())
                .unwrap_or_default(),
            result,
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
            ReportColumn::Input(name) => input
                .map(|(row, columns)| columns.get(row, name).to_string())
                .unwrap_or_default(),
            ReportColumn::Output(name) => values.get(name).copied().unwrap_or("").to_string(),
            ReportColumn::Outcome => result.outcome.as_str().to_string(),
            ReportColumn::Reason => result.reason.clone(),
        })
        .collect()
}

async fn write_report<S: ObjectStore>(
    store: &S,
    spec: &JobSpec,
    file: &mut FileReport,
    run: &Run,
) -> Result<(), Error> {
    let headers: Vec<&str> = spec.report.iter().map(|c| c.header()).collect();
    let mut report = ReportWriter::new(&headers);
    for row in &file.rows {
        report.row(&row.cells);
    }
    let uri = put_report(
        store,
        &file.bucket,
        run.function,
        run.now.date_naive(),
        &run.id,
        report,
    )
    .await?;
    file.report = Some(uri);
    Ok(())
}
