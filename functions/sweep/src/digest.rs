//! What the admins' summary shows of a run, gathered while it runs: the
//! members acted on (a few of each kind, every kind counted), the members
//! due to be disabled next, and the org's inactivity in buckets. Each is
//! bounded, so an org of 1,000,000 members costs a few hundred rows and a
//! handful of counters.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use connectors::arcgis::LastLogin;
use connectors::mail::layout::MAX_TABLE_ROWS;
use serde::Serialize;

use crate::member::Person;

const DAY_MS: i64 = 86_400_000;

/// What happened to a member the summary lists, in the order it lists
/// them: what went wrong first, then what was held back, done and planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Happened {
    WarningFailed,
    DisableFailed,
    DowngradeFailed,
    RestoreFailed,
    /// No usable address on the account: not warned.
    NoAddress,
    /// Left for the next run by the Lambda deadline.
    NotReached,
    /// The circuit breaker held the run.
    DisableHeld,
    DowngradeHeld,
    WarningHeld,
    Disabled,
    Downgraded,
    Warned,
    Restored,
    /// A licence change the portal refused for now.
    Waiting,
    WouldDisable,
    WouldDowngrade,
    WouldWarn,
    WouldRestore,
}

impl Happened {
    /// A warning or a change that failed this run.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Happened::WarningFailed
                | Happened::DisableFailed
                | Happened::DowngradeFailed
                | Happened::RestoreFailed
        )
    }

    /// What happened, in words; `why` is a failure's reason.
    pub fn label(self, why: Option<&str>) -> String {
        let because = |what: &str| match why {
            Some(why) => format!("{what}: {why}"),
            None => what.to_string(),
        };
        match self {
            Happened::WarningFailed => because("warning mail failed"),
            Happened::DisableFailed => because("disabling failed"),
            Happened::DowngradeFailed => because("licence not released"),
            Happened::RestoreFailed => because("licence not given back"),
            Happened::NoAddress => "not warned: no valid email address".into(),
            Happened::NotReached => "not reached before the time limit".into(),
            Happened::DisableHeld => "not disabled: circuit breaker".into(),
            Happened::DowngradeHeld => "licence not released: circuit breaker".into(),
            Happened::WarningHeld => "not warned: circuit breaker".into(),
            Happened::Disabled => "disabled".into(),
            Happened::Downgraded => "licence released".into(),
            Happened::Warned => "warned".into(),
            Happened::Restored => "licence given back".into(),
            Happened::Waiting => because("waiting"),
            Happened::WouldDisable => "would be disabled".into(),
            Happened::WouldDowngrade => "licence would be released".into(),
            Happened::WouldWarn => "would be warned".into(),
            Happened::WouldRestore => "licence would be given back".into(),
        }
    }

    /// What comes next, in words, with `on` (a disable, release or retry
    /// date) where there is one.
    pub fn next_step(self, on: Option<NaiveDate>, downgrades: bool) -> String {
        let acted = if downgrades {
            "licence released"
        } else {
            "disabled"
        };
        match (self, on) {
            (Happened::Warned | Happened::WouldWarn, Some(day)) => {
                format!("{acted} on {} if still inactive", short_date(day))
            }
            (Happened::Warned | Happened::WouldWarn, None) => {
                format!("{acted} if still inactive")
            }
            (Happened::WarningFailed, _) => "the next run tries again".into(),
            (Happened::DisableFailed | Happened::DowngradeFailed | Happened::RestoreFailed, _) => {
                "the next run checks the account and tries again".into()
            }
            (Happened::NoAddress, _) => {
                "add an email address to the account; the next run warns".into()
            }
            (Happened::NotReached, _) => "the next run continues".into(),
            (Happened::DisableHeld | Happened::DowngradeHeld | Happened::WarningHeld, _) => {
                "waits until the circuit breaker lets a run through".into()
            }
            (Happened::Disabled, _) => "stays disabled until an admin enables it".into(),
            (Happened::Downgraded, _) => "licence given back when they sign in".into(),
            (Happened::Restored, _) => "nothing".into(),
            (Happened::Waiting, Some(day)) => {
                format!("tried again each run; possible from {}", short_date(day))
            }
            (Happened::Waiting, None) => "tried again each run until a licence is free".into(),
            (Happened::WouldDisable, _) => "a live run disables the account".into(),
            (Happened::WouldDowngrade, _) => "a live run releases the licence".into(),
            (Happened::WouldRestore, _) => "a live run gives the licence back".into(),
        }
    }
}

