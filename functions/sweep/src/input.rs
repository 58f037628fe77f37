//! What starts a sweep: the EventBridge schedule, or a console test event
//! that may override the dry run, the clock and the thresholds for one run.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::config::Thresholds;

/// One sweep run's clock and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The run's clock: the schedule's `time`, or the console's `now`.
    pub now: DateTime<Utc>,
    /// The console event set `now` (allowed in dry runs only).
    pub now_overridden: bool,
    pub dry_run: Option<bool>,
    pub overrides: Overrides,
}

/// Thresholds a console invocation may change for its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub notify_after_days: Option<u32>,
    pub disable_after_days: Option<u32>,
    pub notice_days: Option<u32>,
    pub new_account_grace_days: Option<u32>,
    pub max_disables_per_run: Option<usize>,
}

impl Overrides {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: Thresholds) -> Thresholds {
        Thresholds {
            notify_after_days: self.notify_after_days.unwrap_or(base.notify_after_days),
            disable_after_days: self.disable_after_days.unwrap_or(base.disable_after_days),
            notice_days: self.notice_days.unwrap_or(base.notice_days),
            new_account_grace_days: self
                .new_account_grace_days
                .unwrap_or(base.new_account_grace_days),
            max_disables_per_run: self
                .max_disables_per_run
                .unwrap_or(base.max_disables_per_run),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Console {
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    #[serde(default)]
    notify_after_days: Option<u32>,
    #[serde(default)]
    disable_after_days: Option<u32>,
    #[serde(default)]
    notice_days: Option<u32>,
    #[serde(default)]
    new_account_grace_days: Option<u32>,
    #[serde(default)]
    max_disables_per_run: Option<usize>,
}

/// An event the sweep does not take, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInvocation(String);

/// Reads an invocation; `wall_clock` is used when the event carries no time.
pub fn parse(event: &Value, wall_clock: DateTime<Utc>) -> Result<Invocation, InvalidInvocation> {
    if event.get("detail-type").is_some() {
        let scheduled: EventBridgeEvent<Value> = serde_json::from_value(event.clone())
            .map_err(|e| InvalidInvocation(format!("not an EventBridge event: {e}")))?;
        return Ok(Invocation {
            now: scheduled.time.unwrap_or(wall_clock),
            now_overridden: false,
            dry_run: None,
            overrides: Overrides::default(),
        });
    }
    if event.is_null() {
        return Ok(Invocation {
            now: wall_clock,
            now_overridden: false,
            dry_run: None,
            overrides: Overrides::default(),
        });
    }
    let console: Console = serde_json::from_value(event.clone()).map_err(|e| {
        InvalidInvocation(format!(
            "a console event takes dry_run, now (RFC 3339; dry runs only), notify_after_days, disable_after_days, notice_days, new_account_grace_days, max_disables_per_run: {e}"
        ))
    })?;
    Ok(Invocation {
        now: console.now.unwrap_or(wall_clock),
        now_overridden: console.now.is_some(),
        dry_run: console.dry_run,
        overrides: Overrides {
            notify_after_days: console.notify_after_days,
            disable_after_days: console.disable_after_days,
            notice_days: console.notice_days,
            new_account_grace_days: console.new_account_grace_days,
            max_disables_per_run: console.max_disables_per_run,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wall() -> DateTime<Utc> {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_schedule_sets_the_clock() {
        let event = json!({"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events",
            "account":"1","time":"2026-11-23T06:00:00Z","region":"us-east-1","resources":[],"detail":{}});
        let run = parse(&event, wall()).unwrap();
        assert_eq!(
            run.now,
            "2026-11-23T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(run.dry_run, None);
    }

    #[test]
    fn a_console_event_overrides_for_one_run() {
        let run = parse(
            &json!({"dry_run": false, "now": "2026-12-01T00:00:00Z", "notice_days": 7}),
            wall(),
        )
        .unwrap();
        assert_eq!(run.dry_run, Some(false));
        assert!(run.now_overridden);
        assert_eq!(run.overrides.apply(Thresholds::default()).notice_days, 7);
        let typo = parse(&json!({"dryrun": false}), wall()).unwrap_err();
        assert!(typo.to_string().contains("dryrun"), "{typo}");
    }
}
