//! ArcGIS members from `inbox/arcgis/` files. Each row is checked against
//! the org's roles and user types. Rows whose `action` is `create` (or
//! empty) onboard: existing members are found, the rest are created with
//! the portal's batch calls, and every member is added to the groups it
//! lacks. `update`, `disable`, `enable` and `delete` rows change existing
//! members ([`changes`]).

mod catalog;
mod changes;
mod create;
mod groups;
pub mod request;
pub mod rows;
mod seats;

use std::cell::Cell;

pub use changes::ChangePorts;
use changes::{ChangeWork, Org};
use connectors::arcgis::{
    ArcgisSettings, GroupLookup, GroupMembership, Licences, MemberCreation, MemberLookup,
    OrgCatalog, OrgInfo, Portal, User,
};
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::{
    Applied, CsvJob, FieldProblem, Headline, JobSpec, Outcome, ReportColumn, RowResult, Run, Valid,
    Vocabulary,
};
use connectors::Error;
pub use request::{Action, Request};

pub use catalog::Catalog;
pub use rows::Member;

use crate::config::OnboardConfig;

/// Every ArcGIS call a member file makes.
pub trait OnboardingPorts:
    OrgInfo
    + OrgCatalog
    + MemberLookup
    + MemberCreation
    + GroupLookup
    + GroupMembership
    + Licences
    + ChangePorts
{
}

impl<T> OnboardingPorts for T where
    T: OrgInfo
        + OrgCatalog
        + MemberLookup
        + MemberCreation
        + GroupLookup
        + GroupMembership
        + Licences
        + ChangePorts
{
}

/// The outcome words of onboarding.
pub const VOCABULARY: Vocabulary = Vocabulary {
    outcomes: &[
        Outcome::Created,
        Outcome::Invited,
        Outcome::Exists,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Disabled,
        Outcome::Enabled,
        Outcome::Deleted,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Planned,
    ],
    success_total: None,
    headline: &[
        Headline::Count(Outcome::Created, "created"),
        Headline::Count(Outcome::Invited, "invited"),
        Headline::Count(Outcome::Exists, "existing"),
        Headline::IfAny(Outcome::Updated, "updated"),
        Headline::IfAny(Outcome::Unchanged, "unchanged"),
        Headline::IfAny(Outcome::Disabled, "disabled"),
        Headline::IfAny(Outcome::Enabled, "enabled"),
        Headline::IfAny(Outcome::Deleted, "deleted"),
        Headline::Count(Outcome::Failed, "failed"),
        Headline::Count(Outcome::Skipped, "skipped"),
    ],
    listed: &[
        (Outcome::Deleted, "Members deleted"),
        (Outcome::Disabled, "Members disabled"),
    ],
};

/// The report column of the groups a member was added to.
const GROUPS_ADDED: &str = "groups_added";

/// Onboarding files: their columns, words and report
/// (`line,username,outcome,groups_added,reason`).
pub const SPEC: JobSpec = JobSpec {
    columns: rows::COLUMNS,
    vocabulary: &VOCABULARY,
    report: &[
        ReportColumn::Line,
        ReportColumn::Input("username"),
        ReportColumn::Outcome,
        ReportColumn::Output(GROUPS_ADDED),
        ReportColumn::Reason,
    ],
    inbox: crate::route::ARCGIS_PREFIX,
    unique_column: Some("username"),
    subject: "username",
};

/// The member job over one org.
pub struct MemberOnboarding<'a, D> {
    pub arcgis: &'a D,
    /// The org's connection settings (concurrency).
    pub settings: &'a ArcgisSettings,
    pub config: &'a OnboardConfig,
    /// Set when the file has columns an export writes that no row applies.
    export_columns: Cell<bool>,
}

impl<'a, D> MemberOnboarding<'a, D> {
    /// The job for `arcgis`, reached with `settings`, under `config`.
    pub fn new(arcgis: &'a D, settings: &'a ArcgisSettings, config: &'a OnboardConfig) -> Self {
        Self {
            arcgis,
            settings,
            config,
            export_columns: Cell::new(false),
        }
    }
}

