//! The member mails: built-in texts an admin can override from S3
//! (`templates/<name>.txt` and `templates/<name>.html` for `warn`,
//! `disabled`, and, when the sweep downgrades, `release-warn`, `released`
//! and `restored`), with `{{placeholder}}` values filled in. A `.txt`
//! template may start with a `Subject: ...` line.

use std::collections::HashMap;

use connectors::mail::header_safe;
use connectors::store::ObjectStore;
use connectors::Error;

/// The placeholders every template may use. Each date has an ISO form
/// (`2026-12-14`) and a long one in words (`Monday 14 December 2026`).
pub const PLACEHOLDERS: [&str; 18] = [
    "first_name",
    "last_name",
    "full_name",
    "username",
    "days_inactive",
    "last_login",
    "last_login_long",
    "disable_date",
    "disable_date_long",
    "org_name",
    "sign_in_url",
    "support_contact",
    "user_type",
    "new_user_type",
    "release_date",
    "release_date_long",
    "restore_date",
    "restore_date_long",
];

/// One mail's subject and bodies, with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every member mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    pub warn: Template,
    pub disabled: Template,
    /// The warning when the sweep downgrades: the licence will be released.
    pub release_warn: Template,
    /// The licence was released.
    pub released: Template,
    /// The licence was given back.
    pub restored: Template,
}

const WARN_SUBJECT: &str =
    "Your {{org_name}} ArcGIS account will be disabled on {{disable_date_long}}";
const WARN_TEXT: &str = "Hello {{first_name}},

You have not signed in to {{org_name}} ArcGIS (username {{username}}) for {{days_inactive}} days. Last sign-in: {{last_login_long}}.

Inactive accounts are disabled to keep the organisation secure. Your account will be disabled on {{disable_date_long}} unless you sign in before then.

To keep your account, sign in: {{sign_in_url}}

Questions? Contact {{support_contact}}.
";
const WARN_HTML: [&str; 3] = [
    "You have not signed in to {{org_name}} ArcGIS (username <b>{{username}}</b>) for {{days_inactive}} days. Last sign-in: {{last_login_long}}.",
    "Inactive accounts are disabled to keep the organisation secure. Your account will be disabled on <b>{{disable_date_long}}</b> unless you sign in before then.",
    "To keep your account, sign in:",
];

const DISABLED_SUBJECT: &str = "Your {{org_name}} ArcGIS account has been disabled";
const DISABLED_TEXT: &str = "Hello {{first_name}},

Your {{org_name}} ArcGIS account (username {{username}}) was disabled on {{disable_date_long}} after {{days_inactive}} days without a sign-in, as the warning mail said.

Your content is kept. To have the account enabled again, contact {{support_contact}}; then sign in as before: {{sign_in_url}}
";
const DISABLED_HTML: [&str; 3] = [
    "Your {{org_name}} ArcGIS account (username <b>{{username}}</b>) was disabled on <b>{{disable_date_long}}</b> after {{days_inactive}} days without a sign-in, as the warning mail said.",
    "Your content is kept. To have the account enabled again, contact {{support_contact}}.",
    "Once it is enabled, sign in as before:",
];

const RELEASE_WARN_SUBJECT: &str =
    "Your {{org_name}} ArcGIS {{user_type}} licence will be released on {{release_date_long}}";
const RELEASE_WARN_TEXT: &str = "Hello {{first_name}},

You have not signed in to {{org_name}} ArcGIS (username {{username}}) for {{days_inactive}} days. Last sign-in: {{last_login_long}}.

Unused licences are released for others to use. On {{release_date_long}} your {{user_type}} licence will be released and your account becomes {{new_user_type}}, unless you sign in before then. Your account and your content are kept, and if you sign in later your {{user_type}} licence will be restored.

To keep your licence, sign in: {{sign_in_url}}

Questions? Contact {{support_contact}}.
";
const RELEASE_WARN_HTML: [&str; 3] = [
    "You have not signed in to {{org_name}} ArcGIS (username <b>{{username}}</b>) for {{days_inactive}} days. Last sign-in: {{last_login_long}}.",
    "Unused licences are released for others to use. On <b>{{release_date_long}}</b> your {{user_type}} licence will be released and your account becomes {{new_user_type}}, unless you sign in before then. Your account and your content are kept, and if you sign in later your {{user_type}} licence will be restored.",
    "To keep your licence, sign in:",
];