/// Why a member's action was not done this run, kept on the member until
/// the summary is made (boxed: most members have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setback {
    pub happened: Happened,
    /// The portal's or the mail service's words, for a failure.
    pub why: Option<String>,
}

/// One member in the summary's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLine {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub last_login: LastLogin,
    pub happened: Happened,
    /// The date of the next step: the disable (or release) date, or the
    /// day a waiting change becomes possible.
    pub next_on: Option<NaiveDate>,
    /// A failure's reason.
    pub why: Option<String>,
}

impl MemberLine {
    pub(crate) fn of(
        person: &Person,
        happened: Happened,
        next_on: Option<NaiveDate>,
        why: Option<String>,
    ) -> Self {
        Self {
            username: person.username.clone(),
            full_name: full_name(person),
            email: person.email.clone().unwrap_or_default(),
            last_login: person.last_login,
            happened,
            next_on,
            why,
        }
    }

    /// The table's cells: username, full name, email, last sign-in, what
    /// happened, next step.
    pub fn cells(&self, downgrades: bool) -> Vec<String> {
        vec![
            self.username.clone(),
            self.full_name.clone(),
            self.email.clone(),
            last_sign_in(self.last_login),
            self.happened.label(self.why.as_deref()),
            self.happened.next_step(self.next_on, downgrades),
        ]
    }
}

/// The members a run acted on, tried to, or would have: the first
/// [`MAX_TABLE_ROWS`] of each kind, and every kind counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberTable {
    rows: Vec<MemberLine>,
    counts: BTreeMap<Happened, u64>,
}

impl MemberTable {
    pub fn push(&mut self, line: MemberLine) {
        self.record(line.happened, || line);
    }

    /// Counts a member of kind `happened`, and keeps the line `make` gives
    /// while there are few of that kind (so a line is not built for every
    /// member of a large org).
    pub fn record(&mut self, happened: Happened, make: impl FnOnce() -> MemberLine) {
        let count = self.counts.entry(happened).or_default();
        *count += 1;
        if *count <= MAX_TABLE_ROWS as u64 {
            self.rows.push(make());
        }
    }

    /// Members of this kind.
    pub fn count(&self, happened: Happened) -> u64 {
        self.counts.get(&happened).copied().unwrap_or(0)
    }

    /// Members listed, of every kind.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Members whose warning or change failed.
    pub fn failed(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(h, _)| h.failed())
            .map(|(_, n)| n)
            .sum()
    }

    /// The usernames kept of this kind (at most [`MAX_TABLE_ROWS`]).
    pub fn names(&self, happened: Happened) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.happened == happened)
            .map(|r| r.username.as_str())
            .collect()
    }

    /// Every row kept, in the summary's order (by kind, then as found).
    pub fn lines(&self) -> Vec<&MemberLine> {
        let mut lines: Vec<&MemberLine> = self.rows.iter().collect();
        lines.sort_by_key(|l| l.happened);
        lines
    }

    /// Adds `other`'s rows and counts.
    pub fn merge(&mut self, other: MemberTable) {
        for line in other.rows {
            self.push(line);
        }
        for (happened, n) in other.counts {
            let kept = n.min(MAX_TABLE_ROWS as u64);
            *self.counts.entry(happened).or_default() += n - kept;
        }
    }

    /// Every `from` becomes `to` (a tripped breaker holds what a dry run
    /// planned).
    pub fn relabel(&mut self, from: Happened, to: Happened) {
        for row in &mut self.rows {
            if row.happened == from {
                row.happened = to;
            }
        }
        if let Some(n) = self.counts.remove(&from) {
            *self.counts.entry(to).or_default() += n;
        }
    }
}

