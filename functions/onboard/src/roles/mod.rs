//! Custom ArcGIS roles from `inbox/arcgis/roles/` files: each row names a
//! role, its description and its privileges. A role no other role is named
//! like (ignoring case) is created (`createRole`, then `setPrivileges`);
//! an existing one gets the row's name and description (`roles/{id}/update`)
//! and exactly the row's privileges (`roles/{id}/setPrivileges`), with no
//! write when it already matches. Built-in roles are never changed.
//!
//! The calls are the REST reference's:
//! <https://developers.arcgis.com/rest/users-groups-and-items/create-role.htm>,
//! <https://developers.arcgis.com/rest/users-groups-and-items/update-role.htm>,
//! and the *Roles* resource
//! <https://developers.arcgis.com/rest/users-groups-and-items/roles>.

mod apply;
pub mod rows;

use connectors::arcgis::{RoleAdmin, RoleDetail};
use connectors::csvfile::{ColumnMap, Row};
use connectors::inbox::{
    Applied, CsvJob, FieldProblem, Headline, JobSpec, Outcome, ReportColumn, Run, Valid, Vocabulary,
};
use connectors::Error;

pub use rows::RoleRow;

/// Every ArcGIS call the roles job makes.
pub trait RolesPorts: RoleAdmin {}

impl<T: RoleAdmin> RolesPorts for T {}

/// The outcome words of roles files.
pub const VOCABULARY: Vocabulary = Vocabulary {
    outcomes: &[
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Planned,
    ],
    success_total: None,
    headline: &[
        Headline::Count(Outcome::Created, "created"),
        Headline::Count(Outcome::Updated, "updated"),
        Headline::Count(Outcome::Unchanged, "unchanged"),
        Headline::Count(Outcome::Failed, "failed"),
        Headline::Count(Outcome::Skipped, "skipped"),
    ],
    listed: &[],
};

/// Report column: the id of the role the row created or changed.
pub const ROLE_ID: &str = "role_id";

/// Roles files: their columns, words and report
/// (`line,name,role_id,outcome,reason`).
pub const SPEC: JobSpec = JobSpec {
    columns: rows::COLUMNS,
    vocabulary: &VOCABULARY,
    report: &[
        ReportColumn::Line,
        ReportColumn::Input(rows::NAME),
        ReportColumn::Output(ROLE_ID),
        ReportColumn::Outcome,
        ReportColumn::Reason,
    ],
    inbox: crate::route::ARCGIS_ROLES_PREFIX,
    unique_column: Some(rows::NAME),
    subject: rows::NAME,
};

/// The roles job over one org.
pub struct RoleFile<'a, D> {
    pub arcgis: &'a D,
}

/// What a file is checked against: the org's listed roles (custom roles,
/// Viewer and Data Editor) with their privileges, read once per file.
pub struct OrgRoles {
    pub roles: Vec<RoleDetail>,
}

impl<D: RolesPorts> CsvJob for RoleFile<'_, D> {
    const SPEC: &'static JobSpec = &SPEC;
    type Row = RoleRow;
    type Context = OrgRoles;

    async fn context(&self) -> Result<OrgRoles, Error> {
        Ok(OrgRoles {
            roles: self.arcgis.role_details().await?,
        })
    }

    fn validate(
        &self,
        row: &Row,
        columns: &ColumnMap,
        context: &OrgRoles,
    ) -> Result<RoleRow, Vec<FieldProblem>> {
        rows::validate(row, columns, &context.roles)
    }

    async fn apply(
        &self,
        rows: Vec<Valid<RoleRow>>,
        context: &OrgRoles,
        run: &Run,
    ) -> Result<Applied, Error> {
        Ok(self.run(rows, &context.roles, run).await)
    }
}
