//! Before any write: the attributes and values the instance defines, and the
//! agents the rows name, each looked up once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use connectors::connect::{Agent, ConnectDirectory};
use connectors::Error;
use futures::stream::{self, StreamExt};

use crate::job::{ProficiencyUpdate, Slot};
use crate::rows::IdKind;

impl<C: ConnectDirectory> ProficiencyUpdate<'_, C> {
    /// Fails rows whose attribute or value the instance does not define, and
    /// puts names in the instance's spelling.
    pub(crate) async fn check_attributes(&self, slots: &mut [Slot]) -> Result<(), Error> {
        if slots.iter().all(|s| s.request.is_none()) {
            return Ok(());
        }
        let names = self.connect.attribute_names().await?;
        let by_lower: HashMap<String, String> = names
            .iter()
            .map(|n| (n.to_lowercase(), n.clone()))
            .collect();
        let wanted: HashSet<String> = slots
            .iter()
            .filter_map(|s| s.request.as_ref())
            .filter_map(|r| by_lower.get(&r.attribute.to_lowercase()).cloned())
            .collect();
        let values: HashMap<String, Vec<String>> = stream::iter(wanted)
            .map(|name| async move { (name.clone(), self.connect.attribute_values(&name).await) })
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|(name, values)| values.map(|v| (name, v.unwrap_or_default())))
            .collect::<Result<_, _>>()?;
        for slot in slots.iter_mut() {
            let Some(request) = slot.request.as_mut() else {
                continue;
            };
            let Some(name) = by_lower.get(&request.attribute.to_lowercase()) else {
                let reason = format!(
                    "attribute: {:?} is not a predefined attribute of this instance",
                    request.attribute
                );
                slot.fail(reason);
                continue;
            };
            request.attribute = name.clone();
            let known = &values[name];
            let value = known.iter().find(|v| **v == request.value).or_else(|| {
                known
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(&request.value))
            });
            match value {
                Some(v) => request.value = v.clone(),
                None => {
                    let shown: Vec<&str> = known.iter().take(10).map(String::as_str).collect();
                    let reason = format!(
                        "value: {:?} is not a value of attribute {name} (values: {}{})",
                        request.value,
                        shown.join(", "),
                        if known.len() > 10 { ", …" } else { "" }
                    );
                    slot.fail(reason);
                }
            }
        }
        Ok(())
    }

    /// Finds each agent once: a few usernames by SearchUsers, many by one
    /// ListUsers scan; user ids by DescribeUser. Names compare case-insensitively.
    pub(crate) async fn resolve_agents(&self, slots: &mut [Slot]) -> Result<(), Error> {
        // Lower-cased name → the spelling the file first used (searched as is).
        let mut spelled: BTreeMap<String, String> = BTreeMap::new();
        for r in slots.iter().filter_map(|s| s.request.as_ref()) {
            if r.id_kind == IdKind::Username {
                spelled
                    .entry(r.identifier.to_lowercase())
                    .or_insert_with(|| r.identifier.clone());
            }
        }
        let ids: Vec<String> = slots
            .iter()
            .filter_map(|s| s.request.as_ref())
            .filter(|r| r.id_kind == IdKind::UserId)
            .map(|r| r.identifier.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut by_name: HashMap<String, Vec<Agent>> = HashMap::new();
        let mut scan_for: HashSet<String> = HashSet::new();
        if spelled.len() <= self.config.search_threshold {
            let found: Vec<(String, Result<Vec<Agent>, Error>)> = stream::iter(spelled.iter())
                .map(|(lower, name)| async move {
                    (lower.clone(), self.connect.search_username(name).await)
                })
                .buffer_unordered(4)
                .collect()
                .await;
            for (lower, agents) in found {
                let agents: Vec<Agent> = agents?
                    .into_iter()
                    .filter(|a| a.username.to_lowercase() == lower)
                    .collect();
                // EXACT may compare case-sensitively: a miss is checked by the scan.
                if agents.is_empty() {
                    scan_for.insert(lower);
                } else {
                    by_name.insert(lower, agents);
                }
            }
        } else {
            scan_for.extend(spelled.keys().cloned());
        }
        if !scan_for.is_empty() {
            let mut next = None;
            loop {
                let (page, token) = self.connect.list_agents(next).await?;
                for agent in page {
                    let key = agent.username.to_lowercase();
                    if scan_for.contains(&key) {
                        by_name.entry(key).or_default().push(agent);
                    }
                }
                match token {
                    Some(t) => next = Some(t),
                    None => break,
                }
            }
        }
        let answers: Vec<(String, Result<Option<Agent>, Error>)> = stream::iter(ids)
            .map(|id| async move {
                let agent = self.connect.describe_agent(&id).await;
                (id, agent)
            })
            .buffer_unordered(4)
            .collect()
            .await;
        let mut by_id: HashMap<String, ById> = HashMap::new();
        for (id, answer) in answers {
            let found = match answer {
                Ok(Some(agent)) => ById::Found(agent),
                Ok(None) => ById::Missing,
                Err(e) => refusal_of_the_id(e)?,
            };
            by_id.insert(id, found);
        }
        for slot in slots.iter_mut() {
            let Some(request) = &slot.request else {
                continue;
            };
            let found = match request.id_kind {
                IdKind::Username => match by_name.get(&request.identifier.to_lowercase()).map(Vec::as_slice) {
                    Some([agent]) => Ok(agent.clone()),
                    Some([]) | None => Err(format!("identifier: no agent has the username {:?}", request.identifier)),
                    Some(many) => Err(format!(
                        "identifier: the username {:?} matches {} agents ignoring case ({}); use identifier_type user_id",
                        request.identifier,
                        many.len(),
                        many.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                },
                IdKind::UserId => match by_id.get(&request.identifier) {
                    Some(ById::Found(agent)) => Ok(agent.clone()),
                    Some(ById::Refused { code, message }) => Err(format!(
                        "identifier: {:?} is not a valid user id (Connect DescribeUser answered {code}: {message})",
                        request.identifier
                    )),
                    Some(ById::Missing) | None => Err(format!("identifier: no agent has the user id {:?}", request.identifier)),
                },
            };
            match found {
                Ok(agent) => slot.agent = Some(agent),
                Err(reason) => slot.fail(reason),
            }
        }
        Ok(())
    }
}

/// What DescribeUser said of one user id.
enum ById {
    Found(Agent),
    Missing,
    /// Connect refused the id itself: the rows naming it fail, the rest of
    /// the file goes on.
    Refused {
        code: String,
        message: String,
    },
}

/// A DescribeUser failure that is about the one id asked for; any other
/// failure is the file's and is given back.
///
/// The adapter reports throttling, a missing permission and server errors
/// (5xx, `InternalServiceException`) with their own variants, and those stay
/// failures of the whole file. What it reports as [`Error::Aws`] is the rest
/// of the service's refusals, the 4xx answers: for DescribeUser, whose only
/// other parameter is the instance every earlier call already used, that is
/// `InvalidParameterException` or `InvalidRequestException` (400) about the
/// user id (<https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeUser.html>).
fn refusal_of_the_id(error: Error) -> Result<ById, Error> {
    match error {
        Error::Aws { code, message, .. } => Ok(ById::Refused { code, message }),
        other => Err(other),
    }
}
