//! Sample runs with fixed dates, and every kind of mail the sweep sends
//! rendered from them: for the snapshot tests, and for a script that writes
//! them to `.html` files to look at in a mail client.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use connectors::arcgis::{ArcgisSettings, LastLogin};
use connectors::config::{Common, MailSettings};
use connectors::mail::{Mail, ReportLink};

use crate::classify::{Class, Decision, Need};
use crate::config::SweepConfig;
use crate::digest::{ComingUp, Happened, Inactivity, MemberLine, MemberTable};
use crate::job::{Done, Licences, RunError, RunResult, Step, Stopped, ThresholdsView};
use crate::mails::{failure_mail, stopped_mail, summary_mail};
use crate::member::Person;
use crate::templates::{Template, Templates};
use crate::warn::{base_values, member_mail};

/// The sample runs' clock.
const NOW: &str = "2026-06-01T06:00:00Z";

/// Every kind of sweep mail, by name (each starting `sweep_`), rendered
/// from the sample runs.
pub fn sample_mails() -> Vec<(String, Mail)> {
    let config = sample_config();
    let summary = |result: RunResult| {
        let link = sample_link(&result.report);
        summary_mail(&result, &config, Some(link)).expect("the sample has admins")
    };
    let mut mails = vec![
        ("summary_warn_run".to_string(), summary(warn_run())),
        (
            "summary_disable_run_with_failures".to_string(),
            summary(disable_run_with_failures()),
        ),
        (
            "summary_breaker_tripped".to_string(),
            summary(breaker_run()),
        ),
        ("summary_long_list".to_string(), summary(long_list_run())),
        ("summary_dry_run".to_string(), summary(dry_run())),
    ];
    let error = RunError::MissingPrivilege {
        privilege: "portal:admin:disableUsers",
        needs: &crate::job::REQUIRED_PRIVILEGES,
    };
    mails.push((
        "failure_before_anything".to_string(),
        failure_mail(&error, now(), &config).expect("the sample has admins"),
    ));
    let stopped = stopped_run();
    let link = stopped.report.as_deref().map(sample_link);
    mails.push((
        "stopped_part_way".to_string(),
        stopped_mail(&stopped, now(), &config, link).expect("the sample has admins"),
    ));
    mails.extend(member_mails(&config));
    mails
        .into_iter()
        .map(|(name, mail)| (format!("sweep_{name}"), mail))
        .collect()
}

fn now() -> DateTime<Utc> {
    at(NOW)
}

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time)
        .expect("a sample time")
        .with_timezone(&Utc)
}

fn day(date: &str) -> NaiveDate {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a sample date")
}

fn sample_config() -> SweepConfig {
    let mut common = Common::new(false);
    common.mail = MailSettings {
        from: "rollcall@example.org".into(),
        admins: vec!["gis-admins@example.org".into()],
    };
    common.report_links.region = Some("eu-west-1".into());
    SweepConfig::new(
        common,
        ArcgisSettings::new("https://example.maps.arcgis.com", "rollcall/arcgis"),
        "rollcall-reports",
    )
}

/// A report link as the S3 store makes it (the signature is made up).
fn sample_link(uri: &str) -> ReportLink {
    let mut link = ReportLink::from_uri(uri).expect("an s3:// sample report");
    link.region = Some("eu-west-1".into());
    link.download = Some(format!(
        "https://{}.s3.eu-west-1.amazonaws.com/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=0123456789abcdef",
        link.bucket, link.key
    ));
    link
}

/// A member signed in last on `last_login` (`None`: never).
fn person(username: &str, full_name: &str, last_login: Option<&str>) -> Person {
    let (first, last) = full_name.split_once(' ').unwrap_or((full_name, ""));
    Person {
        username: username.into(),
        email: Some(format!("{username}@example.org")),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        full_name: Some(full_name.into()),
        last_login: match last_login {
            Some(date) => LastLogin::At(at(&format!("{date}T09:30:00Z")).timestamp_millis()),
            None => LastLogin::Never,
        },
    }
}

fn line(p: &Person, happened: Happened, next_on: Option<&str>, why: Option<&str>) -> MemberLine {
    MemberLine::of(p, happened, next_on.map(day), why.map(str::to_string))
}

