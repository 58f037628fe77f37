//! The one layout of every admins' summary: a headline in words, what
//! needs attention before anything else, the facts under human labels,
//! tables cut at a sensible length, bar charts made of table cells, and the
//! report as a link that downloads it.
//!
//! The HTML uses tables and inline styles only (no stylesheet, no remote
//! image, no script), so Outlook, Gmail and Apple Mail render it alike, in
//! light and dark mode; the text part carries the same content in the same
//! order.

use html_escape::{encode_double_quoted_attribute, encode_text};

/// At most this many rows of a table are shown; the report has all.
pub const MAX_TABLE_ROWS: usize = 25;

/// One summary mail's content, filled in by a function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// What the mail is about, above the headline (`rollcall onboard`).
    pub kicker: String,
    /// What happened, in words: "12 created, 2 failed: see below".
    pub headline: String,
    /// What needs the admin's attention, said before anything else.
    pub attention: Vec<String>,
    /// `label: value` facts, in order.
    pub facts: Vec<(String, String)>,
    pub sections: Vec<Section>,
    /// The report(s) the run wrote.
    pub reports: Vec<ReportLink>,
}

/// A part of the summary after the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section {
    /// A titled table; rows beyond [`MAX_TABLE_ROWS`] are counted, not shown.
    Table {
        title: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Labelled counts drawn as bars of table cells.
    Bars {
        title: String,
        bars: Vec<(String, usize)>,
    },
    /// A titled paragraph.
    Text { title: String, text: String },
}

/// A report: a link that downloads it for a while, the S3 console's page of
/// it, and its `s3://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLink {
    pub bucket: String,
    pub key: String,
    /// A presigned HTTPS link, when one could be made.
    pub download: Option<String>,
    /// The AWS region, for the console link.
    pub region: Option<String>,
}

impl ReportLink {
    /// The report at an `s3://bucket/key` URI; `None` for anything else.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
        Some(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
            download: None,
            region: None,
        })
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The object's page in the S3 console.
    pub fn console(&self) -> String {
        let key: String =
            percent_encoding::utf8_percent_encode(&self.key, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let region = self.region.as_deref().unwrap_or("us-east-1");
        format!(
            "https://console.aws.amazon.com/s3/object/{}?region={region}&prefix={key}",
            self.bucket
        )
    }
}

impl Layout {
    /// A summary of `kicker` saying `headline` first.
    pub fn new(kicker: impl Into<String>, headline: impl Into<String>) -> Self {
        Self {
            kicker: kicker.into(),
            headline: headline.into(),
            ..Self::default()
        }
    }

    /// Adds something that needs attention.
    pub fn attention(&mut self, what: impl Into<String>) -> &mut Self {
        self.attention.push(what.into());
        self
    }

    /// Adds a `label: value` fact.
    pub fn fact(&mut self, label: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.facts.push((label.into(), value.into()));
        self
    }

    /// Adds a table (left out when it has no rows). A column empty in every
    /// row is left out, so a narrow screen keeps its width for the rest.
    /// Empty rows count towards "and N more" without being shown.
    pub fn table(
        &mut self,
        title: impl Into<String>,
        columns: &[&str],
        rows: Vec<Vec<String>>,
    ) -> &mut Self {
        if rows.is_empty() {
            return self;
        }
        let kept: Vec<usize> = (0..columns.len())
            .filter(|i| {
                rows.iter()
                    .any(|row| row.get(*i).is_some_and(|cell| !cell.is_empty()))
            })
            .collect();
        let rows = rows
            .into_iter()
            .map(|row| {
                if row.is_empty() {
                    row
                } else {
                    kept.iter()
                        .map(|i| row.get(*i).cloned().unwrap_or_default())
                        .collect()
                }
            })
            .collect();
        self.sections.push(Section::Table {
            title: title.into(),
            columns: kept.iter().map(|i| columns[*i].to_string()).collect(),
            rows,
        });
        self
    }

