//! Full person records: `person/get` and `person/save`.
//!
//! The filter body of `person/get` and the `{"person": …}` body of
//! `person/save` are teamworksams's (`user_fetch.py`, `user_build.py`,
//! github.com/brandonyach/teamworksams). Unlike that client, a save the
//! site answers with an RPC exception, or with anything but a stored record,
//! is never taken as done.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{AmsClient, AmsPeople, Person, PEOPLE_BATCH};
use crate::Error;

const PERSON_GET: &str = "v2/person/get";
const PERSON_SAVE: &str = "v2/person/save";

impl AmsPeople for AmsClient {
    async fn people(&self, ids: &[i64]) -> Result<Vec<Person>, Error> {
        /// `objects` may be missing or `null` when no id has an account.
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            objects: Option<Vec<Map<String, Value>>>,
        }
        let mut people = Vec::with_capacity(ids.len());
        for batch in ids.chunks(PEOPLE_BATCH) {
            let reply: Reply = self.call(PERSON_GET, &people_filter(batch)).await?;
            people.extend(
                reply
                    .objects
                    .unwrap_or_default()
                    .into_iter()
                    .map(Person::from_fields),
            );
        }
        Ok(people)
    }

    async fn save(&self, person: &Person) -> Result<Person, Error> {
        let body = json!({ "person": person.fields() });
        let stored: Map<String, Value> = self.call(PERSON_SAVE, &body).await?;
        let stored = Person::from_fields(stored);
        if stored.id().is_none() {
            return Err(Error::Decode {
                service: super::SERVICE,
                operation: "person/save".into(),
                path: "id".into(),
                message: "the answer is not a stored record (no account id)".into(),
            });
        }
        Ok(stored)
    }
}

/// The `person/get` filter selecting `ids`, sent as strings as the public
/// client sends them (under `valueInteger` all the same).
fn people_filter(ids: &[i64]) -> Value {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    json!({"filter": {
        "comparisons": {"op": "0", "branches": [
            {"leaf": {"negated": false, "comp": "1", "fieldName": "id", "valueInteger": ids}}
        ]},
        "limit": "-1",
        "offset": "-1"
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_sends_ids_as_strings_without_paging() {
        assert_eq!(
            people_filter(&[31152, 72788]),
            json!({"filter": {"comparisons": {"op": "0", "branches": [
                {"leaf": {"negated": false, "comp": "1", "fieldName": "id",
                          "valueInteger": ["31152", "72788"]}}
            ]}, "limit": "-1", "offset": "-1"}})
        );
    }
}