/// A run of `members` at [`NOW`] with the default thresholds, nobody acted on.
fn base(members: u64) -> RunResult {
    RunResult {
        now: now(),
        dry_run: false,
        thresholds: ThresholdsView {
            notify_after_days: 60,
            disable_after_days: 90,
            notice_days: 14,
            new_account_grace_days: 30,
            max_disables_per_run: 50,
        },
        members,
        complete: true,
        classes: BTreeMap::new(),
        actions: BTreeMap::new(),
        sweep_action: "disable",
        disabled_today: 0,
        downgraded_today: 0,
        breaker_tripped: false,
        report: "s3://rollcall-reports/reports/sweep/2026-06-01/20260601T060000Z-1a2b3c4d.csv"
            .into(),
        state_saved: true,
        notes: Vec::new(),
        warned: Vec::new(),
        disabled: Vec::new(),
        notified: Vec::new(),
        would_disable: 0,
        licences: Licences::default(),
        inactivity: Inactivity::default(),
        acted: MemberTable::default(),
        coming_up: ComingUp::default(),
        breaker_reason: None,
    }
}

/// Warned earlier: `warned_on`, due to be disabled on `due`.
fn due(coming: &mut ComingUp, p: &Person, warned_on: &str, due: &str) {
    coming.push(
        p,
        at(&format!("{warned_on}T06:00:00Z")),
        at(&format!("{due}T06:00:00Z")),
        now(),
    );
}

/// Three members warned; two warned earlier are due soon.
fn warn_run() -> RunResult {
    let mut result = base(11);
    result.classes = BTreeMap::from([("active", 5), ("warn", 5), ("protected", 1)]);
    result.actions = BTreeMap::from([("warned", 3), ("none", 8)]);
    let warned = [
        person("grace.hopper", "Grace Hopper", Some("2026-03-28")),
        person("alan.turing", "Alan Turing", Some("2026-03-20")),
        person("new.starter", "New Starter", None),
    ];
    for p in &warned {
        result
            .acted
            .push(line(p, Happened::Warned, Some("2026-06-15"), None));
        due(&mut result.coming_up, p, "2026-06-01", "2026-06-15");
        result.warned.push(p.username.clone());
    }
    due(
        &mut result.coming_up,
        &person("ada.lovelace", "Ada Lovelace", Some("2026-02-20")),
        "2026-05-22",
        "2026-06-05",
    );
    due(
        &mut result.coming_up,
        &person("charles.babbage", "Charles Babbage", Some("2026-03-10")),
        "2026-05-29",
        "2026-06-12",
    );
    result.inactivity = Inactivity {
        under_60: 5,
        from_60: 4,
        from_90: 0,
        from_180: 1,
        from_365: 0,
        never: 1,
        unknown: 0,
    };
    result
}

/// Two disabled, one warned; one disable and one warning mail failed.
fn disable_run_with_failures() -> RunResult {
    let mut result = base(14);
    result.classes = BTreeMap::from([
        ("active", 8),
        ("warn", 2),
        ("disable", 3),
        ("already_disabled", 1),
    ]);
    result.actions = BTreeMap::from([("warned", 1), ("disabled", 2), ("none", 11)]);
    result.disabled_today = 1;
    let gone = [
        person("ada.lovelace", "Ada Lovelace", Some("2026-02-20")),
        person("charles.babbage", "Charles Babbage", Some("2025-11-02")),
    ];
    for p in &gone {
        result.acted.push(line(p, Happened::Disabled, None, None));
        result.disabled.push(p.username.clone());
        result.notified.push(p.username.clone());
    }
    result.acted.push(line(
        &person("edsger.dijkstra", "Edsger Dijkstra", Some("2026-01-15")),
        Happened::DisableFailed,
        None,
        Some("the portal did not answer for this member"),
    ));
    let warned = person("grace.hopper", "Grace Hopper", Some("2026-03-28"));
    result
        .acted
        .push(line(&warned, Happened::Warned, Some("2026-06-26"), None));
    result.warned.push(warned.username.clone());
    due(&mut result.coming_up, &warned, "2026-06-01", "2026-06-26");
    result.acted.push(line(
        &person("alan.turing", "Alan Turing", Some("2026-03-20")),
        Happened::WarningFailed,
        None,
        Some("SES SendEmail failed: MessageRejected: Email address is not verified."),
    ));
    result.inactivity = Inactivity {
        under_60: 8,
        from_60: 2,
        from_90: 2,
        from_180: 1,
        from_365: 1,
        never: 0,
        unknown: 0,
    };
    result
}

