//! The Lambda handler: a schedule or console event in, a JSON summary out,
//! and the admins' summary mail.

use chrono::{DateTime, Utc};
use connectors::deadline::{run_id, Deadline};
use connectors::error::{diagnostic, Classified};
use connectors::lambda::Function;
use connectors::mail::{header_safe, Mail, Mailer, Summary};
use connectors::store::ObjectStore;
use connectors::ErrorKind;
use html_escape::encode_text;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::{error, instrument};

use crate::config::{SweepConfig, ThresholdError};
use crate::input::{self, InvalidInvocation};
use crate::job::{RunError, RunResult, Stopped, Sweep, SweepPorts};

/// What the invocation returns.
pub type SweepSummary = RunResult;

/// Members listed by name in the admins' mail, at most; the report has all.
const MAX_LISTED: usize = 100;

/// A failed sweep. The schedule's failure destination receives it.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("the event is not a schedule or console event: {0}")]
    Input(#[from] InvalidInvocation),
    #[error("`now` is accepted in dry runs only: a live run warns and disables by the schedule's clock, and this run would be live ({because}); add \"dry_run\": true or leave `now` out")]
    NowOnLiveRun { because: &'static str },
    #[error("the thresholds for this run: {0}")]
    Thresholds(#[from] ThresholdError),
    #[error("sweep stopped before doing anything: {0}")]
    Run(RunError),
    #[error("sweep stopped while {}; before that it warned {}, disabled {} and sent {} disable notice(s) (report: {})",
        .0, .0.done.warned.len(), .0.done.disabled.len(), .0.done.notified.len(),
        .0.report.as_deref().unwrap_or("not written"))]
    Stopped(Box<Stopped>),
    #[error("{}", breaker_message(*would_disable, *disabled_today, *max, report))]
    BreakerTripped {
        would_disable: usize,
        /// Members rollcall had disabled earlier the same day.
        disabled_today: usize,
        max: usize,
        report: String,
    },
}

impl From<RunError> for SweepError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Stopped(stopped) => SweepError::Stopped(stopped),
            other => SweepError::Run(other),
        }
    }
}

fn breaker_message(
    would_disable: usize,
    disabled_today: usize,
    max: usize,
    report: &str,
) -> String {
    if disabled_today == 0 {
        format!("circuit breaker: {would_disable} members would be disabled, more than {max}; nobody was warned or disabled (report: {report})")
    } else {
        format!("circuit breaker: {would_disable} members would be disabled after {disabled_today} already disabled today, more than the daily cap of {max}; nobody was warned or disabled (report: {report})")
    }
}

impl Classified for SweepError {
    fn kind(&self) -> ErrorKind {
        match self {
            SweepError::Input(_) | SweepError::NowOnLiveRun { .. } => ErrorKind::InvalidEvent,
            SweepError::Thresholds(_) => ErrorKind::InvalidConfiguration,
            SweepError::Run(RunError::MissingPrivilege { .. } | RunError::NotAMember) => {
                ErrorKind::Permission
            }
            SweepError::Run(RunError::ProtectedGroupMissing(_)) => ErrorKind::InvalidConfiguration,
            SweepError::Run(RunError::Service(e)) => e.kind(),
            SweepError::Run(RunError::Stopped(s)) | SweepError::Stopped(s) => s.source.kind(),
            SweepError::BreakerTripped { .. } => ErrorKind::SafetyStop,
        }
    }
}

impl From<SweepError> for Diagnostic {
    fn from(error: SweepError) -> Self {
        diagnostic(&error)
    }
}

/// The sweep function: its S3 store, mailer, ArcGIS org and configuration.
pub type Handler<S, M, D> = Function<S, M, D, SweepConfig>;

/// What the sweep does with an invocation.
pub trait SweepFunction {
    /// Handles one schedule or console event.
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<SweepSummary, SweepError>;
}

impl<S: ObjectStore, M: Mailer, D: SweepPorts> SweepFunction for Handler<S, M, D> {
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<SweepSummary, SweepError> {
        let this = self;
        let invocation = input::parse(&event.payload, Utc::now())?;
        let thresholds = invocation.overrides.apply(this.config.thresholds);
        thresholds.check()?;
        let dry_run = invocation.dry_run.unwrap_or(this.config.common.dry_run);
        if invocation.now_overridden && !dry_run {
            // A clock of the caller's choosing would warn and disable by it,
            // and save it as the warning time.
            return Err(SweepError::NowOnLiveRun {
                because: if invocation.dry_run == Some(false) {
                    "the event says \"dry_run\": false"
                } else {
                    "DRY_RUN is false and the event does not say \"dry_run\""
                },
            });
        }
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let run_id = run_id(&event.context.request_id);
        let sweep = Sweep {
            store: &this.store,
            mailer: &this.mailer,
            arcgis: &this.service,
            config: &this.config,
        };
        match sweep
            .run(invocation.now, thresholds, dry_run, &run_id, deadline)
            .await
        {
            Ok(result) => {
                send(&this.mailer, summary_mail(&result, &this.config)).await;
                if result.breaker_tripped {
                    return Err(SweepError::BreakerTripped {
                        would_disable: result.would_disable,
                        disabled_today: result.disabled_today,
                        max: thresholds.max_disables_per_run,
                        report: result.report,
                    });
                }
                Ok(result)
            }
            Err(e) => {
                error!(error = %e, "sweep failed");
                let mail = match &e {
                    RunError::Stopped(stopped) => {
                        stopped_mail(stopped, invocation.now, &this.config)
                    }
                    other => failure_mail(other, &this.config),
                };
                send(&this.mailer, mail).await;
                Err(e.into())
            }
        }
    }
}

/// Sends an admins' mail; a failure is logged, not raised (the run is over).
async fn send(mailer: &impl Mailer, mail: Option<Mail>) {
    if let Some(mail) = mail {
        if let Err(e) = mailer.send(&mail).await {
            error!(error = %e, "summary mail not sent");
        }
    }
}

fn summary_mail(result: &RunResult, config: &SweepConfig) -> Option<Mail> {
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

fn failure_mail(error: &RunError, config: &SweepConfig) -> Option<Mail> {
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
fn stopped_mail(stopped: &Stopped, now: DateTime<Utc>, config: &SweepConfig) -> Option<Mail> {
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
