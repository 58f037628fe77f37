//! One proficiency file: every row checked against the instance, each
//! agent resolved once, planned, and written with at most one disassociate,
//! one update and one associate call.

use std::collections::{BTreeMap, HashMap};

use connectors::connect::{Agent, ConnectDirectory};
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::{
    Applied, CsvJob, FieldProblem, Headline, JobSpec, Outcome, ReportColumn, RowResult, Run, Stat,
    Valid, Vocabulary,
};
use connectors::Error;
use futures::stream::{self, StreamExt};
use tracing::info;

use crate::config::ProficiencyConfig;
use crate::plan::{self, Call};
use crate::rows::{self, Request};

/// The outcome words of proficiency updates.
pub const VOCABULARY: Vocabulary = Vocabulary {
    outcomes: &[
        Outcome::Added,
        Outcome::Updated,
        Outcome::Removed,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::Planned,
    ],
    success_total: Some((
        "successful",
        &[Outcome::Added, Outcome::Updated, Outcome::Removed],
    )),
    headline: &[
        Headline::Total("successful"),
        Headline::Count(Outcome::Failed, "failed"),
        Headline::Count(Outcome::Skipped, "skipped"),
    ],
    listed: &[],
};

/// Proficiency files: their columns, words, report
/// (`line,identifier,identifier_type,action,attribute,value,level,outcome,reason`)
/// and the inbox its continuations go to.
pub const SPEC: JobSpec = JobSpec {
    columns: rows::COLUMNS,
    vocabulary: &VOCABULARY,
    report: &[
        ReportColumn::Line,
        ReportColumn::Input("identifier"),
        ReportColumn::Input("identifier_type"),
        ReportColumn::Input("action"),
        ReportColumn::Input("attribute"),
        ReportColumn::Input("value"),
        ReportColumn::Input("level"),
        ReportColumn::Outcome,
        ReportColumn::Reason,
    ],
    inbox: crate::handler::INBOX_PREFIX,
    unique_column: None,
    subject: "identifier",
};

/// The proficiency job over one Connect instance.
pub struct ProficiencyUpdate<'a, C> {
    pub connect: &'a C,
    pub config: &'a ProficiencyConfig,
}

/// One valid row on its way through the run.
pub(crate) struct Slot {
    /// `None` once the row has failed.
    pub(crate) request: Option<Request>,
    pub(crate) agent: Option<Agent>,
    pub(crate) result: Option<RowResult>,
}

impl Slot {
    pub(crate) fn fail(&mut self, reason: String) {
        self.result = Some(RowResult::failed(reason));
        self.request = None;
    }
}

impl<C: ConnectDirectory> CsvJob for ProficiencyUpdate<'_, C> {
    const SPEC: &'static JobSpec = &SPEC;
    type Row = Request;
    type Context = ();

    /// The attributes are checked with the rows that use them, in `apply`.
    async fn context(&self) -> Result<(), Error> {
        Ok(())
    }

    fn validate(
        &self,
        row: &Row,
        columns: &ColumnMap,
        _: &(),
    ) -> Result<Request, Vec<FieldProblem>> {
        rows::validate(row, columns)
    }

    async fn apply(&self, rows: Vec<Valid<Request>>, _: &(), run: &Run) -> Result<Applied, Error> {
        let mut slots: Vec<Slot> = rows
            .into_iter()
            .map(|valid| Slot {
                request: Some(valid.row),
                agent: None,
                result: None,
            })
            .collect();
        self.check_attributes(&mut slots).await?;
        self.resolve_agents(&mut slots).await?;

        // Each agent's rows, in file order.
        let mut by_agent: BTreeMap<String, (Agent, Vec<(usize, Request)>)> = BTreeMap::new();
        for (i, slot) in slots.iter().enumerate() {
            if let (Some(request), Some(agent)) = (&slot.request, &slot.agent) {
                by_agent
                    .entry(agent.id.clone())
                    .or_insert_with(|| (agent.clone(), Vec::new()))
                    .1
                    .push((i, request.clone()));
            }
        }
        let agents = by_agent.len();
        let results: Vec<Vec<(usize, RowResult)>> = stream::iter(by_agent.into_values())
            .map(|(agent, requests)| async move {
                if !run.may_start() {
                    return requests
                        .into_iter()
                        .map(|(i, _)| (i, RowResult::deferred()))
                        .collect();
                }
                self.agent(&agent, &requests, run.dry_run).await
            })
            .buffer_unordered(self.config.agent_concurrency.max(1))
            .collect()
            .await;
        for (i, result) in results.into_iter().flatten() {
            slots[i].result = Some(result);
        }
        Ok(Applied {
            results: slots
                .into_iter()
                .map(|s| s.result.unwrap_or_else(RowResult::deferred))
                .collect(),
            stats: vec![Stat {
                key: "agents",
                label: "Agents",
                value: agents,
            }],
            notes: Vec::new(),
        })
    }
}