/// Six members past the notice period with a cap of five: nobody touched.
fn breaker_run() -> RunResult {
    let mut result = base(40);
    result.thresholds.max_disables_per_run = 5;
    result.breaker_tripped = true;
    result.would_disable = 6;
    result.classes = BTreeMap::from([("active", 32), ("warn", 2), ("disable", 6)]);
    result.actions = BTreeMap::from([("none", 40)]);
    let reason = "circuit breaker: 6 members would be disabled, more than MAX_DISABLES_PER_RUN (5); nobody was warned or disabled".to_string();
    result.notes.push(reason.clone());
    result.breaker_reason = Some(reason);
    for n in 1..=6 {
        result.acted.push(line(
            &person(
                &format!("field.crew{n}"),
                &format!("Field Crew {n}"),
                Some("2026-01-05"),
            ),
            Happened::DisableHeld,
            None,
            None,
        ));
    }
    for (name, full) in [
        ("grace.hopper", "Grace Hopper"),
        ("alan.turing", "Alan Turing"),
    ] {
        result.acted.push(line(
            &person(name, full, Some("2026-03-25")),
            Happened::WarningHeld,
            None,
            None,
        ));
    }
    result.inactivity = Inactivity {
        under_60: 32,
        from_60: 2,
        from_90: 0,
        from_180: 6,
        from_365: 0,
        never: 0,
        unknown: 0,
    };
    result
}

/// Forty warned and three disabled in an org of 400: the tables are cut.
fn long_list_run() -> RunResult {
    let mut result = base(400);
    result.classes = BTreeMap::from([
        ("active", 340),
        ("warn", 52),
        ("disable", 3),
        ("protected", 4),
        ("unknown", 1),
    ]);
    result.actions = BTreeMap::from([("warned", 40), ("disabled", 3), ("none", 357)]);
    for n in 1..=3 {
        let p = person(
            &format!("retired.user{n}"),
            &format!("Retired User {n}"),
            Some("2025-12-01"),
        );
        result.acted.push(line(&p, Happened::Disabled, None, None));
        result.disabled.push(p.username.clone());
        result.notified.push(p.username.clone());
    }
    for n in 1..=40 {
        let p = person(
            &format!("survey.intern{n:02}"),
            &format!("Survey Intern {n:02}"),
            Some("2026-03-30"),
        );
        result
            .acted
            .push(line(&p, Happened::Warned, Some("2026-06-15"), None));
        result.warned.push(p.username.clone());
        due(&mut result.coming_up, &p, "2026-06-01", "2026-06-15");
    }
    for n in 1..=12 {
        let p = person(
            &format!("seasonal.staff{n:02}"),
            &format!("Seasonal Staff {n:02}"),
            Some("2026-03-01"),
        );
        let warned_on = at("2026-05-20T06:00:00Z") + Duration::days(n);
        coming_up_on(&mut result.coming_up, &p, warned_on);
    }
    result.inactivity = Inactivity {
        under_60: 340,
        from_60: 40,
        from_90: 9,
        from_180: 5,
        from_365: 3,
        never: 2,
        unknown: 1,
    };
    result
}

/// Warned at `warned_on`: due after the notice period.
fn coming_up_on(coming: &mut ComingUp, p: &Person, warned_on: DateTime<Utc>) {
    coming.push(p, warned_on, warned_on + Duration::days(14), now());
}