/// A warned member due to be disabled (or downgraded) at a later run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub on: NaiveDate,
    pub username: String,
    pub full_name: String,
    pub warned_on: NaiveDate,
}

/// The warned members due next: the earliest [`MAX_TABLE_ROWS`] by date,
/// and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComingUp {
    soonest: Vec<Due>,
    /// The latest kept once the list was cut: later members are only counted.
    cutoff: Option<(NaiveDate, String)>,
    /// Every warned member with a date.
    pub total: u64,
    /// Of them, those due within the next seven days.
    pub within_a_week: u64,
}

impl ComingUp {
    pub(crate) fn push(
        &mut self,
        person: &Person,
        warned_at: DateTime<Utc>,
        on: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        self.total += 1;
        if on <= now + chrono::Duration::days(7) {
            self.within_a_week += 1;
        }
        let day = on.date_naive();
        if let Some((last_day, last_name)) = &self.cutoff {
            if (day, person.username.as_str()) >= (*last_day, last_name.as_str()) {
                return;
            }
        }
        self.soonest.push(Due {
            on: day,
            username: person.username.clone(),
            full_name: full_name(person),
            warned_on: warned_at.date_naive(),
        });
        if self.soonest.len() >= 2 * MAX_TABLE_ROWS {
            self.keep_soonest();
        }
    }

    /// The earliest members due, soonest first.
    pub fn soonest(&self) -> Vec<&Due> {
        let mut soonest: Vec<&Due> = self.soonest.iter().collect();
        soonest.sort_by(|a, b| (a.on, &a.username).cmp(&(b.on, &b.username)));
        soonest.truncate(MAX_TABLE_ROWS);
        soonest
    }

    fn keep_soonest(&mut self) {
        self.soonest
            .sort_by(|a, b| (a.on, &a.username).cmp(&(b.on, &b.username)));
        self.soonest.truncate(MAX_TABLE_ROWS);
        self.cutoff = self.soonest.last().map(|d| (d.on, d.username.clone()));
    }
}

/// Members by days since their last sign-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Inactivity {
    #[serde(rename = "under_60_days")]
    pub under_60: u64,
    #[serde(rename = "60_to_89_days")]
    pub from_60: u64,
    #[serde(rename = "90_to_179_days")]
    pub from_90: u64,
    #[serde(rename = "180_to_364_days")]
    pub from_180: u64,
    #[serde(rename = "365_days_or_more")]
    pub from_365: u64,
    /// Never signed in.
    pub never: u64,
    /// The portal did not say.
    pub unknown: u64,
}

impl Inactivity {
    /// Counts one member who last signed in at `last_login`, at `now`.
    pub fn count(&mut self, last_login: LastLogin, now: DateTime<Utc>) {
        let bucket = match last_login {
            LastLogin::Unknown => &mut self.unknown,
            LastLogin::Never => &mut self.never,
            LastLogin::At(ms) => match (now.timestamp_millis() - ms).max(0) / DAY_MS {
                0..=59 => &mut self.under_60,
                60..=89 => &mut self.from_60,
                90..=179 => &mut self.from_90,
                180..=364 => &mut self.from_180,
                _ => &mut self.from_365,
            },
        };
        *bucket += 1;
    }

