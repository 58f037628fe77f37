//! One proficiency file, start to finish.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::connect::{Agent, ConnectDirectory};
use connectors::csvfile::{self, ColumnMap, Row, Table};
use connectors::deadline::Deadline;
use connectors::report::{put_report, ReportWriter};
use connectors::store::{written_by, NewObject, ObjectStore};
use connectors::{Error, WRITTEN_BY_METADATA};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::config::ProficiencyConfig;
use crate::input::{is_consumed, remaining_key, Target};
use crate::plan::{self, Call, Outcome};
use crate::rows::{self, IdKind, Request};

/// The function name in object metadata and report paths.
const FUNCTION: &str = "proficiency";

/// Rows per outcome, and the usual script's three totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub planned: usize,
    /// added + updated + removed
    pub successful: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Added => self.added += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Removed => self.removed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Planned => self.planned += 1,
        }
        self.successful = self.added + self.updated + self.removed;
    }

    pub fn merge(&mut self, other: &Counts) {
        self.added += other.added;
        self.updated += other.updated;
        self.removed += other.removed;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.planned += other.planned;
        self.successful = self.added + self.updated + self.removed;
    }
}

/// How a file was handled as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Processed,
    SelfWritten,
    Missing,
    Unusable,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct RowReport {
    pub line: u64,
    pub fields: [String; 6],
    pub outcome: Outcome,
    pub reason: String,
}

/// The result of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub bucket: String,
    pub key: String,
    pub status: FileStatus,
    pub dry_run: bool,
    pub counts: Counts,
    pub agents: usize,
    pub report: Option<String>,
    pub csv_rewritten: bool,
    /// `s3://bucket/remaining/<key>` when rows were left for the next run.
    pub remaining: Option<String>,
    pub note: Option<String>,
    #[serde(skip)]
    pub rows: Vec<RowReport>,
}

impl FileResult {
    fn new(target: &Target, status: FileStatus, dry_run: bool) -> Self {
        Self {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            status,
            dry_run,
            counts: Counts::default(),
            agents: 0,
            report: None,
            csv_rewritten: false,
            remaining: None,
            note: None,
            rows: Vec::new(),
        }
    }
}

/// A row's outcome and reason, or `None` when it was not reached in time.
type RowResult = (usize, Option<(Outcome, String)>);

/// Per-row working state.
struct Slot<'t> {
    row: &'t Row,
    request: Option<Request>,
    agent: Option<Agent>,
    outcome: Option<Outcome>,
    reason: String,
    /// Not reached before the deadline.
    left: bool,
}

impl Slot<'_> {
    fn fail(&mut self, reason: String) {
        self.outcome = Some(Outcome::Failed);
        self.reason = reason;
        self.request = None;
    }
}

/// The ports and settings of a run.
pub struct Job<'a, S, C> {
    pub store: &'a S,
    pub connect: &'a C,
    pub config: &'a ProficiencyConfig,
}

