//! The Connect operations themselves (*API reference*, *botocore model*), on the
//! locked state. Validation is complete before anything changes: a call
//! that fails changes nothing.
//!
//! Decisions the documentation leaves open are marked **[unverified]** here and
//! in the module docs of [`super`], which also lists the sources in *italics*.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{json, Map, Value};

use super::model::{now_secs, Agent, State};
use super::route::{ApiError, Query, Route};

type OpResult = Result<Value, ApiError>;

/// Runs one recognised operation.
pub(crate) fn dispatch(st: &mut State, route: &Route, query: &Query, body: &[u8]) -> OpResult {
    match route {
        Route::ListUserProficiencies { instance, user } => {
            check_instance(st, instance)?;
            list_user_proficiencies(st, user, query)
        }
        Route::AssociateUserProficiencies { instance, user } => {
            check_instance(st, instance)?;
            associate(st, user, &body_object(body)?)
        }
        Route::DisassociateUserProficiencies { instance, user } => {
            check_instance(st, instance)?;
            disassociate(st, user, &body_object(body)?)
        }
        Route::UpdateUserProficiencies { instance, user } => {
            check_instance(st, instance)?;
            update(st, user, &body_object(body)?)
        }
        Route::DescribeUser { instance, user } => {
            check_instance(st, instance)?;
            describe_user(st, user)
        }
        Route::ListUsers { instance } => {
            check_instance(st, instance)?;
            list_users(st, query)
        }
        Route::SearchUsers => search_users(st, &body_object(body)?),
        Route::CreatePredefinedAttribute { instance } => {
            check_instance(st, instance)?;
            create_attribute(st, &body_object(body)?)
        }
        Route::ListPredefinedAttributes { instance } => {
            check_instance(st, instance)?;
            list_attributes(st, query)
        }
        Route::DescribePredefinedAttribute { instance, name } => {
            check_instance(st, instance)?;
            describe_attribute(st, name)
        }
        Route::UpdatePredefinedAttribute { instance, name } => {
            check_instance(st, instance)?;
            update_attribute(st, name, &body_object(body)?)
        }
        Route::DeletePredefinedAttribute { instance, name } => {
            check_instance(st, instance)?;
            delete_attribute(st, name)
        }
        Route::Unknown => Err(ApiError::unknown_operation()),
    }
}

// ---------------------------------------------------------------- helpers

fn check_instance(st: &State, instance: &str) -> Result<(), ApiError> {
    if instance == st.config.instance_id {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Instance not found: {instance}"
        )))
    }
}

/// The user a `{UserId}` path label names. An id that is not a user id at all
/// is a bad parameter (`InvalidParameterException`, 400: "One or more of the
/// specified parameters are not valid", *API reference* for DescribeUser and
/// the user proficiency operations, *botocore model*); a well-formed id of
/// nobody is `ResourceNotFoundException`. [unverified] which ids count as
/// malformed: the docs give no format (the model's `UserId` is a bare string);
/// the sandbox takes the hyphenated UUIDs it issues itself.
fn agent<'a>(st: &'a State, user: &str) -> Result<&'a Agent, ApiError> {
    if !well_formed_user_id(user) {
        return Err(ApiError::invalid_parameter("The UserId is not valid."));
    }
    st.agents
        .get(user)
        .ok_or_else(|| ApiError::not_found(format!("User not found: {user}")))
}

/// A hyphenated UUID, the shape of every id the sandbox hands out.
fn well_formed_user_id(user: &str) -> bool {
    user.len() == 36 && uuid::Uuid::try_parse(user).is_ok()
}