const RELEASED_SUBJECT: &str = "Your {{org_name}} ArcGIS {{user_type}} licence was released";
const RELEASED_TEXT: &str = "Hello {{first_name}},

Your {{user_type}} licence in {{org_name}} ArcGIS (username {{username}}) was released on {{release_date_long}} after {{days_inactive}} days without a sign-in; your account is now {{new_user_type}}. Your account and your content are kept.

Sign in and it will be restored: {{sign_in_url}} (the next daily check gives your {{user_type}} licence back when one is free).

Questions? Contact {{support_contact}}.
";
const RELEASED_HTML: [&str; 3] = [
    "Your {{user_type}} licence in {{org_name}} ArcGIS (username <b>{{username}}</b>) was released on <b>{{release_date_long}}</b> after {{days_inactive}} days without a sign-in; your account is now {{new_user_type}}. Your account and your content are kept.",
    "Sign in and it will be restored: the next daily check gives your {{user_type}} licence back when one is free.",
    "To get it back, sign in:",
];

const RESTORED_SUBJECT: &str = "Your {{org_name}} ArcGIS {{user_type}} licence is back";
const RESTORED_TEXT: &str = "Hello {{first_name}},

Welcome back. Your {{user_type}} licence in {{org_name}} ArcGIS (username {{username}}) was restored on {{restore_date_long}}, with the role you had.

Questions? Contact {{support_contact}}.
";
const RESTORED_HTML: [&str; 2] = [
    "Welcome back. Your {{user_type}} licence in {{org_name}} ArcGIS (username <b>{{username}}</b>) was restored on <b>{{restore_date_long}}</b>, with the role you had.",
    "Sign in as before:",
];

/// A built-in HTML member mail: the org above a headline, the greeting,
/// the `paragraphs`, one sign-in button, whom to contact (unless a
/// paragraph said it), and why the member gets the mail. Table layout and
/// inline styles only, as mail clients need.
fn member_html(headline: &str, paragraphs: &[&str], button: &str, contact: bool) -> String {
    const FONT: &str = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;";
    let row =
        |style: &str, body: &str| format!("<tr><td style=\"{style}{FONT}\">{body}</td></tr>\n");
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"color-scheme\" content=\"light dark\"><meta name=\"supported-color-schemes\" content=\"light dark\"><title>{headline}</title></head>\n\
         <body style=\"margin:0;padding:0;{FONT}\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"max-width:560px;\">\n"
    );
    html.push_str(&row(
        "padding:0 0 4px 0;font-size:13px;color:#6b7280;",
        "{{org_name}} ArcGIS",
    ));
    html.push_str(&row(
        "padding:0 0 16px 0;font-size:22px;line-height:1.3;font-weight:bold;",
        headline,
    ));
    html.push_str(&row(
        "padding:0 0 12px 0;font-size:15px;line-height:1.5;",
        "Hello {{first_name}},",
    ));
    for paragraph in paragraphs {
        html.push_str(&row(
            "padding:0 0 12px 0;font-size:15px;line-height:1.5;",
            paragraph,
        ));
    }
    html.push_str(&format!(
        "<tr><td style=\"padding:4px 0 20px 0;\"><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr>\
         <td align=\"center\" bgcolor=\"#1d4ed8\" style=\"border-radius:4px;background-color:#1d4ed8;\">\
         <a href=\"{{{{sign_in_url}}}}\" target=\"_blank\" style=\"display:inline-block;padding:12px 24px;font-size:16px;line-height:1.2;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:4px;{FONT}\">{button}</a>\
         </td></tr></table></td></tr>\n"
    ));
    if contact {
        html.push_str(&row(
            "padding:0 0 12px 0;font-size:15px;line-height:1.5;",
            "Questions? Contact {{support_contact}}.",
        ));
    }
    html.push_str(&row(
        "padding:12px 0 0 0;font-size:12px;line-height:1.4;color:#6b7280;border-top:1px solid #e5e7eb;",
        "You get this mail because you have an account in {{org_name}} ArcGIS.",
    ));
    html.push_str("</table></td></tr></table></body></html>\n");
    html
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            warn: Template {
                subject: WARN_SUBJECT.into(),
                text: WARN_TEXT.into(),
                html: member_html(
                    "Your account will be disabled on {{disable_date_long}}",
                    &WARN_HTML,
                    "Sign in to keep your account",
                    true,
                ),
            },
            disabled: Template {
                subject: DISABLED_SUBJECT.into(),
                text: DISABLED_TEXT.into(),
                html: member_html(
                    "Your account has been disabled",
                    &DISABLED_HTML,
                    "Go to the sign-in page",
                    false,
                ),
            },
            release_warn: Template {
                subject: RELEASE_WARN_SUBJECT.into(),
                text: RELEASE_WARN_TEXT.into(),
                html: member_html(
                    "Your {{user_type}} licence will be released on {{release_date_long}}",
                    &RELEASE_WARN_HTML,
                    "Sign in to keep your licence",
                    true,
                ),
            },
            released: Template {
                subject: RELEASED_SUBJECT.into(),
                text: RELEASED_TEXT.into(),
                html: member_html(
                    "Your {{user_type}} licence was released",
                    &RELEASED_HTML,
                    "Sign in to get it back",
                    true,
                ),
            },
            restored: Template {
                subject: RESTORED_SUBJECT.into(),
                text: RESTORED_TEXT.into(),
                html: member_html(
                    "Your {{user_type}} licence is back",
                    &RESTORED_HTML,
                    "Sign in",
                    true,
                ),
            },
        }
    }
}

