//! The admins' summary of one file, or of a whole job, the same for every
//! CSV job, in the shared [`Layout`].

use super::chain::{job_state_key, JobState, JobStatus};
use super::{Counts, FileReport, FileStatus, Outcome, Vocabulary};
use crate::config::MailSettings;
use crate::mail::{header_safe, Layout, Mail, ReportLink};

/// The headline in words: each outcome that happened, then "see below"
/// when rows failed ("12 created, 2 failed: see below").
fn headline_in_words(counts: &Counts, vocabulary: &Vocabulary, dry_run: bool) -> String {
    let parts: Vec<String> = if dry_run {
        let planned = counts.get(Outcome::Planned);
        let mut parts = vec![format!("{planned} planned")];
        for outcome in [Outcome::Failed, Outcome::Skipped] {
            let n = counts.get(outcome);
            if n > 0 {
                parts.push(format!("{n} {}", outcome.as_str()));
            }
        }
        return format!(
            "Dry run: {}{}",
            grouped(&parts.join(", ")),
            if counts.get(Outcome::Failed) > 0 {
                ": see below"
            } else {
                ""
            }
        );
    } else {
        vocabulary
            .headline
            .iter()
            .filter_map(|part| {
                let line = counts.headline(std::slice::from_ref(part));
                let zero = line.is_empty() || line.split(' ').next() == Some("0");
                (!zero).then_some(line)
            })
            .collect()
    };
    let mut line = if parts.is_empty() {
        "Nothing to do".to_string()
    } else {
        capitalised(&grouped(&parts.join(", ")))
    };
    if counts.get(Outcome::Failed) > 0 {
        line.push_str(": see below");
    }
    line
}

/// Groups the digits of every number of four or more digits in `text` by
/// thousands ("26598 successful" → "26,598 successful").
fn grouped(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        let n = digits.len();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (n - i) % 3 == 0 {
                out.push(',');
            }
            out.push(d);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn lowered(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// "1 row" or "3 rows".
fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        grouped(&format!("{n} rows"))
    }
}

