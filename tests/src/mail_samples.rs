//! Sample runs of every CSV job, rendered into the admins' summary mails:
//! the inputs of the snapshot tests (`tests/tests/mail_snapshots.rs`) and of
//! `scripts/mails`, which writes them as `.html` files for a browser.
//! Fixed names, dates and links, so the snapshots are stable.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connectors::config::MailSettings;
use connectors::inbox::chain::{FailedRow, JobState, JobStatus, Link, LinkDone};
use connectors::inbox::{
    job_summary_mail, summary_mail, FieldProblem, FileReport, FileStatus, Outcome, ReportedRow,
    RowResult, Stat, Target, Vocabulary,
};
use connectors::mail::{Mail, ReportLink};

const BUCKET: &str = "acme-rollcall";
const REGION: &str = "eu-west-1";

fn settings() -> MailSettings {
    MailSettings {
        from: "rollcall@acme.example".into(),
        admins: vec!["gis-admins@acme.example".into()],
    }
}

fn at(time: &str) -> DateTime<Utc> {
    time.parse().expect("a sample time")
}

/// A presigned-looking link for a sample report (never fetched).
fn download(key: &str) -> String {
    format!(
        "https://{BUCKET}.s3.{REGION}.amazonaws.com/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=0123abcd"
    )
}

fn file(key: &str, vocabulary: &Vocabulary, dry_run: bool) -> FileReport {
    let target = Target {
        bucket: BUCKET.into(),
        key: key.into(),
        dry_run,
        consume: true,
        skip_self_written: true,
        sequencer: None,
    };
    let mut file = FileReport::new(&target, FileStatus::Processed, vocabulary);
    let report = format!(
        "reports/onboard/2026-12-03/20261203T080000Z-{:08x}.csv",
        key.len()
    );
    file.report_download = Some(download(&report));
    file.report = Some(format!("s3://{BUCKET}/{report}"));
    file.csv_rewritten = !dry_run;
    file
}

/// Adds a row (`name` and `email` from the member's columns).
fn row(file: &mut FileReport, line: u64, subject: &str, name: &str, result: RowResult) {
    file.counts.add(result.outcome);
    file.rows.push(ReportedRow {
        line,
        cells: vec![],
        result,
        subject: subject.into(),
        name: name.into(),
        email: if name.is_empty() {
            String::new()
        } else {
            format!("{}@acme.example", subject)
        },
    });
}

fn invalid(field: &str, message: &str) -> RowResult {
    RowResult::invalid(&[FieldProblem::new(field, message)])
}

/// An ArcGIS onboarding file: members created and invited, one row with a
/// bad email, and two beyond the free Creator licences.
fn onboard_arcgis() -> Mail {
    let vocabulary = &onboard::arcgis::VOCABULARY;
    let mut f = file("inbox/arcgis/january starters.csv", vocabulary, false);
    row(
        &mut f,
        2,
        "ana.lima",
        "Ana Lima",
        RowResult::done(Outcome::Created, "created with the password from the file"),
    );
    row(
        &mut f,
        3,
        "ben.okafor",
        "Ben Okafor",
        RowResult::done(
            Outcome::Invited,
            "invitation sent to ben.okafor@acme.example",
        ),
    );
    row(
        &mut f,
        4,
        "chen.wu",
        "Chen Wu",
        RowResult::done(Outcome::Exists, "already a member; groups ensured"),
    );
    row(
        &mut f,
        5,
        "dara.k",
        "Dara K",
        invalid("email", "\"dara.k@\" is not a valid address"),
    );
    row(
        &mut f,
        6,
        "eli.moss",
        "Eli Moss",
        RowResult::failed("no Creator licence free (0 of 50)"),
    );
    row(
        &mut f,
        7,
        "fay.ng",
        "Fay Ng",
        RowResult::failed("no Creator licence free (0 of 50)"),
    );
    f.add_note("Licences free after this run: Creator 0 of 50, Viewer 12 of 200");
    summary_mail("onboard", vocabulary, &f, &settings(), Some(REGION))
}

