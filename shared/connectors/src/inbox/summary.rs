//! The admins' summary of one file, the same for every CSV job.

use super::chain::{job_state_key, JobState, JobStatus};
use super::{FileReport, FileStatus, Outcome, Vocabulary};
use crate::config::MailSettings;
use crate::mail::{header_safe, Mail, Summary};

/// At most this many rows are listed under one title in a mail; the
/// report has all.
const MAX_LISTED: usize = 50;

/// The summary of `file` from `function`, for the admins in `mail`.
pub fn summary_mail(
    function: &str,
    vocabulary: &Vocabulary,
    file: &FileReport,
    mail: &MailSettings,
) -> Mail {
    let counts = &file.counts;
    let headline = match file.status {
        FileStatus::Unusable => "file not processed".to_string(),
        _ if file.dry_run => {
            let mut line = format!(
                "dry run: {} planned, {} failed",
                counts.get(Outcome::Planned),
                counts.get(Outcome::Failed)
            );
            if counts.get(Outcome::Skipped) > 0 {
                line.push_str(&format!(", {} skipped", counts.get(Outcome::Skipped)));
            }
            line
        }
        _ => counts.headline(vocabulary.headline),
    };
    let subject = header_safe(&format!("rollcall {function}: {headline} ({})", file.key));

    let mut body = Summary::default();
    body.fact("File", format!("s3://{}/{}", file.bucket, file.key));
    if file.dry_run {
        body.fact("Mode", "dry run: nothing was changed");
    }
    for stat in &file.stats {
        body.fact(stat.label, stat.value.to_string());
    }
    for outcome in vocabulary.outcomes {
        let n = counts.get(*outcome);
        if n > 0 {
            body.fact(outcome.label(), n.to_string());
        }
    }
    if file.status == FileStatus::Processed && !file.dry_run {
        body.fact(
            "CSV",
            if file.csv_rewritten {
                "rewritten: only the rows that did not finish remain, with an error column"
            } else {
                "not changed"
            },
        );
    }
    if let Some(remaining) = &file.remaining {
        body.fact("Rows left for the next run", remaining.clone());
    }
    if let Some(note) = &file.note {
        body.fact("Note", note.clone());
    }
    if let Some(report) = &file.report {
        body.fact("Report", report.clone());
    }
    for (outcome, title) in vocabulary.listed {
        let names: Vec<String> = file
            .rows
            .iter()
            .filter(|r| r.result.outcome == *outcome)
            .map(|r| r.subject.clone())
            .collect();
        body.list(*title, names, MAX_LISTED);
    }
    let failed: Vec<String> = file
        .rows
        .iter()
        .filter(|r| r.result.outcome == Outcome::Failed)
        .map(|r| format!("line {} ({}): {}", r.line, r.subject, r.result.reason))
        .collect();
    body.list("Rows that failed", failed, MAX_LISTED);
    let (text, html) = body.render();
    Mail {
        from: mail.from.clone(),
        to: mail.admins.clone(),
        subject,
        text,
        html,
    }
}

