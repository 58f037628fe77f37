//! The admins' mails about a run: the summary, and what a failed run had done.

use crate::config::SweepConfig;
use chrono::{DateTime, Utc};
use connectors::mail::{header_safe, Mail, Summary};
use html_escape::encode_text;

/// Members listed by name in the admins' mail, at most; the report has all.
const MAX_LISTED: usize = 100;
use crate::job::{RunError, RunResult, Stopped};

pub(crate) fn summary_mail(result: &RunResult, config: &SweepConfig) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let count = |map: &std::collections::BTreeMap<&'static str, u64>, k: &str| {
        map.get(k).copied().unwrap_or(0)
    };
    let (warned, disabled) = if result.dry_run {
        (
            count(&result.actions, "planned_warn"),
            count(&result.actions, "planned_disable"),
        )
    } else {
        (
            count(&result.actions, "warned"),
            count(&result.actions, "disabled"),
        )
    };
    let downgrades = result.sweep_action == "downgrade";
    let acting = if downgrades { "downgraded" } else { "disabled" };
    let acted_today = result.disabled_today + result.downgraded_today;
    let l = &result.licences;
    let (reclaimed, restored) = (
        l.reclaimed.values().sum::<u64>(),
        l.restored.values().sum::<u64>(),
    );
    let waiting = l.waiting.values().sum::<u64>();
    let headline = if result.breaker_tripped && acted_today > 0 {
        format!(
            "circuit breaker tripped by the daily cap, {} would be {acting} after {acted_today} today; nobody was warned or {acting}",
            result.would_disable
        )
    } else if result.breaker_tripped {
        format!(
            "circuit breaker tripped, {} would be {acting}; nobody was warned or {acting}",
            result.would_disable
        )
    } else if result.dry_run && downgrades {
        format!("dry run, {warned} would be warned, {reclaimed} licence(s) would be reclaimed, {restored} given back")
    } else if result.dry_run {
        format!("dry run, {warned} would be warned, {disabled} would be disabled")
    } else if downgrades {
        format!("{warned} warned, {reclaimed} licence(s) reclaimed, {restored} given back, {waiting} waiting")
    } else if restored + waiting > 0 {
        format!("{warned} warned, {disabled} disabled, {restored} licence(s) given back, {waiting} waiting")
    } else {
        format!("{warned} warned, {disabled} disabled")
    };
    let subject = header_safe(&format!(
        "rollcall sweep {}: {headline}",
        result.now.format("%Y-%m-%d")
    ));
    let t = &result.thresholds;
    let mut facts: Vec<(String, String)> = vec![
        ("Run at".into(), result.now.to_rfc3339()),
        (
            "Mode".into(),
            match (result.dry_run, downgrades) {
                (true, false) => "dry run: no member mail, no disable, no state change".into(),
                (true, true) => {
                    "dry run: no member mail, no user-type or role change, no state change".into()
                }
                (false, false) => "live".into(),
                (false, true) => {
                    "live; members past the notice period are downgraded (SWEEP_ACTION=downgrade)"
                        .into()
                }
            },
        ),
        (
            "Members".into(),
            format!(
                "{}{}",
                result.members,
                if result.complete {
                    ""
                } else {
                    " (listing cut short by the deadline)"
                }
            ),
        ),
    ];
    for (class, n) in &result.classes {
        facts.push((format!("Class {class}"), n.to_string()));
    }
    for (action, n) in &result.actions {
        facts.push((format!("Action {action}"), n.to_string()));
    }
    let (act, acts) = if downgrades {
        ("downgrade", "downgrades")
    } else {
        ("disable", "disables")
    };
    facts.push((
        "Thresholds".into(),
        format!(
            "warn after {} days, {act} after {} days and {} days' notice, new accounts spared {} days, at most {} {acts} a run and a day",
            t.notify_after_days, t.disable_after_days, t.notice_days, t.new_account_grace_days, t.max_disables_per_run
        ),
    ));
    if downgrades || reclaimed + restored + waiting > 0 {
        let verb = if result.dry_run { "to be " } else { "" };
        facts.push((
            format!("Licences {verb}reclaimed"),
            l.per_type(&l.reclaimed),
        ));
        facts.push((
            format!("Licences {verb}given back"),
            l.per_type(&l.restored),
        ));
        facts.push(("Licences waiting".into(), l.per_type(&l.waiting)));
    }
    facts.push((
        format!(
            "{} earlier today",
            if downgrades { "Downgraded" } else { "Disabled" }
        ),
        acted_today.to_string(),
    ));
    facts.push((
        "Circuit breaker".into(),
        match (result.breaker_tripped, acted_today) {
            (false, _) => "not tripped".into(),
            (true, 0) => format!(
                "TRIPPED: {} members would be {acting}",
                result.would_disable
            ),
            (true, today) => format!(
                "TRIPPED by the daily cap: {} members would be {acting} after {today} already {acting} today, more than {}",
                result.would_disable, t.max_disables_per_run
            ),
        },
    ));
    for note in &result.notes {
        facts.push(("Note".into(), note.clone()));
    }
    facts.push(("Report".into(), result.report.clone()));
    let (warned_title, disabled_title) = if result.dry_run {
        ("Would be warned", "Would be disabled")
    } else {
        ("Warned", "Disabled")
    };
    let mut body = Summary::default();
    for (name, value) in facts {
        body.fact(name, value);
    }
    body.list(
        format!("{warned_title} ({})", result.warned.len()),
        result.warned.clone(),
        MAX_LISTED,
    );
    body.list(
        format!("{disabled_title} ({})", result.disabled.len()),
        result.disabled.clone(),
        MAX_LISTED,
    );
    body.list(
        format!("Disable notices sent ({})", result.notified.len()),
        result.notified.clone(),
        MAX_LISTED,
    );
    if downgrades || reclaimed + restored + waiting > 0 {
        let (reclaimed_title, restored_title) = if result.dry_run {
            ("Licences to be reclaimed", "Licences to be given back")
        } else {
            ("Licences reclaimed", "Licences given back")
        };
        for (title, names) in [
            (reclaimed_title, &l.reclaimed_members),
            (restored_title, &l.restored_members),
            ("Waiting", &l.waiting_members),
            ("Licence notices sent", &l.notified),
        ] {
            body.list(
                format!("{title} ({})", names.len()),
                names.clone(),
                MAX_LISTED,
            );
        }
    }
    let (text, html) = body.render();
    Some(Mail {
        from: config.common.mail.from.clone(),
        to: config.common.mail.admins.clone(),
        subject,
        text,
        html,
    })
}