/// The JSON body as an object; an empty body is `{}`.
fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid_request(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::invalid_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// A page size from the query (`maxResults`) or body (`MaxResults`).
fn page_size(
    raw: Option<&Value>,
    name: &str,
    max: usize,
    default: usize,
) -> Result<usize, ApiError> {
    let bad = || {
        ApiError::invalid_parameter(format!(
            "1 validation error detected: Value at '{name}' failed to satisfy constraint: \
             Member must have value between 1 and {max}"
        ))
    };
    let n = match raw {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    usize::try_from(n)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(bad)
}

fn query_page_size(q: &Query, max: usize, default: usize) -> Result<usize, ApiError> {
    let raw = q.get("maxResults").map(|s| Value::String(s.to_string()));
    page_size(raw.as_ref(), "maxResults", max, default)
}

/// An opaque paging token: a one-letter list tag and the hex of the last key
/// returned. Key-based, so pages stay stable when entries are added meanwhile.
fn encode_token(tag: char, key: &str) -> String {
    let mut s = String::with_capacity(1 + key.len() * 2);
    s.push(tag);
    for b in key.bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn decode_token(tag: char, token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    let bad = || ApiError::invalid_parameter("The nextToken is not valid.");
    let hex = token.strip_prefix(tag).ok_or_else(bad)?;
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map(Some).map_err(|_| bad())
}

fn body_token(body: &Map<String, Value>) -> Result<Option<&str>, ApiError> {
    match body.get("NextToken") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if (1..=2500).contains(&s.len()) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_parameter("The NextToken is not valid.")),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<&'a str, ApiError> {
    match obj.get(key) {
        Some(Value::String(s)) if (1..=max).contains(&s.chars().count()) => Ok(s),
        Some(Value::String(_)) => Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value at '{key}' failed to satisfy constraint: \
             Member must have length between 1 and {max}"
        ))),
        None | Some(Value::Null) => Err(ApiError::invalid_parameter(format!("{key} is required."))),
        Some(_) => Err(ApiError::invalid_parameter(format!(
            "{key} must be a string."
        ))),
    }
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::invalid_parameter(format!("{what} must hold strings."))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::invalid_parameter(format!(
            "{what} must be a list."
        ))),
    }
}

// ---------------------------------------------------------- proficiencies

/// One entry of `UserProficiencies`.
struct Entry {
    name: String,
    value: String,
    level: f32,
}

fn parse_entries(body: &Map<String, Value>, with_level: bool) -> Result<Vec<Entry>, ApiError> {
    let items = match body.get("UserProficiencies") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_parameter(
                "UserProficiencies is required.",
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "UserProficiencies must be a list.",
            ))
        }
    };
    let mut entries = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err(ApiError::invalid_parameter(
                "Each user proficiency must be an object.",
            ));
        };
        let name = required_str(obj, "AttributeName", 100)?.to_string();
        let value = required_str(obj, "AttributeValue", 100)?.to_string();
        let level = if with_level {
            let level = obj.get("Level").and_then(Value::as_f64).ok_or_else(|| {
                ApiError::invalid_parameter("Level is required and must be a number.")
            })?;
            if !(1.0..=5.0).contains(&level) {
                return Err(ApiError::invalid_parameter(format!(
                    "1 validation error detected: Value '{level}' at 'Level' failed to satisfy \
                     constraint: Member must have value between 1.0 and 5.0"
                )));
            }
            // The model's ProficiencyLevel is a float, but "The valid values are
            // 1, 2, 3, 4 and 5" (*UserProficiency*, *Assign proficiencies*).
            // [unverified] the error code: as for a level out of range.
            if level.fract() != 0.0 {
                return Err(ApiError::invalid_parameter(format!(
                    "1 validation error detected: Value '{level}' at 'Level' failed to satisfy \
                     constraint: The valid values are 1, 2, 3, 4 and 5"
                )));
            }
            level as f32
        } else {
            0.0
        };
        // [unverified] a pair named twice in one call is rejected.
        if !seen.insert((name.clone(), value.clone())) {
            return Err(ApiError::invalid_request(format!(
                "The proficiency {name}={value} appears more than once in the request."
            )));
        }
        entries.push(Entry { name, value, level });
    }
    Ok(entries)
}

