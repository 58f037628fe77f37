//! Users and groups: `usersearch`, `groupmembers` and `listgroups`.
//!
//! The bodies are the public clients' (teamworksams `user_fetch.py`,
//! github.com/brandonyach/teamworksams; smartabaseR `R/export_body.R`,
//! github.com/Teamworksapp/smartabaseR). Emails are searched under
//! `emailAddress`, the key smartabaseR sends.

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::{AmsClient, AmsGroups, AmsUser, AmsUsers, UserFilter};
use crate::Error;

const USER_SEARCH: &str = "v1/usersearch";
const GROUP_MEMBERS: &str = "v1/groupmembers";
const LIST_GROUPS: &str = "v1/listgroups";

impl AmsUsers for AmsClient {
    async fn users(&self, filter: &UserFilter) -> Result<Vec<AmsUser>, Error> {
        let Some((path, body)) = search_request(filter) else {
            // An empty list of names would be the all-users body: ask nothing.
            return Ok(Vec::new());
        };
        let reply: SearchReply = self.call(path, &body).await?;
        let mut users = reply.users();
        if let UserFilter::Name(name) = filter {
            users.retain(|user| full_name_is(user, name));
        }
        Ok(users)
    }
}

impl AmsGroups for AmsClient {
    async fn group_names(&self) -> Result<Vec<String>, Error> {
        /// `name` is required: an answer without it is not a group list.
        #[derive(Deserialize)]
        struct Reply {
            name: Vec<String>,
        }
        let reply: Reply = self.call(LIST_GROUPS, &json!({"name": ""})).await?;
        Ok(reply.name)
    }
}

/// The endpoint and body of a search; `None` when a list filter is empty.
fn search_request(filter: &UserFilter) -> Option<(&'static str, Value)> {
    let identify = |key: &str, values: Vec<Value>| {
        (!values.is_empty()).then(|| {
            let entries: Vec<Value> = values.into_iter().map(|v| json!({ key: v })).collect();
            (USER_SEARCH, json!({ "identification": entries }))
        })
    };
    let strings = |values: &[String]| values.iter().map(|v| json!(v)).collect();
    match filter {
        UserFilter::All | UserFilter::Name(_) => {
            Some((USER_SEARCH, json!({ "identification": [] })))
        }
        UserFilter::Usernames(names) => identify("username", strings(names)),
        UserFilter::Emails(emails) => identify("emailAddress", strings(emails)),
        UserFilter::UserIds(ids) => identify("userId", ids.iter().map(|id| json!(id)).collect()),
        UserFilter::Group(group) => Some((GROUP_MEMBERS, json!({ "name": [group] }))),
    }
}

/// True when `user`'s first and last name, joined by a space, are `name`
/// (trimmed, ignoring case).
fn full_name_is(user: &AmsUser, name: &str) -> bool {
    let full = format!("{} {}", user.first_name.trim(), user.last_name.trim());
    full.to_lowercase() == name.trim().to_lowercase()
}

/// `{"results": [{"search": {…}, "results": [user…]}, …]}`; a missing or
/// `null` list at either level means no users.
#[derive(Deserialize)]
struct SearchReply {
    #[serde(default, deserialize_with = "list")]
    results: Vec<SearchRecord>,
}

#[derive(Deserialize)]
struct SearchRecord {
    #[serde(default, deserialize_with = "list")]
    results: Vec<UserRecord>,
}

/// One user of a search. Only `userId` is required; the other fields may be
/// absent or `null` (then empty).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserRecord {
    #[serde(deserialize_with = "id")]
    user_id: i64,
    #[serde(default, deserialize_with = "text")]
    first_name: String,
    #[serde(default, deserialize_with = "text")]
    last_name: String,
    #[serde(default, deserialize_with = "text")]
    username: String,
    #[serde(default, deserialize_with = "text")]
    email_address: String,
    #[serde(default, deserialize_with = "text")]
    dob: String,
    #[serde(default, deserialize_with = "text")]
    uuid: String,
    #[serde(default, deserialize_with = "text")]
    middle_name: String,
    #[serde(default, deserialize_with = "text")]
    known_as: String,
    #[serde(default, deserialize_with = "text")]
    sex: String,
}

