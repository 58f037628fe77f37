//! The admins' mails about a run: the summary, a run that failed before
//! doing anything, and one that stopped part-way. Each is a [`Layout`]: a
//! headline in words, what needs attention before anything else, the facts
//! under human labels, the members, what comes next, and the report as a
//! link that downloads it.

use chrono::{DateTime, Utc};
use connectors::mail::{header_safe, Layout, Mail, ReportLink};
use connectors::store::ObjectStore;
use tracing::warn;

use crate::config::{SweepAction, SweepConfig};
use crate::digest::{short_date, Happened, MemberTable};
use crate::job::{RunError, RunResult, Stopped};

/// Above every headline.
const KICKER: &str = "rollcall inactivity sweep";

/// The columns of the members' table.
const MEMBER_COLUMNS: [&str; 6] = [
    "Username",
    "Full name",
    "Email",
    "Last sign-in",
    "What happened",
    "Next step",
];

/// The title of the table of members a live run acted on.
pub const ACTED_ON: &str = "Members acted on";

/// Names shown in one line of "Needs attention"; the table and the report
/// have the rest.
const NAMES_IN_A_LINE: usize = 5;

/// The report at `uri` as a link for the admins' mail, with a presigned
/// download valid for `REPORT_LINK_DAYS`; a download that cannot be made is
/// logged and left out, and the mail still goes. `None` without admins.
pub(crate) async fn report_link<S: ObjectStore>(
    store: &S,
    uri: &str,
    config: &SweepConfig,
) -> Option<ReportLink> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let mut link = ReportLink::from_uri(uri)?;
    let links = &config.common.report_links;
    link.region = links.region.clone();
    match store
        .download_link(&link.bucket, &link.key, links.valid())
        .await
    {
        Ok(download) => link.download = download,
        Err(e) => warn!(error = %e, report = uri, "no download link for the report"),
    }
    Some(link)
}

/// The admins' summary of a finished run (`None` without admins).
pub(crate) fn summary_mail(
    result: &RunResult,
    config: &SweepConfig,
    report: Option<ReportLink>,
) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let layout = summary_layout(result, report);
    let subject = header_safe(&format!(
        "rollcall sweep {}: {}",
        result.now.format("%Y-%m-%d"),
        layout.headline
    ));
    Some(mail(config, subject, &layout))
}

/// The words of a run's action: `disabled` or `downgraded`.
struct Acting {
    downgrades: bool,
}

impl Acting {
    fn done(&self) -> &'static str {
        if self.downgrades {
            "downgraded"
        } else {
            "disabled"
        }
    }

    fn noun(&self) -> &'static str {
        if self.downgrades {
            "downgrades"
        } else {
            "disables"
        }
    }
}

fn summary_layout(result: &RunResult, report: Option<ReportLink>) -> Layout {
    let acting = Acting {
        downgrades: result.sweep_action == "downgrade",
    };
    let table = &result.acted;
    let mut layout = Layout::new(KICKER, headline(result, &acting));
    if result.breaker_tripped {
        layout.attention(breaker_attention(result, &acting));
    }
    if !result.complete {
        layout.attention(format!(
            "The listing reached the time limit after {} members; the next run lists the org again from the start.",
            result.members
        ));
    }
    member_attention(&mut layout, table);
    let waiting = result.licences.waiting.values().sum::<u64>();
    if waiting > 0 {
        layout.attention(format!(
            "{} waiting ({}): the portal refused for now; each run tries again.",
            plural(waiting, "licence change", "licence changes"),
            result.licences.per_type(&result.licences.waiting)
        ));
    }

    layout.fact("When", when(result.now));
    layout.fact("Mode", mode(result.dry_run, &acting));
    layout.fact(
        "Members in the org",
        if result.complete {
            result.members.to_string()
        } else {
            format!(
                "{} listed (the listing was cut short by the time limit)",
                result.members
            )
        },
    );
    layout.fact("Circuit breaker", breaker_state(result, &acting));
    layout.fact("Rules", rules(result, &acting));
    layout.fact("Members by status", by_status(result, &acting));
    licence_facts(&mut layout, result);
    if !result.notified.is_empty() {
        layout.fact("Disable notices sent", names(&result.notified));
    }
    if !result.licences.notified.is_empty() {
        layout.fact("Licence notices sent", names(&result.licences.notified));
    }
    for note in &result.notes {
        if result.breaker_reason.as_ref() != Some(note) {
            layout.fact("Note", note.clone());
        }
    }
    if report.is_none() {
        layout.fact("Report", result.report.clone());
    }

    let title = if result.breaker_tripped {
        "Members held by the circuit breaker"
    } else if result.dry_run {
        "Members a live run would act on"
    } else {
        ACTED_ON
    };
    layout.table(
        title,
        &MEMBER_COLUMNS,
        member_rows(table, acting.downgrades),
    );
    coming_up(&mut layout, result, &acting);
    layout.bars(
        "Inactivity in the org: days since the last sign-in",
        result.inactivity.bars(),
    );
    if let Some(report) = report {
        layout.report(report);
    }
    layout
}