fn list_user_proficiencies(st: &State, user: &str, q: &Query) -> OpResult {
    let a = agent(st, user)?;
    let max = query_page_size(q, 100, 100)?;
    let after = decode_token('P', q.get("nextToken"))?
        .map(|k| match k.split_once('\0') {
            Some((n, v)) => Ok((n.to_string(), v.to_string())),
            None => Err(ApiError::invalid_parameter("The nextToken is not valid.")),
        })
        .transpose()?;
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut iter = a.proficiencies.range((start, Bound::Unbounded));
    let page: Vec<_> = iter.by_ref().take(max).collect();
    let next = match (iter.next(), page.last()) {
        (Some(_), Some(((n, v), _))) => Some(encode_token('P', &format!("{n}\0{v}"))),
        _ => None,
    };
    let list: Vec<Value> = page
        .iter()
        .map(|((n, v), l)| json!({"AttributeName": n, "AttributeValue": v, "Level": l}))
        .collect();
    let mut out = json!({
        "UserProficiencyList": list,
        "LastModifiedTime": a.proficiencies_modified,
        "LastModifiedRegion": st.config.region,
    });
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn associate(st: &mut State, user: &str, body: &Map<String, Value>) -> OpResult {
    let entries = parse_entries(body, true)?;
    let a = agent(st, user)?;
    let strict = st.config.strict_membership;
    let mut new = 0usize;
    for e in &entries {
        let Some(attr) = st.attribute(&e.name) else {
            return Err(ApiError::invalid_request(format!(
                "The predefined attribute '{}' does not exist.",
                e.name
            )));
        };
        if !attr.values.contains(&e.value) {
            return Err(ApiError::invalid_request(format!(
                "'{}' is not a value of the predefined attribute '{}'.",
                e.value, e.name
            )));
        }
        if a.proficiencies
            .contains_key(&(e.name.clone(), e.value.clone()))
        {
            // [unverified] strict: re-associating is an error; lenient: sets the level.
            if strict {
                return Err(ApiError::invalid_request(format!(
                    "The proficiency {}={} is already associated with the user.",
                    e.name, e.value
                )));
            }
        } else {
            new += 1;
        }
    }
    let quota = st.config.proficiency_quota;
    let have = a.proficiencies.len();
    if new > 0 && have + new > quota {
        // [unverified] the quota's error code (the model lists LimitExceeded
        // only on CreatePredefinedAttribute).
        return Err(ApiError::invalid_request(format!(
            "Associating {new} more proficiencies would give the user {} of at most {quota}: \
             quota 'Proficiencies per agent' (L-50375162) is {quota}.",
            have + new
        )));
    }
    let now = now_secs();
    let Some(a) = st.agents.get_mut(user) else {
        return Err(ApiError::not_found(format!("User not found: {user}")));
    };
    for e in entries {
        a.proficiencies.insert((e.name, e.value), e.level);
    }
    a.proficiencies_modified = now;
    Ok(json!({}))
}

fn update(st: &mut State, user: &str, body: &Map<String, Value>) -> OpResult {
    let entries = parse_entries(body, true)?;
    let a = agent(st, user)?;
    for e in &entries {
        if !a
            .proficiencies
            .contains_key(&(e.name.clone(), e.value.clone()))
        {
            return Err(ApiError::invalid_request(format!(
                "The proficiency {}={} is not associated with the user.",
                e.name, e.value
            )));
        }
    }
    let now = now_secs();
    let Some(a) = st.agents.get_mut(user) else {
        return Err(ApiError::not_found(format!("User not found: {user}")));
    };
    for e in entries {
        a.proficiencies.insert((e.name, e.value), e.level);
    }
    a.proficiencies_modified = now;
    Ok(json!({}))
}

fn disassociate(st: &mut State, user: &str, body: &Map<String, Value>) -> OpResult {
    let entries = parse_entries(body, false)?;
    let a = agent(st, user)?;
    if st.config.strict_membership {
        // [unverified] strict: removing what is not there is an error; lenient: a no-op.
        for e in &entries {
            if !a
                .proficiencies
                .contains_key(&(e.name.clone(), e.value.clone()))
            {
                return Err(ApiError::invalid_request(format!(
                    "The proficiency {}={} is not associated with the user.",
                    e.name, e.value
                )));
            }
        }
    }
    let now = now_secs();
    let Some(a) = st.agents.get_mut(user) else {
        return Err(ApiError::not_found(format!("User not found: {user}")));
    };
    for e in entries {
        a.proficiencies.remove(&(e.name, e.value));
    }
    a.proficiencies_modified = now;
    Ok(json!({}))
}

// ------------------------------------------------------------------ users

fn phone_config(acw: u64) -> Value {
    json!({"PhoneType": "SOFT_PHONE", "AutoAccept": false, "AfterContactWorkTimeLimit": acw})
}

fn describe_user(st: &State, user: &str) -> OpResult {
    let a = agent(st, user)?;
    Ok(json!({
        "User": {
            "Id": a.id,
            "Arn": st.user_arn(&a.id),
            "Username": a.username,
            "IdentityInfo": {"FirstName": a.first_name, "LastName": a.last_name, "Email": a.email},
            "PhoneConfig": phone_config(0),
            "SecurityProfileIds": [st.security_profile_id],
            "RoutingProfileId": st.routing_profile_id,
            "Tags": {},
            "LastModifiedTime": a.last_modified,
            "LastModifiedRegion": st.config.region,
        }
    }))
}

/// Users in id order, after the key `after`: `(page, next token)`.
fn agents_page(
    st: &State,
    after: Option<String>,
    max: usize,
    tag: char,
    keep: impl Fn(&Agent) -> bool,
) -> (Vec<&Agent>, Option<String>) {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut iter = st
        .agents
        .range::<String, _>((start, Bound::Unbounded))
        .map(|(_, a)| a)
        .filter(|a| keep(a));
    let page: Vec<&Agent> = iter.by_ref().take(max).collect();
    let next = match (iter.next(), page.last()) {
        (Some(_), Some(last)) => Some(encode_token(tag, &last.id)),
        _ => None,
    };
    (page, next)
}

fn list_users(st: &State, q: &Query) -> OpResult {
    let max = query_page_size(q, 1000, 100)?;
    let after = decode_token('U', q.get("nextToken"))?;
    let (page, next) = agents_page(st, after, max, 'U', |_| true);
    let list: Vec<Value> = page
        .iter()
        .map(|a| {
            json!({
                "Id": a.id,
                "Arn": st.user_arn(&a.id),
                "Username": a.username,
                "LastModifiedTime": a.last_modified,
                "LastModifiedRegion": st.config.region,
            })
        })
        .collect();
    let mut out = json!({ "UserSummaryList": list });
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Username,
    FirstName,
    LastName,
    ResourceId,
    RoutingProfileId,
    SecurityProfileId,
}

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Exact,
    StartsWith,
    Contains,
}

