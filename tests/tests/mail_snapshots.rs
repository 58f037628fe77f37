//! Snapshots of every kind of summary mail, rendered from the sample runs
//! in `rollcall_tests::mail_samples` (onboard, org admin, AMS, proficiency,
//! continuation end) and the sweep's own samples: the HTML and the text
//! part, reviewed as files under `tests/tests/snapshots/`.

use connectors::mail::Mail;
use rollcall_tests::mail_samples::inbox_mails;

fn text_of(mail: &Mail) -> String {
    format!("Subject: {}\n\n{}", mail.subject, mail.text)
}

#[test]
fn every_csv_job_mail_renders_as_reviewed() {
    for (name, mail) in inbox_mails() {
        insta::assert_snapshot!(format!("{name}.txt"), text_of(&mail));
        insta::assert_snapshot!(format!("{name}.html"), mail.html);
    }
}

#[test]
fn every_mail_says_what_needs_attention_before_anything_else() {
    for (name, mail) in inbox_mails() {
        let lines: Vec<&str> = mail.text.lines().collect();
        // The kicker, then the headline in words; attention comes next.
        assert!(lines[0].starts_with("rollcall "), "{name}: {}", mail.text);
        let attention = mail.text.find("Needs attention:");
        let facts = mail.text.find("\nFile:");
        if let Some(attention) = attention {
            assert!(attention < facts.unwrap(), "{name}: {}", mail.text);
        }
        let failing =
            mail.text.contains("failed: see below") || mail.text.contains("not processed");
        assert_eq!(
            attention.is_some(),
            failing || name.contains("paused") || name.contains("superseded"),
            "{name}: {}",
            mail.text
        );
        assert!(
            !mail.html.contains("<img")
                && !mail.html.contains("<script")
                && !mail.html.contains("<style"),
            "{name}"
        );
    }
}