/// The summary of a whole job, once it ends: every link's counts, failed
/// rows and reports, and where the rows left wait if it did not finish.
pub fn job_summary_mail(
    function: &str,
    vocabulary: &Vocabulary,
    state: &JobState,
    mail: &MailSettings,
) -> Mail {
    let counts = state.counts(vocabulary);
    let links = match state.links {
        1 => "1 link".to_string(),
        n => format!("{n} links"),
    };
    let (status, attention) = match state.status {
        JobStatus::Finished => (format!("finished in {links}"), None),
        JobStatus::Running => (format!("running, {links} so far"), None),
        JobStatus::Paused => (
            format!("paused after {links}"),
            Some(format!(
                "The job reached MAX_CONTINUATIONS: {} rows wait in {}. Invoke the function from the console with that key to resume.",
                state.rows_total.saturating_sub(state.rows_done),
                state.waiting.as_deref().unwrap_or("the paused object")
            )),
        ),
        JobStatus::Superseded => (
            format!("stopped after {links}: the file was replaced"),
            Some(format!(
                "s3://{}/{} was replaced by a newer upload while the job ran, so the rows left in {} were not applied; the new upload runs on its own. To apply them anyway, invoke the function from the console with that key.",
                state.bucket,
                state.source_key,
                state.waiting.as_deref().unwrap_or("the waiting link")
            )),
        ),
    };
    let headline = counts.headline(vocabulary.headline);
    let subject = header_safe(&format!(
        "rollcall {function}: {headline} ({}, {status})",
        state.source_key
    ));
    let mut body = Summary::default();
    if let Some(attention) = attention {
        body.fact("Needs attention", attention);
    }
    body.fact(
        "File",
        format!("s3://{}/{}", state.bucket, state.source_key),
    );
    body.fact("Job", format!("{} ({status})", state.job));
    body.fact(
        "Rows",
        format!("{} of {} done", state.rows_done, state.rows_total),
    );
    for outcome in vocabulary.outcomes {
        let n = counts.get(*outcome);
        if n > 0 {
            body.fact(outcome.label(), n.to_string());
        }
    }
    body.fact(
        "CSV",
        "the rows that failed stay in the file they were read from (the source or a link), with an error column",
    );
    if let Some(error) = &state.last_error {
        body.fact("Last error (retried)", error.clone());
    }
    body.fact(
        "Progress",
        format!("s3://{}/{}", state.bucket, job_state_key(&state.job)),
    );
    body.list("Reports", state.reports(), MAX_LISTED);
    let failed: Vec<String> = state
        .failed_rows()
        .map(|r| {
            let place = if r.link == 1 {
                format!("line {}", r.line)
            } else {
                format!("link {} line {}", r.link, r.line)
            };
            format!("{place} ({}): {}", r.subject, r.reason)
        })
        .collect();
    let failed_total = counts.get(Outcome::Failed);
    if failed_total > failed.len() {
        body.fact(
            "Rows that failed",
            format!(
                "{failed_total}, of which the first {} are listed; the reports have them all",
                failed.len()
            ),
        );
    }
    body.list("Rows that failed", failed, MAX_LISTED);
    let (text, html) = body.render();
    Mail {
        from: mail.from.clone(),
        to: mail.admins.clone(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Headline, ReportedRow, RowResult, Target};
    use super::*;

    const WORDS: Vocabulary = Vocabulary {
        outcomes: &[Outcome::Created, Outcome::Failed, Outcome::Planned],
        success_total: None,
        headline: &[
            Headline::Count(Outcome::Created, "created"),
            Headline::Count(Outcome::Failed, "failed"),
        ],
        listed: &[],
    };

    #[test]
    fn failed_rows_are_listed_and_escaped() {
        let target = Target {
            bucket: "b".into(),
            key: "inbox/arcgis/x.csv".into(),
            dry_run: false,
            consume: true,
            skip_self_written: true,
            sequencer: None,
        };
        let mut file = FileReport::new(&target, FileStatus::Processed, &WORDS);
        let result = RowResult::failed("email: \"a@\" is not a valid address");
        file.counts.add(result.outcome);
        file.rows.push(ReportedRow {
            line: 4,
            cells: vec![],
            result,
            subject: "<script>".into(),
        });
        file.report = Some("s3://b/reports/onboard/2026-11-22/r.csv".into());
        let settings = MailSettings {
            from: "from@example.org".into(),
            admins: vec!["admin@example.org".into()],
        };
        let mail = summary_mail("onboard", &WORDS, &file, &settings);
        assert_eq!(
            mail.subject,
            "rollcall onboard: 0 created, 1 failed (inbox/arcgis/x.csv)"
        );
        assert!(mail
            .text
            .contains("- line 4 (<script>): email: \"a@\" is not a valid address"));
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail
            .text
            .contains("Report: s3://b/reports/onboard/2026-11-22/r.csv"));
    }
}
