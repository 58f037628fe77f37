//! One roles file's valid rows: find each row's role, work out what
//! differs, then write only that (or, in a dry run, say what would be
//! written). Roles are few, so rows go one at a time, in file order.

use connectors::arcgis::{privileges, RoleDetail};
use connectors::inbox::{Outcome, RowResult, Run, Valid};
use connectors::Error;

use super::rows::{is_builtin, RoleRow};
use super::{RoleFile, RolesPorts, ROLE_ID};

/// What a row asks of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// No role has the row's name: create it, then set its privileges.
    Create,
    /// The role exists and differs from the row.
    Change { role_id: String, change: Change },
    /// The role exists exactly as the row says.
    Same { role_id: String },
}

/// How an existing role differs from its row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    /// The role's current name, when the row spells it otherwise (the
    /// match ignores case; the row's spelling is written).
    old_name: Option<String>,
    description: bool,
    added: Vec<String>,
    removed: Vec<String>,
}

impl Change {
    /// The name or description differs: `roles/{id}/update`.
    fn text(&self) -> bool {
        self.old_name.is_some() || self.description
    }

    /// The privileges differ: `roles/{id}/setPrivileges`.
    fn privileges(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }

    /// `name (was "x"), description, privileges (added: a, b; removed: c)`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(old) = &self.old_name {
            parts.push(format!("name (was {old:?})"));
        }
        if self.description {
            parts.push("description".to_string());
        }
        if self.privileges() {
            let mut lists = Vec::new();
            if !self.added.is_empty() {
                lists.push(format!("added: {}", self.added.join(", ")));
            }
            if !self.removed.is_empty() {
                lists.push(format!("removed: {}", self.removed.join(", ")));
            }
            parts.push(format!("privileges ({})", lists.join("; ")));
        }
        parts.join(", ")
    }
}

/// One valid row on its way through the run.
struct Work {
    row: RoleRow,
    plan: Plan,
    /// Set once the row is settled; `None` at the end means not reached.
    outcome: Option<Outcome>,
    reason: String,
    role_id: Option<String>,
}

impl Work {
    fn new(row: RoleRow, roles: &[RoleDetail]) -> Self {
        let plan = plan(&row, roles);
        let role_id = match &plan {
            Plan::Create => None,
            Plan::Change { role_id, .. } | Plan::Same { role_id } => Some(role_id.clone()),
        };
        Self {
            row,
            plan,
            outcome: None,
            reason: String::new(),
            role_id,
        }
    }

    fn settle(&mut self, outcome: Outcome, reason: impl Into<String>) {
        self.outcome = Some(outcome);
        self.reason = reason.into();
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.settle(Outcome::Failed, reason);
    }

    fn result(self) -> RowResult {
        let result = match self.outcome {
            Some(Outcome::Failed) => RowResult::failed(self.reason),
            Some(outcome) => RowResult::done(outcome, self.reason),
            None => RowResult::deferred(),
        };
        result.with(ROLE_ID, self.role_id.unwrap_or_default())
    }
}

/// What `row` asks of the org's `roles` (built-in roles and names shared
/// by several roles were refused by the row's checks).
fn plan(row: &RoleRow, roles: &[RoleDetail]) -> Plan {
    let Some(role) = roles
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(&row.name) && !is_builtin(&r.id))
    else {
        return Plan::Create;
    };
    // The portal's spelling of a privilege the catalogue knows is the
    // catalogue's; one it does not know is kept as the portal wrote it.
    let current: Vec<String> = role
        .privileges
        .iter()
        .map(|p| privileges::known(p).map_or_else(|| p.clone(), str::to_string))
        .collect();
    let change = Change {
        old_name: (role.name != row.name).then(|| role.name.clone()),
        description: role.description != row.description,
        added: row
            .privileges
            .iter()
            .filter(|p| !current.contains(p))
            .cloned()
            .collect(),
        removed: current
            .iter()
            .filter(|p| !row.privileges.contains(p))
            .cloned()
            .collect(),
    };
    let role_id = role.id.clone();
    if change.text() || change.privileges() {
        Plan::Change { role_id, change }
    } else {
        Plan::Same { role_id }
    }
}

/// `2 privileges`, `1 privilege`.
fn privileges_count(row: &RoleRow) -> String {
    match row.privileges.len() {
        1 => "1 privilege".to_string(),
        n => format!("{n} privileges"),
    }
}

