//! The SESv2 adapter of [`Mailer`].

use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{header_safe, Mail, Mailer};
use crate::aws::{attempts_of, sdk_error};
use crate::deadline::{within, Budget};
use crate::Error;

const SES: &str = "SES";

/// SESv2 adapter of [`Mailer`]: sends `Content::Simple` messages with text and
/// HTML bodies in UTF-8, so SES builds the MIME and no caller text becomes a
/// header line. The subject still goes through [`header_safe`].
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    attempts: u32,
}

impl SesMailer {
    /// Wraps a client.
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        let attempts = attempts_of(client.config().retry_config());
        SesMailer { client, attempts }
    }
}

/// A UTF-8 SES content part.
fn utf8(data: impl Into<String>) -> Result<Content, Error> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| Error::Aws {
            service: SES,
            operation: "SendEmail",
            code: "BuildError".into(),
            message: e.to_string(),
        })
}

impl Mailer for SesMailer {
    #[tracing::instrument(skip(self, mail), fields(recipients = mail.to.len()))]
    async fn send(&self, mail: &Mail) -> Result<String, Error> {
        let message = Message::builder()
            .subject(utf8(header_safe(&mail.subject))?)
            .body(
                Body::builder()
                    .text(utf8(mail.text.as_str())?)
                    .html(utf8(mail.html.as_str())?)
                    .build(),
            )
            .build();
        let request = self
            .client
            .send_email()
            .from_email_address(&mail.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(mail.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send();
        let output = within(Budget::Finish, request)
            .await?
            .map_err(|err| match err.code() {
                Some("TooManyRequestsException") => Error::Throttled {
                    service: SES,
                    attempts: self.attempts,
                },
                _ => sdk_error(SES, "SendEmail", self.attempts, err),
            })?;
        let id = output.message_id().unwrap_or_default().to_string();
        if id.is_empty() {
            // The mail went out; failing now would only make a retry send it twice.
            tracing::warn!("SES accepted the mail without returning a message id");
        }
        Ok(id)
    }
}
