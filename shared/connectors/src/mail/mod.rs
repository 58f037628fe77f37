//! The mail port (SES) and the message type the jobs build.

pub mod layout;
mod ses;

pub use layout::{Layout, ReportLink, Section};
pub use ses::SesMailer;

use crate::Error;

/// One message with a plain-text and an HTML body.
///
/// Recipients are separate list items and the subject is a data value, so
/// nothing a member controls can become a header line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Sends mail.
pub trait Mailer {
    /// Sends the message and returns the service's message id.
    async fn send(&self, mail: &Mail) -> Result<String, Error>;
}

/// Removes CR, LF and other control characters from a header-like value
/// (subject, display name) so it cannot start a new header line.
pub fn header_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An admins' summary: facts as a table, then titled lists, rendered as
/// plain text and as HTML with every value escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    facts: Vec<(String, String)>,
    lists: Vec<(String, Vec<String>, usize)>,
}

impl Summary {
    /// Adds a `name: value` line.
    pub fn fact(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.facts.push((name.into(), value.into()));
        self
    }

    /// Adds a titled list showing at most `shown` of `items`; the rest are
    /// counted ("… and N more in the report"). Empty lists are left out.
    pub fn list(
        &mut self,
        title: impl Into<String>,
        items: Vec<String>,
        shown: usize,
    ) -> &mut Self {
        if !items.is_empty() {
            self.lists.push((title.into(), items, shown));
        }
        self
    }

    /// The text and the HTML body.
    pub fn render(&self) -> (String, String) {
        use html_escape::encode_text;
        let mut text = String::new();
        let mut html = String::from("<html><body><table>");
        for (name, value) in &self.facts {
            text.push_str(&format!("{name}: {value}\n"));
            html.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                encode_text(name),
                encode_text(value)
            ));
        }
        html.push_str("</table>");
        for (title, items, shown) in &self.lists {
            text.push_str(&format!("\n{title}:\n"));
            html.push_str(&format!("<h3>{}</h3><ul>", encode_text(title)));
            for item in items.iter().take(*shown) {
                text.push_str(&format!("- {item}\n"));
                html.push_str(&format!("<li>{}</li>", encode_text(item)));
            }
            if items.len() > *shown {
                let more = format!("… and {} more in the report", items.len() - shown);
                text.push_str(&format!("- {more}\n"));
                html.push_str(&format!("<li>{more}</li>"));
            }
            html.push_str("</ul>");
        }
        html.push_str("</body></html>");
        (text, html)
    }
}