impl<D: RolesPorts> RoleFile<'_, D> {
    /// Plans the rows against `roles` and, unless a dry run, writes them.
    pub(super) async fn run(
        &self,
        rows: Vec<Valid<RoleRow>>,
        roles: &[RoleDetail],
        run: &Run,
    ) -> connectors::inbox::Applied {
        let mut work: Vec<Work> = rows
            .into_iter()
            .map(|valid| Work::new(valid.row, roles))
            .collect();
        for w in work.iter_mut() {
            if run.dry_run {
                planned(w);
            } else if let Plan::Same { .. } = w.plan {
                w.settle(Outcome::Unchanged, "already as the file says");
            } else if run.may_start() {
                self.write(w).await;
            }
        }
        connectors::inbox::Applied {
            results: work.into_iter().map(Work::result).collect(),
            ..Default::default()
        }
    }

    /// Writes what the row's plan asks.
    async fn write(&self, w: &mut Work) {
        match w.plan.clone() {
            Plan::Create => self.create(w).await,
            Plan::Change { role_id, change } => self.change(w, &role_id, &change).await,
            Plan::Same { .. } => {}
        }
    }

    /// `createRole`, then `setPrivileges` on the new role.
    async fn create(&self, w: &mut Work) {
        let role_id = match self
            .arcgis
            .create_role(&w.row.name, &w.row.description)
            .await
        {
            Ok(id) => id,
            Err(e) => return w.fail(format!("not created: {e}")),
        };
        w.role_id = Some(role_id.clone());
        match self
            .arcgis
            .set_privileges(&role_id, &w.row.privileges)
            .await
        {
            Ok(()) => {
                let count = privileges_count(&w.row);
                w.settle(Outcome::Created, format!("created with {count}"));
            }
            Err(e) => w.fail(unfinished("created the role", &e)),
        }
    }

    /// `roles/{id}/update` when the name or description differs, then
    /// `setPrivileges` when the privileges differ.
    async fn change(&self, w: &mut Work, role_id: &str, change: &Change) {
        if change.text() {
            let updated = self
                .arcgis
                .update_role_description(role_id, &w.row.name, &w.row.description)
                .await;
            if let Err(e) = updated {
                return w.fail(format!("not changed: {e}"));
            }
        }
        if change.privileges() {
            let set = self.arcgis.set_privileges(role_id, &w.row.privileges).await;
            if let Err(e) = set {
                return w.fail(if change.text() {
                    unfinished("changed the name and description", &e)
                } else {
                    format!("privileges not set: {e}")
                });
            }
        }
        w.settle(Outcome::Updated, format!("changed {}", change.describe()));
    }
}

/// A role half written: what was done, why the privileges were not set,
/// and that a re-run finishes it (the role is then found by its name).
fn unfinished(done: &str, error: &Error) -> String {
    format!("{done}, but its privileges were not set: {error}; run the file again to set them")
}

/// Dry run: what the row would do.
fn planned(w: &mut Work) {
    let reason = match &w.plan {
        Plan::Create => format!("would create the role with {}", privileges_count(&w.row)),
        Plan::Change { change, .. } => format!("would change {}", change.describe()),
        Plan::Same { .. } => "nothing to change".to_string(),
    };
    w.settle(Outcome::Planned, reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, description: &str, privileges: &[&str]) -> RoleRow {
        RoleRow {
            name: name.into(),
            description: description.into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn role(id: &str, name: &str, description: &str, privileges: &[&str]) -> RoleDetail {
        RoleDetail {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        }
    }

    const JOIN: &str = "portal:user:joinGroup";
    const CREATE: &str = "portal:user:createItem";
    const EDIT: &str = "features:user:edit";

    #[test]
    fn a_role_is_matched_ignoring_case_and_compared_as_a_set() {
        let roles = [role("r1", "Field Editor", "Edits", &[EDIT, JOIN])];
        assert_eq!(
            plan(&row("field editor", "Edits", &[JOIN, EDIT]), &roles),
            Plan::Change {
                role_id: "r1".into(),
                change: Change {
                    old_name: Some("Field Editor".into()),
                    description: false,
                    added: vec![],
                    removed: vec![],
                }
            }
        );
        assert_eq!(
            plan(&row("Field Editor", "Edits", &[JOIN, EDIT]), &roles),
            Plan::Same {
                role_id: "r1".into()
            }
        );
        assert_eq!(
            plan(&row("Analyst", "Edits", &[JOIN]), &roles),
            Plan::Create
        );
    }

    #[test]
    fn a_change_names_what_differs() {
        let roles = [role(
            "r1",
            "Field Editor",
            "Edits",
            &[EDIT, "portal:user:someNewPrivilege"],
        )];
        let Plan::Change { change, .. } = plan(
            &row("Field Editor", "Edits data", &[JOIN, EDIT, CREATE]),
            &roles,
        ) else {
            panic!("a change");
        };
        assert_eq!(
            change.describe(),
            "description, privileges (added: portal:user:joinGroup, portal:user:createItem; removed: portal:user:someNewPrivilege)"
        );
    }

    #[test]
    fn a_listed_pre_built_role_is_never_matched() {
        let roles = [role("iAAAAAAAAAAAAAAA", "Viewer", "", &[JOIN])];
        assert_eq!(plan(&row("viewer", "d", &[JOIN]), &roles), Plan::Create);
    }
}
