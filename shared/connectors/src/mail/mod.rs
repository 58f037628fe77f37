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