/// The supported subset of `UserSearchCriteria`.
#[derive(Debug)]
enum Criteria {
    /// Every listed condition holds (also: several members set at one level).
    And(Vec<Criteria>),
    /// Any listed condition holds.
    Or(Vec<Criteria>),
    String {
        field: Field,
        value: String,
        comparison: Comparison,
    },
}

fn compile(v: &Value) -> Result<Criteria, ApiError> {
    let Some(obj) = v.as_object() else {
        return Err(ApiError::invalid_parameter(
            "SearchCriteria must be an object.",
        ));
    };
    for unsupported in ["ListCondition", "HierarchyGroupCondition"] {
        if obj.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::invalid_request(format!(
                "{unsupported} is unsupported in the sandbox."
            )));
        }
    }
    let mut parts = Vec::new();
    for (key, is_and) in [("AndConditions", true), ("OrConditions", false)] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let inner = items.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
                parts.push(if is_and {
                    Criteria::And(inner)
                } else {
                    Criteria::Or(inner)
                });
            }
            Some(_) => {
                return Err(ApiError::invalid_parameter(format!(
                    "{key} must be a list."
                )))
            }
        }
    }
    match obj.get("StringCondition") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => parts.push(string_condition(c)?),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "StringCondition must be an object.",
            ))
        }
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Criteria::And(parts)
    })
}