    /// Adds a bar chart.
    pub fn bars(&mut self, title: impl Into<String>, bars: Vec<(String, usize)>) -> &mut Self {
        self.sections.push(Section::Bars {
            title: title.into(),
            bars,
        });
        self
    }

    /// Adds a titled paragraph.
    pub fn text(&mut self, title: impl Into<String>, text: impl Into<String>) -> &mut Self {
        self.sections.push(Section::Text {
            title: title.into(),
            text: text.into(),
        });
        self
    }

    /// Adds a report link.
    pub fn report(&mut self, report: ReportLink) -> &mut Self {
        self.reports.push(report);
        self
    }

    /// The plain-text and the HTML body, the same content in the same order.
    pub fn render(&self) -> (String, String) {
        (self.render_text(), self.render_html())
    }

    fn render_text(&self) -> String {
        let mut text = format!("{}\n{}\n", self.kicker, self.headline);
        if !self.attention.is_empty() {
            text.push_str("\nNeeds attention:\n");
            for what in &self.attention {
                text.push_str(&format!("! {what}\n"));
            }
        }
        if !self.facts.is_empty() {
            text.push('\n');
            for (label, value) in &self.facts {
                text.push_str(&format!("{label}: {value}\n"));
            }
        }
        for section in &self.sections {
            match section {
                Section::Table {
                    title,
                    columns,
                    rows,
                } => {
                    text.push_str(&format!("\n{title}:\n"));
                    for row in rows.iter().take(MAX_TABLE_ROWS) {
                        let cells: Vec<String> = columns
                            .iter()
                            .zip(row)
                            .filter(|(_, v)| !v.is_empty())
                            .map(|(c, v)| format!("{c}: {v}"))
                            .collect();
                        text.push_str(&format!("- {}\n", cells.join("; ")));
                    }
                    if rows.len() > MAX_TABLE_ROWS {
                        text.push_str(&format!("- {}\n", more(rows.len())));
                    }
                }
                Section::Bars { title, bars } => {
                    text.push_str(&format!("\n{title}:\n"));
                    let width = bars
                        .iter()
                        .map(|(l, _)| l.chars().count())
                        .max()
                        .unwrap_or(0);
                    let most = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
                    for (label, n) in bars {
                        let length = if *n == 0 { 0 } else { (n * 30).div_ceil(most) };
                        text.push_str(&format!("{label:<width$}  {} {n}\n", "#".repeat(length)));
                    }
                }
                Section::Text { title, text: body } => {
                    text.push_str(&format!("\n{title}:\n{body}\n"));
                }
            }
        }
        let several = self.reports.len() > 1;
        for (n, report) in self.reports.iter().enumerate() {
            let label = if several {
                format!("Report {}", n + 1)
            } else {
                "Report".to_string()
            };
            text.push_str(&format!("\n{label}: {}\n", report.uri()));
            if let Some(download) = &report.download {
                text.push_str(&format!("Download: {download}\n"));
            }
            text.push_str(&format!("In the S3 console: {}\n", report.console()));
        }
        text
    }