/// A dry run: three would be disabled, one warned.
fn dry_run() -> RunResult {
    let mut result = base(11);
    result.dry_run = true;
    result.state_saved = false;
    result.classes = BTreeMap::from([("active", 7), ("warn", 1), ("disable", 3)]);
    result.actions = BTreeMap::from([("planned_warn", 1), ("planned_disable", 3), ("none", 7)]);
    result.would_disable = 3;
    for (name, full, last) in [
        ("ada.lovelace", "Ada Lovelace", "2026-02-20"),
        ("charles.babbage", "Charles Babbage", "2025-11-02"),
        ("edsger.dijkstra", "Edsger Dijkstra", "2026-01-15"),
    ] {
        let p = person(name, full, Some(last));
        result
            .acted
            .push(line(&p, Happened::WouldDisable, None, None));
        result.disabled.push(p.username.clone());
    }
    let p = person("grace.hopper", "Grace Hopper", Some("2026-03-28"));
    result
        .acted
        .push(line(&p, Happened::WouldWarn, Some("2026-06-26"), None));
    result.warned.push(p.username.clone());
    result.inactivity = Inactivity {
        under_60: 7,
        from_60: 1,
        from_90: 2,
        from_180: 1,
        from_365: 0,
        never: 0,
        unknown: 0,
    };
    result
}

/// A live run whose disable call failed after two warnings and two disables.
fn stopped_run() -> Stopped {
    let mut acted = MemberTable::default();
    let mut done = Done::default();
    for (name, full) in [
        ("grace.hopper", "Grace Hopper"),
        ("alan.turing", "Alan Turing"),
    ] {
        let p = person(name, full, Some("2026-03-25"));
        acted.push(line(&p, Happened::Warned, Some("2026-06-15"), None));
        done.warned.push(name.into());
    }
    for (name, full) in [
        ("ada.lovelace", "Ada Lovelace"),
        ("charles.babbage", "Charles Babbage"),
    ] {
        let p = person(name, full, Some("2026-01-02"));
        acted.push(line(&p, Happened::Disabled, None, None));
        done.disabled.push(name.into());
    }
    let p = person("edsger.dijkstra", "Edsger Dijkstra", Some("2026-01-02"));
    acted.push(line(
        &p,
        Happened::DisableFailed,
        None,
        Some("the call failed and the account is still enabled"),
    ));
    done.unconfirmed.push("edsger.dijkstra".into());
    Stopped {
        step: Step::Disable,
        source: connectors::Error::Unavailable {
            service: "ArcGIS",
            status: 503,
            attempts: 3,
        },
        done,
        report: Some(
            "s3://rollcall-reports/reports/sweep/2026-06-01/20260601T060000Z-1a2b3c4d.csv".into(),
        ),
        acted,
    }
}

