//! The roles file: its columns and the check of every row before any call.
//!
//! The limits are the REST reference's for `createRole`
//! (<https://developers.arcgis.com/rest/users-groups-and-items/create-role.htm>):
//! a name of up to 128 characters, a description of up to 250. The
//! privileges are the catalogue's ([`connectors::arcgis::privileges`]).

use connectors::arcgis::{privileges, RoleDetail, BUILTIN_ROLES};
use connectors::csvfile::{Column, ColumnMap, Row};
use connectors::inbox::FieldProblem;

/// The columns of a roles file. Names match case-insensitively with spaces,
/// `_` and `-` ignored (`Role Name` is `name`).
pub const COLUMNS: &[Column] = &[
    Column::required(NAME, &["role", "rolename"]),
    Column::required(DESCRIPTION, &["roledescription"]),
    Column::required(PRIVILEGES, &["privilege", "roleprivileges"]),
];

/// The role's name: how the row finds its role (ignoring case).
pub const NAME: &str = "name";
/// The role's description.
pub const DESCRIPTION: &str = "description";
/// The role's privileges, separated by `;`.
pub const PRIVILEGES: &str = "privileges";

/// The longest role name `createRole` takes, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest role description `createRole` takes, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 250;

/// A row that passed its checks: the role as the file says it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub name: String,
    pub description: String,
    /// In the catalogue's spelling, in file order, each once.
    pub privileges: Vec<String>,
}

/// Checks one row against the org's roles (`roles`, as `role_details`
/// lists them); every problem names its field.
pub fn validate(
    row: &Row,
    columns: &ColumnMap,
    roles: &[RoleDetail],
) -> Result<RoleRow, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let name = columns.get(row, NAME).to_string();
    if let Err(problem) = check_name(&name, roles) {
        problems.push(problem);
    }
    let description = columns.get(row, DESCRIPTION).to_string();
    if let Err(problem) = check_text(DESCRIPTION, &description, MAX_DESCRIPTION_CHARS) {
        problems.push(problem);
    }
    let privileges = match parse_privileges(columns.get(row, PRIVILEGES)) {
        Ok(list) => list,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    if problems.is_empty() {
        Ok(RoleRow {
            name,
            description,
            privileges,
        })
    } else {
        Err(problems)
    }
}

/// Present, short enough, on one line.
fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), FieldProblem> {
    let chars = value.chars().count();
    if value.is_empty() {
        Err(FieldProblem::new(field, "is required"))
    } else if chars > max_chars {
        Err(FieldProblem::new(
            field,
            format!("is {chars} characters long; ArcGIS allows at most {max_chars}"),
        ))
    } else if value.chars().any(char::is_control) {
        Err(FieldProblem::new(
            field,
            "contains a line break or control character",
        ))
    } else {
        Ok(())
    }
}