    fn render_html(&self) -> String {
        // Colours chosen to read on light and dark backgrounds alike.
        const FONT: &str = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;";
        let mut html = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"color-scheme\" content=\"light dark\"><meta name=\"supported-color-schemes\" content=\"light dark\"><title>{}</title></head>\
             <body style=\"margin:0;padding:0;{FONT}\">\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"max-width:640px;\">",
            encode_text(&self.headline)
        );
        html.push_str(&format!(
            "<tr><td style=\"padding:0 0 4px 0;font-size:13px;color:#6b7280;{FONT}\">{}</td></tr>\
             <tr><td style=\"padding:0 0 16px 0;font-size:22px;line-height:1.3;font-weight:bold;{FONT}\">{}</td></tr>",
            encode_text(&self.kicker),
            encode_text(&self.headline)
        ));
        if !self.attention.is_empty() {
            html.push_str(
                "<tr><td style=\"padding:12px 14px;border-left:4px solid #d97706;background-color:#fef3c7;color:#78350f;font-size:15px;\">\
                 <strong>Needs attention</strong>",
            );
            for what in &self.attention {
                html.push_str(&format!(
                    "<div style=\"padding-top:6px;\">{}</div>",
                    encode_text(what)
                ));
            }
            html.push_str("</td></tr><tr><td style=\"height:16px;\"></td></tr>");
        }
        if !self.facts.is_empty() {
            html.push_str("<tr><td><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:14px;\">");
            for (label, value) in &self.facts {
                html.push_str(&format!(
                    "<tr><td valign=\"top\" style=\"padding:4px 12px 4px 0;color:#6b7280;white-space:nowrap;{FONT}\">{}</td><td valign=\"top\" style=\"padding:4px 0;word-break:break-word;{FONT}\">{}</td></tr>",
                    encode_text(label),
                    encode_text(value)
                ));
            }
            html.push_str("</table></td></tr>");
        }
        for section in &self.sections {
            html.push_str(&section_html(section));
        }
        let several = self.reports.len() > 1;
        for (n, report) in self.reports.iter().enumerate() {
            html.push_str("<tr><td style=\"padding:20px 0 0 0;font-size:14px;\">");
            if let Some(download) = &report.download {
                let label = if several {
                    format!("Download report {}", n + 1)
                } else {
                    "Download the report".to_string()
                };
                html.push_str(&format!(
                    "<a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background-color:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold;\">{label}</a>&nbsp;&nbsp;",
                    encode_double_quoted_attribute(download)
                ));
            }
            html.push_str(&format!(
                "<a href=\"{}\" style=\"color:#1d4ed8;\">Open in the S3 console</a>\
                 <div style=\"padding-top:6px;font-size:12px;color:#6b7280;word-break:break-all;\">{}</div></td></tr>",
                encode_double_quoted_attribute(&report.console()),
                encode_text(&report.uri())
            ));
        }
        html.push_str("</table></td></tr></table></body></html>");
        html
    }
}

fn more(total: usize) -> String {
    format!("and {} more in the report", total - MAX_TABLE_ROWS)
}