impl<S: ObjectStore, C: ConnectDirectory> Job<'_, S, C> {
    /// Processes one file. Errors are failures of the whole run (Connect or
    /// S3 unreachable) that leave the file untouched.
    pub async fn file(
        &self,
        target: &Target,
        run_id: &str,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<FileResult, Error> {
        let dry_run = target.dry_run.unwrap_or(self.config.dry_run);
        let Some(object) = self.store.get(&target.bucket, &target.key).await? else {
            let mut result = FileResult::new(target, FileStatus::Missing, dry_run);
            result.note = Some("the object does not exist".into());
            return Ok(result);
        };
        if target.from_s3 && object.metadata.contains_key(WRITTEN_BY_METADATA) {
            return Ok(FileResult::new(target, FileStatus::SelfWritten, dry_run));
        }
        let (table, columns) = match csvfile::read(&object.body, rows::COLUMNS) {
            Ok(read) => read,
            Err(problem) => return self.unusable(target, dry_run, run_id, now, problem).await,
        };

        let mut slots: Vec<Slot> = table
            .rows
            .iter()
            .map(|row| match rows::validate(row, &columns) {
                Ok(request) => Slot {
                    row,
                    request: Some(request),
                    agent: None,
                    outcome: None,
                    reason: String::new(),
                    left: false,
                },
                Err(problems) => Slot {
                    row,
                    request: None,
                    agent: None,
                    outcome: Some(Outcome::Failed),
                    reason: problems.join("; "),
                    left: false,
                },
            })
            .collect();
        self.check_attributes(&mut slots).await?;
        self.resolve_agents(&mut slots).await?;

        // Each agent's rows, in file order.
        let mut by_agent: BTreeMap<String, (Agent, Vec<usize>)> = BTreeMap::new();
        for (i, slot) in slots.iter().enumerate() {
            if let (Some(_), Some(agent)) = (&slot.request, &slot.agent) {
                by_agent
                    .entry(agent.id.clone())
                    .or_insert_with(|| (agent.clone(), Vec::new()))
                    .1
                    .push(i);
            }
        }
        let agents = by_agent.len();
        let margin = self.config.deadline_margin;
        let work: Vec<(Agent, Vec<(usize, Request)>)> = by_agent
            .into_values()
            .map(|(agent, indices)| {
                let requests = indices
                    .into_iter()
                    .filter_map(|i| slots[i].request.clone().map(|r| (i, r)))
                    .collect();
                (agent, requests)
            })
            .collect();
        let results: Vec<Vec<RowResult>> = stream::iter(work)
            .map(|(agent, requests)| async move {
                if !deadline.allows(margin) {
                    return requests.into_iter().map(|(i, _)| (i, None)).collect();
                }
                self.agent(&agent, &requests, dry_run).await
            })
            .buffer_unordered(self.config.agent_concurrency.max(1))
            .collect()
            .await;
        let remainder = remaining_key(&target.key);
        for (i, result) in results.into_iter().flatten() {
            let slot = &mut slots[i];
            match result {
                Some((outcome, reason)) => {
                    slot.outcome = Some(outcome);
                    slot.reason = reason;
                }
                None => {
                    slot.outcome = Some(Outcome::Skipped);
                    slot.left = true;
                    slot.reason =
                        format!("not reached before the Lambda deadline; left in {remainder}");
                }
            }
        }

        let mut result = FileResult::new(target, FileStatus::Processed, dry_run);
        result.agents = agents;
        for slot in &slots {
            let outcome = slot.outcome.unwrap_or(Outcome::Skipped);
            result.counts.add(outcome);
            result.rows.push(RowReport {
                line: slot.row.line,
                fields: [
                    "identifier",
                    "identifier_type",
                    "action",
                    "attribute",
                    "value",
                    "level",
                ]
                .map(|c| columns.get(slot.row, c).to_string()),
                outcome,
                reason: slot.reason.clone(),
            });
        }
        if !dry_run {
            self.consume(&mut result, &table, &columns, &slots, &object.etag, run_id)
                .await?;
        }
        self.write_report(&mut result, run_id, now).await?;
        Ok(result)
    }

    /// Fails rows whose attribute or value the instance does not define, and
    /// puts names in the instance's spelling.
    async fn check_attributes(&self, slots: &mut [Slot<'_>]) -> Result<(), Error> {
        if slots.iter().all(|s| s.request.is_none()) {
            return Ok(());
        }
        let names = self.connect.attribute_names().await?;
        let by_lower: HashMap<String, String> = names
            .iter()
            .map(|n| (n.to_lowercase(), n.clone()))
            .collect();
        let wanted: HashSet<String> = slots
            .iter()
            .filter_map(|s| s.request.as_ref())
            .filter_map(|r| by_lower.get(&r.attribute.to_lowercase()).cloned())
            .collect();
        let values: HashMap<String, Vec<String>> = stream::iter(wanted)
            .map(|name| async move { (name.clone(), self.connect.attribute_values(&name).await) })
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|(name, values)| values.map(|v| (name, v.unwrap_or_default())))
            .collect::<Result<_, _>>()?;
        for slot in slots.iter_mut() {
            let Some(request) = slot.request.as_mut() else {
                continue;
            };
            let Some(name) = by_lower.get(&request.attribute.to_lowercase()) else {
                let reason = format!(
                    "attribute: {:?} is not a predefined attribute of this instance",
                    request.attribute
                );
                slot.fail(reason);
                continue;
            };
            request.attribute = name.clone();
            let known = &values[name];
            let value = known.iter().find(|v| **v == request.value).or_else(|| {
                known
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(&request.value))
            });
            match value {
                Some(v) => request.value = v.clone(),
                None => {
                    let shown: Vec<&str> = known.iter().take(10).map(String::as_str).collect();
                    let reason = format!(
                        "value: {:?} is not a value of attribute {name} (values: {}{})",
                        request.value,
                        shown.join(", "),
                        if known.len() > 10 { ", …" } else { "" }
                    );
                    slot.fail(reason);
                }
            }
        }
        Ok(())
    }

    /// Finds each agent once: a few usernames by SearchUsers, many by one
    /// ListUsers scan; user ids by DescribeUser. Names compare case-insensitively.
    async fn resolve_agents(&self, slots: &mut [Slot<'_>]) -> Result<(), Error> {
        // Lower-cased name → the spelling the file first used (searched as is).
        let mut spelled: BTreeMap<String, String> = BTreeMap::new();
        for r in slots.iter().filter_map(|s| s.request.as_ref()) {
            if r.id_kind == IdKind::Username {
                spelled
                    .entry(r.identifier.to_lowercase())
                    .or_insert_with(|| r.identifier.clone());
            }
        }
        let ids: Vec<String> = slots
            .iter()
            .filter_map(|s| s.request.as_ref())
            .filter(|r| r.id_kind == IdKind::UserId)
            .map(|r| r.identifier.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut by_name: HashMap<String, Vec<Agent>> = HashMap::new();
        let mut scan_for: HashSet<String> = HashSet::new();
        if spelled.len() <= self.config.search_threshold {
            let found: Vec<(String, Result<Vec<Agent>, Error>)> = stream::iter(spelled.iter())
                .map(|(lower, name)| async move {
                    (lower.clone(), self.connect.search_username(name).await)
                })
                .buffer_unordered(4)
                .collect()
                .await;
            for (lower, agents) in found {
                let agents: Vec<Agent> = agents?
                    .into_iter()
                    .filter(|a| a.username.to_lowercase() == lower)
                    .collect();
                // EXACT may compare case-sensitively: a miss is checked by the scan.
                if agents.is_empty() {
                    scan_for.insert(lower);
                } else {
                    by_name.insert(lower, agents);
                }
            }
        } else {
            scan_for.extend(spelled.keys().cloned());
        }
        if !scan_for.is_empty() {
            let mut next = None;
            loop {
                let (page, token) = self.connect.list_agents(next).await?;
                for agent in page {
                    let key = agent.username.to_lowercase();
                    if scan_for.contains(&key) {
                        by_name.entry(key).or_default().push(agent);
                    }
                }
                match token {
                    Some(t) => next = Some(t),
                    None => break,
                }
            }
        }
        let by_id: HashMap<String, Option<Agent>> = stream::iter(ids)
            .map(|id| async move {
                let agent = self.connect.describe_agent(&id).await;
                (id, agent)
            })
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|(id, agent)| agent.map(|a| (id, a)))
            .collect::<Result<_, _>>()?;
        for slot in slots.iter_mut() {
            let Some(request) = &slot.request else {
                continue;
            };
            let found = match request.id_kind {
                IdKind::Username => match by_name.get(&request.identifier.to_lowercase()).map(Vec::as_slice) {
                    Some([agent]) => Ok(agent.clone()),
                    Some([]) | None => Err(format!("identifier: no agent has the username {:?}", request.identifier)),
                    Some(many) => Err(format!(
                        "identifier: the username {:?} matches {} agents ignoring case ({}); use identifier_type user_id",
                        request.identifier,
                        many.len(),
                        many.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                },
                IdKind::UserId => match by_id.get(&request.identifier) {
                    Some(Some(agent)) => Ok(agent.clone()),
                    _ => Err(format!("identifier: no agent has the user id {:?}", request.identifier)),
                },
            };
            match found {
                Ok(agent) => slot.agent = Some(agent),
                Err(reason) => slot.fail(reason),
            }
        }
        Ok(())
    }

    /// Reads one agent's proficiencies, plans its rows and (unless a dry run)
    /// writes the change: disassociate, update, associate, one call each.
    async fn agent(
        &self,
        agent: &Agent,
        requests: &[(usize, Request)],
        dry_run: bool,
    ) -> Vec<RowResult> {
        let current = match self.connect.proficiencies(&agent.id).await {
            Ok(current) => current,
            Err(e) => {
                let reason = format!("reading the agent's proficiencies failed: {e}");
                return requests
                    .iter()
                    .map(|(i, _)| (*i, Some((Outcome::Failed, reason.clone()))))
                    .collect();
            }
        };
        let refs: Vec<&Request> = requests.iter().map(|(_, r)| r).collect();
        let plan = plan::plan(&current, &refs, self.config.quota);
        let mut failed_calls: HashMap<Call, String> = HashMap::new();
        if !dry_run {
            if !plan.disassociate.is_empty() {
                if let Err(e) = self
                    .connect
                    .disassociate(&agent.id, &plan.disassociate)
                    .await
                {
                    failed_calls.insert(Call::Disassociate, e.to_string());
                }
            }
            if !plan.update.is_empty() {
                if let Err(e) = self.connect.update(&agent.id, &plan.update).await {
                    failed_calls.insert(Call::Update, e.to_string());
                }
            }
            if !plan.associate.is_empty() {
                if let Err(e) = self.connect.associate(&agent.id, &plan.associate).await {
                    failed_calls.insert(Call::Associate, e.to_string());
                }
            }
        }
        let mut tally: BTreeMap<Outcome, usize> = BTreeMap::new();
        let outcomes: Vec<RowResult> = plan
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
                (requests[row.index].0, Some((outcome, reason)))
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

    /// Takes finished rows out of a consumed file (conditional on its ETag)
    /// and writes rows not reached to `remaining/<key>`.
    async fn consume(
        &self,
        result: &mut FileResult,
        table: &Table,
        columns: &ColumnMap,
        slots: &[Slot<'_>],
        etag: &str,
        run_id: &str,
    ) -> Result<(), Error> {
        let remainder = remaining_key(&result.key);
        let own_remainder = remainder == result.key;
        let left: Vec<(&Row, String)> = slots
            .iter()
            .filter(|s| s.left)
            .map(|s| (s.row, s.reason.clone()))
            .collect();
        if !left.is_empty() && !own_remainder {
            self.write_remainder(&result.bucket, &remainder, table, columns, &left, run_id)
                .await?;
            result.remaining = Some(format!("s3://{}/{remainder}", result.bucket));
        }
        if !is_consumed(&result.key) {
            return Ok(());
        }
        let keep: Vec<(&Row, String)> = slots
            .iter()
            .filter(|s| s.outcome == Some(Outcome::Failed) || (own_remainder && s.left))
            .map(|s| (s.row, s.reason.clone()))
            .collect();
        if own_remainder && !left.is_empty() {
            result.remaining = Some(format!("s3://{}/{remainder}", result.bucket));
        }
        let put = self
            .store
            .put(NewObject {
                bucket: result.bucket.clone(),
                key: result.key.clone(),
                body: csvfile::rewrite(table, columns.error_column, &keep),
                content_type: "text/csv; charset=utf-8".into(),
                metadata: written_by(FUNCTION, run_id),
                if_match: Some(etag.to_string()),
                if_absent: false,
            })
            .await;
        match put {
            Ok(()) => result.csv_rewritten = true,
            Err(Error::PreconditionFailed { .. }) => {
                warn!(key = %result.key, "file changed during the run; left alone");
                result.note = Some("the file changed during the run, so it was left alone; its rows are in the report".into());
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Adds `rows` to `remaining/<key>`, creating it or appending under its ETag.
    async fn write_remainder(
        &self,
        bucket: &str,
        key: &str,
        table: &Table,
        columns: &ColumnMap,
        rows: &[(&Row, String)],
        run_id: &str,
    ) -> Result<(), Error> {
        for _ in 0..4 {
            let existing = self.store.get(bucket, key).await?;
            let (body, if_match) = match &existing {
                None => (csvfile::rewrite(table, columns.error_column, rows), None),
                Some(object) => {
                    let mut body = object.body.clone();
                    let ours = csvfile::rewrite(table, columns.error_column, rows);
                    let after_header = ours
                        .iter()
                        .position(|b| *b == b'\n')
                        .map(|p| p + 1)
                        .unwrap_or(ours.len());
                    if !body.ends_with(b"\n") {
                        body.push(b'\n');
                    }
                    body.extend_from_slice(&ours[after_header..]);
                    (body, Some(object.etag.clone()))
                }
            };
            let put = self
                .store
                .put(NewObject {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    body,
                    content_type: "text/csv; charset=utf-8".into(),
                    metadata: written_by(FUNCTION, run_id),
                    if_absent: if_match.is_none(),
                    if_match,
                })
                .await;
            match put {
                Ok(()) => return Ok(()),
                Err(Error::PreconditionFailed { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::PreconditionFailed {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    async fn write_report(
        &self,
        result: &mut FileResult,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut report = ReportWriter::new(&[
            "line",
            "identifier",
            "identifier_type",
            "action",
            "attribute",
            "value",
            "level",
            "outcome",
            "reason",
        ]);
        for row in &result.rows {
            let line = row.line.to_string();
            let mut values: Vec<&str> = vec![&line];
            values.extend(row.fields.iter().map(String::as_str));
            values.push(row.outcome.as_str());
            values.push(&row.reason);
            report.row(values);
        }
        let uri = put_report(
            self.store,
            &result.bucket,
            FUNCTION,
            now.date_naive(),
            run_id,
            report,
        )
        .await?;
        result.report = Some(uri);
        Ok(())
    }

    async fn unusable(
        &self,
        target: &Target,
        dry_run: bool,
        run_id: &str,
        now: DateTime<Utc>,
        problem: String,
    ) -> Result<FileResult, Error> {
        let mut result = FileResult::new(target, FileStatus::Unusable, dry_run);
        result.note = Some(format!("{problem}; the file was left untouched"));
        result.rows.push(RowReport {
            line: 1,
            fields: Default::default(),
            outcome: Outcome::Failed,
            reason: problem,
        });
        result.counts.add(Outcome::Failed);
        self.write_report(&mut result, run_id, now).await?;
        Ok(result)
    }
}
