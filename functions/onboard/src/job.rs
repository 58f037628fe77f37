//! One onboarding file, start to finish: read, validate, plan, apply,
//! consume the CSV, report.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::arcgis::{
    ArcgisDirectory, Portal, PortalKind, User, UsernameAvailability, ADD_USERS_BATCH,
    CHECK_USERNAMES_BATCH,
};
use connectors::csvfile::{self, ColumnMap, Row, Table};
pub use connectors::deadline::Deadline;
use connectors::report::{put_report, ReportWriter};
use connectors::store::{written_by, NewObject, ObjectStore};
use connectors::{Error, WRITTEN_BY_METADATA};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::config::OnboardConfig;
use crate::rows::{self, Member, OrgCatalog};

/// The function name written into object metadata and report paths.
pub const FUNCTION: &str = "onboard";

/// What happened to one input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Account created with the password from the file.
    Created,
    /// Account created; the member got an invitation mail to set a password.
    Invited,
    /// The username was already a member; group memberships were ensured.
    Exists,
    Failed,
    /// Not reached before the Lambda deadline; left in the file.
    Skipped,
    /// Dry run: what would be done.
    Planned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Invited => "invited",
            Outcome::Exists => "exists",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Planned => "planned",
        }
    }

    /// Finished rows leave the CSV.
    pub fn is_finished(self) -> bool {
        matches!(self, Outcome::Created | Outcome::Invited | Outcome::Exists)
    }
}

/// Rows per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub invited: usize,
    pub exists: usize,
    pub failed: usize,
    pub skipped: usize,
    pub planned: usize,
}

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Invited => self.invited += 1,
            Outcome::Exists => self.exists += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Planned => self.planned += 1,
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.created += other.created;
        self.invited += other.invited;
        self.exists += other.exists;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.planned += other.planned;
    }

    pub fn total(&self) -> usize {
        self.created + self.invited + self.exists + self.failed + self.skipped + self.planned
    }
}

/// How a file was handled as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Rows were processed (or planned).
    Processed,
    /// rollcall wrote this object itself; its event is ignored.
    SelfWritten,
    /// The object was gone when read.
    Missing,
    /// The file cannot be read as an onboarding CSV; left untouched.
    Unusable,
    /// Not an onboarding key (prefix or suffix), or a target this build does not serve.
    NotHandled,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReport {
    pub line: u64,
    pub username: String,
    pub outcome: Outcome,
    pub groups_added: Vec<String>,
    pub reason: String,
}

/// The result of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub bucket: String,
    pub key: String,
    pub status: FileStatus,
    pub dry_run: bool,
    pub counts: Counts,
    /// `s3://bucket/reports/onboard/<date>/<run-id>.csv`
    pub report: Option<String>,
    /// The CSV now holds only the unfinished rows.
    pub csv_rewritten: bool,
    /// Anything the admin should know about the file as a whole.
    pub note: Option<String>,
    pub mail_sent: bool,
    #[serde(skip)]
    pub rows: Vec<RowReport>,
}

impl FileSummary {
    pub fn new(bucket: &str, key: &str, status: FileStatus, dry_run: bool) -> Self {
        Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
            status,
            dry_run,
            counts: Counts::default(),
            report: None,
            csv_rewritten: false,
            note: None,
            mail_sent: false,
            rows: Vec::new(),
        }
    }
}

/// Identity and clock of the run over one file.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub now: DateTime<Utc>,
}

/// The rows one portal call covered, and the names it did not create (or add),
/// or why the whole call failed.
type BatchResult<E> = (Vec<usize>, Result<Vec<String>, E>);

/// Per-row working state.
struct Work<'t> {
    row: &'t Row,
    username: String,
    member: Option<Member>,
    outcome: Option<Outcome>,
    reason: String,
    /// Groups the member is already in (existing members).
    current_groups: Vec<String>,
    groups_added: Vec<String>,
    groups_failed: Vec<(String, String)>,
}

impl<'t> Work<'t> {
    fn fail(&mut self, reason: impl Into<String>) {
        self.outcome = Some(Outcome::Failed);
        self.reason = reason.into();
        self.member = None;
    }

    fn pending(&self) -> bool {
        self.member.is_some() && self.outcome.is_none()
    }
}

/// The ports and settings one onboarding run uses.
pub struct Job<'a, S, D> {
    pub store: &'a S,
    pub arcgis: &'a D,
    pub config: &'a OnboardConfig,
}