/// The built-in member mails to one member, as the sweep renders them.
fn member_mails(config: &SweepConfig) -> Vec<(String, Mail)> {
    let templates = Templates::default();
    let values = base_values(config, "Example County");
    let from = &config.common.mail.from;
    let member = person("grace.hopper", "Grace Hopper", Some("2026-03-28"));
    let decision = |need, days| Decision {
        class: Class::Warn,
        need,
        days_inactive: Some(days),
        disable_on: None,
        keep_warning: false,
        reason: String::new(),
    };
    let disable_on = at("2026-06-15T06:00:00Z");
    let licence = |date_key: &'static str, date: &str| {
        vec![
            ("user_type", "Creator".to_string()),
            ("new_user_type", "Viewer".to_string()),
            (date_key, date.to_string()),
        ]
    };
    let render = |template: &Template,
                  need: Need,
                  days: i64,
                  date: Option<DateTime<Utc>>,
                  extra: Vec<(&'static str, String)>| {
        member_mail(
            from,
            template,
            &values,
            &member,
            &decision(need, days),
            date,
            &extra,
        )
        .expect("the sample member has an address")
    };
    vec![
        (
            "member_warning".to_string(),
            render(
                &templates.warn,
                Need::Warning,
                65,
                Some(disable_on),
                Vec::new(),
            ),
        ),
        (
            "member_disabled".to_string(),
            render(
                &templates.disabled,
                Need::Disabling,
                79,
                Some(disable_on),
                Vec::new(),
            ),
        ),
        (
            "member_licence_warning".to_string(),
            render(
                &templates.release_warn,
                Need::Warning,
                65,
                Some(disable_on),
                licence("release_date", "2026-06-15"),
            ),
        ),
        (
            "member_licence_released".to_string(),
            render(
                &templates.released,
                Need::Disabling,
                79,
                None,
                licence("release_date", "2026-06-15"),
            ),
        ),
        (
            "member_licence_restored".to_string(),
            render(
                &templates.restored,
                Need::Restoring,
                0,
                None,
                licence("restore_date", "2026-06-20"),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The HTML with a line break after each row, so a snapshot reads.
    fn readable(html: &str) -> String {
        html.replace("</tr>", "</tr>\n")
    }

    #[test]
    fn every_sample_mail_matches_its_snapshot() {
        for (name, mail) in sample_mails() {
            let text = format!(
                "From: {}\nTo: {}\nSubject: {}\n\n{}",
                mail.from,
                mail.to.join(", "),
                mail.subject,
                mail.text
            );
            insta::assert_snapshot!(format!("{name}_text"), text);
            insta::assert_snapshot!(format!("{name}_html"), readable(&mail.html));
        }
    }

    #[test]
    fn no_sample_mail_uses_a_stylesheet_script_or_remote_image() {
        for (name, mail) in sample_mails() {
            for banned in ["<style", "<script", "<img", "<link", "{{"] {
                assert!(!mail.html.contains(banned), "{name}: {banned}");
            }
            assert!(!mail.text.contains("{{"), "{name}");
        }
    }

    #[test]
    fn the_summaries_say_what_matters_first_and_in_words() {
        let mails: HashMap<String, Mail> = sample_mails().into_iter().collect();
        let warn = &mails["sweep_summary_warn_run"];
        assert_eq!(
            warn.subject,
            "rollcall sweep 2026-06-01: 0 members disabled, 3 warned, 8 untouched"
        );
        let failed = &mails["sweep_summary_disable_run_with_failures"];
        assert_eq!(
            failed.subject,
            "rollcall sweep 2026-06-01: 2 members disabled, 1 warned, 2 failed, 9 untouched"
        );
        let attention = failed.text.find("Needs attention").unwrap();
        let facts = failed.text.find("When:").unwrap();
        assert!(attention < facts, "{}", failed.text);
        assert!(failed
            .text
            .contains("! 1 disable failed (edsger.dijkstra): the next run checks each account and tries again."));
        assert!(failed
            .text
            .contains("Circuit breaker: not tripped (3 of at most 50 disables today)"));
        for internal in ["Class ", "Action ", "already_disabled", "planned_"] {
            for (name, mail) in &mails {
                assert!(!mail.text.contains(internal), "{name}: {internal}");
            }
        }
        let breaker = &mails["sweep_summary_breaker_tripped"];
        assert_eq!(
            breaker.subject,
            "rollcall sweep 2026-06-01: Circuit breaker tripped: nobody was warned or disabled"
        );
        assert!(breaker.text.contains(
            "! Circuit breaker tripped: 6 members are due to be disabled, more than the 5 allowed"
        ));
        let dry = &mails["sweep_summary_dry_run"];
        assert_eq!(
            dry.subject,
            "rollcall sweep 2026-06-01: Dry run: 3 would be disabled, 1 would be warned, 7 untouched"
        );
        let long = &mails["sweep_summary_long_list"];
        assert!(
            long.text.contains("- and 18 more in the report"),
            "{}",
            long.text
        );
        assert!(long.html.contains("Download the report"));
        assert!(long.text.contains(
            "What happened: warned; Next step: disabled on 15 Jun 2026 if still inactive"
        ));
    }

    #[test]
    fn the_member_mails_name_the_org_the_date_in_words_and_one_sign_in_button() {
        let mails: HashMap<String, Mail> = sample_mails().into_iter().collect();
        let warning = &mails["sweep_member_warning"];
        assert_eq!(
            warning.subject,
            "Your Example County ArcGIS account will be disabled on Monday 15 June 2026"
        );
        assert_eq!(
            warning
                .html
                .matches("href=\"https://example.maps.arcgis.com/home/signin.html\"")
                .count(),
            1
        );
        assert!(warning.html.contains("Contact gis-admins@example.org"));
        assert!(warning.text.contains("Last sign-in: 28 March 2026."));
        let disabled = &mails["sweep_member_disabled"];
        assert!(disabled
            .text
            .contains("was disabled on Monday 15 June 2026"));
        assert!(disabled.html.contains("contact gis-admins@example.org"));
    }

    #[test]
    fn an_org_without_a_name_is_named_by_its_portal_host() {
        let values = base_values(&sample_config(), " ");
        assert_eq!(values["org_name"], "example.maps.arcgis.com");
    }
}