fn string_condition(c: &Map<String, Value>) -> Result<Criteria, ApiError> {
    let field = match required_str(c, "FieldName", 100)? {
        "Username" => Field::Username,
        "FirstName" => Field::FirstName,
        "LastName" => Field::LastName,
        "resourceId" => Field::ResourceId,
        "RoutingProfileId" => Field::RoutingProfileId,
        "SecurityProfileId" => Field::SecurityProfileId,
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "FieldName '{other}' is not supported for user search."
            )))
        }
    };
    let value = match c.get("Value") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::invalid_parameter(
                "StringCondition.Value is required.",
            ))
        }
    };
    let comparison = match required_str(c, "ComparisonType", 20)? {
        "EXACT" => Comparison::Exact,
        "STARTS_WITH" => Comparison::StartsWith,
        "CONTAINS" => {
            let n = value.chars().count();
            if !(2..=25).contains(&n) {
                return Err(ApiError::invalid_parameter(
                    "A CONTAINS condition needs a value of 2 to 25 characters.",
                ));
            }
            Comparison::Contains
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "ComparisonType '{other}' is not valid."
            )))
        }
    };
    Ok(Criteria::String {
        field,
        value,
        comparison,
    })
}

fn matches(c: &Criteria, st: &State, a: &Agent, exact_case_sensitive: bool) -> bool {
    match c {
        Criteria::And(all) => all.iter().all(|c| matches(c, st, a, exact_case_sensitive)),
        Criteria::Or(any) => any.iter().any(|c| matches(c, st, a, exact_case_sensitive)),
        Criteria::String {
            field,
            value,
            comparison,
        } => {
            let candidates: Vec<&str> = match field {
                Field::Username => vec![&a.username],
                Field::FirstName => vec![&a.first_name],
                Field::LastName => vec![&a.last_name],
                Field::ResourceId => vec![&a.id],
                Field::RoutingProfileId => vec![&st.routing_profile_id],
                Field::SecurityProfileId => vec![&st.security_profile_id],
            };
            candidates.into_iter().any(|s| match comparison {
                // [unverified] EXACT's case sensitivity is a knob (undocumented).
                Comparison::Exact if exact_case_sensitive => s == value,
                Comparison::Exact => s.to_lowercase() == value.to_lowercase(),
                // [unverified] STARTS_WITH / CONTAINS ignore case.
                Comparison::StartsWith => s.to_lowercase().starts_with(&value.to_lowercase()),
                Comparison::Contains => s.to_lowercase().contains(&value.to_lowercase()),
            })
        }
    }
}

fn search_users(st: &State, body: &Map<String, Value>) -> OpResult {
    let instance = required_str(body, "InstanceId", 100)?;
    check_instance(st, instance)?;
    // [unverified] default page size when MaxResults is absent.
    let max = page_size(body.get("MaxResults"), "MaxResults", 500, 100)?;
    let after = decode_token('S', body_token(body)?)?;
    if body.get("SearchFilter").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid_request(
            "SearchFilter is unsupported in the sandbox.",
        ));
    }
    let criteria = match body.get("SearchCriteria") {
        None | Some(Value::Null) => Criteria::And(Vec::new()),
        Some(v) => compile(v)?,
    };
    let cs = st.config.exact_search_case_sensitive;
    let total = st
        .agents
        .values()
        .filter(|a| matches(&criteria, st, a, cs))
        .count();
    let (page, next) = agents_page(st, after, max, 'S', |a| matches(&criteria, st, a, cs));
    let users: Vec<Value> = page
        .iter()
        .map(|a| {
            json!({
                "Id": a.id,
                "Arn": st.user_arn(&a.id),
                "Username": a.username,
                "IdentityInfo": {"FirstName": a.first_name, "LastName": a.last_name},
                "PhoneConfig": phone_config(0),
                "RoutingProfileId": st.routing_profile_id,
                "SecurityProfileIds": [st.security_profile_id],
                "Tags": {},
            })
        })
        .collect();
    let mut out = json!({ "Users": users, "ApproximateTotalCount": total });
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

