//! The Lambda handler: a schedule or console event in, a JSON summary out,
//! and the admins' summary mail.

use chrono::Utc;
use connectors::deadline::{run_id, Deadline};
use connectors::error::{diagnostic, Classified};
use connectors::lambda::Function;
use connectors::mail::{Mail, Mailer};
use connectors::metrics::{Metric, RunMetrics};
use connectors::store::{MultipartUploads, ObjectStore};
use connectors::ErrorKind;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::{error, instrument};

use crate::config::{SweepConfig, ThresholdError};
use crate::input::{self, InvalidInvocation};
use crate::job::{Action, RunError, RunResult, Stopped, Sweep, SweepPorts};
use crate::mails::{failure_mail, report_link, stopped_mail, summary_mail};

/// What the invocation returns.
pub type SweepSummary = RunResult;

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
    #[error("{}", stopped_message(.0))]
    Stopped(Box<Stopped>),
    #[error("{}", breaker_message(*would_disable, *disabled_today, *max, acting, report))]
    BreakerTripped {
        /// Members past the notice period (to disable or downgrade).
        would_disable: usize,
        /// Members rollcall had disabled or downgraded earlier the same day.
        disabled_today: usize,
        max: usize,
        /// `disabled` or `downgraded`.
        acting: &'static str,
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

fn stopped_message(stopped: &Stopped) -> String {
    let done = &stopped.done;
    let licences = if done.downgraded.is_empty()
        && done.restored.is_empty()
        && done.licence_notices.is_empty()
    {
        String::new()
    } else {
        format!(
            ", downgraded {}, gave {} licence(s) back and sent {} licence notice(s)",
            done.downgraded.len(),
            done.restored.len(),
            done.licence_notices.len()
        )
    };
    format!(
        "sweep stopped while {}; before that it warned {}, disabled {} and sent {} disable notice(s){licences} (report: {})",
        stopped,
        done.warned.len(),
        done.disabled.len(),
        done.notified.len(),
        stopped.report.as_deref().unwrap_or("not written")
    )
}

fn breaker_message(
    would_disable: usize,
    disabled_today: usize,
    max: usize,
    acting: &str,
    report: &str,
) -> String {
    if disabled_today == 0 {
        format!("circuit breaker: {would_disable} members would be {acting}, more than {max}; nobody was warned or {acting} (report: {report})")
    } else {
        format!("circuit breaker: {would_disable} members would be {acting} after {disabled_today} already {acting} today, more than the daily cap of {max}; nobody was warned or {acting} (report: {report})")
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
            SweepError::Run(RunError::ProtectedGroupMissing(_) | RunError::Config(_)) => {
                ErrorKind::InvalidConfiguration
            }
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

impl<S: ObjectStore + MultipartUploads, M: Mailer, D: SweepPorts> SweepFunction
    for Handler<S, M, D>
{
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
        // Every portal, S3 and SES call of the run ends before the deadline.
        let margin = this.config.common.deadline_margin;
        let mut metrics = this.config.common.metrics.start(FUNCTION, &run_id);
        let run = sweep.run(invocation.now, thresholds, dry_run, &run_id, deadline);
        let done = deadline.scope(margin, run).await;
        measure(&mut metrics, &done);
        metrics.emit();
        match done {
            Ok(result) => {
                // Boxed: the store's presigning future is large, and the
                // handler's own future stays small for a debug build's stack.
                let link = Box::pin(report_link(&this.store, &result.report, &this.config)).await;
                send(&this.mailer, summary_mail(&result, &this.config, link)).await;
                if result.breaker_tripped {
                    let downgrades = result.sweep_action == "downgrade";
                    return Err(SweepError::BreakerTripped {
                        would_disable: result.would_disable,
                        disabled_today: result.disabled_today + result.downgraded_today,
                        max: thresholds.max_disables_per_run,
                        acting: if downgrades { "downgraded" } else { "disabled" },
                        report: result.report,
                    });
                }
                Ok(result)
            }
            Err(e) => {
                error!(error = %e, "sweep failed");
                let mail = match &e {
                    RunError::Stopped(stopped) => {
                        let link = match &stopped.report {
                            Some(uri) => {
                                Box::pin(report_link(&this.store, uri, &this.config)).await
                            }
                            None => None,
                        };
                        stopped_mail(stopped, invocation.now, &this.config, link)
                    }
                    other => failure_mail(other, invocation.now, &this.config),
                };
                send(&this.mailer, mail).await;
                Err(e.into())
            }
        }
    }
}

/// The function's name in its metrics' `Function` dimension (outside Lambda).
const FUNCTION: &str = "sweep";

/// The run's members warned, disabled and reclaimed, and whether the
/// breaker tripped; a run that stopped part-way reports what it had done.
fn measure(metrics: &mut RunMetrics<'_>, done: &Result<RunResult, RunError>) {
    let (warned, disabled, reclaimed, tripped) = match done {
        Ok(result) => {
            let count = |action: Action| result.actions.get(action.as_str()).copied();
            (
                count(Action::Warned).unwrap_or(0),
                count(Action::Disabled).unwrap_or(0),
                count(Action::Downgraded).unwrap_or(0),
                result.breaker_tripped,
            )
        }
        Err(RunError::Stopped(stopped)) => (
            stopped.done.warned.len() as u64,
            stopped.done.disabled.len() as u64,
            stopped.done.downgraded.len() as u64,
            false,
        ),
        Err(_) => (0, 0, 0, false),
    };
    metrics
        .set(Metric::MembersWarned, warned)
        .set(Metric::MembersDisabled, disabled)
        .set(Metric::MembersReclaimed, reclaimed)
        .set(Metric::BreakerTripped, u64::from(tripped));
}

/// Sends an admins' mail; a failure is logged, not raised (the run is over).
async fn send(mailer: &impl Mailer, mail: Option<Mail>) {
    if let Some(mail) = mail {
        if let Err(e) = mailer.send(&mail).await {
            error!(error = %e, "summary mail not sent");
        }
    }
}