/// What a file is checked against: the org, its roles and user types.
pub struct OrgContext {
    pub portal: Portal,
    pub catalog: Catalog,
}

/// One valid row on its way through the run.
struct Work {
    username: String,
    /// `None` once the row has failed.
    member: Option<Member>,
    outcome: Option<Outcome>,
    reason: String,
    /// Groups the member is already in (existing members).
    current_groups: Vec<String>,
    groups_added: Vec<String>,
    groups_failed: Vec<(String, String)>,
    /// The portal stored the account under another username.
    renamed: bool,
}

impl Work {
    /// The account exists in this org: its groups are still ensured.
    fn exists(&mut self, user: &User) {
        self.outcome = Some(Outcome::Exists);
        self.current_groups = user.groups.clone();
        self.reason = "already a member".into();
    }

    /// The portal created the account, under `stored` when it says which
    /// username it stored.
    fn created(&mut self, stored: Option<String>) {
        let Some(member) = &self.member else { return };
        let account = &member.account;
        let (outcome, reason) = match (&account.password, &account.provider) {
            (Some(_), None) => (Outcome::Created, "created".to_string()),
            (_, Some(_)) => (
                Outcome::Created,
                "created for the identity provider login".to_string(),
            ),
            (None, None) => (
                Outcome::Invited,
                format!("invitation sent to {}", account.email),
            ),
        };
        self.outcome = Some(outcome);
        self.reason = reason;
        if let Some(stored) = stored.filter(|s| *s != self.username) {
            self.reason = format!(
                "{}; the portal stored the username as {stored}",
                self.reason
            );
            self.username = stored;
            self.renamed = true;
        }
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.outcome = Some(Outcome::Failed);
        self.reason = reason.into();
        self.member = None;
    }

    /// Valid and not settled yet.
    fn pending(&self) -> bool {
        self.member.is_some() && self.outcome.is_none()
    }

    fn finished(&self) -> bool {
        self.outcome.is_some_and(is_finished)
    }

    fn result(self) -> RowResult {
        let groups = self.groups_added.join(";");
        let result = match self.outcome {
            Some(Outcome::Failed) => RowResult::failed(self.reason),
            Some(outcome) => RowResult::done(outcome, self.reason),
            None => RowResult::deferred(),
        }
        .with(GROUPS_ADDED, groups);
        if self.renamed {
            result.with("username", self.username)
        } else {
            result
        }
    }
}

/// Finished rows leave the CSV.
fn is_finished(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Created | Outcome::Invited | Outcome::Exists
    )
}

