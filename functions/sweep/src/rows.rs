//! The end of a run's acting: each candidate's report line, the counts of
//! actions and licences, the dry run's plan, and the breaker's note.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use connectors::report::ReportUpload;
use connectors::store::{MultipartUploads, ObjectStore};

use crate::classify::Need;
use crate::digest::{Happened, MemberLine, MemberTable};
use crate::job::{report_row, Action, Candidate, Licences};
use crate::planned::PlannedWarnings;
use crate::reclaim::restore::{plans, FreeSeats};

/// What the rows say, counted.
pub(crate) struct Rows {
    pub actions: BTreeMap<&'static str, u64>,
    /// Warned (or to be warned).
    pub warned: Vec<String>,
    /// Disabled (or to be disabled).
    pub disabled: Vec<String>,
    pub licences: Licences,
}

/// Why the breaker tripped: too many for one run, or for the day.
pub(crate) fn breaker_note(
    would: usize,
    acted_today: usize,
    max: usize,
    today: NaiveDate,
    acting: &str,
) -> String {
    if acted_today == 0 {
        format!(
            "circuit breaker: {would} members would be {acting}, more than MAX_DISABLES_PER_RUN ({max}); nobody was warned or {acting}"
        )
    } else {
        format!(
            "circuit breaker: {would} members would be {acting} after {acted_today} already {acting} on {today}, more than the daily cap MAX_DISABLES_PER_RUN ({max}); nobody was warned or {acting}"
        )
    }
}

/// A dry run's plan for each candidate: what a live run would do, with the
/// licences free now for what it would give back.
pub(crate) fn plan_dry_run(
    candidates: &mut [Candidate],
    downgrades: bool,
    seats: &mut FreeSeats,
    type_names: &BTreeMap<String, String>,
) {
    let restores = plans(candidates);
    for (index, plan) in restores {
        let c = &mut candidates[index];
        c.action = Action::PlannedRestore;
        if let Some(user_type) = &plan.user_type {
            let name = type_names.get(user_type).unwrap_or(user_type);
            if let Err(why) = seats.take(user_type, name) {
                c.note(&format!("{why} now, so it would wait"));
            }
        }
    }
    for c in candidates {
        match c.decision.need {
            Need::Warning => c.action = Action::PlannedWarn,
            Need::Disabling if downgrades => c.action = Action::PlannedDowngrade,
            Need::Disabling => c.action = Action::PlannedDisable,
            Need::Restoring => {}
            Need::Nothing => {
                if c.notice_due.is_some() {
                    c.note("the disable notice is due (not sent in a dry run)");
                }
                if c.reclaim.notice.is_some() {
                    c.note("the licence notice is due (not sent in a dry run)");
                }
            }
        }
    }
}

/// The candidates the summary lists: what became of each one acted on,
/// tried, planned, or held by a tripped `breaker`.
pub(crate) fn tabulate(candidates: &[Candidate], breaker: bool, downgrades: bool) -> MemberTable {
    let mut table = MemberTable::default();
    for c in candidates {
        if let Some(line) = member_line(c, breaker, downgrades) {
            table.push(line);
        }
    }
    table
}

fn member_line(c: &Candidate, breaker: bool, downgrades: bool) -> Option<MemberLine> {
    let disable_on = c.decision.disable_on.map(|d| d.date_naive());
    if let Some(setback) = &c.setback {
        return Some(MemberLine::of(
            &c.user,
            setback.happened,
            None,
            setback.why.clone(),
        ));
    }
    let waiting = c.reclaim.waiting.as_ref();
    let (happened, next_on, why) = match c.action {
        Action::Warned => (Happened::Warned, disable_on, None),
        Action::Disabled => (Happened::Disabled, None, None),
        Action::Downgraded => (Happened::Downgraded, None, None),
        Action::Restored => (Happened::Restored, None, None),
        Action::Waiting => (
            Happened::Waiting,
            waiting.and_then(|w| w.until),
            waiting.map(|w| w.reason.clone()),
        ),
        Action::PlannedWarn => (Happened::WouldWarn, disable_on, None),
        Action::PlannedDisable => (Happened::WouldDisable, None, None),
        Action::PlannedDowngrade => (Happened::WouldDowngrade, None, None),
        // A role put back, no licence: not the summary's business.
        Action::PlannedRestore if c.reclaim.record.is_none() => return None,
        Action::PlannedRestore => (Happened::WouldRestore, None, None),
        Action::None if breaker => match c.decision.need {
            Need::Disabling if downgrades => (Happened::DowngradeHeld, None, None),
            Need::Disabling => (Happened::DisableHeld, None, None),
            Need::Warning => (Happened::WarningHeld, None, None),
            Need::Restoring | Need::Nothing => return None,
        },
        Action::None => return None,
    };
    Some(MemberLine::of(&c.user, happened, next_on, why))
}

