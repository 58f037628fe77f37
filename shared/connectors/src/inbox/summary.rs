//! The admins' summary of one file, the same for every CSV job.

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