/// An org-admin member file (the action column): a long list of leavers
/// deleted with their content moved, members disabled, one refused.
fn org_admin_long_list() -> Mail {
    let vocabulary = &onboard::arcgis::VOCABULARY;
    let mut f = file("inbox/arcgis/leavers.csv", vocabulary, false);
    for n in 0..32 {
        let who = format!("leaver.{n:02}");
        row(
            &mut f,
            2 + n,
            &who,
            "",
            RowResult::done(
                Outcome::Deleted,
                format!("deleted; moved 3 items and 1 group to records.keeper (items in folder \"{who}\")"),
            ),
        );
    }
    row(
        &mut f,
        34,
        "gil.parker",
        "",
        RowResult::done(Outcome::Disabled, "disabled"),
    );
    row(
        &mut f,
        35,
        "hana.ito",
        "",
        RowResult::done(Outcome::Disabled, "disabled"),
    );
    row(
        &mut f,
        36,
        "portal.admin",
        "",
        invalid(
            "action",
            "portal.admin is an administrator; rollcall never deletes administrators",
        ),
    );
    summary_mail("onboard", vocabulary, &f, &settings(), Some(REGION))
}

/// A Teamworks AMS file: accounts created and updated, one failed.
fn onboard_ams() -> Mail {
    let vocabulary = &onboard::ams::VOCABULARY;
    let mut f = file("inbox/ams/squad 2027.csv", vocabulary, false);
    row(
        &mut f,
        2,
        "jo.reyes",
        "Jo Reyes",
        RowResult::done(Outcome::Created, "account created"),
    );
    row(
        &mut f,
        3,
        "kai.berg",
        "Kai Berg",
        RowResult::done(Outcome::Updated, "updated: email, groups"),
    );
    row(
        &mut f,
        4,
        "lena.vos",
        "Lena Vos",
        invalid("dob", "\"31/02/2001\" is not a date (YYYY-MM-DD)"),
    );
    summary_mail("onboard", vocabulary, &f, &settings(), Some(REGION))
}

/// A proficiency file: rows added, updated and removed, two failed.
fn proficiency() -> Mail {
    let vocabulary = &proficiency::job::VOCABULARY;
    let mut f = file("inbox/connect/reskill.csv", vocabulary, false);
    f.stats.push(Stat {
        key: "agents",
        label: "Agents",
        value: 3,
    });
    row(
        &mut f,
        2,
        "jane.doe",
        "",
        RowResult::done(Outcome::Added, "added at level 4"),
    );
    row(
        &mut f,
        3,
        "jane.doe",
        "",
        RowResult::done(Outcome::Updated, "level 2 to 5"),
    );
    row(
        &mut f,
        4,
        "li.wei",
        "",
        RowResult::done(Outcome::Removed, "removed"),
    );
    row(
        &mut f,
        5,
        "ghost.agent",
        "",
        invalid("identifier", "no agent has the username \"ghost.agent\""),
    );
    row(
        &mut f,
        6,
        "omar.haddad",
        "",
        invalid(
            "attribute",
            "\"Langauge\" is not a predefined attribute of this instance",
        ),
    );
    summary_mail("proficiency", vocabulary, &f, &settings(), Some(REGION))
}

/// A proficiency dry run.
fn proficiency_dry_run() -> Mail {
    let vocabulary = &proficiency::job::VOCABULARY;
    let mut f = file("inbox/connect/reskill.csv", vocabulary, true);
    row(
        &mut f,
        2,
        "jane.doe",
        "",
        RowResult::planned("would add at level 4"),
    );
    row(&mut f, 3, "li.wei", "", RowResult::planned("would remove"));
    summary_mail("proficiency", vocabulary, &f, &settings(), Some(REGION))
}

/// A file that cannot be read.
fn onboard_unusable() -> Mail {
    let vocabulary = &onboard::arcgis::VOCABULARY;
    let target = Target {
        bucket: BUCKET.into(),
        key: "inbox/arcgis/export.xlsx.csv".into(),
        dry_run: false,
        consume: true,
        skip_self_written: true,
        sequencer: None,
    };
    let mut f = FileReport::new(&target, FileStatus::Unusable, vocabulary);
    f.add_note("the file has no username column (its header: Name, Mail, Team); the file was left untouched");
    row(
        &mut f,
        1,
        "",
        "",
        RowResult::failed("the file has no username column"),
    );
    summary_mail("onboard", vocabulary, &f, &settings(), Some(REGION))
}