/// Streams every candidate's row to `report`, a dry run's planned warnings
/// in their places (with the `breaker`'s note when it tripped); counts the
/// actions, who was warned and disabled (or would be), and the licences
/// released, given back and waiting per user type. A row that cannot be
/// written is the error; the counts are then lost with the report.
pub(crate) async fn write_rows<S: ObjectStore + MultipartUploads>(
    report: &mut ReportUpload<'_, S>,
    candidates: &[Candidate],
    (planned, breaker): (&PlannedWarnings, Option<&str>),
    downgrades: bool,
    type_names: &BTreeMap<String, String>,
) -> Result<Rows, connectors::Error> {
    let mut rows = Rows {
        actions: BTreeMap::new(),
        warned: Vec::new(),
        disabled: Vec::new(),
        licences: Licences {
            type_names: type_names.clone(),
            ..Licences::default()
        },
    };
    let mut written = 0;
    for (before, line) in planned.lines(breaker) {
        write_candidates(report, &candidates[written..before], downgrades, &mut rows).await?;
        written = before;
        let action = if breaker.is_some() {
            Action::None
        } else {
            rows.warned.push(line[0].clone());
            Action::PlannedWarn
        };
        *rows.actions.entry(action.as_str()).or_default() += 1;
        report.row(&line).await?;
    }
    write_candidates(report, &candidates[written..], downgrades, &mut rows).await?;
    Ok(rows)
}

/// Streams `candidates`' rows, counted into `rows`.
async fn write_candidates<S: ObjectStore + MultipartUploads>(
    report: &mut ReportUpload<'_, S>,
    candidates: &[Candidate],
    downgrades: bool,
    rows: &mut Rows,
) -> Result<(), connectors::Error> {
    for c in candidates {
        let columns = downgrades.then_some(&c.reclaim);
        let row = report_row(&c.user, &c.decision, c.action, &c.reason, columns);
        report.row(&row).await?;
        *rows.actions.entry(c.action.as_str()).or_default() += 1;
        let name = c.user.username.clone();
        let record_type = c.reclaim.record.as_ref().map(|r| r.user_type.clone());
        let held = c.reclaim.user_type.clone().unwrap_or_default();
        let l = &mut rows.licences;
        match c.action {
            Action::Warned | Action::PlannedWarn => rows.warned.push(name),
            Action::Disabled | Action::PlannedDisable => rows.disabled.push(name),
            Action::Downgraded | Action::PlannedDowngrade => {
                *l.reclaimed.entry(record_type.unwrap_or(held)).or_default() += 1;
                l.reclaimed_members.push(name);
            }
            Action::Restored | Action::PlannedRestore => {
                if c.action == Action::PlannedRestore && c.reclaim.record.is_none() {
                    continue; // a role put back, no licence
                }
                *l.restored.entry(record_type.unwrap_or(held)).or_default() += 1;
                l.restored_members.push(name);
            }
            Action::Waiting => {
                let of = c
                    .reclaim
                    .waiting
                    .as_ref()
                    .map(|w| match w.change {
                        crate::reclaim::state::Change::Restore => {
                            record_type.clone().unwrap_or_else(|| held.clone())
                        }
                        crate::reclaim::state::Change::Downgrade => held.clone(),
                    })
                    .unwrap_or(held);
                *l.waiting.entry(of).or_default() += 1;
                let until = c
                    .reclaim
                    .waiting
                    .as_ref()
                    .and_then(|w| w.until)
                    .map(|d| format!(" (possible from {})", d.format("%Y-%m-%d")))
                    .unwrap_or_else(|| " (no licence free)".into());
                l.waiting_members.push(format!("{name}{until}"));
            }
            Action::None => {}
        }
    }
    Ok(())
}