impl<S: ObjectStore, D: ArcgisDirectory> Job<'_, S, D> {
    /// Processes one `inbox/arcgis/` object. Errors are org-level failures
    /// (sign-in, permission, portal down) that leave the file untouched.
    pub async fn arcgis_file(
        &self,
        bucket: &str,
        key: &str,
        dry_run: bool,
        run: &RunInfo,
        deadline: Deadline,
    ) -> Result<FileSummary, Error> {
        let dry_run = dry_run || self.config.dry_run;
        let Some(object) = self.store.get(bucket, key).await? else {
            let mut summary = FileSummary::new(bucket, key, FileStatus::Missing, dry_run);
            summary.note = Some("the object was gone when the run read it".into());
            return Ok(summary);
        };
        if object.metadata.contains_key(WRITTEN_BY_METADATA) {
            info!(bucket, key, "object written by rollcall itself; ignored");
            return Ok(FileSummary::new(
                bucket,
                key,
                FileStatus::SelfWritten,
                dry_run,
            ));
        }
        let (table, columns) = match csvfile::read(&object.body, rows::COLUMNS) {
            Ok(read) => read,
            Err(problem) => return self.unusable(bucket, key, dry_run, run, problem).await,
        };
        if table.rows.is_empty() {
            let mut summary = FileSummary::new(bucket, key, FileStatus::Processed, dry_run);
            summary.note = Some("the file has a header but no rows".into());
            return Ok(summary);
        }

        let portal = self.arcgis.portal().await?;
        let (roles, user_types) =
            futures::future::try_join(self.arcgis.roles(), self.arcgis.user_types()).await?;
        let catalog = OrgCatalog::new(portal.kind, roles, user_types);

        let mut work = self.validate(&table, &columns, &catalog);
        self.check_groups(&mut work).await?;
        self.find_existing(&mut work, &portal).await;

        if dry_run {
            plan(&mut work);
        } else {
            self.create(&mut work, portal.kind, deadline).await;
            self.ensure_groups(&mut work, deadline).await;
            finish(&mut work);
        }

        let mut summary = FileSummary::new(bucket, key, FileStatus::Processed, dry_run);
        summary.rows = work.iter().map(report_row).collect();
        for row in &summary.rows {
            summary.counts.add(row.outcome);
        }
        if !dry_run {
            self.consume(&mut summary, &table, &columns, &work, &object.etag, run)
                .await?;
        }
        self.write_report(&mut summary, run).await?;
        info!(bucket, key, counts = ?summary.counts, csv_rewritten = summary.csv_rewritten, "file done");
        Ok(summary)
    }

    fn validate<'t>(
        &self,
        table: &'t Table,
        columns: &ColumnMap,
        catalog: &OrgCatalog,
    ) -> Vec<Work<'t>> {
        let dupes = rows::duplicates(
            table
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| (i, row.line, columns.get(row, "username"))),
        );
        table
            .rows
            .iter()
            .enumerate()
            .map(|(index, row)| {
                let mut work = Work {
                    row,
                    username: columns.get(row, "username").to_string(),
                    member: None,
                    outcome: None,
                    reason: String::new(),
                    current_groups: Vec::new(),
                    groups_added: Vec::new(),
                    groups_failed: Vec::new(),
                };
                match rows::validate(row, columns, catalog, &self.config.default_groups) {
                    Ok(member) => work.member = Some(member),
                    Err(problems) => work.fail(problems.join("; ")),
                }
                if let Some(first) = dupes.get(&index) {
                    let reason = format!(
                        "username: {:?} is a duplicate of line {first}",
                        work.username
                    );
                    work.fail(reason);
                }
                work
            })
            .collect()
    }

    /// Fails rows naming a group that does not exist (one lookup per group).
    async fn check_groups(&self, work: &mut [Work<'_>]) -> Result<(), Error> {
        let wanted: Vec<String> = work
            .iter()
            .filter_map(|w| w.member.as_ref())
            .flat_map(|m| m.groups.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let found: Vec<(String, Result<bool, Error>)> = stream::iter(wanted)
            .map(|id| async move {
                let exists = self.arcgis.group(&id).await.map(|g| g.is_some());
                (id, exists)
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut missing = HashSet::new();
        for (id, exists) in found {
            if !exists? {
                missing.insert(id);
            }
        }
        for w in work.iter_mut() {
            let Some(member) = &w.member else { continue };
            let bad: Vec<&String> = member
                .groups
                .iter()
                .filter(|g| missing.contains(*g))
                .collect();
            if !bad.is_empty() {
                let from_defaults = bad.iter().any(|g| self.config.default_groups.contains(g));
                let reason = format!(
                    "groups: {} {} not exist or {} not visible to the signed-in account{}",
                    bad.iter()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if bad.len() == 1 { "does" } else { "do" },
                    if bad.len() == 1 { "is" } else { "are" },
                    if from_defaults {
                        " (check ARCGIS_DEFAULT_GROUPS)"
                    } else {
                        ""
                    },
                );
                w.fail(reason);
            }
        }
        Ok(())
    }

    /// Marks rows whose username is already taken: members of this org become
    /// `exists` (their groups are still ensured); anyone else's name fails.
    async fn find_existing(&self, work: &mut [Work<'_>], portal: &Portal) {
        let names: Vec<String> = work
            .iter()
            .filter(|w| w.pending())
            .map(|w| w.username.clone())
            .collect();
        let checked: Vec<Result<Vec<(String, UsernameAvailability)>, Error>> =
            stream::iter(names.chunks(CHECK_USERNAMES_BATCH).map(<[String]>::to_vec))
                .map(|chunk| async move { self.arcgis.check_usernames(&chunk).await })
                .buffer_unordered(self.config.concurrency)
                .collect()
                .await;
        let mut taken = Vec::new();
        for answer in checked {
            match answer {
                Ok(list) => taken.extend(
                    list.into_iter()
                        .filter(|(_, a)| *a == UsernameAvailability::Taken)
                        .map(|(name, _)| name),
                ),
                // The create calls still refuse existing names; go on without the hint.
                Err(e) => warn!(error = %e, "checkUsernames failed; relying on the create answers"),
            }
        }
        let found = self.lookup(taken).await;
        for w in work.iter_mut().filter(|w| w.pending()) {
            if let Some(result) = found.get(&w.username.to_ascii_lowercase()) {
                apply_lookup(w, result, portal);
            }
        }
    }

    /// Looks members up by username, concurrently; keys are lower-cased.
    async fn lookup(
        &self,
        usernames: Vec<String>,
    ) -> HashMap<String, Result<Option<User>, String>> {
        stream::iter(usernames)
            .map(|name| async move {
                let user = self.arcgis.user(&name).await.map_err(|e| e.to_string());
                (name.to_ascii_lowercase(), user)
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await
    }

    /// Creates the new members: Online by invitation lists, Enterprise one
    /// `createUser` each. Rows not started before the deadline stay pending.
    async fn create(&self, work: &mut [Work<'_>], kind: PortalKind, deadline: Deadline) {
        let pending: Vec<usize> = (0..work.len()).filter(|i| work[*i].pending()).collect();
        let margin = self.config.deadline_margin;
        // (row indices, error for the whole batch or the names not created)
        let results: Vec<BatchResult<Error>> = match kind {
            PortalKind::Online => {
                let batches: Vec<(Vec<usize>, Vec<_>)> = pending
                    .chunks(self.config.invite_batch.max(1))
                    .map(|chunk| {
                        let invitations = chunk
                            .iter()
                            .filter_map(|i| work[*i].member.as_ref().map(Member::invitation))
                            .collect();
                        (chunk.to_vec(), invitations)
                    })
                    .collect();
                stream::iter(batches)
                    .map(|(indices, invitations)| async move {
                        if !deadline.allows(margin) {
                            return (Vec::new(), Ok(Vec::new()));
                        }
                        let result = self.arcgis.invite(&invitations).await;
                        (indices, result)
                    })
                    .buffer_unordered(self.config.concurrency)
                    .collect()
                    .await
            }
            PortalKind::Enterprise => {
                let members: Vec<(usize, _)> = pending
                    .iter()
                    .filter_map(|i| work[*i].member.as_ref().map(|m| (*i, m.invitation())))
                    .collect();
                stream::iter(members)
                    .map(|(index, member)| async move {
                        if !deadline.allows(margin) {
                            return (Vec::new(), Ok(Vec::new()));
                        }
                        let result = match self.arcgis.create_enterprise_member(&member).await {
                            Ok(()) => Ok(Vec::new()),
                            Err(Error::AlreadyExists { .. }) => Ok(vec![member.username.clone()]),
                            Err(e) => Err(e),
                        };
                        (vec![index], result)
                    })
                    .buffer_unordered(self.config.concurrency)
                    .collect()
                    .await
            }
        };
        let mut refused = Vec::new();
        for (indices, result) in results {
            match result {
                Ok(not_created) => {
                    let not_created: HashSet<String> =
                        not_created.iter().map(|n| n.to_ascii_lowercase()).collect();
                    for index in indices {
                        let w = &mut work[index];
                        if not_created.contains(&w.username.to_ascii_lowercase()) {
                            refused.push(index);
                        } else if let Some(member) = &w.member {
                            let (outcome, reason) = match (&member.password, &member.provider) {
                                (Some(_), None) => (Outcome::Created, "created".to_string()),
                                (_, Some(_)) => (
                                    Outcome::Created,
                                    "created for the identity provider login".to_string(),
                                ),
                                (None, None) => (
                                    Outcome::Invited,
                                    format!("invitation sent to {}", member.email),
                                ),
                            };
                            w.outcome = Some(outcome);
                            w.reason = reason;
                        }
                    }
                }
                Err(e) => {
                    for index in indices {
                        work[index].fail(format!("not created: {e}"));
                    }
                }
            }
        }
        // A name the portal would not create: someone took it meanwhile, or the
        // portal refused the values. Look it up to tell which.
        let names = refused.iter().map(|i| work[*i].username.clone()).collect();
        let found = self.lookup(names).await;
        for index in refused {
            let w = &mut work[index];
            match found.get(&w.username.to_ascii_lowercase()) {
                Some(Ok(Some(user))) => {
                    w.outcome = Some(Outcome::Exists);
                    w.current_groups = user.groups.clone();
                    w.reason = "already a member".into();
                }
                Some(Err(e)) => w.fail(format!("the portal did not create the account, and looking it up failed: {e}")),
                _ => w.fail(
                    "the portal did not create the account (username taken or a value refused); check the row",
                ),
            }
        }
    }

    /// Adds every created or existing member to the groups it lacks, 25 a call.
    async fn ensure_groups(&self, work: &mut [Work<'_>], deadline: Deadline) {
        let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, w) in work.iter().enumerate() {
            let Some(member) = &w.member else { continue };
            if !w.outcome.is_some_and(Outcome::is_finished) {
                continue;
            }
            for group in &member.groups {
                if !w.current_groups.iter().any(|g| g == group) {
                    by_group.entry(group.clone()).or_default().push(index);
                }
            }
        }
        let calls: Vec<(String, Vec<usize>, Vec<String>)> = by_group
            .iter()
            .flat_map(|(group, indices)| {
                indices.chunks(ADD_USERS_BATCH).map(|chunk| {
                    let names = chunk.iter().map(|i| work[*i].username.clone()).collect();
                    (group.clone(), chunk.to_vec(), names)
                })
            })
            .collect();
        let margin = self.config.deadline_margin;
        let results: Vec<(String, BatchResult<String>)> = stream::iter(calls)
            .map(|(group, indices, names)| async move {
                if !deadline.allows(margin) {
                    let why = "not reached before the Lambda deadline".to_string();
                    return (group, (indices, Err(why)));
                }
                let result = self
                    .arcgis
                    .add_to_group(&group, &names)
                    .await
                    .map_err(|e| e.to_string());
                (group, (indices, result))
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        for (group, (indices, result)) in results {
            match result {
                Ok(not_added) => {
                    let not_added: HashSet<String> =
                        not_added.iter().map(|n| n.to_ascii_lowercase()).collect();
                    for index in indices {
                        let w = &mut work[index];
                        if not_added.contains(&w.username.to_ascii_lowercase()) {
                            let why = "the portal listed the member in notAdded".to_string();
                            w.groups_failed.push((group.clone(), why));
                        } else {
                            w.groups_added.push(group.clone());
                        }
                    }
                }
                Err(why) => {
                    for index in indices {
                        work[index].groups_failed.push((group.clone(), why.clone()));
                    }
                }
            }
        }
    }

    /// Rewrites the CSV with only the unfinished rows, if it did not change.
    async fn consume(
        &self,
        summary: &mut FileSummary,
        table: &Table,
        columns: &ColumnMap,
        work: &[Work<'_>],
        etag: &str,
        run: &RunInfo,
    ) -> Result<(), Error> {
        let remaining: Vec<(&Row, String)> = work
            .iter()
            .filter(|w| !w.outcome.is_some_and(Outcome::is_finished))
            .map(|w| (w.row, w.reason.clone()))
            .collect();
        let body = csvfile::rewrite(table, columns.error_column, &remaining);
        let put = self
            .store
            .put(NewObject {
                bucket: summary.bucket.clone(),
                key: summary.key.clone(),
                body,
                content_type: "text/csv; charset=utf-8".into(),
                metadata: written_by(FUNCTION, &run.run_id),
                if_match: Some(etag.to_string()),
                if_absent: false,
            })
            .await;
        match put {
            Ok(()) => summary.csv_rewritten = true,
            Err(Error::PreconditionFailed { .. }) => {
                warn!(bucket = %summary.bucket, key = %summary.key, "file changed during the run; left alone");
                summary.note = Some(
                    "the file changed during the run, so it was left alone; the new upload is processed on its own and finished rows will be found to exist".into(),
                );
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn write_report(&self, summary: &mut FileSummary, run: &RunInfo) -> Result<(), Error> {
        let mut report =
            ReportWriter::new(&["line", "username", "outcome", "groups_added", "reason"]);
        for row in &summary.rows {
            report.row([
                row.line.to_string(),
                row.username.clone(),
                row.outcome.as_str().to_string(),
                row.groups_added.join(";"),
                row.reason.clone(),
            ]);
        }
        let uri = put_report(
            self.store,
            &summary.bucket,
            FUNCTION,
            run.now.date_naive(),
            &run.run_id,
            report,
        )
        .await?;
        summary.report = Some(uri);
        Ok(())
    }

    async fn unusable(
        &self,
        bucket: &str,
        key: &str,
        dry_run: bool,
        run: &RunInfo,
        problem: String,
    ) -> Result<FileSummary, Error> {
        warn!(bucket, key, %problem, "file left untouched");
        let mut summary = FileSummary::new(bucket, key, FileStatus::Unusable, dry_run);
        summary.note = Some(format!("{problem}; the file was left untouched"));
        summary.rows.push(RowReport {
            line: 1,
            username: String::new(),
            outcome: Outcome::Failed,
            groups_added: Vec::new(),
            reason: problem,
        });
        summary.counts.add(Outcome::Failed);
        self.write_report(&mut summary, run).await?;
        Ok(summary)
    }
}

fn apply_lookup(w: &mut Work<'_>, result: &Result<Option<User>, String>, portal: &Portal) {
    match result {
        Ok(Some(user)) if user.org_id.as_deref().is_none_or(|org| org == portal.id) => {
            w.outcome = Some(Outcome::Exists);
            w.current_groups = user.groups.clone();
            w.reason = "already a member".into();
        }
        Ok(_) => w.fail(format!(
            "username: {:?} is taken by an account outside this organisation",
            w.username
        )),
        Err(e) => w.fail(format!("looking up the existing account failed: {e}")),
    }
}

/// Dry run: say what would happen, change nothing.
fn plan(work: &mut [Work<'_>]) {
    for w in work.iter_mut() {
        let Some(member) = &w.member else { continue };
        let groups: Vec<&String> = member
            .groups
            .iter()
            .filter(|g| !w.current_groups.contains(g))
            .collect();
        let groups = if groups.is_empty() {
            String::new()
        } else {
            format!(
                " and add to {}",
                groups
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        w.reason = match (w.outcome, &member.password, &member.provider) {
            (Some(Outcome::Exists), _, _) if groups.is_empty() => {
                "already a member; nothing to change".to_string()
            }
            (Some(Outcome::Exists), _, _) => format!("already a member; would{}", &groups[4..]),
            (_, None, None) => format!("would invite {}{groups}", member.email),
            _ => format!("would create the account{groups}"),
        };
        w.groups_added.clear();
        w.outcome = Some(Outcome::Planned);
    }
}

/// Settles each row's outcome after the writes.
fn finish(work: &mut [Work<'_>]) {
    for w in work.iter_mut() {
        match w.outcome {
            None => {
                w.outcome = Some(Outcome::Skipped);
                w.reason =
                    "not reached before the Lambda deadline; left in the file for the next run"
                        .into();
            }
            Some(outcome) if outcome.is_finished() => {
                if !w.groups_failed.is_empty() {
                    let failed: Vec<String> = w
                        .groups_failed
                        .iter()
                        .map(|(g, why)| format!("{g} ({why})"))
                        .collect();
                    w.reason = format!(
                        "{}, but not added to group {}",
                        outcome.as_str(),
                        failed.join(", ")
                    );
                    w.outcome = Some(Outcome::Failed);
                } else if outcome == Outcome::Exists {
                    w.reason = if w.groups_added.is_empty() {
                        "already a member; groups already in place".into()
                    } else {
                        "already a member; added to the missing groups".into()
                    };
                }
            }
            Some(_) => {}
        }
    }
}

fn report_row(w: &Work<'_>) -> RowReport {
    RowReport {
        line: w.row.line,
        username: w.username.clone(),
        outcome: w.outcome.unwrap_or(Outcome::Skipped),
        groups_added: w.groups_added.clone(),
        reason: w.reason.clone(),
    }
}