fn job(status: JobStatus) -> JobState {
    let link = Link {
        job: "3f9a1c0de4b27a55c81f6e0b9d2a4c17".into(),
        number: 1,
        source_key: "inbox/connect/contact centre reskill.csv".into(),
        source_version: "\"9b2cf535f27731c974343645a3985328\"".into(),
        paused: false,
    };
    let mut state = JobState::new(
        &link.job,
        "proficiency",
        BUCKET,
        &link,
        at("2026-12-03T08:00:00Z"),
    );
    let links: u32 = if status == JobStatus::Finished { 3 } else { 2 };
    for n in 1..=links {
        let last = n == links;
        let handed_on = if last && status == JobStatus::Finished {
            0
        } else {
            13_300 * (3 - n as usize)
        };
        let rows = 13_300 * (4 - n as usize);
        let failed = if n == 2 { 2 } else { 0 };
        state.record(
            LinkDone {
                link: n,
                key: if n == 1 {
                    link.source_key.clone()
                } else {
                    format!("inbox/connect/continue/{}/{n}.csv", link.job)
                },
                run_id: format!("20261203T{:02}0000Z-a1b2c3d{n}", 8 + n / 4),
                rows,
                handed_on,
                counts: BTreeMap::from([(Outcome::Added, rows - handed_on - failed), (Outcome::Failed, failed)]),
                failed_rows: if failed > 0 {
                    vec![
                        FailedRow { link: n, line: 118, subject: "ghost.agent".into(), reason: "identifier: no agent has the username \"ghost.agent\"".into() },
                        FailedRow { link: n, line: 4021, subject: "omar.haddad".into(), reason: "level: 7 is more than 5".into() },
                    ]
                } else {
                    vec![]
                },
                report: Some(format!("s3://{BUCKET}/reports/proficiency/2026-12-03/20261203T0{n}0000Z-a1b2c3d{n}.csv")),
                finished_at: at("2026-12-03T08:15:00Z"),
            },
            at("2026-12-03T08:15:00Z") + chrono::Duration::minutes(15 * i64::from(n)),
        );
    }
    state.status = status;
    state.waiting = match status {
        JobStatus::Paused => Some(format!(
            "s3://{BUCKET}/inbox/connect/paused/{}.csv",
            link.job
        )),
        JobStatus::Superseded => Some(format!(
            "s3://{BUCKET}/inbox/connect/continue/{}/3.csv",
            link.job
        )),
        _ => None,
    };
    if status == JobStatus::Finished {
        state.last_error =
            Some("link 2: Connect is throttling requests (gave up after 8 attempts)".into());
    }
    state
}

fn job_mail(status: JobStatus) -> Mail {
    let state = job(status);
    let reports = state
        .reports()
        .iter()
        .filter_map(|uri| ReportLink::from_uri(uri))
        .map(|mut r| {
            r.download = Some(download(&r.key));
            r.region = Some(REGION.into());
            r
        })
        .collect();
    job_summary_mail(
        "proficiency",
        &proficiency::job::VOCABULARY,
        &state,
        &settings(),
        reports,
    )
}

/// Every kind of summary mail of the CSV jobs, by name.
pub fn inbox_mails() -> Vec<(&'static str, Mail)> {
    vec![
        ("onboard-arcgis", onboard_arcgis()),
        ("onboard-org-admin-long-list", org_admin_long_list()),
        ("onboard-ams", onboard_ams()),
        ("onboard-unusable-file", onboard_unusable()),
        ("proficiency", proficiency()),
        ("proficiency-dry-run", proficiency_dry_run()),
        ("continuation-finished", job_mail(JobStatus::Finished)),
        ("continuation-paused", job_mail(JobStatus::Paused)),
        ("continuation-superseded", job_mail(JobStatus::Superseded)),
    ]
}
