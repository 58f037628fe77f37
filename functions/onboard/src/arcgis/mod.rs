//! Onboarding ArcGIS members from `inbox/arcgis/` files: each row is checked
//! against the org's roles and user types, existing members are found, the
//! rest are created with the portal's batch calls, and every member is added
//! to the groups it lacks.

mod catalog;
mod create;
mod groups;
pub mod rows;
mod seats;

use connectors::arcgis::{
    ArcgisSettings, GroupLookup, GroupMembership, Licences, MemberCreation, MemberLookup,
    OrgCatalog, OrgInfo, Portal, User,
};
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::{
    Applied, CsvJob, Deferral, FieldProblem, Headline, JobSpec, Outcome, ReportColumn, RowResult,
    Run, Valid, Vocabulary,
};
use connectors::Error;

pub use catalog::Catalog;
pub use rows::Member;

use crate::config::OnboardConfig;

/// Every ArcGIS call onboarding makes.
pub trait OnboardingPorts:
    OrgInfo + OrgCatalog + MemberLookup + MemberCreation + GroupLookup + GroupMembership + Licences
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
{
}

/// The outcome words of onboarding.
pub const VOCABULARY: Vocabulary = Vocabulary {
    outcomes: &[
        Outcome::Created,
        Outcome::Invited,
        Outcome::Exists,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Planned,
    ],
    success_total: None,
    headline: &[
        Headline::Count(Outcome::Created, "created"),
        Headline::Count(Outcome::Invited, "invited"),
        Headline::Count(Outcome::Exists, "existing"),
        Headline::Count(Outcome::Failed, "failed"),
        Headline::Count(Outcome::Skipped, "skipped"),
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
    deferral: Deferral::StayInFile,
    unique_column: Some("username"),
    subject: "username",
};

/// The onboarding job over one org.
pub struct MemberOnboarding<'a, D> {
    pub arcgis: &'a D,
    /// The org's connection settings (concurrency).
    pub settings: &'a ArcgisSettings,
    pub config: &'a OnboardConfig,
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
    type Row = Member;
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
    ) -> Result<Member, Vec<FieldProblem>> {
        rows::validate(row, columns, &context.catalog, &self.config.default_groups)
    }

    async fn apply(
        &self,
        rows: Vec<Valid<Member>>,
        context: &OrgContext,
        run: &Run,
    ) -> Result<Applied, Error> {
        let mut work: Vec<Work> = rows
            .into_iter()
            .map(|valid| Work {
                username: valid.row.account.username.clone(),
                member: Some(valid.row),
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
        Ok(Applied {
            results: work.into_iter().map(Work::result).collect(),
            notes: self.seats_notes(seats, &context.catalog, run).await,
            ..Applied::default()
        })
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
