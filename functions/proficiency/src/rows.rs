//! The proficiency CSV: its columns and the validation of each row.

use connectors::csvfile::{normalize_header, Column, ColumnMap, Row};
use connectors::inbox::FieldProblem;

/// The columns of a proficiency file.
pub const COLUMNS: &[Column] = &[
    Column::required("identifier", &["agent", "user"]),
    Column::required("identifier_type", &["idtype"]),
    Column::required("action", &[]),
    Column::required("attribute", &["attributename"]),
    Column::required("value", &["attributevalue"]),
    Column::required("level", &["proficiencylevel"]),
];

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Add,
    Remove,
    Update,
    /// The agent's proficiencies for the attribute become exactly the `set` rows.
    Set,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Remove => "remove",
            Action::Update => "update",
            Action::Set => "set",
        }
    }
}

/// How the agent is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Username,
    UserId,
}

/// A valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub line: u64,
    pub identifier: String,
    pub id_kind: IdKind,
    pub action: Action,
    pub attribute: String,
    pub value: String,
    /// A whole number from 1 to 5; `None` for `remove`.
    pub level: Option<u8>,
}

/// Longest attribute name or value Connect accepts.
pub const MAX_NAME: usize = 100;

/// Checks one row; every problem names its field.
pub fn validate(row: &Row, columns: &ColumnMap) -> Result<Request, Vec<FieldProblem>> {
    let get = |name: &str| columns.get(row, name).to_string();
    let mut problems = Vec::new();
    let identifier = get("identifier");
    if identifier.is_empty() {
        problems.push(FieldProblem::new("identifier", "is required"));
    }
    let kind_text = get("identifier_type");
    let id_kind = match normalize_header(&kind_text).as_str() {
        "username" => Some(IdKind::Username),
        "userid" | "id" => Some(IdKind::UserId),
        _ => {
            problems.push(FieldProblem::new(
                "identifier_type",
                format!("{kind_text:?} is not username or user_id"),
            ));
            None
        }
    };
    let action_text = get("action");
    let action = match action_text.to_ascii_lowercase().as_str() {
        "add" => Some(Action::Add),
        "remove" => Some(Action::Remove),
        "update" => Some(Action::Update),
        "set" => Some(Action::Set),
        _ => {
            problems.push(FieldProblem::new(
                "action",
                format!("{action_text:?} is not add, remove, update or set"),
            ));
            None
        }
    };
    let attribute = get("attribute");
    let value = get("value");
    for (field, text) in [("attribute", &attribute), ("value", &value)] {
        if text.is_empty() {
            problems.push(FieldProblem::new(field, "is required"));
        } else if text.chars().count() > MAX_NAME {
            problems.push(FieldProblem::new(
                field,
                format!("is longer than {MAX_NAME} characters"),
            ));
        }
    }
    let level = match action {
        Some(Action::Remove) => None,
        _ => match parse_level(&get("level")) {
            Ok(level) => Some(level),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };
    match (problems.is_empty(), id_kind, action) {
        (true, Some(id_kind), Some(action)) => Ok(Request {
            line: row.line,
            identifier,
            id_kind,
            action,
            attribute,
            value,
            level,
        }),
        _ => Err(problems),
    }
}

/// A level as Connect takes it: a whole number from 1 to 5. The API's
/// `ProficiencyLevel` is a float from 1.0 to 5.0, but the `UserProficiency`
/// reference says "The valid values are 1, 2, 3, 4 and 5"
/// (<https://docs.aws.amazon.com/connect/latest/APIReference/API_UserProficiency.html>),
/// as does the Administrator Guide
/// (<https://docs.aws.amazon.com/connect/latest/adminguide/assign-proficiencies-to-agents.html>).
/// `1.0` and `5.0` are read as 1 and 5.
fn parse_level(text: &str) -> Result<u8, FieldProblem> {
    if text.is_empty() {
        return Err(FieldProblem::new(
            "level",
            "is required for add, update and set",
        ));
    }
    let Ok(number) = text.parse::<f64>() else {
        return Err(FieldProblem::new(
            "level",
            format!("{text:?} is not a number"),
        ));
    };
    if number.fract() == 0.0 && (1.0..=5.0).contains(&number) {
        Ok(number as u8)
    } else {
        Err(FieldProblem::new(
            "level",
            format!("{text:?} is not a whole number from 1 to 5"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::csvfile;

    fn check(line: &str) -> Result<Request, Vec<String>> {
        let file = format!("identifier,identifier_type,action,attribute,value,level\n{line}\n");
        let table = csvfile::parse(file.as_bytes()).unwrap();
        let columns = ColumnMap::new(&table.headers, COLUMNS).unwrap();
        validate(&table.rows[0], &columns)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn good_rows() {
        let r = check("jane.doe,username,add,Language,French,3").unwrap();
        assert_eq!((r.action, r.level, r.line), (Action::Add, Some(3), 2));
        let r = check("1b2c,User ID,Remove,Language,French,").unwrap();
        assert_eq!(
            (r.id_kind, r.action, r.level),
            (IdKind::UserId, Action::Remove, None)
        );
    }

    #[test]
    fn each_problem_names_its_field() {
        let problems = check(",email,promote,,French,9").unwrap_err();
        let named: Vec<bool> = problems.iter().map(|p| p.contains(": ")).collect();
        assert_eq!(named, [true; 5], "{problems:?}");
        assert_eq!(
            problems
                .iter()
                .filter_map(|p| p.split_once(": ").map(|(field, _)| field))
                .collect::<Vec<_>>(),
            [
                "identifier",
                "identifier_type",
                "action",
                "attribute",
                "level"
            ]
        );
        assert_eq!(
            check("a,username,add,Language,French,high").unwrap_err(),
            ["level: \"high\" is not a number"]
        );
        assert_eq!(
            check("a,username,add,Language,French,").unwrap_err(),
            ["level: is required for add, update and set"]
        );
        let long = "x".repeat(101);
        assert_eq!(
            check(&format!("a,username,set,{long},v,2")).unwrap_err(),
            ["attribute: is longer than 100 characters"]
        );
    }

    #[test]
    fn levels_are_whole_numbers_from_1_to_5() {
        for (text, level) in [("1", 1), ("1.0", 1), ("3", 3), ("5.0", 5), ("5", 5)] {
            let r = check(&format!("a,username,set,Language,French,{text}")).unwrap();
            assert_eq!(r.level, Some(level), "{text}");
        }
        for text in ["2.5", "0", "9", "5.5", "0.5", "-1", "NaN", "inf"] {
            assert_eq!(
                check(&format!("a,username,add,Language,French,{text}")).unwrap_err(),
                [format!("level: {text:?} is not a whole number from 1 to 5")],
                "{text}"
            );
        }
        // `remove` ignores the level.
        let r = check("a,username,remove,Language,French,2.5").unwrap();
        assert_eq!(r.level, None);
    }
}
