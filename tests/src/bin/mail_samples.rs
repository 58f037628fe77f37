//! Writes every kind of summary and member mail, rendered from the sample
//! runs the snapshot tests use, into a folder of `.html` (and `.txt`)
//! files to open in a browser. Run by `scripts/mails [folder]`.

use std::path::PathBuf;

fn main() {
    let folder = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/mails".into()),
    );
    std::fs::create_dir_all(&folder).expect("create the mail folder");
    let mut mails: Vec<(String, connectors::mail::Mail)> =
        rollcall_tests::mail_samples::inbox_mails()
            .into_iter()
            .map(|(name, mail)| (name.to_string(), mail))
            .collect();
    mails.extend(sweep::sample_mails());
    for (name, mail) in &mails {
        std::fs::write(folder.join(format!("{name}.html")), &mail.html).expect("write a mail");
        std::fs::write(
            folder.join(format!("{name}.txt")),
            format!("Subject: {}\n\n{}", mail.subject, mail.text),
        )
        .expect("write a mail");
    }
    let mut index = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>rollcall mails</title></head><body><h1>rollcall mails</h1><ul>");
    for (name, mail) in &mails {
        index.push_str(&format!(
            "<li><a href=\"{name}.html\">{name}</a>: {}</li>",
            html_escape::encode_text(&mail.subject)
        ));
    }
    index.push_str("</ul></body></html>");
    std::fs::write(folder.join("index.html"), index).expect("write the index");
    println!(
        "{} mails written to {}/ (open index.html)",
        mails.len(),
        folder.display()
    );
}
