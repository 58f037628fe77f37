//! `community/groups` (*Group Search*): the groups a query matches, paged.
//!
//! The query language is the portal's search syntax (*Search reference*):
//! `field:value` terms and bare words, joined by spaces or `AND`. The
//! sandbox knows the fields a client of an org's groups uses: `orgid`,
//! `owner`, `id` and `title`; a bare word matches part of the title. A term
//! on another field matches nothing [unverified: the service knows more
//! fields, and its search is fuzzy; clients that list an org's groups
//! (*arcgis-python*'s `accountid:`, a third-party client's `orgid:`) filter
//! on the org only]. Sources in *italics* are listed under References in
//! [`super`].

use serde_json::{json, Value};

use super::model::{Group, State};
use super::ops::group_visible;
use super::request::Params;

/// Most results any search lets a caller page to (*Considerations and
/// limitations*).
const SEARCH_CAP: usize = 10_000;

/// One term of a query.
#[derive(Debug, PartialEq, Eq)]
enum Term {
    Field(String, String),
    Word(String),
}

/// The terms of `q`: `field:value` (the value may be quoted) or bare words;
/// `AND` between terms is the default and dropped.
fn terms(q: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        let (token, after) = next_token(rest);
        rest = after.trim_start();
        if token == "AND" {
            continue;
        }
        match token.split_once(':') {
            Some((field, value)) => terms.push(Term::Field(
                field.to_ascii_lowercase(),
                value.trim_matches('"').to_string(),
            )),
            None => terms.push(Term::Word(token.trim_matches('"').to_lowercase())),
        }
    }
    terms
}

/// The first token of `s` (spaces inside double quotes kept) and the rest.
fn next_token(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (at, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..at], &s[at..]),
            _ => {}
        }
    }
    (s, "")
}

fn matches(state: &State, group: &Group, term: &Term) -> bool {
    match term {
        Term::Field(field, value) => match field.as_str() {
            "orgid" | "accountid" => value.eq_ignore_ascii_case(&state.config.org_id),
            "owner" => value.eq_ignore_ascii_case(&group.owner),
            "id" => value == &group.id,
            "title" => group.title.to_lowercase().contains(&value.to_lowercase()),
            _ => false,
        },
        Term::Word(word) => group.title.to_lowercase().contains(word),
    }
}

/// `community/groups` (*Group Search*): `q` (required), `start`, `num`
/// (default 10, at most 100), `sortField` (`title`, the default here, or
/// `owner`, `created`, `modified`) and `sortOrder`; only the groups the
/// caller may see. `total` counts every match; pages past the first 10,000
/// results come back empty [unverified whether empty or an error].
pub(crate) fn group_search(state: &State, caller: &str, p: &Params) -> Value {
    let q = p.get("q").unwrap_or_default();
    let terms = terms(q);
    let mut found: Vec<&Group> = state
        .groups
        .values()
        .filter(|g| group_visible(state, caller, &g.id))
        .filter(|g| terms.iter().all(|t| matches(state, g, t)))
        .collect();
    let field = p
        .non_empty("sortField")
        .unwrap_or("title")
        .to_ascii_lowercase();
    match field.as_str() {
        "owner" => found.sort_by_key(|g| (g.owner.clone(), g.id.clone())),
        "created" => found.sort_by_key(|g| (g.created, g.id.clone())),
        "modified" => found.sort_by_key(|g| (g.modified, g.id.clone())),
        _ => found.sort_by_key(|g| (g.title.to_lowercase(), g.id.clone())),
    }
    if p.non_empty("sortOrder")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        found.reverse();
    }
    let start = p.int("start").unwrap_or(1).max(1) as usize;
    let num = p.int("num").unwrap_or(10).clamp(1, 100) as usize;
    let total = found.len();
    let reachable = total.min(SEARCH_CAP);
    let from = (start - 1).min(reachable);
    let to = from.saturating_add(num).min(reachable);
    let results: Vec<Value> = found[from..to]
        .iter()
        .map(|g| state.group_json(g, (!caller.is_empty()).then_some(caller)))
        .collect();
    let next_start = if !results.is_empty() && to < reachable {
        (to + 1) as i64
    } else {
        -1
    };
    json!({
        "query": q,
        "total": total,
        "start": start,
        "num": results.len(),
        "nextStart": next_start,
        "results": results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_fields_and_words() {
        assert_eq!(
            terms(r#"orgid:Abc123 AND owner:"jane doe" Parks"#),
            [
                Term::Field("orgid".into(), "Abc123".into()),
                Term::Field("owner".into(), "jane doe".into()),
                Term::Word("parks".into()),
            ]
        );
        assert!(terms("  ").is_empty());
    }
}
