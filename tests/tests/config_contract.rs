//! The README's configuration tables and the code's defaults are the same
//! numbers: every variable a function reads is documented for it, with the
//! default the code uses, and every variable the README documents for a
//! function is one it reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use connectors::config::{Env, VarUse};

/// The least each function needs to start.
const REQUIRED: &[(&str, &str)] = &[
    ("MAIL_FROM", "rollcall@example.org"),
    ("ARCGIS_URL", "https://example.maps.arcgis.com"),
    ("ARCGIS_SECRET_ID", "rollcall/arcgis"),
    ("REPORT_BUCKET", "rollcall-reports"),
    ("CONNECT_INSTANCE_ID", "instance-1"),
];

/// Every variable each function reads, with its default, as the code says.
fn code() -> BTreeMap<&'static str, Vec<VarUse>> {
    let env = Env::from_pairs(REQUIRED);
    onboard::OnboardConfig::from_env(&env).expect("onboard reads its least configuration");
    let onboard = env.uses();
    let env = Env::from_pairs(REQUIRED);
    sweep::SweepConfig::from_env(&env).expect("sweep reads its least configuration");
    let sweep = env.uses();
    let env = Env::from_pairs(REQUIRED);
    proficiency::ProficiencyConfig::from_env(&env)
        .expect("proficiency reads its least configuration");
    let proficiency = env.uses();
    let env = Env::from_pairs(REQUIRED);
    export::ExportConfig::from_env(&env).expect("export reads its least configuration");
    let export = env.uses();
    BTreeMap::from([
        ("onboard", onboard),
        ("sweep", sweep),
        ("proficiency", proficiency),
        ("export", export),
    ])
}

/// One documented variable: for which functions, and its default.
#[derive(Debug, Clone)]
struct Documented {
    name: String,
    functions: Vec<&'static str>,
    default: String,
    section: String,
}

const FUNCTIONS: [&str; 4] = ["onboard", "sweep", "proficiency", "export"];

/// The function a README section is about, for tables without a "Used by" column.
fn section_function(section: &str) -> Option<&'static str> {
    let section = section.to_ascii_lowercase();
    if section.contains("sweep") {
        Some("sweep")
    } else if section.contains("proficienc") {
        Some("proficiency")
    } else if section.contains("onboard") {
        Some("onboard")
    } else if section.contains("export") {
        Some("export")
    } else {
        None
    }
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

/// A default as written, compared loosely: backticks, parentheses and case do not matter.
fn normalise(default: &str) -> String {
    default
        .replace(['`', '(', ')'], "")
        .trim()
        .to_ascii_lowercase()
}

/// Every row of every README table that has a "Default" column.
fn readme() -> Vec<Documented> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("README.md");
    let text = std::fs::read_to_string(&path).expect("README.md");
    let mut documented = Vec::new();
    let mut section = String::new();
    let mut header: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = title.to_string();
            header = None;
            continue;
        }
        if !line.trim_start().starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        let Some(columns) = &header else {
            header = Some(row);
            continue;
        };
        if row
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue;
        }
        let Some(default_at) = columns.iter().position(|c| c == "Default") else {
            continue;
        };
        let used_by = columns.iter().position(|c| c == "Used by");
        let names: Vec<String> = row[0]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            })
            .map(str::to_string)
            .collect();
        let functions: Vec<&'static str> = match used_by {
            Some(at) if row[at].contains("all") => FUNCTIONS.to_vec(),
            Some(at) => FUNCTIONS
                .into_iter()
                .filter(|f| row[at].contains(f))
                .collect(),
            None => section_function(&section).into_iter().collect(),
        };
        for name in names {
            documented.push(Documented {
                name,
                functions: functions.clone(),
                default: row[default_at].clone(),
                section: section.clone(),
            });
        }
    }
    documented
}

#[test]
fn every_variable_a_function_reads_is_documented_with_its_default() {
    let documented = readme();
    let mut problems = Vec::new();
    for (function, uses) in code() {
        for used in uses {
            let rows: Vec<&Documented> = documented
                .iter()
                .filter(|d| d.name == used.name && d.functions.contains(&function))
                .collect();
            if rows.is_empty() {
                problems.push(format!(
                    "{function} reads {} (default {}), which the README does not document for it",
                    used.name, used.default
                ));
            }
            for row in rows {
                if normalise(&row.default) != normalise(&used.default) {
                    problems.push(format!(
                        "{function}: {} defaults to {} in the code but to {} in the README ({})",
                        used.name, used.default, row.default, row.section
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_variable_the_readme_documents_is_read() {
    let code = code();
    let mut problems = Vec::new();
    for row in readme() {
        if row.name.starts_with("AWS_") {
            continue; // the SDK reads these itself
        }
        for function in &row.functions {
            if !code[function].iter().any(|u| u.name == row.name) {
                problems.push(format!(
                    "the README documents {} for {function} ({}), which it does not read",
                    row.name, row.section
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_contract_is_checked_for_each_function() {
    // A README with no tables would pass the checks above vacuously.
    let documented = readme();
    for function in FUNCTIONS {
        let count = documented
            .iter()
            .filter(|d| d.functions.contains(&function))
            .count();
        assert!(count >= 5, "{function}: only {count} documented variables");
    }
}