impl SearchReply {
    /// Every record's users, flattened, as both public clients read them.
    fn users(self) -> Vec<AmsUser> {
        self.results
            .into_iter()
            .flat_map(|record| record.results)
            .map(|u| AmsUser {
                user_id: u.user_id,
                first_name: u.first_name,
                last_name: u.last_name,
                username: u.username,
                email: u.email_address,
                dob: u.dob,
                uuid: u.uuid,
                middle_name: u.middle_name,
                known_as: u.known_as,
                sex: u.sex,
            })
            .collect()
    }
}

fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Text as given; numbers and booleans written out; `null` as empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected text, found {}",
                if other.is_array() {
                    "a list"
                } else {
                    "an object"
                }
            )))
        }
    })
}

/// An id given as a number or as a string of digits.
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| serde::de::Error::custom("expected a whole-number id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ams::answer::decode;

    #[test]
    fn each_filter_has_its_body() {
        let body = |f: UserFilter| search_request(&f).unwrap();
        assert_eq!(
            body(UserFilter::All),
            (USER_SEARCH, json!({"identification": []}))
        );
        assert_eq!(
            body(UserFilter::Usernames(vec!["a".into(), "b".into()])),
            (
                USER_SEARCH,
                json!({"identification": [{"username": "a"}, {"username": "b"}]})
            )
        );
        assert_eq!(
            body(UserFilter::Emails(vec!["x@y.org".into()])),
            (
                USER_SEARCH,
                json!({"identification": [{"emailAddress": "x@y.org"}]})
            )
        );
        assert_eq!(
            body(UserFilter::UserIds(vec![72827])),
            (USER_SEARCH, json!({"identification": [{"userId": 72827}]}))
        );
        assert_eq!(
            body(UserFilter::Group("Test Group".into())),
            (GROUP_MEMBERS, json!({"name": ["Test Group"]}))
        );
    }

    #[test]
    fn an_empty_list_filter_asks_nothing_rather_than_everyone() {
        assert_eq!(search_request(&UserFilter::Usernames(vec![])), None);
        assert_eq!(search_request(&UserFilter::Emails(vec![])), None);
        assert_eq!(search_request(&UserFilter::UserIds(vec![])), None);
    }

    #[test]
    fn every_records_users_are_flattened_and_optional_fields_may_be_missing() {
        let body = json!({"results": [
            {"search": {"username": "a"}, "results": [
                {"userId": 1, "firstName": "Riley", "lastName": "Example", "dob": "01/12/1990",
                 "username": "riley", "emailAddress": "r@example.com", "uuid": null,
                 "sex": "MALE", "organisationalId": -1}
            ]},
            {"search": {"username": "none"}},
            {"search": {"username": "b"}, "results": null},
            {"search": {"username": "c"}, "results": [{"userId": "2", "username": "sam", "uuid": ""}]}
        ]});
        let reply: SearchReply = decode("usersearch", 200, body.to_string().as_bytes()).unwrap();
        let users = reply.users();
        assert_eq!(users.len(), 2);
        assert_eq!(
            users[0],
            AmsUser {
                user_id: 1,
                first_name: "Riley".into(),
                last_name: "Example".into(),
                username: "riley".into(),
                email: "r@example.com".into(),
                dob: "01/12/1990".into(),
                sex: "MALE".into(),
                ..AmsUser::default()
            }
        );
        assert_eq!(users[1].user_id, 2);
        assert_eq!(users[1].uuid, "");
        for empty in [json!({}), json!({"results": []}), json!({"results": null})] {
            let reply: SearchReply =
                decode("usersearch", 200, empty.to_string().as_bytes()).unwrap();
            assert!(reply.users().is_empty());
        }
    }

    #[test]
    fn a_user_without_an_id_is_a_decode_error_naming_it() {
        let body = json!({"results": [{"results": [{"userId": 1}, {"username": "x"}]}]});
        let error = decode::<SearchReply>("usersearch", 200, body.to_string().as_bytes())
            .err()
            .unwrap();
        match error {
            Error::Decode { path, message, .. } => {
                assert_eq!(path, "results[0].results[1]");
                assert!(message.contains("userId"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