/// The summary of `file` from `function`, for the admins in `mail`;
/// `region` names the S3 console's region in the report's link.
pub fn summary_mail(
    function: &str,
    vocabulary: &Vocabulary,
    file: &FileReport,
    mail: &MailSettings,
    region: Option<&str>,
) -> Mail {
    let counts = &file.counts;
    let subject_headline = match file.status {
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
    let subject = header_safe(&format!(
        "rollcall {function}: {subject_headline} ({})",
        file.key
    ));

    let headline = match file.status {
        FileStatus::Unusable => "The file was not processed: see below".to_string(),
        _ => headline_in_words(counts, vocabulary, file.dry_run),
    };
    let mut body = Layout::new(format!("rollcall {function}"), headline);
    let failed = counts.get(Outcome::Failed);
    if file.status == FileStatus::Unusable {
        body.attention(capitalised(&format!(
            "{}; nothing in it was applied.",
            file.note.as_deref().unwrap_or("the file could not be read")
        )));
    } else if failed > 0 {
        body.attention(if file.dry_run {
            format!("{} would fail: the table below says why.", rows(failed))
        } else {
            format!(
                "{} failed: {} in the file with the reason in its error column; fix {} and upload the file again.",
                rows(failed),
                if failed == 1 { "it stays" } else { "they stay" },
                if failed == 1 { "it" } else { "them" }
            )
        });
    }
    let short_of_licences = file
        .rows
        .iter()
        .filter(|r| r.result.outcome == Outcome::Failed && r.result.reason.contains("licence free"))
        .count();
    if short_of_licences > 0 {
        body.attention(format!(
            "Not enough licences: {} for want of a free licence. Free some up or add more, then upload the file again.",
            if file.dry_run { format!("{} would fail", rows(short_of_licences)) } else { format!("{} failed", rows(short_of_licences)) }
        ));
    }
    if file.chain_stopped {
        body.attention(format!(
            "The job reached MAX_CONTINUATIONS: its rows left wait in {}. Invoke the function from the console with that key to resume.",
            file.remaining.as_deref().unwrap_or("the paused object")
        ));
    }
    body.fact("File", format!("s3://{}/{}", file.bucket, file.key));
    if file.dry_run {
        body.fact("Mode", "Dry run: nothing was changed");
    }
    for stat in &file.stats {
        body.fact(stat.label, stat.value.to_string());
    }
    for outcome in vocabulary.outcomes {
        let n = counts.get(*outcome);
        if n > 0 {
            body.fact(outcome.label(), grouped(&n.to_string()));
        }
    }
    if file.status == FileStatus::Processed && !file.dry_run {
        body.fact(
            "The file now",
            if file.csv_rewritten {
                "holds only the rows that did not finish, with an error column"
            } else {
                "is as it was"
            },
        );
    }
    if let Some(remaining) = &file.remaining {
        body.fact("Rows handed on", remaining.clone());
    }
    if let Some(note) = &file.note {
        if file.status != FileStatus::Unusable {
            body.fact("Note", note.clone());
        }
    }
    for (outcome, title) in vocabulary.listed {
        let acted: Vec<Vec<String>> = file
            .rows
            .iter()
            .filter(|r| r.result.outcome == *outcome)
            .map(|r| {
                vec![
                    r.subject.clone(),
                    r.name.clone(),
                    r.email.clone(),
                    r.result.reason.clone(),
                ]
            })
            .collect();
        body.table(
            *title,
            &["Username", "Full name", "Email", "What happened"],
            acted,
        );
    }
    let failed_rows: Vec<Vec<String>> = file
        .rows
        .iter()
        .filter(|r| r.result.outcome == Outcome::Failed)
        .map(|r| {
            let field = r.result.field.clone().unwrap_or_default();
            let reason = r
                .result
                .reason
                .strip_prefix(&format!("{field}: "))
                .filter(|_| !field.is_empty())
                .unwrap_or(&r.result.reason)
                .to_string();
            vec![r.line.to_string(), r.subject.clone(), field, reason]
        })
        .collect();
    body.table(
        "Rows that failed",
        &["Line", "Username", "Field", "Reason"],
        failed_rows,
    );
    if let Some(mut report) = file.report.as_deref().and_then(ReportLink::from_uri) {
        report.download = file.report_download.clone();
        report.region = region.map(str::to_string);
        body.report(report);
    }
    admins_mail(mail, subject, &body)
}

/// The summary of a whole job, once it ends: every link's counts, failed
/// rows and reports, and where the rows left wait if it did not finish.
pub fn job_summary_mail(
    function: &str,
    vocabulary: &Vocabulary,
    state: &JobState,
    mail: &MailSettings,
    reports: Vec<ReportLink>,
) -> Mail {
    let counts = state.counts(vocabulary);
    let links = match state.links {
        1 => "1 link".to_string(),
        n => format!("{n} links"),
    };
    let status = match state.status {
        JobStatus::Finished => format!("finished in {links}"),
        JobStatus::Running => format!("running, {links} so far"),
        JobStatus::Paused => format!("paused after {links}"),
        JobStatus::Superseded => format!("stopped after {links}: the file was replaced"),
    };
    let subject_headline = counts.headline(vocabulary.headline);
    let subject = header_safe(&format!(
        "rollcall {function}: {subject_headline} ({}, {status})",
        state.source_key
    ));
    let done = headline_in_words(&counts, vocabulary, false);
    let headline = match state.status {
        JobStatus::Finished | JobStatus::Running => done,
        JobStatus::Paused => format!("Paused after {links}: {}", lowered(&done)),
        JobStatus::Superseded => format!("Stopped, the file was replaced: {}", lowered(&done)),
    };
    let mut body = Layout::new(format!("rollcall {function}"), headline);
    let left = state.rows_total.saturating_sub(state.rows_done);
    let waiting = state.waiting.as_deref().unwrap_or("the waiting object");
    match state.status {
        JobStatus::Paused => {
            body.attention(format!(
                "The job reached MAX_CONTINUATIONS: {} wait in {waiting}. Invoke the function from the console with that key to resume.",
                rows(left)
            ));
        }
        JobStatus::Superseded => {
            body.attention(format!(
                "s3://{}/{} was replaced by a newer upload while the job ran, so the rows left in {waiting} were not applied; the new upload runs on its own. To apply them anyway, invoke the function from the console with that key.",
                state.bucket, state.source_key
            ));
        }
        JobStatus::Finished | JobStatus::Running => {}
    }
    let failed = counts.get(Outcome::Failed);
    if failed > 0 {
        body.attention(format!(
            "{} failed: {} in the file {} read from (the source or a link), with the reason in its error column.",
            rows(failed),
            if failed == 1 { "it stays" } else { "they stay" },
            if failed == 1 { "it was" } else { "they were" }
        ));
    }
    body.fact(
        "File",
        format!("s3://{}/{}", state.bucket, state.source_key),
    );
    body.fact("Job", format!("{} ({status})", state.job));
    body.fact(
        "Rows",
        grouped(&format!("{} of {} done", state.rows_done, state.rows_total)),
    );
    for outcome in vocabulary.outcomes {
        let n = counts.get(*outcome);
        if n > 0 {
            body.fact(outcome.label(), grouped(&n.to_string()));
        }
    }
    if let Some(error) = &state.last_error {
        body.fact("Last error (retried)", error.clone());
    }
    body.fact(
        "Progress",
        format!("s3://{}/{}", state.bucket, job_state_key(&state.job)),
    );
    let failed_rows: Vec<Vec<String>> = state
        .failed_rows()
        .map(|r| {
            let place = if r.link == 1 {
                r.line.to_string()
            } else {
                format!("{} (link {})", r.line, r.link)
            };
            let (field, reason) = split_field(&r.reason);
            vec![place, r.subject.clone(), field, reason]
        })
        .collect();
    let kept = failed_rows.len();
    body.table(
        "Rows that failed",
        &["Line", "Username", "Field", "Reason"],
        failed_rows,
    );
    if failed > kept {
        body.fact(
            "Rows that failed, listed",
            format!("the first {kept} of {failed}; the reports have them all"),
        );
    }
    for report in reports {
        body.report(report);
    }
    admins_mail(mail, subject, &body)
}

/// The mail of `body` to the admins in `settings`.
fn admins_mail(settings: &MailSettings, subject: String, body: &Layout) -> Mail {
    let (text, html) = body.render();
    Mail {
        from: settings.from.clone(),
        to: settings.admins.clone(),
        subject,
        text,
        html,
    }
}

/// A failed row's reason as kept in a job's state (`field: message`),
/// split back into the field and the message when it names one.
fn split_field(reason: &str) -> (String, String) {
    match reason.split_once(": ") {
        Some((field, message))
            if !field.is_empty()
                && field.len() <= 32
                && field
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ') =>
        {
            (field.to_string(), message.to_string())
        }
        _ => (String::new(), reason.to_string()),
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
        let result = RowResult::invalid(&[super::super::FieldProblem::new(
            "email",
            "\"a@\" is not a valid address",
        )]);
        file.counts.add(result.outcome);
        file.rows.push(ReportedRow {
            line: 4,
            cells: vec![],
            result,
            subject: "<script>".into(),
            name: String::new(),
            email: String::new(),
        });
        file.report = Some("s3://b/reports/onboard/2026-11-22/r.csv".into());
        let settings = MailSettings {
            from: "from@example.org".into(),
            admins: vec!["admin@example.org".into()],
        };
        let mail = summary_mail("onboard", &WORDS, &file, &settings, Some("eu-west-1"));
        assert_eq!(
            mail.subject,
            "rollcall onboard: 0 created, 1 failed (inbox/arcgis/x.csv)"
        );
        assert!(mail
            .text
            .starts_with("rollcall onboard\n1 failed: see below\n"));
        assert!(mail.text.contains(
            "- Line: 4; Username: <script>; Field: email; Reason: \"a@\" is not a valid address"
        ));
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail
            .text
            .contains("Report: s3://b/reports/onboard/2026-11-22/r.csv"));
    }
}