// ---------------------------------------------------- predefined attributes

/// `^(?!(aws:|connect:))[\p{L}\p{Z}\p{N}_.:/=+-@']+$` (*Predefined attributes*). Inside the
/// class, `+-@` is the *range* U+002B..U+0040, so `,;<>?` and digits pass too.
fn valid_attribute_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=100).contains(&n)
        && !name.starts_with("aws:")
        && !name.starts_with("connect:")
        && name.chars().all(|c| {
            c.is_alphabetic()
                || c.is_numeric()
                || (c.is_whitespace() && !c.is_control())
                || ('+'..='@').contains(&c)
                || matches!(c, '_' | '.' | ':' | '/' | '=' | '\'')
        })
}

fn attribute_values(body: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let values = match body.get("Values") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(v)) => {
            string_list(v.get("StringList"), "Values.StringList")?.unwrap_or_default()
        }
        Some(_) => return Err(ApiError::invalid_parameter("Values must be an object.")),
    };
    if values.len() > 500 {
        return Err(ApiError::invalid_parameter(
            "A predefined attribute holds at most 500 values.",
        ));
    }
    let mut seen = BTreeSet::new();
    for v in &values {
        if !(1..=100).contains(&v.chars().count()) {
            return Err(ApiError::invalid_parameter(
                "Each value must be 1 to 100 characters long.",
            ));
        }
        // [unverified] duplicate values are rejected.
        if !seen.insert(v.as_str()) {
            return Err(ApiError::invalid_parameter(format!(
                "The value '{v}' appears more than once."
            )));
        }
    }
    Ok(Some(values))
}

fn create_attribute(st: &mut State, body: &Map<String, Value>) -> OpResult {
    let name = required_str(body, "Name", 100)?.to_string();
    if !valid_attribute_name(&name) {
        return Err(ApiError::invalid_parameter(format!(
            "The name '{name}' does not match the pattern of predefined attribute names."
        )));
    }
    let values = attribute_values(body)?.unwrap_or_default();
    let purposes = string_list(body.get("Purposes"), "Purposes")?.unwrap_or_default();
    if purposes.len() > 10 {
        return Err(ApiError::invalid_parameter("At most 10 purposes."));
    }
    if let Some(existing) = st.attributes.get(&name.to_lowercase()) {
        return Err(ApiError::duplicate(format!(
            "A predefined attribute named '{}' already exists (names are case-insensitive).",
            existing.name
        )));
    }
    let quota = st.config.predefined_attribute_quota;
    if st.attributes.len() >= quota {
        return Err(ApiError::limit_exceeded(format!(
            "The instance already has {quota} predefined attributes, the quota \
             'Predefined Attributes' (L-3828FBF0)."
        )));
    }
    st.put_attribute(&name, values, purposes);
    Ok(json!({}))
}

fn list_attributes(st: &State, q: &Query) -> OpResult {
    // [unverified] default page size when maxResults is absent.
    let max = query_page_size(q, 100, 100)?;
    let after = decode_token('A', q.get("nextToken"))?;
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut iter = st.attributes.range::<String, _>((start, Bound::Unbounded));
    let page: Vec<_> = iter.by_ref().take(max).collect();
    let next = match (iter.next(), page.last()) {
        (Some(_), Some((key, _))) => Some(encode_token('A', key)),
        _ => None,
    };
    let list: Vec<Value> = page
        .iter()
        .map(|(_, a)| {
            json!({
                "Name": a.name,
                "LastModifiedTime": a.last_modified,
                "LastModifiedRegion": st.config.region,
            })
        })
        .collect();
    let mut out = json!({ "PredefinedAttributeSummaryList": list });
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn attribute_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Predefined attribute not found: {name}"))
}

