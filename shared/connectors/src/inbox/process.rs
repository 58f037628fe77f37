//! One CSV object through a job: open, validate, apply, then finish in an
//! order that survives a failure at any step: report, remainder, run record,
//! rewrite, mail.

use std::collections::HashMap;

use chrono::Utc;
use tracing::{info, warn};

use super::chain::{
    self, job_id, link_key, paused_key, version_of, Claimed, FailedRow, JobBook, JobState,
    JobStatus, Link, LinkDone,
};
use super::record::{JobUpdate, Kept, RunRecord, Standing};
use super::{
    job_summary_mail, summary_mail, CsvJob, Fate, FieldProblem, FileReport, FileStatus, Inbox,
    JobSpec, ReportColumn, ReportedRow, RowResult, Run, Target, Valid,
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

/// Where a live run stands in a job: the link it is, and where the rows it
/// does not reach go.
#[derive(Debug, Clone)]
struct ChainAt {
    /// This run's link (number 1 for a source file, whose job exists only
    /// once it hands rows on).
    link: Link,
    /// Where the rows not reached go, and whether that is the paused object.
    next_key: String,
    pauses: bool,
    /// The run takes the finished rows out of the file (so it keeps a run record).
    consumed: bool,
}

impl ChainAt {
    fn next(&self) -> Link {
        Link {
            number: self.link.number + 1,
            paused: self.pauses,
            ..self.link.clone()
        }
    }
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
                return Box::pin(self.unusable(spec, target, run, problem)).await;
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
                        return Box::pin(self.finish_recorded(spec, target, record, object)).await
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
        if run.dry_run {
            return Box::pin(self.process_rows(job, target, run, object, None)).await;
        }
        let Some(link) = Link::from_metadata(&object.metadata) else {
            // A source file: link 1 of the job it starts if it hands rows on.
            let version = version_of(&object);
            let nonce = target.sequencer.as_deref().unwrap_or(&run.id);
            let link = Link {
                job: job_id(run.function, &target.key, &version, nonce),
                number: 1,
                source_key: target.key.clone(),
                source_version: version,
                paused: false,
            };
            let at = self.chain_at(spec, target, link, 1);
            return Box::pin(self.process_rows(job, target, run, object, Some(at))).await;
        };
        Box::pin(self.process_link(job, target, run, object, link)).await
    }

    /// A continuation link: ignored while paused (unless invoked from the
    /// console, which resumes it) or when a newer upload replaced its
    /// source; otherwise claimed, so it runs once, and released with the
    /// error if its run fails.
    async fn process_link<J: CsvJob>(
        &self,
        job: &J,
        target: &Target,
        run: &Run,
        object: StoredObject,
        link: Link,
    ) -> Result<FileReport, Error> {
        let spec = J::SPEC;
        let progress = self.progress_uri(&target.bucket, &link.job);
        let by_s3 = target.skip_self_written;
        if link.paused && by_s3 {
            let mut file = FileReport::new(target, FileStatus::Paused, spec.vocabulary);
            file.add_note(format!(
                "job {} reached MAX_CONTINUATIONS; its rows wait here until the function is invoked from the console with this key",
                link.job
            ));
            file.progress = Some(progress);
            return Ok(file);
        }
        if by_s3 && !link.paused {
            let source = self.store.get(&target.bucket, &link.source_key).await?;
            if link.is_stale(source.as_ref()) {
                return self.superseded(spec, target, run, &link).await;
            }
        }
        let book = JobBook::new(self.store, &target.bucket, run.function);
        let until = run
            .deadline
            .at_utc()
            .unwrap_or_else(|| Utc::now() + FINISH_WITHOUT_DEADLINE);
        let counted_from = match book.claim(&link, &run.id, until).await? {
            (Claimed::Go, counted_from) => counted_from,
            (Claimed::AlreadyDone, _) => {
                info!(key = %target.key, job = %link.job, link = link.number, "link already done; its event came again");
                let mut file = FileReport::new(target, FileStatus::Duplicate, spec.vocabulary);
                file.add_note(format!(
                    "link {} of job {} was already done; this event of it was ignored",
                    link.number, link.job
                ));
                file.progress = Some(progress);
                return Ok(file);
            }
            (Claimed::Busy { run_id }, _) => {
                let mut file = FileReport::new(target, FileStatus::InProgress, spec.vocabulary);
                file.add_note(format!(
                    "run {run_id} is running link {} of job {}; this event of it was left to that run",
                    link.number, link.job
                ));
                file.progress = Some(progress);
                return Ok(file);
            }
        };
        let at = self.chain_at(spec, target, link.clone(), counted_from);
        let done = Box::pin(self.process_rows(job, target, run, object, Some(at))).await;
        if let Err(error) = &done {
            if let Err(also) = book.release(&link, &run.id, &error.to_string()).await {
                warn!(error = %also, "the link's claim could not be released; it lapses at the run's deadline");
            }
        }
        done
    }

    /// Where the rows a run over `link` does not reach go: the next link,
    /// or the paused object once the chain has had its continuations.
    fn chain_at(&self, spec: &JobSpec, target: &Target, link: Link, counted_from: u32) -> ChainAt {
        let next = link.number + 1;
        let allowed = counted_from as usize + self.limits.max_continuations;
        let pauses = next as usize > allowed;
        let next_key = if pauses {
            paused_key(spec.inbox, &link.job)
        } else {
            link_key(spec.inbox, &link.job, next)
        };
        ChainAt {
            link,
            next_key,
            pauses,
            consumed: target.consume,
        }
    }

    fn progress_uri(&self, bucket: &str, job: &str) -> String {
        format!("s3://{bucket}/{}", chain::job_state_key(job))
    }

    /// A link whose source was replaced by a newer upload: its rows are not
    /// applied (the new upload has its own run), the job says so, and its
    /// summary goes out once.
    async fn superseded(
        &self,
        spec: &JobSpec,
        target: &Target,
        run: &Run,
        link: &Link,
    ) -> Result<FileReport, Error> {
        let uri = format!("s3://{}/{}", target.bucket, target.key);
        warn!(key = %target.key, job = %link.job, source = %link.source_key, "the source was replaced; link not applied");
        let book = JobBook::new(self.store, &target.bucket, run.function);
        let state = book
            .update(link, &run.id, |state| {
                let first = !state.summarised;
                state.status = JobStatus::Superseded;
                state.waiting = Some(uri.clone());
                state.summarised = true;
                state.updated_at = Utc::now();
                (first, state.clone())
            })
            .await?;
        let mut file = FileReport::new(target, FileStatus::Superseded, spec.vocabulary);
        file.add_note(format!(
            "s3://{}/{} was replaced by a newer upload, so the rows of this link were not applied; to apply them anyway, invoke the function from the console with this key",
            target.bucket, link.source_key
        ));
        file.progress = Some(self.progress_uri(&target.bucket, &link.job));
        if let (true, state) = state {
            if let Some(mail) = self.job_summary(spec, &state).await {
                self.mailer.send(&mail).await?;
                file.mail_sent = true;
            }
        }
        Ok(file)
    }

    /// Reads, validates and applies the rows of an opened object, then
    /// finishes: report, next link and job state, run record, rewrite, mail.
    async fn process_rows<J: CsvJob>(
        &self,
        job: &J,
        target: &Target,
        run: &Run,
        object: StoredObject,
        chain: Option<ChainAt>,
    ) -> Result<FileReport, Error> {
        let spec = J::SPEC;
        let live = !run.dry_run && target.consume;
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
            if let Some(at) = chain.as_ref().filter(|at| at.link.number > 1) {
                // An emptied link still ends its job's story.
                return self.finish_link(spec, file, &opened, &[], at, run).await;
            }
            return Ok(file);
        }

        let context = job.context().await?;
        let checked = check_rows(job, &opened, &context);
        // Boxed: a job's future nests deep (streams over paced calls); one
        // allocation per file keeps every handler's future shallow.
        let applied = Box::pin(job.apply(checked.valid, &context, run)).await?;
        let left_in = match &chain {
            None => "not planned in this dry run".to_string(),
            Some(at) if at.pauses => format!(
                "waits in s3://{}/{} (MAX_CONTINUATIONS reached)",
                target.bucket, at.next_key
            ),
            Some(at) => format!("handed on to s3://{}/{}", target.bucket, at.next_key),
        };
        let results = settle(checked.results, checked.valid_at, applied.results, &left_in);
        file.stats = applied.stats;
        for note in applied.notes {
            file.add_note(note);
        }
        for result in &results {
            file.counts.add(result.outcome);
        }
        file.rows = report_rows(spec, &opened, &results);

        self.write_report(spec, &mut file, run).await?;
        match chain {
            Some(at) if at.link.number > 1 || results.iter().any(|r| r.fate == Fate::Deferred) => {
                Box::pin(self.finish_link(spec, file, &opened, &results, &at, run)).await
            }
            _ => Box::pin(self.finish_file(spec, file, &opened, &results, run, live)).await,
        }
    }

    /// The finish of a file that is no part of a job: each step's record
    /// comes before the next step.
    async fn finish_file(
        &self,
        spec: &JobSpec,
        mut file: FileReport,
        opened: &Opened,
        results: &[RowResult],
        run: &Run,
        live: bool,
    ) -> Result<FileReport, Error> {
        if !live {
            self.mail(spec, &mut file).await?;
            return Ok(file);
        }
        let mail = self.summary(
            spec,
            &FileReport {
                csv_rewritten: true,
                ..file.clone()
            },
        );
        let record = self.run_record(&file, opened, results, run, mail, None);
        Box::pin(self.finish_recorded_run(spec, file, opened, record)).await
    }

    /// The finish of a link of a job: the rows not reached are handed on
    /// (or wait in the paused object), the job's state records the link,
    /// and the job's summary goes out when the job ends.
    async fn finish_link(
        &self,
        spec: &JobSpec,
        mut file: FileReport,
        opened: &Opened,
        results: &[RowResult],
        at: &ChainAt,
        run: &Run,
    ) -> Result<FileReport, Error> {
        let link = &at.link;
        let live = at.consumed;
        let deferred: Vec<(&Row, String)> = opened
            .table
            .rows
            .iter()
            .zip(results)
            .filter(|(_, r)| r.fate == Fate::Deferred)
            .map(|(row, _)| (row, String::new()))
            .collect();
        let mut waiting = None;
        if !deferred.is_empty() {
            let body = csvfile::rewrite(&opened.table, opened.columns.error_column, &deferred);
            let next = at.next();
            self.write_link(&file.bucket, &at.next_key, body, &next, at.pauses)
                .await?;
            let uri = format!("s3://{}/{}", file.bucket, at.next_key);
            file.remaining = Some(uri.clone());
            waiting = Some(uri);
            if at.pauses {
                file.chain_stopped = true;
                file.add_note(format!(
                    "the job reached MAX_CONTINUATIONS ({}); its {} rows left wait in {}: invoke the function from the console with that key to resume",
                    self.limits.max_continuations,
                    deferred.len(),
                    file.remaining.as_deref().unwrap_or_default()
                ));
            } else {
                file.add_note(format!(
                    "{} rows not reached before the deadline continue in link {}",
                    deferred.len(),
                    link.number + 1
                ));
            }
        }
        let status = match (&waiting, at.pauses) {
            (None, _) => JobStatus::Finished,
            (Some(_), true) => JobStatus::Paused,
            (Some(_), false) => JobStatus::Running,
        };
        let done = LinkDone {
            link: link.number,
            key: file.key.clone(),
            run_id: run.id.clone(),
            rows: results.len(),
            handed_on: deferred.len(),
            // The rows handed on are counted by the link that does them.
            counts: file
                .counts
                .each()
                .map(|(outcome, n)| match outcome {
                    super::Outcome::Skipped => (outcome, n - deferred.len()),
                    _ => (outcome, n),
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
            failed_rows: file
                .rows
                .iter()
                .filter(|r| r.result.outcome == super::Outcome::Failed)
                .take(chain::FAILED_ROWS_KEPT)
                .map(|r| FailedRow {
                    link: link.number,
                    line: r.line,
                    subject: r.subject.clone(),
                    reason: r.result.reason.clone(),
                })
                .collect(),
            report: file.report.clone(),
            finished_at: Utc::now(),
        };
        let update = JobUpdate {
            link: link.clone(),
            done,
            status,
            waiting,
        };
        file.job = Some(link.job.clone());
        file.progress = Some(self.progress_uri(&file.bucket, &link.job));
        let mail = if status == JobStatus::Running {
            None
        } else {
            let book = JobBook::new(self.store, &file.bucket, run.function);
            let mut state = match book.read(&link.job).await? {
                Some((state, _)) => state,
                None => JobState::new(&link.job, run.function, &file.bucket, link, run.now),
            };
            update.apply(&mut state, Utc::now());
            self.job_summary(spec, &state).await
        };
        if !live {
            // A console run over a file outside the inbox: nothing to rewrite.
            self.apply_update(&file.bucket, &update, &run.id).await?;
            if let Some(mail) = &mail {
                self.mailer.send(mail).await?;
                file.mail_sent = true;
            }
            return Ok(file);
        }
        let record = self.run_record(&file, opened, results, run, mail, Some(update));
        Box::pin(self.finish_recorded_run(spec, file, opened, record)).await
    }

    /// The run record of a live run, before anything it records is done.
    fn run_record(
        &self,
        file: &FileReport,
        opened: &Opened,
        results: &[RowResult],
        run: &Run,
        mail: Option<crate::mail::Mail>,
        job: Option<JobUpdate>,
    ) -> RunRecord {
        RunRecord {
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
            keep: kept(opened, results),
            mail,
            done: false,
            job,
        }
    }

    /// Saves `record`, then does what it records; a failure marks it failed,
    /// so the next invocation of the file finishes it.
    async fn finish_recorded_run(
        &self,
        spec: &JobSpec,
        mut file: FileReport,
        opened: &Opened,
        record: RunRecord,
    ) -> Result<FileReport, Error> {
        record.save(self.store, &file.bucket, self.function).await?;
        match self
            .rewrite_and_mail(spec, &mut file, opened, &record)
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
                if let Err(also) = failed.save(self.store, &file.bucket, self.function).await {
                    warn!(error = %also, "the run record could not be marked failed; it is finished after its deadline");
                }
                Err(e)
            }
        }
    }

    /// Records a link in its job's state.
    async fn apply_update(
        &self,
        bucket: &str,
        update: &JobUpdate,
        run_id: &str,
    ) -> Result<(), Error> {
        let book = JobBook::new(self.store, bucket, self.function);
        book.update(&update.link, run_id, |state| {
            update.apply(state, Utc::now())
        })
        .await
    }

    /// Writes the rows handed on as `link`'s object: without the mark that
    /// makes an event ignored, so its event starts the next link (a paused
    /// object's event is ignored for its metadata). A link already written
    /// by an earlier attempt of the same run is kept.
    async fn write_link(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        link: &Link,
        pauses: bool,
    ) -> Result<(), Error> {
        let object = NewObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
            body,
            content_type: "text/csv; charset=utf-8".into(),
            metadata: link.metadata(),
            if_match: None,
            if_absent: !pauses,
        };
        match self.store.put(object).await {
            Ok(()) => {
                info!(key, job = %link.job, link = link.number, "rows handed on");
                Ok(())
            }
            Err(Error::PreconditionFailed { .. }) => {
                info!(key, "link already written by an earlier attempt; kept");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The job's summary for the admins, if they get mail, with a link
    /// that downloads each link's report.
    async fn job_summary(&self, spec: &JobSpec, state: &JobState) -> Option<crate::mail::Mail> {
        if self.common.mail.admins.is_empty() {
            return None;
        }
        let mut reports = Vec::new();
        for uri in state.reports() {
            if let Some(mut report) = crate::mail::ReportLink::from_uri(&uri) {
                report.download = self.download_link(&uri).await;
                report.region = self.common.report_links.region.clone();
                reports.push(report);
            }
        }
        Some(job_summary_mail(
            self.function,
            spec.vocabulary,
            state,
            &self.common.mail,
            reports,
        ))
    }

    /// Records the link in its job (if the run is one), rewrites the file
    /// keeping the recorded rows, mails the summary, and marks the record done.
    async fn rewrite_and_mail(
        &self,
        spec: &JobSpec,
        file: &mut FileReport,
        opened: &Opened,
        record: &RunRecord,
    ) -> Result<(), Error> {
        match &record.job {
            Some(update) => {
                self.apply_update(&file.bucket, update, &record.run_id)
                    .await?;
                self.rewrite(file, opened, record).await?;
                if let Some(mail) = &record.mail {
                    self.mailer.send(mail).await?;
                    file.mail_sent = true;
                }
            }
            None => {
                self.rewrite(file, opened, record).await?;
                self.mail(spec, file).await?;
            }
        }
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
        if let Some(update) = &record.job {
            self.apply_update(&target.bucket, update, &record.run_id)
                .await?;
            file.job = Some(update.link.job.clone());
            file.progress = Some(self.progress_uri(&target.bucket, &update.link.job));
        }
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
        if let Some(update) = &record.job {
            // Marks the source as the job's own, so its links stay current.
            rewrite
                .metadata
                .insert(chain::JOB_METADATA.to_string(), update.link.job.clone());
        }
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
        (worth_a_mail && !self.common.mail.admins.is_empty()).then(|| {
            summary_mail(
                self.function,
                spec.vocabulary,
                file,
                &self.common.mail,
                self.common.report_links.region.as_deref(),
            )
        })
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
            name: String::new(),
            email: String::new(),
        });
        self.write_report(spec, &mut file, run).await?;
        self.mail(spec, &mut file).await?;
        Ok(file)
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
        file.report_download = self.download_link(&uri).await;
        file.report = Some(uri);
        Ok(())
    }

    /// A presigned link that downloads the report at `uri`; a failure is
    /// logged, and the mail goes without it.
    async fn download_link(&self, uri: &str) -> Option<String> {
        let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
        let valid = self.common.report_links.valid();
        match self.store.download_link(bucket, key, valid).await {
            Ok(link) => link,
            Err(e) => {
                warn!(error = %e, "no download link for the report; the mail names it without one");
                None
            }
        }
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

/// The rows that stay in the file after a live run: the failed ones, with
/// their reasons (rows not reached are handed on to the next link).
fn kept(opened: &Opened, results: &[RowResult]) -> Vec<Kept> {
    opened
        .table
        .rows
        .iter()
        .zip(results)
        .filter(|(_, r)| r.fate == Fate::Retry)
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
/// valid rows, and each row not reached told where it waits (`left_in`).
fn settle(
    mut results: Vec<Option<RowResult>>,
    valid_at: Vec<usize>,
    answers: Vec<RowResult>,
    left_in: &str,
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
            let listed = spec
                .vocabulary
                .listed
                .iter()
                .any(|(outcome, _)| *outcome == result.outcome);
            ReportedRow {
                line: row.line,
                cells: cells(spec, row.line, input, result),
                subject: match (reported, input) {
                    (Some((_, value)), _) => value.clone(),
                    (None, Some((row, columns))) => columns.get(row, column).to_string(),
                    (None, None) => String::new(),
                },
                // Only the rows the summary lists by member keep a name
                // and an email (a 100,000-row file keeps none it does not show).
                name: listed
                    .then_some(input)
                    .flatten()
                    .map(|(row, columns)| {
                        let first = columns.get(row, "firstname");
                        let last = columns.get(row, "lastname");
                        format!("{first} {last}").trim().to_string()
                    })
                    .unwrap_or_default(),
                email: listed
                    .then_some(input)
                    .flatten()
                    .map(|(row, columns)| columns.get(row, "email").to_string())
                    .unwrap_or_default(),
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
