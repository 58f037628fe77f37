//! What one agent's rows change: a pure function of the agent's current
//! proficiencies and the rows, decided before anything is written.

use std::collections::{BTreeMap, BTreeSet};

use connectors::connect::Proficiency;
use connectors::inbox::Outcome;

use crate::rows::{Action, Request};

/// The Connect write a row rides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    Associate,
    Update,
    Disassociate,
}

/// One row's part of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPlan {
    /// Index into the rows given to [`plan`].
    pub index: usize,
    pub outcome: Outcome,
    /// What the row does, e.g. `add at level 3`, or why it is skipped or failed.
    pub reason: String,
    /// The calls the row's success depends on.
    pub calls: Vec<Call>,
}

/// One agent's writes: at most one call of each kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentPlan {
    pub disassociate: Vec<(String, String)>,
    pub update: Vec<Proficiency>,
    pub associate: Vec<Proficiency>,
    pub rows: Vec<RowPlan>,
}

/// One row's write, held back until every `set` is known to hold.
#[derive(Debug, Clone)]
enum Write {
    Associate(Proficiency),
    Update(Proficiency),
    Disassociate(String, String),
}

fn tenths(level: f32) -> i32 {
    (level * 10.0).round() as i32
}

fn show(level: f32) -> String {
    if level.fract() == 0.0 {
        format!("{level:.0}")
    } else {
        format!("{level}")
    }
}

