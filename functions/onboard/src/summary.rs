//! The admins' summary mail and its text.

use connectors::mail::{header_safe, Mail, Summary};

use crate::job::{FileStatus, FileSummary, Outcome};

/// At most this many failed rows are listed in a mail; the report has all.
const MAX_LISTED: usize = 50;

/// The summary of one file for `to`, in text and HTML.
pub fn mail(summary: &FileSummary, from: &str, to: &[String]) -> Mail {
    let c = &summary.counts;
    let file = format!("s3://{}/{}", summary.bucket, summary.key);
    let headline = match summary.status {
        FileStatus::Unusable => "file not processed".to_string(),
        _ if summary.dry_run => format!("dry run: {} planned, {} failed", c.planned, c.failed),
        _ => format!(
            "{} created, {} invited, {} existing, {} failed, {} skipped",
            c.created, c.invited, c.exists, c.failed, c.skipped
        ),
    };
    let subject = header_safe(&format!("rollcall onboard: {headline} ({})", summary.key));

    let mut facts: Vec<(String, String)> = vec![("File".into(), file)];
    if summary.dry_run {
        facts.push(("Mode".into(), "dry run: nothing was changed".into()));
    }
    for (name, count) in [
        ("Created", c.created),
        ("Invited", c.invited),
        ("Already members", c.exists),
        ("Planned", c.planned),
        ("Failed", c.failed),
        ("Skipped (deadline)", c.skipped),
    ] {
        if count > 0 {
            facts.push((name.into(), count.to_string()));
        }
    }
    facts.push((
        "CSV".into(),
        if summary.csv_rewritten {
            "rewritten: only the rows that did not finish remain, with an error column".into()
        } else {
            "not changed".into()
        },
    ));
    if let Some(note) = &summary.note {
        facts.push(("Note".into(), note.clone()));
    }
    if let Some(report) = &summary.report {
        facts.push(("Report".into(), report.clone()));
    }
    let failed: Vec<String> = summary
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| format!("line {} ({}): {}", r.line, r.username, r.reason))
        .collect();
    let mut body = Summary::default();
    for (name, value) in facts {
        body.fact(name, value);
    }
    body.list("Rows that failed", failed, MAX_LISTED);
    let (text, html) = body.render();

    Mail {
        from: from.to_string(),
        to: to.to_vec(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::RowReport;

    #[test]
    fn failed_rows_are_listed_and_escaped() {
        let mut summary = FileSummary::new("b", "inbox/arcgis/x.csv", FileStatus::Processed, false);
        summary.rows.push(RowReport {
            line: 4,
            username: "<script>".into(),
            outcome: Outcome::Failed,
            groups_added: vec![],
            reason: "email: \"a@\" is not a valid address".into(),
        });
        summary.counts.add(Outcome::Failed);
        summary.report = Some("s3://b/reports/onboard/2026-11-22/r.csv".into());
        let mail = mail(&summary, "from@example.org", &["admin@example.org".into()]);
        assert_eq!(
            mail.subject,
            "rollcall onboard: 0 created, 0 invited, 0 existing, 1 failed, 0 skipped (inbox/arcgis/x.csv)"
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