impl<D: OnboardingPorts> CsvJob for MemberOnboarding<'_, D> {
    const SPEC: &'static JobSpec = &SPEC;
    type Row = Request;
    type Context = OrgContext;

    async fn context(&self) -> Result<OrgContext, Error> {
        let portal = self.arcgis.portal().await?;
        let (roles, user_types, defaults) = futures::future::try_join3(
            self.arcgis.roles(),
            self.arcgis.user_types(),
            self.arcgis.user_defaults(),
        )
        .await?;
        Ok(OrgContext {
            catalog: Catalog::of(&portal, roles, user_types, defaults),
            portal,
        })
    }

    fn validate(
        &self,
        row: &Row,
        columns: &ColumnMap,
        context: &OrgContext,
    ) -> Result<Request, Vec<FieldProblem>> {
        if rows::EXPORT_ONLY.iter().any(|c| columns.has(c)) {
            self.export_columns.set(true);
        }
        request::validate(row, columns, &context.catalog, &self.config.default_groups)
    }

    async fn apply(
        &self,
        rows: Vec<Valid<Request>>,
        context: &OrgContext,
        run: &Run,
    ) -> Result<Applied, Error> {
        let mut members = Vec::new();
        let mut changes = Vec::new();
        let mut placed = Vec::with_capacity(rows.len());
        for valid in rows {
            match valid.row {
                Request::Create(member) => {
                    placed.push((true, members.len()));
                    members.push(*member);
                }
                Request::Change { username, change } => {
                    placed.push((false, changes.len()));
                    changes.push(ChangeWork::new(username, change));
                }
            }
        }
        let (created, mut notes) = self.onboard(members, context, run).await?;
        let org = Org {
            portal: &context.portal,
            catalog: &context.catalog,
        };
        self.change(&mut changes, &org, run).await;
        let mut created: Vec<Option<RowResult>> = created.into_iter().map(Some).collect();
        let mut changed: Vec<Option<RowResult>> =
            changes.into_iter().map(|w| Some(w.result())).collect();
        let results = placed
            .into_iter()
            .map(|(is_create, at)| {
                let slot = if is_create {
                    &mut created[at]
                } else {
                    &mut changed[at]
                };
                slot.take().unwrap_or_else(RowResult::deferred)
            })
            .collect();
        if self.export_columns.get() {
            notes.push(format!(
                "the columns {} describe members as an export found them; they change nothing (use the action column)",
                rows::EXPORT_ONLY.join(", ")
            ));
        }
        Ok(Applied {
            results,
            notes,
            ..Applied::default()
        })
    }
}

impl<D: OnboardingPorts> MemberOnboarding<'_, D> {
    /// The `create` rows: find who exists, hold them to the free licences,
    /// create the rest, ensure groups; with notes on the licences.
    async fn onboard(
        &self,
        members: Vec<Member>,
        context: &OrgContext,
        run: &Run,
    ) -> Result<(Vec<RowResult>, Vec<String>), Error> {
        if members.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut work: Vec<Work> = members
            .into_iter()
            .map(|member| Work {
                username: member.account.username.clone(),
                member: Some(member),
                outcome: None,
                reason: String::new(),
                current_groups: Vec::new(),
                groups_added: Vec::new(),
                groups_failed: Vec::new(),
                renamed: false,
            })
            .collect();
        self.check_groups(&mut work).await?;
        self.find_existing(&mut work, &context.portal).await;
        let seats = self.check_seats(&mut work, &context.catalog).await?;
        if run.dry_run {
            plan(&mut work);
        } else {
            self.create(&mut work, &context.portal, run).await;
            self.ensure_groups(&mut work, run).await;
            finish(&mut work);
        }
        let notes = self.seats_notes(seats, &context.catalog, run).await;
        Ok((work.into_iter().map(Work::result).collect(), notes))
    }
}

/// Dry run: say what would happen, change nothing.
fn plan(work: &mut [Work]) {
    for w in work.iter_mut() {
        let Some(member) = &w.member else { continue };
        let groups: Vec<&str> = member
            .groups
            .iter()
            .filter(|g| !w.current_groups.contains(g))
            .map(String::as_str)
            .collect();
        let groups = if groups.is_empty() {
            String::new()
        } else {
            format!(" and add to {}", groups.join(", "))
        };
        w.reason = match (
            w.outcome,
            &member.account.password,
            &member.account.provider,
        ) {
            (Some(Outcome::Exists), _, _) if groups.is_empty() => {
                "already a member; nothing to change".to_string()
            }
            (Some(Outcome::Exists), _, _) => format!("already a member; would{}", &groups[4..]),
            (_, None, None) => format!("would invite {}{groups}", member.account.email),
            _ => format!("would create the account{groups}"),
        };
        w.groups_added.clear();
        w.outcome = Some(Outcome::Planned);
    }
}

/// Settles each row's outcome after the writes: a member created but not
/// added to a group stays in the file, so a re-run ensures the group.
fn finish(work: &mut [Work]) {
    for w in work.iter_mut().filter(|w| w.finished()) {
        let outcome = w.outcome.unwrap_or(Outcome::Failed);
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
}