pub(crate) fn failure_mail(error: &RunError, config: &SweepConfig) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let text = format!("The inactivity sweep stopped before doing anything:\n\n{error}\n\nNo member was warned or disabled.\n");
    let html = format!(
        "<html><body><p>The inactivity sweep stopped before doing anything:</p><p><b>{}</b></p><p>No member was warned or disabled.</p></body></html>",
        encode_text(&error.to_string())
    );
    Some(Mail {
        from: config.common.mail.from.clone(),
        to: config.common.mail.admins.clone(),
        subject: "rollcall sweep failed".into(),
        text,
        html,
    })
}

/// The admins' mail when a live run stopped part-way: what failed, and
/// exactly what the run had done before.
pub(crate) fn stopped_mail(
    stopped: &Stopped,
    now: DateTime<Utc>,
    config: &SweepConfig,
) -> Option<Mail> {
    if config.common.mail.admins.is_empty() {
        return None;
    }
    let done = &stopped.done;
    let licences = if done.downgraded.is_empty() && done.restored.is_empty() {
        String::new()
    } else {
        format!(
            ", {} downgraded, {} given back",
            done.downgraded.len(),
            done.restored.len()
        )
    };
    let subject = header_safe(&format!(
        "rollcall sweep {} failed while {}: {} warned, {} disabled{licences} before the failure",
        now.format("%Y-%m-%d"),
        stopped.step,
        done.warned.len(),
        done.disabled.len()
    ));
    let mut body = Summary::default();
    body.fact("Run at", now.to_rfc3339());
    body.fact("Failed while", stopped.step.to_string());
    body.fact("Error", stopped.source.to_string());
    body.fact(
        "Before the failure",
        if done.is_empty() {
            "no member was warned or disabled".to_string()
        } else {
            format!(
                "{} warned, {} disabled, {} disable notice(s) sent{}",
                done.warned.len(),
                done.disabled.len(),
                done.notified.len(),
                if licences.is_empty() && done.licence_notices.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} downgraded, {} given back, {} licence notice(s) sent",
                        done.downgraded.len(),
                        done.restored.len(),
                        done.licence_notices.len()
                    )
                }
            )
        },
    );
    body.fact(
        "State",
        format!(
            "s3://{0}/state/sweep.json and s3://{0}/state/reclaimed.json hold every result the run could record and the intents of the batch that failed; the next run settles them, so no member is mailed twice and no disable, downgrade or restore is lost or repeated",
            config.report_bucket
        ),
    );
    body.fact(
        "Report",
        stopped
            .report
            .clone()
            .unwrap_or_else(|| "could not be written".into()),
    );
    body.list(
        format!("Warned ({})", done.warned.len()),
        done.warned.clone(),
        MAX_LISTED,
    );
    body.list(
        format!("Disabled ({})", done.disabled.len()),
        done.disabled.clone(),
        MAX_LISTED,
    );
    body.list(
        format!("Disable notices sent ({})", done.notified.len()),
        done.notified.clone(),
        MAX_LISTED,
    );
    for (title, names) in [
        ("Downgraded", &done.downgraded),
        ("Given their licence back", &done.restored),
        ("Licence notices sent", &done.licence_notices),
    ] {
        if !names.is_empty() {
            body.list(
                format!("{title} ({})", names.len()),
                names.clone(),
                MAX_LISTED,
            );
        }
    }
    let asked = match config.action {
        crate::config::SweepAction::Disable => "Asked to disable",
        crate::config::SweepAction::Downgrade(_) => "Asked to change the user type",
    };
    body.list(
        format!(
            "{asked}, not confirmed; the next run checks each account ({})",
            done.unconfirmed.len()
        ),
        done.unconfirmed.clone(),
        MAX_LISTED,
    );
    body.list(
        format!(
            "Not mailed, but the state could not be corrected: the next run counts the mail as sent ({})",
            done.presumed_mailed.len()
        ),
        done.presumed_mailed.clone(),
        MAX_LISTED,
    );
    let (text, html) = body.render();
    Some(Mail {
        from: config.common.mail.from.clone(),
        to: config.common.mail.admins.clone(),
        subject,
        text,
        html,
    })
}