/// The built-in templates with any overrides found in `bucket`; the notes
/// say which overrides were used and any placeholder they misspell.
pub async fn load<S: ObjectStore>(
    store: &S,
    bucket: &str,
) -> Result<(Templates, Vec<String>), Error> {
    let mut templates = Templates::default();
    let mut notes = Vec::new();
    for (name, template) in [
        ("warn", &mut templates.warn),
        ("disabled", &mut templates.disabled),
        ("release-warn", &mut templates.release_warn),
        ("released", &mut templates.released),
        ("restored", &mut templates.restored),
    ] {
        for ext in ["txt", "html"] {
            let key = format!("templates/{name}.{ext}");
            let Some(object) = store.get(bucket, &key).await? else {
                continue;
            };
            let Ok(body) = String::from_utf8(object.body) else {
                notes.push(format!(
                    "{key} is not UTF-8; the built-in {name} template was used"
                ));
                continue;
            };
            for unknown in unknown_placeholders(&body) {
                notes.push(format!(
                    "{key}: unknown placeholder {{{{{unknown}}}}} left as written"
                ));
            }
            if ext == "txt" {
                match body.split_once('\n') {
                    Some((first, rest)) if first.to_ascii_lowercase().starts_with("subject:") => {
                        template.subject = first["subject:".len()..].trim().to_string();
                        template.text = rest.trim_start_matches(['\r', '\n']).to_string();
                    }
                    _ => template.text = body,
                }
            } else {
                template.html = body;
            }
            notes.push(format!("used {key}"));
        }
    }
    Ok((templates, notes))
}

/// Fills in `{{placeholder}}`s. In HTML every value is escaped; a subject is
/// folded onto one line so no value can start a header.
pub fn render(template: &str, values: &HashMap<&str, String>, html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let key = after[..close].trim();
                match values.get(key) {
                    Some(value) if html => {
                        out.push_str(&html_escape::encode_double_quoted_attribute(value))
                    }
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[open..open + 2 + close + 2]),
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A rendered subject, safe as a header value.
pub fn render_subject(template: &str, values: &HashMap<&str, String>) -> String {
    header_safe(&render(template, values, false))
}

fn unknown_placeholders(body: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let key = after[..close].trim();
        if !PLACEHOLDERS.contains(&key) && !unknown.iter().any(|u| u == key) {
            unknown.push(key.to_string());
        }
        rest = &after[close + 2..];
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_and_folded_in_subjects() {
        let values = HashMap::from([
            (
                "first_name",
                "<b>Eve</b>\r\nBcc: attacker@example.org".to_string(),
            ),
            ("org_name", "Acme & Co".to_string()),
        ]);
        let html = render(
            "<p>Hello {{first_name}} of {{ org_name }}, {{unknown}}</p>",
            &values,
            true,
        );
        assert_eq!(
            html,
            "<p>Hello &lt;b&gt;Eve&lt;/b&gt;\r\nBcc: attacker@example.org of Acme &amp; Co, {{unknown}}</p>"
        );
        let subject = render_subject("Hi {{first_name}}", &values);
        assert_eq!(subject, "Hi <b>Eve</b> Bcc: attacker@example.org");
        assert!(!subject.contains('\n') && !subject.contains('\r'));
    }

    #[test]
    fn unknown_placeholders_are_found() {
        assert_eq!(
            unknown_placeholders("{{username}} {{frist_name}} {{frist_name}}"),
            ["frist_name"]
        );
    }
}