impl<C: ConnectDirectory> ProficiencyUpdate<'_, C> {
    /// Reads one agent's proficiencies, plans its rows and (unless a dry run)
    /// writes the change: disassociate, update, associate, one call each.
    async fn agent(
        &self,
        agent: &Agent,
        requests: &[(usize, Request)],
        dry_run: bool,
    ) -> Vec<(usize, RowResult)> {
        let current = match self.connect.proficiencies(&agent.id).await {
            Ok(current) => current,
            Err(e) => {
                let reason = format!("reading the agent's proficiencies failed: {e}");
                return requests
                    .iter()
                    .map(|(i, _)| (*i, RowResult::failed(reason.clone())))
                    .collect();
            }
        };
        let refs: Vec<&Request> = requests.iter().map(|(_, r)| r).collect();
        let plan = plan::plan(&current, &refs, self.config.quota);
        let mut failed_calls: HashMap<Call, Error> = HashMap::new();
        if !dry_run {
            if !plan.disassociate.is_empty() {
                if let Err(e) = self
                    .connect
                    .disassociate(&agent.id, &plan.disassociate)
                    .await
                {
                    failed_calls.insert(Call::Disassociate, e);
                }
            }
            if !plan.update.is_empty() {
                if let Err(e) = self.connect.update(&agent.id, &plan.update).await {
                    failed_calls.insert(Call::Update, e);
                }
            }
            if !plan.associate.is_empty() {
                if let Err(e) = self.connect.associate(&agent.id, &plan.associate).await {
                    failed_calls.insert(Call::Associate, e);
                }
            }
        }
        let mut tally: BTreeMap<Outcome, usize> = BTreeMap::new();
        let outcomes: Vec<(usize, RowResult)> = plan
            .rows
            .iter()
            .map(|row| {
                let (outcome, reason) = if row.calls.is_empty() {
                    (row.outcome, row.reason.clone())
                } else if dry_run {
                    (Outcome::Planned, format!("would {}", row.reason))
                } else if let Some(why) = row.calls.iter().find_map(|c| failed_calls.get(c)) {
                    (Outcome::Failed, format!("{} failed: {why}", row.reason))
                } else {
                    let outcome = match row.calls[0] {
                        Call::Associate => Outcome::Added,
                        Call::Update => Outcome::Updated,
                        Call::Disassociate => Outcome::Removed,
                    };
                    (outcome, row.reason.clone())
                };
                *tally.entry(outcome).or_default() += 1;
                let result = match outcome {
                    Outcome::Failed => RowResult::failed(reason),
                    _ => RowResult::done(outcome, reason),
                };
                (requests[row.index].0, result)
            })
            .collect();
        let count = |o| tally.get(&o).copied().unwrap_or(0);
        info!(
            agent = %agent.username,
            agent_id = %agent.id,
            added = count(Outcome::Added),
            updated = count(Outcome::Updated),
            removed = count(Outcome::Removed),
            skipped = count(Outcome::Skipped),
            failed = count(Outcome::Failed),
            planned = count(Outcome::Planned),
            "agent done"
        );
        outcomes
    }
}