/// "3 members disabled, 1 warned, 7 untouched", or a dry run's or a
/// tripped breaker's.
fn headline(result: &RunResult, acting: &Acting) -> String {
    let done = acting.done();
    if result.breaker_tripped {
        return format!("Circuit breaker tripped: nobody was warned or {done}");
    }
    let t = &result.acted;
    let untouched = result.members.saturating_sub(t.total());
    if result.dry_run {
        let would_act = t.count(Happened::WouldDisable) + t.count(Happened::WouldDowngrade);
        let mut parts = vec![
            format!("{would_act} would be {done}"),
            format!("{} would be warned", t.count(Happened::WouldWarn)),
        ];
        let back = t.count(Happened::WouldRestore);
        if back > 0 {
            parts.push(format!("{back} would get their licence back"));
        }
        parts.push(format!("{untouched} untouched"));
        return format!("Dry run: {}", parts.join(", "));
    }
    let acted = t.count(Happened::Disabled) + t.count(Happened::Downgraded);
    let mut parts = vec![
        format!("{} {done}", plural(acted, "member", "members")),
        format!("{} warned", t.count(Happened::Warned)),
    ];
    for (n, what) in [
        (t.count(Happened::Restored), "given their licence back"),
        (t.count(Happened::Waiting), "waiting"),
        (t.failed() + t.count(Happened::NoAddress), "failed"),
        (t.count(Happened::NotReached), "left for the next run"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.push(format!("{untouched} untouched"));
    parts.join(", ")
}

fn breaker_attention(result: &RunResult, acting: &Acting) -> String {
    let done = acting.done();
    let max = result.thresholds.max_disables_per_run;
    let earlier = result.disabled_today + result.downgraded_today;
    let due = plural(result.would_disable as u64, "member is", "members are");
    let over = if earlier == 0 {
        format!("more than the {max} allowed in a run or a day")
    } else {
        format!(
            "which with the {earlier} {done} earlier today is more than the {max} allowed a day"
        )
    };
    format!(
        "Circuit breaker tripped: {due} due to be {done}, {over}. Nobody was warned or {done}. \
         So many at once more often means wrong sign-in dates than a real exodus: check the members below. \
         If they are right, run the sweep from the console with a higher max_disables_per_run, or raise MAX_DISABLES_PER_RUN."
    )
}

/// Failures, members without an address and members not reached, each
/// with the first few names.
fn member_attention(layout: &mut Layout, table: &MemberTable) {
    for (happened, one, many, then) in [
        (
            Happened::WarningFailed,
            "warning mail failed",
            "warning mails failed",
            "the next run tries again",
        ),
        (
            Happened::DisableFailed,
            "disable failed",
            "disables failed",
            "the next run checks each account and tries again",
        ),
        (
            Happened::DowngradeFailed,
            "licence was not released",
            "licences were not released",
            "the next run checks each account and tries again",
        ),
        (
            Happened::RestoreFailed,
            "licence was not given back",
            "licences were not given back",
            "the next run checks each account and tries again",
        ),
        (
            Happened::NoAddress,
            "member has no valid email address and was not warned",
            "members have no valid email address and were not warned",
            "add one to the account and the next run warns",
        ),
        (
            Happened::NotReached,
            "member was not reached before the time limit",
            "members were not reached before the time limit",
            "the next run continues",
        ),
    ] {
        let n = table.count(happened);
        if n > 0 {
            layout.attention(format!(
                "{} ({}): {then}.",
                plural(n, one, many),
                some_names(&table.names(happened), n)
            ));
        }
    }
}

/// "a, b, c and 4 more".
fn some_names(names: &[&str], total: u64) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_IN_A_LINE).copied().collect();
    let rest = total.saturating_sub(shown.len() as u64);
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

fn names(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().map(String::as_str).collect();
    some_names(&shown, names.len() as u64)
}

/// "Monday 1 June 2026, 06:00 UTC".
fn when(now: DateTime<Utc>) -> String {
    now.format("%A %-d %B %Y, %H:%M UTC").to_string()
}

fn mode(dry_run: bool, acting: &Acting) -> String {
    match (dry_run, acting.downgrades) {
        (true, false) => "Dry run: nobody was mailed or disabled, and nothing was saved".into(),
        (true, true) => {
            "Dry run: nobody was mailed, no user type or role changed, and nothing was saved".into()
        }
        (false, false) => "Live: warnings mailed, members past the notice period disabled".into(),
        (false, true) => {
            "Live: warnings mailed, members past the notice period downgraded (their paid licence released)"
                .into()
        }
    }
}

fn breaker_state(result: &RunResult, acting: &Acting) -> String {
    let done = acting.done();
    let max = result.thresholds.max_disables_per_run;
    let earlier = result.disabled_today + result.downgraded_today;
    if result.breaker_tripped {
        let due = plural(result.would_disable as u64, "member", "members");
        return if earlier == 0 {
            format!(
                "tripped ({due} due to be {done}, more than the {max} allowed in a run or a day)"
            )
        } else {
            format!("tripped by the daily cap ({due} due to be {done} after {earlier} earlier today, more than the {max} allowed a day)")
        };
    }
    let t = &result.acted;
    if result.dry_run {
        let would = t.count(Happened::WouldDisable) + t.count(Happened::WouldDowngrade);
        return format!(
            "not tripped ({would} would be {done}; at most {max} {} a day, {earlier} so far today)",
            acting.noun()
        );
    }
    let today = earlier as u64 + t.count(Happened::Disabled) + t.count(Happened::Downgraded);
    format!(
        "not tripped ({today} of at most {max} {} today)",
        acting.noun()
    )
}

fn rules(result: &RunResult, acting: &Acting) -> String {
    let t = &result.thresholds;
    let verb = if acting.downgrades {
        "downgrade"
    } else {
        "disable"
    };
    format!(
        "warn after {} days without a sign-in; {verb} after {} days, at least {} days after the warning; accounts younger than {} days are left alone; at most {} {} a day",
        t.notify_after_days,
        t.disable_after_days,
        t.notice_days,
        t.new_account_grace_days,
        t.max_disables_per_run,
        acting.noun()
    )
}

/// The classes in words, in a fixed order.
fn by_status(result: &RunResult, acting: &Acting) -> String {
    let words = [
        ("active", "active"),
        ("warn", "inactive (warned, or due a warning)"),
        (
            if acting.downgrades {
                "downgrade"
            } else {
                "disable"
            },
            "past the notice period",
        ),
        ("downgraded", "licence released earlier"),
        ("already_downgraded", "already on the lower user type"),
        ("already_disabled", "already disabled"),
        ("protected", "protected"),
        ("unknown", "sign-in date not known"),
    ];
    let parts: Vec<String> = words
        .iter()
        .filter_map(|(class, label)| {
            let n = result.classes.get(class).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {label}"))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn licence_facts(layout: &mut Layout, result: &RunResult) {
    let l = &result.licences;
    let any = [&l.reclaimed, &l.restored, &l.waiting]
        .iter()
        .any(|m| !m.is_empty());
    if result.sweep_action != "downgrade" && !any {
        return;
    }
    let (released, back) = if result.dry_run {
        ("Licences to be released", "Licences to be given back")
    } else {
        ("Licences released", "Licences given back")
    };
    layout.fact(released, l.per_type(&l.reclaimed));
    layout.fact(back, l.per_type(&l.restored));
    layout.fact("Licences waiting", l.per_type(&l.waiting));
}

/// The table's rows: those kept, then empty rows for those counted only,
/// so the layout says how many more the report has.
fn member_rows(table: &MemberTable, downgrades: bool) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = table
        .lines()
        .into_iter()
        .map(|line| line.cells(downgrades))
        .collect();
    rows.resize(table.total().max(rows.len() as u64) as usize, Vec::new());
    rows
}

fn coming_up(layout: &mut Layout, result: &RunResult, acting: &Acting) {
    let due = &result.coming_up;
    let done = acting.done();
    if due.total == 0 {
        layout.text(
            "Coming up",
            format!("No warned member is due to be {done} at the next runs."),
        );
        return;
    }
    let mut rows: Vec<Vec<String>> = due
        .soonest()
        .into_iter()
        .map(|d| {
            vec![
                d.username.clone(),
                d.full_name.clone(),
                short_date(d.warned_on),
                short_date(d.on),
            ]
        })
        .collect();
    rows.resize(due.total.max(rows.len() as u64) as usize, Vec::new());
    let column = format!("To be {done} on");
    layout.table(
        format!(
            "Coming up: {} due to be {done} if still inactive, {} within a week",
            plural(due.total, "member", "members"),
            due.within_a_week
        ),
        &["Username", "Full name", "Warned on", &column],
        rows,
    );
}

/// The admins' mail when a run stopped before doing anything.
pub(crate) fn failure_mail(
    error: &RunError,
    now: DateTime<Utc>,
    config: &SweepConfig,
) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let acting = Acting {
        downgrades: config.action.downgrade().is_some(),
    };
    let mut layout = Layout::new(
        KICKER,
        format!(
            "The sweep stopped before doing anything: nobody was warned or {}",
            acting.done()
        ),
    );
    layout.attention(format!(
        "{}{}",
        capitalised(&error.to_string()),
        stop(error)
    ));
    layout.fact("When", when(now));
    layout.fact(
        "Next",
        "the next scheduled run tries again; fix the cause first, or run the sweep from the console once it is fixed",
    );
    Some(mail(config, "rollcall sweep failed".into(), &layout))
}

/// The admins' mail when a live run stopped part-way: what failed, and
/// exactly what the run had done before.
pub(crate) fn stopped_mail(
    stopped: &Stopped,
    now: DateTime<Utc>,
    config: &SweepConfig,
    report: Option<ReportLink>,
) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let done = &stopped.done;
    let downgrades = matches!(config.action, SweepAction::Downgrade(_));
    let licences = if done.downgraded.is_empty() && done.restored.is_empty() {
        String::new()
    } else {
        format!(
            ", {} downgraded, {} given back",
            done.downgraded.len(),
            done.restored.len()
        )
    };
    let headline = format!(
        "failed while {}: {} warned, {} disabled{licences} before the failure",
        stopped.step,
        done.warned.len(),
        done.disabled.len()
    );
    let subject = header_safe(&format!(
        "rollcall sweep {} {headline}",
        now.format("%Y-%m-%d")
    ));
    let mut layout = Layout::new(KICKER, format!("The sweep {headline}"));
    layout.attention(format!("Failed while {}: {}", stopped.step, stopped.source));
    let asked = if downgrades {
        "to change the user type of"
    } else {
        "to disable"
    };
    if !done.unconfirmed.is_empty() {
        layout.attention(format!(
            "The portal was asked {asked} {} without confirming it ({}): the next run checks each account.",
            plural(done.unconfirmed.len() as u64, "member", "members"),
            names(&done.unconfirmed)
        ));
    }
    if !done.presumed_mailed.is_empty() {
        layout.attention(format!(
            "{} not mailed, but the state could not be corrected, so the next run counts the mail as sent ({}).",
            plural(done.presumed_mailed.len() as u64, "member was", "members were"),
            names(&done.presumed_mailed)
        ));
    }
    layout.fact("When", when(now));
    layout.fact(
        "Before the failure",
        if done.is_empty() {
            "no member was warned or disabled".to_string()
        } else {
            let mut parts = vec![
                format!("{} warned", done.warned.len()),
                format!("{} disabled", done.disabled.len()),
                format!(
                    "{} sent",
                    plural(
                        done.notified.len() as u64,
                        "disable notice",
                        "disable notices"
                    )
                ),
            ];
            if !licences.is_empty() || !done.licence_notices.is_empty() {
                parts.push(format!("{} downgraded", done.downgraded.len()));
                parts.push(format!("{} given back", done.restored.len()));
                parts.push(format!(
                    "{} sent",
                    plural(
                        done.licence_notices.len() as u64,
                        "licence notice",
                        "licence notices"
                    )
                ));
            }
            parts.join(", ")
        },
    );
    layout.fact(
        "State",
        format!(
            "s3://{0}/state/sweep.json and s3://{0}/state/reclaimed.json hold every result the run could record and the intents of the batch that failed; the next run settles them, so no member is mailed twice and no disable, downgrade or restore is lost or repeated",
            config.report_bucket
        ),
    );
    if !done.notified.is_empty() {
        layout.fact("Disable notices sent", names(&done.notified));
    }
    if !done.licence_notices.is_empty() {
        layout.fact("Licence notices sent", names(&done.licence_notices));
    }
    if report.is_none() {
        layout.fact(
            "Report",
            stopped
                .report
                .clone()
                .unwrap_or_else(|| "could not be written".into()),
        );
    }
    layout.table(
        ACTED_ON,
        &MEMBER_COLUMNS,
        member_rows(&stopped.acted, downgrades),
    );
    if let Some(report) = report {
        layout.report(report);
    }
    Some(mail(config, subject, &layout))
}