/// Plans `rows` (all for one agent, attribute and value names already in
/// the instance's spelling) against `current`, within `quota`.
pub fn plan(current: &[Proficiency], rows: &[&Request], quota: usize) -> AgentPlan {
    let mut plans: Vec<RowPlan> = (0..rows.len())
        .map(|index| RowPlan {
            index,
            outcome: Outcome::Planned,
            reason: String::new(),
            calls: Vec::new(),
        })
        .collect();
    let mut settled = vec![false; rows.len()];
    let fail = |plans: &mut Vec<RowPlan>, settled: &mut Vec<bool>, i: usize, reason: String| {
        plans[i].outcome = Outcome::Failed;
        plans[i].reason = reason;
        settled[i] = true;
    };

    // Rows on the same attribute and value: identical ones are duplicates,
    // different ones contradict each other.
    let mut by_key: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_key
            .entry((r.attribute.as_str(), r.value.as_str()))
            .or_default()
            .push(i);
    }
    for ((attribute, value), group) in &by_key {
        if group.len() < 2 {
            continue;
        }
        let first = rows[group[0]];
        let same = group
            .iter()
            .all(|i| rows[*i].action == first.action && rows[*i].level == first.level);
        if same {
            for i in &group[1..] {
                plans[*i].outcome = Outcome::Skipped;
                plans[*i].reason = format!("duplicate of line {}", first.line);
                settled[*i] = true;
            }
        } else {
            let lines: Vec<String> = group.iter().map(|i| rows[*i].line.to_string()).collect();
            for i in group {
                let reason = format!(
                    "conflicting rows for {attribute} = {value}: lines {}",
                    lines.join(", ")
                );
                fail(&mut plans, &mut settled, *i, reason);
            }
        }
    }

    // `set` decides an attribute whole; other rows on it contradict it. Every
    // `set` row counts, a failed one too: the attribute is the set's.
    let mut set_lines: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.action == Action::Set) {
        set_lines
            .entry(r.attribute.as_str())
            .or_default()
            .push(r.line);
    }
    for (i, r) in rows.iter().enumerate() {
        if settled[i] || r.action == Action::Set {
            continue;
        }
        if let Some(lines) = set_lines.get(r.attribute.as_str()) {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            let reason = format!(
                "conflicts with the set rows for attribute {} (lines {})",
                r.attribute,
                lines.join(", ")
            );
            fail(&mut plans, &mut settled, i, reason);
        }
    }

    // Each remaining row against what the agent holds; nothing is written
    // yet, so a failed `set` row below can still call its attribute off.
    let have: BTreeMap<(&str, &str), f32> = current
        .iter()
        .map(|p| ((p.attribute.as_str(), p.value.as_str()), p.level))
        .collect();
    let mut writes: Vec<Option<Write>> = vec![None; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        if settled[i] {
            continue;
        }
        let key = (r.attribute.as_str(), r.value.as_str());
        let p = &mut plans[i];
        let wanted = |level: u8| Proficiency {
            attribute: r.attribute.clone(),
            value: r.value.clone(),
            level: f32::from(level),
        };
        match (r.action, r.level, have.get(&key)) {
            (Action::Remove, _, Some(_)) => {
                writes[i] = Some(Write::Disassociate(r.attribute.clone(), r.value.clone()));
                p.reason = "remove".into();
                p.calls.push(Call::Disassociate);
            }
            (Action::Remove, _, None) => {
                p.outcome = Outcome::Skipped;
                p.reason = "not associated; nothing to remove".into();
            }
            (_, Some(level), None) => {
                writes[i] = Some(Write::Associate(wanted(level)));
                p.reason = match r.action {
                    Action::Update => format!("add at level {level} (it was not associated)"),
                    _ => format!("add at level {level}"),
                };
                p.calls.push(Call::Associate);
            }
            (_, Some(level), Some(now)) if tenths(*now) == tenths(f32::from(level)) => {
                p.outcome = Outcome::Skipped;
                p.reason = format!("already at level {level}");
            }
            (_, Some(level), Some(now)) => {
                writes[i] = Some(Write::Update(wanted(level)));
                p.reason = format!("update level {} to {level}", show(*now));
                p.calls.push(Call::Update);
            }
            (_, None, _) => {
                p.outcome = Outcome::Failed;
                p.reason = "level: is required".into();
            }
        }
    }

    // A `set` applies whole or not at all: when one of an attribute's `set`
    // rows fails, none of them writes, and nothing of the attribute goes.
    let mut untouched: BTreeSet<&str> = BTreeSet::new();
    for attribute in set_lines.keys() {
        let set_rows: Vec<usize> = (0..rows.len())
            .filter(|i| rows[*i].action == Action::Set && rows[*i].attribute == *attribute)
            .collect();
        let failed: Vec<String> = set_rows
            .iter()
            .filter(|i| plans[**i].outcome == Outcome::Failed)
            .map(|i| rows[*i].line.to_string())
            .collect();
        if failed.is_empty() {
            continue;
        }
        untouched.insert(*attribute);
        let left = format!("the agent's {attribute} proficiencies were left as they were");
        let failed = match failed.as_slice() {
            [one] => format!("line {one}"),
            many => format!("lines {}", many.join(", ")),
        };
        for i in set_rows {
            let duplicate = settled[i] && plans[i].outcome == Outcome::Skipped;
            let p = &mut plans[i];
            if p.outcome == Outcome::Failed {
                p.reason = format!("{}; {left}", p.reason);
            } else if !duplicate {
                p.outcome = Outcome::Failed;
                p.reason = format!(
                    "not applied: the set rows for attribute {attribute} go together and {failed} failed; {left}"
                );
                p.calls.clear();
                writes[i] = None;
            }
        }
    }

    let mut out = AgentPlan::default();
    for write in writes.into_iter().flatten() {
        match write {
            Write::Associate(p) => out.associate.push(p),
            Write::Update(p) => out.update.push(p),
            Write::Disassociate(attribute, value) => out.disassociate.push((attribute, value)),
        }
    }

    // `set`: the attribute's other values go, on the first set row's account.
    for attribute in set_lines.keys() {
        if untouched.contains(attribute) {
            continue;
        }
        let wanted: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.action == Action::Set && r.attribute == *attribute)
            .map(|r| r.value.as_str())
            .collect();
        let extra: Vec<&str> = current
            .iter()
            .filter(|p| p.attribute == *attribute && !wanted.contains(p.value.as_str()))
            .map(|p| p.value.as_str())
            .collect();
        if extra.is_empty() {
            continue;
        }
        for value in &extra {
            out.disassociate
                .push((attribute.to_string(), value.to_string()));
        }
        if let Some(i) = (0..rows.len()).find(|i| {
            rows[*i].action == Action::Set && rows[*i].attribute == *attribute && !settled[*i]
        }) {
            let p = &mut plans[i];
            if p.outcome == Outcome::Skipped {
                p.outcome = Outcome::Planned;
                p.reason = format!("keep at level {}", rows[i].level.unwrap_or_default());
            }
            p.reason = format!("{}; remove the other values {}", p.reason, extra.join(", "));
            p.calls.push(Call::Disassociate);
        }
    }

    let after = have.len() - out.disassociate.len() + out.associate.len();
    if after > quota {
        let reason = format!(
            "the agent would hold {after} proficiencies, more than the quota of {quota}; nothing was changed for this agent"
        );
        for p in plans.iter_mut().filter(|p| p.outcome != Outcome::Failed) {
            p.outcome = Outcome::Failed;
            p.reason = reason.clone();
            p.calls.clear();
        }
        out.associate.clear();
        out.update.clear();
        out.disassociate.clear();
    }
    out.rows = plans;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::IdKind;

    fn req(line: u64, action: Action, attribute: &str, value: &str, level: Option<u8>) -> Request {
        Request {
            line,
            identifier: "jane".into(),
            id_kind: IdKind::Username,
            action,
            attribute: attribute.into(),
            value: value.into(),
            level,
        }
    }

    fn prof(attribute: &str, value: &str, level: f32) -> Proficiency {
        Proficiency {
            attribute: attribute.into(),
            value: value.into(),
            level,
        }
    }

    #[test]
    fn one_call_of_each_kind_carries_every_change() {
        let current = [
            prof("Language", "French", 2.0),
            prof("Language", "German", 3.0),
            prof("Skill", "Billing", 4.0),
        ];
        let rows = [
            req(2, Action::Add, "Skill", "Sales", Some(3)),
            req(3, Action::Update, "Language", "French", Some(5)),
            req(4, Action::Update, "Skill", "Support", Some(2)),
            req(5, Action::Remove, "Skill", "Billing", None),
            req(6, Action::Remove, "Skill", "Refunds", None),
            req(7, Action::Add, "Language", "German", Some(3)),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&current, &refs, 10);
        assert_eq!(
            plan.associate,
            [prof("Skill", "Sales", 3.0), prof("Skill", "Support", 2.0)]
        );
        assert_eq!(plan.update, [prof("Language", "French", 5.0)]);
        assert_eq!(
            plan.disassociate,
            [("Skill".to_string(), "Billing".to_string())]
        );
        let reasons: Vec<&str> = plan.rows.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "add at level 3",
                "update level 2 to 5",
                "add at level 2 (it was not associated)",
                "remove",
                "not associated; nothing to remove",
                "already at level 3"
            ]
        );
    }

    #[test]
    fn set_makes_the_attribute_exactly_the_rows() {
        let current = [
            prof("Language", "French", 2.0),
            prof("Language", "German", 3.0),
        ];
        let rows = [
            req(2, Action::Set, "Language", "French", Some(2)),
            req(3, Action::Set, "Language", "Spanish", Some(4)),
            req(4, Action::Add, "Language", "Italian", Some(1)),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&current, &refs, 10);
        assert_eq!(
            plan.disassociate,
            [("Language".to_string(), "German".to_string())]
        );
        assert_eq!(plan.associate, [prof("Language", "Spanish", 4.0)]);
        assert_eq!(
            plan.rows[0].reason,
            "keep at level 2; remove the other values German"
        );
        assert_eq!(plan.rows[0].calls, [Call::Disassociate]);
        assert_eq!(plan.rows[2].outcome, Outcome::Failed);
        assert_eq!(
            plan.rows[2].reason,
            "conflicts with the set rows for attribute Language (lines 2, 3)"
        );
    }

    #[test]
    fn a_failed_set_row_leaves_its_attribute_as_it_was() {
        // The file: two contradicting `set` rows for French, and German.
        let current = [
            prof("Lang", "French", 2.0),
            prof("Lang", "Spanish", 3.0),
            prof("Skill", "Sales", 1.0),
        ];
        let rows = [
            req(2, Action::Set, "Lang", "French", Some(3)),
            req(3, Action::Set, "Lang", "French", Some(4)),
            req(4, Action::Set, "Lang", "German", Some(2)),
            req(5, Action::Set, "Lang", "Spanish", Some(3)),
            req(6, Action::Set, "Lang", "German", Some(2)),
            req(7, Action::Add, "Lang", "English", Some(1)),
            req(8, Action::Set, "Skill", "Billing", Some(4)),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&current, &refs, 10);

        // Nothing of Lang is written; Skill's set still applies.
        assert_eq!(plan.associate, [prof("Skill", "Billing", 4.0)]);
        assert!(plan.update.is_empty());
        assert_eq!(
            plan.disassociate,
            [("Skill".to_string(), "Sales".to_string())]
        );
        let rows: Vec<(Outcome, &str)> = plan
            .rows
            .iter()
            .map(|r| (r.outcome, r.reason.as_str()))
            .collect();
        let left = "the agent's Lang proficiencies were left as they were";
        let not_applied =
            format!("not applied: the set rows for attribute Lang go together and lines 2, 3 failed; {left}");
        let conflict = format!("conflicting rows for Lang = French: lines 2, 3; {left}");
        assert_eq!(
            rows,
            [
                (Outcome::Failed, conflict.as_str()),
                (Outcome::Failed, conflict.as_str()),
                (Outcome::Failed, not_applied.as_str()),
                // Already at its level, but it stays for the retry with the others.
                (Outcome::Failed, not_applied.as_str()),
                (Outcome::Skipped, "duplicate of line 4"),
                (
                    Outcome::Failed,
                    "conflicts with the set rows for attribute Lang (lines 2, 3, 4, 5, 6)"
                ),
                (
                    Outcome::Planned,
                    "add at level 4; remove the other values Sales"
                ),
            ]
        );
        assert!(plan.rows[..6].iter().all(|r| r.calls.is_empty()));
    }

    #[test]
    fn a_set_row_failing_on_its_own_calls_off_its_attribute() {
        // A row that reached the planner without a level fails there.
        let current = [prof("Lang", "French", 2.0)];
        let rows = [
            req(2, Action::Set, "Lang", "German", None),
            req(3, Action::Set, "Lang", "Spanish", Some(4)),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&current, &refs, 10);
        assert!(plan.associate.is_empty() && plan.disassociate.is_empty());
        assert_eq!(
            plan.rows[1].reason,
            "not applied: the set rows for attribute Lang go together and line 2 failed; \
             the agent's Lang proficiencies were left as they were"
        );
    }

    #[test]
    fn duplicates_are_skipped_and_contradictions_fail() {
        let rows = [
            req(2, Action::Add, "Skill", "Sales", Some(3)),
            req(3, Action::Add, "Skill", "Sales", Some(3)),
            req(4, Action::Add, "Skill", "Billing", Some(3)),
            req(5, Action::Remove, "Skill", "Billing", None),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&[], &refs, 10);
        assert_eq!(
            (plan.rows[1].outcome, plan.rows[1].reason.as_str()),
            (Outcome::Skipped, "duplicate of line 2")
        );
        assert_eq!(
            plan.rows[2].reason,
            "conflicting rows for Skill = Billing: lines 4, 5"
        );
        assert_eq!(plan.rows[3].outcome, Outcome::Failed);
        assert_eq!(plan.associate, [prof("Skill", "Sales", 3.0)]);
    }

    #[test]
    fn the_quota_is_checked_before_anything_is_written() {
        let current: Vec<Proficiency> = (0..9)
            .map(|i| prof("Skill", &format!("S{i}"), 1.0))
            .collect();
        let rows = [
            req(2, Action::Add, "Skill", "New1", Some(1)),
            req(3, Action::Add, "Skill", "New2", Some(1)),
        ];
        let refs: Vec<&Request> = rows.iter().collect();
        let plan = plan(&current, &refs, 10);
        assert!(plan.associate.is_empty());
        assert!(plan.rows.iter().all(|r| r.outcome == Outcome::Failed));
        assert!(plan.rows[0]
            .reason
            .starts_with("the agent would hold 11 proficiencies, more than the quota of 10"));
    }
}