fn section_html(section: &Section) -> String {
    let mut html = String::new();
    let title = |t: &str| {
        format!(
            "<tr><td style=\"padding:20px 0 6px 0;font-size:16px;font-weight:bold;\">{}</td></tr>",
            encode_text(t)
        )
    };
    match section {
        Section::Table {
            title: t,
            columns,
            rows,
        } => {
            html.push_str(&title(t));
            html.push_str("<tr><td><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:13px;border-collapse:collapse;\"><tr>");
            for column in columns {
                html.push_str(&format!(
                    "<th align=\"left\" style=\"padding:4px 8px 4px 0;border-bottom:1px solid #9ca3af;\">{}</th>",
                    encode_text(column)
                ));
            }
            html.push_str("</tr>");
            for row in rows.iter().take(MAX_TABLE_ROWS) {
                html.push_str("<tr>");
                for cell in row {
                    html.push_str(&format!(
                        "<td valign=\"top\" style=\"padding:4px 8px 4px 0;border-bottom:1px solid #e5e7eb;word-break:break-word;\">{}</td>",
                        encode_text(cell)
                    ));
                }
                html.push_str("</tr>");
            }
            if rows.len() > MAX_TABLE_ROWS {
                html.push_str(&format!(
                    "<tr><td colspan=\"{}\" style=\"padding:6px 0;color:#6b7280;\">{}</td></tr>",
                    columns.len(),
                    encode_text(&more(rows.len()))
                ));
            }
            html.push_str("</table></td></tr>");
        }
        Section::Bars { title: t, bars } => {
            html.push_str(&title(t));
            let most = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
            html.push_str("<tr><td><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:13px;\">");
            for (label, n) in bars {
                // Percent of the widest bar; at least 1 so a count shows.
                let percent = if *n == 0 {
                    0
                } else {
                    (n * 100).div_ceil(most).max(1)
                };
                html.push_str(&format!(
                    "<tr><td width=\"90\" style=\"padding:3px 8px 3px 0;white-space:nowrap;\">{}</td><td style=\"padding:3px 0;\">\
                     <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr>",
                    encode_text(label)
                ));
                if percent > 0 {
                    html.push_str(&format!(
                        "<td width=\"{percent}%\" height=\"14\" style=\"background-color:#2563eb;font-size:0;line-height:0;\">&nbsp;</td>"
                    ));
                }
                html.push_str(&format!(
                    "<td style=\"padding-left:6px;white-space:nowrap;\">{n}</td></tr></table></td></tr>"
                ));
            }
            html.push_str("</table></td></tr>");
        }
        Section::Text { title: t, text } => {
            html.push_str(&title(t));
            html.push_str(&format!(
                "<tr><td style=\"font-size:14px;\">{}</td></tr>",
                encode_text(text)
            ));
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_and_html_say_the_same_things_in_the_same_order_escaped() {
        let mut layout = Layout::new("rollcall onboard", "1 created, 1 failed: see below");
        layout
            .attention("1 row failed")
            .fact("File", "s3://b/inbox/arcgis/<x>.csv")
            .table(
                "Rows that failed",
                &["Line", "Username", "Field", "Reason"],
                vec![vec![
                    "4".into(),
                    "<script>".into(),
                    "email".into(),
                    "bad".into(),
                ]],
            )
            .bars("Inactivity", vec![("active".into(), 3), ("365+".into(), 0)]);
        layout.report(ReportLink {
            download: Some("https://b.s3.amazonaws.com/r.csv?X-Amz-Signature=1&a=2".into()),
            region: Some("eu-west-1".into()),
            ..ReportLink::from_uri("s3://b/reports/onboard/r 1.csv").unwrap()
        });
        let (text, html) = layout.render();
        let order = [
            "1 created",
            "1 row failed",
            "File:",
            "Rows that failed",
            "Inactivity",
            "Report:",
        ];
        let mut at = 0;
        for word in order {
            let found = text[at..]
                .find(word)
                .unwrap_or_else(|| panic!("{word} in order: {text}"));
            at += found;
        }
        assert!(text.contains("- Line: 4; Username: <script>; Field: email; Reason: bad"));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(
            html.contains("href=\"https://b.s3.amazonaws.com/r.csv?X-Amz-Signature=1&amp;a=2\"")
        );
        assert!(html.contains("prefix=reports%2Fonboard%2Fr%201%2Ecsv"));
        assert!(!html.contains("<img") && !html.contains("<style") && !html.contains("<link"));
    }

    #[test]
    fn a_column_empty_in_every_row_is_left_out() {
        let mut layout = Layout::new("k", "h");
        let rows = vec![
            vec!["ann".into(), String::new(), "deleted".into()],
            vec!["bo".into(), String::new(), "disabled".into()],
        ];
        layout.table("Members", &["Username", "Email", "What happened"], rows);
        let (text, html) = layout.render();
        assert!(
            text.contains("- Username: ann; What happened: deleted\n"),
            "{text}"
        );
        assert!(!html.contains(">Email<"), "{html}");
    }

    #[test]
    fn long_tables_are_cut_with_a_count_of_the_rest() {
        let mut layout = Layout::new("k", "h");
        let rows = (0..30).map(|n| vec![n.to_string()]).collect();
        layout.table("Members", &["n"], rows);
        let (text, html) = layout.render();
        assert!(text.contains("- and 5 more in the report"));
        assert!(html.contains("and 5 more in the report"));
        assert!(!text.contains("n: 25"));
    }
}