    /// The buckets as labelled counts; "not known" only when there are any.
    pub fn bars(&self) -> Vec<(String, usize)> {
        let mut bars = vec![
            ("under 60 days".to_string(), self.under_60 as usize),
            ("60–89 days".to_string(), self.from_60 as usize),
            ("90–179 days".to_string(), self.from_90 as usize),
            ("180–364 days".to_string(), self.from_180 as usize),
            ("365+ days".to_string(), self.from_365 as usize),
            ("never".to_string(), self.never as usize),
        ];
        if self.unknown > 0 {
            bars.push(("not known".to_string(), self.unknown as usize));
        }
        bars
    }
}

/// The member's full name as the portal has it, else first and last.
pub(crate) fn full_name(person: &Person) -> String {
    person.full_name.clone().unwrap_or_else(|| {
        format!(
            "{} {}",
            person.first_name.as_deref().unwrap_or_default(),
            person.last_name.as_deref().unwrap_or_default()
        )
        .trim()
        .to_string()
    })
}

/// `12 Mar 2026`.
pub fn short_date(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

/// `Monday 14 December 2026`.
pub fn long_date(day: NaiveDate) -> String {
    day.format("%A %-d %B %Y").to_string()
}

/// The last sign-in as a short date, `never` or `not known`.
pub fn last_sign_in(last_login: LastLogin) -> String {
    match last_login {
        LastLogin::At(ms) => DateTime::from_timestamp_millis(ms)
            .map(|d| short_date(d.date_naive()))
            .unwrap_or_else(|| "not known".into()),
        LastLogin::Never => "never".into(),
        LastLogin::Unknown => "not known".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str) -> Person {
        Person {
            username: name.into(),
            email: None,
            first_name: Some("Ada".into()),
            last_name: Some("Idle".into()),
            full_name: None,
            last_login: LastLogin::Never,
        }
    }

    #[test]
    fn a_table_keeps_a_few_of_each_kind_and_counts_all_in_order() {
        let mut table = MemberTable::default();
        for n in 0..30 {
            table.push(MemberLine::of(
                &person(&format!("w{n}")),
                Happened::Warned,
                None,
                None,
            ));
        }
        table.push(MemberLine::of(
            &person("f"),
            Happened::WarningFailed,
            None,
            Some("bounced".into()),
        ));
        assert_eq!((table.total(), table.failed()), (31, 1));
        let lines = table.lines();
        assert_eq!(lines.len(), 26);
        assert_eq!(lines[0].username, "f");
        assert_eq!(lines[0].full_name, "Ada Idle");
        table.relabel(Happened::Warned, Happened::WarningHeld);
        assert_eq!(table.count(Happened::WarningHeld), 30);
    }

    #[test]
    fn coming_up_keeps_the_soonest() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut coming = ComingUp::default();
        for n in (0..100).rev() {
            coming.push(
                &person(&format!("m{n:03}")),
                now,
                now + chrono::Duration::days(n),
                now,
            );
        }
        let soonest = coming.soonest();
        assert_eq!((coming.total, coming.within_a_week), (100, 8));
        assert_eq!(soonest.len(), MAX_TABLE_ROWS);
        assert_eq!(soonest[0].username, "m000");
        assert_eq!(soonest[24].username, "m024");
    }

    #[test]
    fn inactivity_buckets_by_days_since_the_last_sign_in() {
        let now = DateTime::from_timestamp_millis(400 * DAY_MS).unwrap();
        let mut inactivity = Inactivity::default();
        for days in [0, 59, 60, 89, 90, 179, 180, 364, 365] {
            inactivity.count(LastLogin::At((400 - days) * DAY_MS), now);
        }
        inactivity.count(LastLogin::Never, now);
        assert_eq!(
            inactivity,
            Inactivity {
                under_60: 2,
                from_60: 2,
                from_90: 2,
                from_180: 2,
                from_365: 1,
                never: 1,
                unknown: 0
            }
        );
        assert_eq!(inactivity.bars().len(), 6);
    }

    #[test]
    fn dates_read_as_words() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 14).unwrap();
        assert_eq!(short_date(day), "14 Dec 2026");
        assert_eq!(long_date(day), "Monday 14 December 2026");
    }
}
