//! A dry run's members who would only be warned, kept as their report
//! lines instead of as candidates: at 1,000,000 members a quarter may be
//! due a warning, and a line's values packed in one buffer take a fraction
//! of a candidate's memory.

/// The lines, in listing order, each placed among the candidates.
#[derive(Default)]
pub(crate) struct PlannedWarnings {
    /// Every line's values, each as its length (u32, little-endian) and
    /// its UTF-8 bytes.
    packed: Vec<u8>,
    /// For each line: where it ends in `packed`, and how many candidates
    /// the listing had found before it.
    lines: Vec<(u32, u32)>,
}

/// The report's column of the action, and of the reason.
const ACTION: usize = 5;
const REASON: usize = 6;

impl PlannedWarnings {
    /// Adds a line of `values` after `candidates_before` candidates.
    pub fn push(&mut self, values: &[String], candidates_before: usize) {
        for value in values {
            self.packed
                .extend_from_slice(&(value.len() as u32).to_le_bytes());
            self.packed.extend_from_slice(value.as_bytes());
        }
        self.lines
            .push((self.packed.len() as u32, candidates_before as u32));
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Each line with the number of candidates before it; when the breaker
    /// tripped (`breaker` is its note) the action is `none` and the reason
    /// says why, as for every candidate.
    pub fn lines<'a>(
        &'a self,
        breaker: Option<&'a str>,
    ) -> impl Iterator<Item = (usize, Vec<String>)> + 'a {
        let mut start = 0usize;
        self.lines.iter().map(move |&(end, before)| {
            let end = end as usize;
            let mut values = unpack(&self.packed[start..end]);
            start = end;
            if let Some(why) = breaker {
                values[ACTION] = crate::outcome::Action::None.as_str().into();
                values[REASON] = format!("{}; {why}", values[REASON]);
            }
            (before as usize, values)
        })
    }
}

fn unpack(mut bytes: &[u8]) -> Vec<String> {
    let mut values = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
        let value = &bytes[4..4 + len];
        values.push(String::from_utf8_lossy(value).into_owned());
        bytes = &bytes[4 + len..];
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, reason: &str) -> Vec<String> {
        [name, "", "2026-01-01", "75", "warn", "planned_warn", reason]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn lines_read_back_as_written_in_order() {
        let mut planned = PlannedWarnings::default();
        planned.push(&line("a", "signed in 75 days ago"), 0);
        planned.push(&line("é,\"b\"", ""), 2);
        let lines: Vec<_> = planned.lines(None).collect();
        assert_eq!(
            lines,
            [
                (0, line("a", "signed in 75 days ago")),
                (2, line("é,\"b\"", ""))
            ]
        );
    }

    #[test]
    fn a_tripped_breaker_leaves_no_action_and_says_why() {
        let mut planned = PlannedWarnings::default();
        planned.push(&line("a", "signed in 75 days ago"), 0);
        let (_, values) = planned.lines(Some("circuit breaker: x")).next().unwrap();
        assert_eq!(values[ACTION], "none");
        assert_eq!(values[REASON], "signed in 75 days ago; circuit breaker: x");
    }
}
