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
    let headline = if result.breaker_tripped && result.disabled_today > 0 {
        format!(
            "circuit breaker tripped by the daily cap, {} would be disabled after {} today; nobody was warned or disabled",
            result.would_disable, result.disabled_today
        )
    } else if result.breaker_tripped {
        format!(
            "circuit breaker tripped, {} would be disabled; nobody was warned or disabled",
            result.would_disable
        )
    } else if result.dry_run {
        format!("dry run, {warned} would be warned, {disabled} would be disabled")
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
            if result.dry_run {
                "dry run: no member mail, no disable, no state change".into()
            } else {
                "live".into()
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
    facts.push((
        "Thresholds".into(),
        format!(
            "warn after {} days, disable after {} days and {} days' notice, new accounts spared {} days, at most {} disables a run and a day",
            t.notify_after_days, t.disable_after_days, t.notice_days, t.new_account_grace_days, t.max_disables_per_run
        ),
    ));
    facts.push((
        "Disabled earlier today".into(),
        result.disabled_today.to_string(),
    ));
    facts.push((
        "Circuit breaker".into(),
        match (result.breaker_tripped, result.disabled_today) {
            (false, _) => "not tripped".into(),
            (true, 0) => format!(
                "TRIPPED: {} members would be disabled",
                result.would_disable
            ),
            (true, today) => format!(
                "TRIPPED by the daily cap: {} members would be disabled after {today} already disabled today, more than {}",
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
    let subject = header_safe(&format!(
        "rollcall sweep {} failed while {}: {} warned, {} disabled before the failure",
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
                "{} warned, {} disabled, {} disable notice(s) sent",
                done.warned.len(),
                done.disabled.len(),
                done.notified.len()
            )
        },
    );
    body.fact(
        "State",
        format!(
            "s3://{}/state/sweep.json holds every result it could record and the intents of the batch that failed; the next run settles them, so no member is mailed twice and no disable is lost",
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
    body.list(
        format!(
            "Asked to disable, not confirmed; the next run checks each account ({})",
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