fn mail(config: &SweepConfig, subject: String, layout: &Layout) -> Mail {
    let (text, html) = layout.render();
    Mail {
        from: config.common.mail.from.clone(),
        to: config.common.mail.admins.clone(),
        subject,
        text,
        html,
    }
}

/// "1 member", "2 members".
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A full stop unless the error's text ends with one.
fn stop(error: &RunError) -> &'static str {
    if error.to_string().ends_with('.') {
        ""
    } else {
        "."
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use connectors::arcgis::ArcgisSettings;
    use connectors::config::{Common, MailSettings};
    use connectors::store::{NewObject, StoredObject};
    use connectors::Error;

    use super::*;

    /// A store that presigns with the validity it was asked for, or fails.
    struct Presigner {
        fails: bool,
    }

    impl ObjectStore for Presigner {
        async fn get(&self, _: &str, _: &str) -> Result<Option<StoredObject>, Error> {
            Ok(None)
        }

        async fn put(&self, _: NewObject) -> Result<(), Error> {
            Ok(())
        }

        async fn download_link(
            &self,
            bucket: &str,
            key: &str,
            valid: Duration,
        ) -> Result<Option<String>, Error> {
            if self.fails {
                return Err(Error::Unavailable {
                    service: "S3",
                    status: 503,
                    attempts: 3,
                });
            }
            Ok(Some(format!(
                "https://{bucket}.s3.amazonaws.com/{key}?X-Amz-Expires={}",
                valid.as_secs()
            )))
        }
    }

    fn config(admins: &[&str]) -> SweepConfig {
        let mut common = Common::new(false);
        common.mail = MailSettings {
            from: "rollcall@example.org".into(),
            admins: admins.iter().map(|a| a.to_string()).collect(),
        };
        common.report_links.days = 2;
        common.report_links.region = Some("eu-west-1".into());
        SweepConfig::new(
            common,
            ArcgisSettings::new("https://example.maps.arcgis.com", "rollcall/arcgis"),
            "b",
        )
    }

    #[tokio::test]
    async fn the_report_link_downloads_for_the_configured_days_or_is_left_out() {
        let uri = "s3://b/reports/sweep/2026-06-01/r.csv";
        let admins = config(&["gis-admins@example.org"]);
        let link = report_link(&Presigner { fails: false }, uri, &admins)
            .await
            .unwrap();
        assert_eq!(
            link.download.as_deref(),
            Some("https://b.s3.amazonaws.com/reports/sweep/2026-06-01/r.csv?X-Amz-Expires=172800")
        );
        assert_eq!(link.region.as_deref(), Some("eu-west-1"));
        // A presign that fails leaves the link without its download.
        let link = report_link(&Presigner { fails: true }, uri, &admins)
            .await
            .unwrap();
        assert_eq!((link.uri().as_str(), link.download), (uri, None));
        // Nobody to mail: nothing presigned.
        assert!(report_link(&Presigner { fails: false }, uri, &config(&[]))
            .await
            .is_none());
    }
}
