//! What acting on members shares: the state written ahead of and after each
//! batch ([`Recorder`]), the run's context, and what became of a mail. The
//! actions themselves are in [`crate::warn`] (warning mails) and
//! [`crate::disable`] (bulk disables and the disable notices). Each batch is
//! written ahead to the state (its intents before, its results after), and
//! no batch or mail starts within the deadline margin; what is not reached
//! stays for the next run.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use connectors::deadline::Deadline;
use connectors::store::ObjectStore;
use connectors::Error;

use crate::job::Step;
use crate::reclaim::Target;
use crate::state::{self, Intent, Op};
use crate::templates::Templates;

/// Member mails per state write: the intents before, the results after.
pub(crate) const MAIL_BATCH: usize = 100;

/// A step that failed, stopping the run.
#[derive(Debug)]
pub(crate) struct Halt(pub(crate) Step, pub(crate) Error);

/// What every action of a live run shares.
pub(crate) struct Ctx<'a> {
    pub(crate) templates: &'a Templates,
    pub(crate) values: HashMap<&'static str, String>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) run_id: &'a str,
    pub(crate) deadline: Deadline,
    /// What a downgrade gives, when the sweep downgrades.
    pub(crate) target: Option<&'a Target>,
    /// The org's user types, id → name (for the licence mails).
    pub(crate) type_names: &'a std::collections::BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// A user type's name ("Creator"), or its id when the org gave none.
    pub(crate) fn type_name(&self, id: &str) -> String {
        self.type_names
            .get(id)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub(crate) fn intent(&self) -> Intent {
        Intent {
            run: self.run_id.to_string(),
            at: self.now,
        }
    }
}

/// Writes the state ahead of and after each batch. The settlement of what
/// the listing found is held back and goes with the first write.
pub(crate) struct Recorder<'a, S> {
    store: &'a S,
    bucket: &'a str,
    run_id: &'a str,
    today: NaiveDate,
    unsaved: Vec<Op>,
    /// State writes made.
    pub(crate) writes: usize,
}

impl<'a, S: ObjectStore> Recorder<'a, S> {
    pub(crate) fn new(
        store: &'a S,
        bucket: &'a str,
        run_id: &'a str,
        today: NaiveDate,
        settlement: Vec<Op>,
    ) -> Self {
        Self {
            store,
            bucket,
            run_id,
            today,
            unsaved: settlement,
            writes: 0,
        }
    }

    /// Writes `ops`, with anything held back; nothing when there is nothing.
    pub(crate) async fn record(&mut self, ops: impl IntoIterator<Item = Op>) -> Result<(), Error> {
        self.unsaved.extend(ops);
        if self.unsaved.is_empty() {
            return Ok(());
        }
        state::update(
            self.store,
            self.bucket,
            self.run_id,
            self.today,
            &self.unsaved,
        )
        .await?;
        self.unsaved.clear();
        self.writes += 1;
        Ok(())
    }

    /// Holds `ops` back for the next write.
    pub(crate) fn defer(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.unsaved.extend(ops);
    }
}

/// What became of one member mail.
pub(crate) enum Sent {
    Delivered,
    Failed(String),
    /// Not started: the deadline margin was reached.
    NotStarted,
}
