//! What happens to a row: the outcome words every job draws from, a job's
//! vocabulary, and the counts a run reports.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// What happened (or would happen) to one row. Every job's words come from
/// this one list; a job names the ones it uses in its [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An account was created with the password from the file.
    Created,
    /// An account was created; the member was mailed an invitation.
    Invited,
    /// The account already existed; what the row asks was ensured.
    Exists,
    Updated,
    /// The row asked for nothing that was not already so.
    Unchanged,
    Added,
    Removed,
    Disabled,
    Enabled,
    Deleted,
    /// Not done: already true, a duplicate, or not reached before the deadline.
    Skipped,
    Failed,
    /// Dry run: what would be done.
    Planned,
}

impl Outcome {
    /// The word in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Invited => "invited",
            Outcome::Exists => "exists",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Added => "added",
            Outcome::Removed => "removed",
            Outcome::Disabled => "disabled",
            Outcome::Enabled => "enabled",
            Outcome::Deleted => "deleted",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Planned => "planned",
        }
    }

    /// The label in the admins' summary.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Created => "Created",
            Outcome::Invited => "Invited",
            Outcome::Exists => "Already there",
            Outcome::Updated => "Updated",
            Outcome::Unchanged => "Unchanged",
            Outcome::Added => "Added",
            Outcome::Removed => "Removed",
            Outcome::Disabled => "Disabled",
            Outcome::Enabled => "Enabled",
            Outcome::Deleted => "Deleted",
            Outcome::Skipped => "Skipped",
            Outcome::Failed => "Failed",
            Outcome::Planned => "Planned",
        }
    }
}

/// One part of a summary headline: a count with its word, or a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    /// `"{n} {word}"` for one outcome.
    Count(Outcome, &'static str),
    /// `"{n} {word}"` for the vocabulary's success total.
    Total(&'static str),
    /// `"{n} {word}"` for one outcome, left out when no row had it (words
    /// most files never use).
    IfAny(Outcome, &'static str),
}

/// The outcome words a job uses, in the order it reports them.
#[derive(Debug, PartialEq, Eq)]
pub struct Vocabulary {
    pub outcomes: &'static [Outcome],
    /// A total of the successful outcomes, reported under this name.
    pub success_total: Option<(&'static str, &'static [Outcome])>,
    /// The parts of a live run's headline.
    pub headline: &'static [Headline],
    /// Outcomes whose rows the summary names one by one, under a title
    /// (the members deleted, say), beside the failed rows it always lists.
    pub listed: &'static [(Outcome, &'static str)],
}

/// Rows per outcome, reported (and serialised) in the vocabulary's words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    by_outcome: BTreeMap<Outcome, usize>,
    /// The words to report, in order: the vocabularies counted so far.
    words: Vec<Outcome>,
    totals: Vec<(&'static str, &'static [Outcome])>,
}

impl Counts {
    /// No rows yet, reported in `vocabulary`'s words.
    pub fn new(vocabulary: &Vocabulary) -> Self {
        let mut counts = Self::default();
        counts.speak(vocabulary);
        counts
    }

    fn speak(&mut self, vocabulary: &Vocabulary) {
        for outcome in vocabulary.outcomes {
            if !self.words.contains(outcome) {
                self.words.push(*outcome);
            }
        }
        if let Some(total) = vocabulary.success_total {
            if !self.totals.iter().any(|(name, _)| *name == total.0) {
                self.totals.push(total);
            }
        }
    }

    pub fn add(&mut self, outcome: Outcome) {
        self.add_many(outcome, 1);
    }

    /// Counts `n` rows of `outcome`.
    pub fn add_many(&mut self, outcome: Outcome, n: usize) {
        *self.by_outcome.entry(outcome).or_default() += n;
        if !self.words.contains(&outcome) {
            self.words.push(outcome);
        }
    }

    /// Adds another file's counts (and its words).
    pub fn merge(&mut self, other: &Counts) {
        for (outcome, n) in &other.by_outcome {
            *self.by_outcome.entry(*outcome).or_default() += n;
        }
        for word in &other.words {
            if !self.words.contains(word) {
                self.words.push(*word);
            }
        }
        for total in &other.totals {
            if !self.totals.iter().any(|(name, _)| *name == total.0) {
                self.totals.push(*total);
            }
        }
    }

    pub fn get(&self, outcome: Outcome) -> usize {
        self.by_outcome.get(&outcome).copied().unwrap_or(0)
    }

    /// The named success total, if the vocabulary has one by that name.
    pub fn total_of(&self, name: &str) -> Option<usize> {
        self.totals
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, outcomes)| outcomes.iter().map(|o| self.get(*o)).sum())
    }

    /// Each outcome reported, in order, with its count (zeros included).
    pub fn each(&self) -> impl Iterator<Item = (Outcome, usize)> + '_ {
        self.words.iter().map(|word| (*word, self.get(*word)))
    }

    /// Every row counted.
    pub fn total(&self) -> usize {
        self.by_outcome.values().sum()
    }

    /// `"1 created, 2 failed"` in the order `parts` gives.
    pub fn headline(&self, parts: &[Headline]) -> String {
        parts
            .iter()
            .filter_map(|part| match part {
                Headline::Count(outcome, word) => Some(format!("{} {word}", self.get(*outcome))),
                Headline::IfAny(outcome, word) => {
                    let n = self.get(*outcome);
                    (n > 0).then(|| format!("{n} {word}"))
                }
                Headline::Total(name) => {
                    Some(format!("{} {name}", self.total_of(name).unwrap_or(0)))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.words.len() + self.totals.len()))?;
        for word in &self.words {
            map.serialize_entry(word.as_str(), &self.get(*word))?;
        }
        for (name, _) in &self.totals {
            map.serialize_entry(name, &self.total_of(name).unwrap_or(0))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: Vocabulary = Vocabulary {
        outcomes: &[Outcome::Added, Outcome::Failed, Outcome::Planned],
        success_total: Some(("successful", &[Outcome::Added])),
        headline: &[
            Headline::Total("successful"),
            Headline::Count(Outcome::Failed, "failed"),
        ],
        listed: &[],
    };

    #[test]
    fn counts_speak_the_vocabulary_with_zeros_and_totals() {
        let mut counts = Counts::new(&WORDS);
        counts.add(Outcome::Added);
        counts.add(Outcome::Added);
        counts.add(Outcome::Failed);
        assert_eq!(
            serde_json::to_value(&counts).unwrap(),
            serde_json::json!({"added": 2, "failed": 1, "planned": 0, "successful": 2})
        );
        assert_eq!(counts.headline(WORDS.headline), "2 successful, 1 failed");
        let mut all = Counts::default();
        all.merge(&counts);
        all.merge(&counts);
        assert_eq!((all.get(Outcome::Added), all.total()), (4, 6));
    }
}