/// A name rollcall may create or change: not a built-in role, and naming
/// at most one of the org's roles (ArcGIS does not keep names unique).
fn check_name(name: &str, roles: &[RoleDetail]) -> Result<(), FieldProblem> {
    check_text(NAME, name, MAX_NAME_CHARS)?;
    if let Some(id) = builtin_id(name, roles) {
        return Err(FieldProblem::new(
            NAME,
            format!("{name:?} is a built-in role ({id}); built-in roles cannot be changed"),
        ));
    }
    let matching: Vec<&str> = roles
        .iter()
        .filter(|r| r.name.eq_ignore_ascii_case(name))
        .map(|r| r.id.as_str())
        .collect();
    if matching.len() > 1 {
        return Err(FieldProblem::new(
            NAME,
            format!(
                "{name:?} names {} roles in the org (ids {}); rename all but one in ArcGIS first",
                matching.len(),
                matching.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The id of the built-in role `name` names (by its name or its id,
/// ignoring case), including a pre-built role the org lists under another
/// name.
pub fn builtin_id(name: &str, roles: &[RoleDetail]) -> Option<String> {
    let fixed = BUILTIN_ROLES
        .iter()
        .find(|(id, builtin)| builtin.eq_ignore_ascii_case(name) || id.eq_ignore_ascii_case(name))
        .map(|(id, _)| id.to_string());
    fixed.or_else(|| {
        roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name) && is_builtin(&r.id))
            .map(|r| r.id.clone())
    })
}

/// True for the id of a built-in or pre-built role.
pub fn is_builtin(role_id: &str) -> bool {
    BUILTIN_ROLES.iter().any(|(id, _)| *id == role_id)
}

/// The privileges of a cell, `;`-separated: each known to the catalogue
/// (ignoring case), in the catalogue's spelling, each once. Every unknown
/// one is named.
fn parse_privileges(cell: &str) -> Result<Vec<String>, FieldProblem> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for given in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match privileges::known(given) {
            Some(spelled) if !known.iter().any(|k: &String| k == spelled) => {
                known.push(spelled.to_string())
            }
            Some(_) => {}
            None => unknown.push(format!("{given:?}")),
        }
    }
    if !unknown.is_empty() {
        let noun = if unknown.len() == 1 {
            "unknown privilege"
        } else {
            "unknown privileges"
        };
        return Err(FieldProblem::new(
            PRIVILEGES,
            format!(
                "{noun} {} (privileges look like portal:user:createItem; the README lists them)",
                unknown.join(", ")
            ),
        ));
    }
    if known.is_empty() {
        return Err(FieldProblem::new(
            PRIVILEGES,
            "is required: at least one privilege, separated by ;",
        ));
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::csvfile;

    fn check(file: &str, roles: &[RoleDetail]) -> Result<RoleRow, Vec<String>> {
        let (table, columns) = csvfile::read(file.as_bytes(), COLUMNS).expect("readable");
        validate(&table.rows[0], &columns, roles)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }

    fn role(id: &str, name: &str) -> RoleDetail {
        RoleDetail {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            privileges: Vec::new(),
        }
    }

    #[test]
    fn privileges_are_spelled_as_the_catalogue_does_and_kept_once() {
        let row = check(
            "Role Name,Description,Privileges\nAnalyst,Reads, PORTAL:USER:joinGroup ;portal:user:createItem;;portal:user:joingroup\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            row,
            RoleRow {
                name: "Analyst".into(),
                description: "Reads".into(),
                privileges: vec![
                    "portal:user:joinGroup".into(),
                    "portal:user:createItem".into()
                ],
            }
        );
    }

    #[test]
    fn every_problem_is_named() {
        let long = "x".repeat(129);
        let file = format!(
            "name,description,privileges\n{long},{},portal:user:makeCoffee;portal:user:joinGroup;teleport\n",
            "d".repeat(251)
        );
        assert_eq!(
            check(&file, &[]).unwrap_err(),
            [
                "name: is 129 characters long; ArcGIS allows at most 128",
                "description: is 251 characters long; ArcGIS allows at most 250",
                "privileges: unknown privileges \"portal:user:makeCoffee\", \"teleport\" (privileges look like portal:user:createItem; the README lists them)",
            ]
        );
        assert_eq!(
            check("name,description,privileges\nA,,\n", &[]).unwrap_err(),
            [
                "description: is required",
                "privileges: is required: at least one privilege, separated by ;"
            ]
        );
    }

    #[test]
    fn built_in_roles_are_refused_by_name_or_id() {
        let listed = [role("iAAAAAAAAAAAAAAA", "Betrachter")];
        for (name, id) in [
            ("administrator", "org_admin"),
            ("Publisher", "org_publisher"),
            ("USER", "org_user"),
            ("org_user", "org_user"),
            ("Viewer", "iAAAAAAAAAAAAAAA"),
            ("data editor", "iBBBBBBBBBBBBBBB"),
            ("Betrachter", "iAAAAAAAAAAAAAAA"),
        ] {
            let file = format!("name,description,privileges\n{name},d,portal:user:joinGroup\n");
            assert_eq!(
                check(&file, &listed).unwrap_err(),
                [format!(
                    "name: {name:?} is a built-in role ({id}); built-in roles cannot be changed"
                )]
            );
        }
    }

    #[test]
    fn a_name_two_roles_share_is_refused() {
        let listed = [role("a1", "Analyst"), role("b2", "ANALYST")];
        assert_eq!(
            check(
                "name,description,privileges\nanalyst,d,portal:user:joinGroup\n",
                &listed
            )
            .unwrap_err(),
            ["name: \"analyst\" names 2 roles in the org (ids a1, b2); rename all but one in ArcGIS first"]
        );
    }
}