fn describe_attribute(st: &State, name: &str) -> OpResult {
    let a = st
        .attribute(name)
        .ok_or_else(|| attribute_not_found(name))?;
    Ok(json!({
        "PredefinedAttribute": {
            "Name": a.name,
            "Values": {"StringList": a.values},
            "Purposes": a.purposes,
            "AttributeConfiguration": {
                "EnableValueValidationOnAssociation": true,
                "IsReadOnly": false,
            },
            "LastModifiedTime": a.last_modified,
            "LastModifiedRegion": st.config.region,
        }
    }))
}

fn update_attribute(st: &mut State, name: &str, body: &Map<String, Value>) -> OpResult {
    if st.attribute(name).is_none() {
        return Err(attribute_not_found(name));
    }
    let values = attribute_values(body)?;
    let purposes = string_list(body.get("Purposes"), "Purposes")?;
    let now = now_secs();
    if let Some(a) = st.attributes.get_mut(&name.to_lowercase()) {
        if let Some(v) = values {
            a.values = v;
        }
        if let Some(p) = purposes {
            a.purposes = p;
        }
        a.last_modified = now;
    }
    Ok(json!({}))
}

fn delete_attribute(st: &mut State, name: &str) -> OpResult {
    if st.attribute(name).is_none() {
        return Err(attribute_not_found(name));
    }
    if st
        .agents
        .values()
        .any(|a| a.proficiencies.keys().any(|(n, _)| n == name))
    {
        return Err(ApiError::resource_in_use(format!(
            "The predefined attribute '{name}' is used by agent proficiencies."
        )));
    }
    st.attributes.remove(&name.to_lowercase());
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = encode_token('U', "a\0b é");
        assert_eq!(
            decode_token('U', Some(&t)).unwrap().as_deref(),
            Some("a\0b é")
        );
        assert!(decode_token('P', Some(&t)).is_err());
        assert!(decode_token('U', Some("Uzz")).is_err());
        assert!(decode_token('U', Some("U1")).is_err());
        assert_eq!(decode_token('U', None).unwrap(), None);
    }

    #[test]
    fn attribute_name_pattern() {
        assert!(valid_attribute_name("Language"));
        assert!(valid_attribute_name("Tech skills: L2/L3 =x+y@z'"));
        assert!(valid_attribute_name("semi;colon,less<"));
        assert!(!valid_attribute_name("aws:thing"));
        assert!(!valid_attribute_name("connect:thing"));
        assert!(!valid_attribute_name("tab\there"));
        assert!(!valid_attribute_name("star*"));
        assert!(!valid_attribute_name(""));
    }

    #[test]
    fn user_ids_are_hyphenated_uuids() {
        assert!(well_formed_user_id("6f0b8c1e-2d3a-4b5c-9d8e-7f6a5b4c3d2e"));
        assert!(well_formed_user_id("6F0B8C1E-2D3A-4B5C-9D8E-7F6A5B4C3D2E"));
        assert!(!well_formed_user_id("6f0b8c1e2d3a4b5c9d8e7f6a5b4c3d2e"));
        assert!(!well_formed_user_id("not-a-user-id"));
        assert!(!well_formed_user_id("jane.doe"));
        assert!(!well_formed_user_id(""));
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None, "m", 100, 10).unwrap(), 10);
        assert_eq!(page_size(Some(&json!(100)), "m", 100, 10).unwrap(), 100);
        assert_eq!(page_size(Some(&json!("7")), "m", 100, 10).unwrap(), 7);
        assert!(page_size(Some(&json!(0)), "m", 100, 10).is_err());
        assert!(page_size(Some(&json!(101)), "m", 100, 10).is_err());
        assert!(page_size(Some(&json!("x")), "m", 100, 10).is_err());
    }
}
