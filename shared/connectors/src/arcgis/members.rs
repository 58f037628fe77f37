//! Members: lookup, listing, creation, and bulk disable / enable.

use serde::Deserialize;
use serde_json::Value;

use super::transport::{not_found_as_none, path_segment, Api, Method};
use super::{
    ArcgisClient, BulkResult, EnterpriseMember, Invitation, MemberCreation, MemberListing,
    MemberLookup, MemberStatus, User, UserPage, UsernameAvailability,
};
use crate::Error;

impl MemberLookup for ArcgisClient {
    async fn user(&self, username: &str) -> Result<Option<User>, Error> {
        let path = format!("community/users/{}", path_segment(username));
        not_found_as_none(self.call(Api::Sharing, Method::Get, &path, &[]).await)
    }

    async fn check_usernames(
        &self,
        usernames: &[String],
    ) -> Result<Vec<(String, UsernameAvailability)>, Error> {
        #[derive(Deserialize)]
        struct Checked {
            requested: String,
            #[serde(default)]
            suggested: Option<String>,
        }
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            usernames: Vec<Checked>,
        }
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                "community/checkUsernames",
                &[("usernames", usernames.join(","))],
            )
            .await?;
        Ok(usernames
            .iter()
            .map(|name| {
                let answer = reply
                    .usernames
                    .iter()
                    .find(|c| c.requested.eq_ignore_ascii_case(name));
                let availability = match answer {
                    None => UsernameAvailability::Unknown,
                    Some(Checked {
                        suggested: Some(s), ..
                    }) if s.eq_ignore_ascii_case(name) => UsernameAvailability::Available,
                    Some(_) => UsernameAvailability::Taken,
                };
                (name.clone(), availability)
            })
            .collect())
    }
}

impl MemberListing for ArcgisClient {
    async fn users_page(&self, start: u64, num: u64) -> Result<UserPage, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            total: u64,
            #[serde(default)]
            users: Vec<User>,
            #[serde(default)]
            next_start: Option<i64>,
        }
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Get,
                "portals/self/users",
                &[
                    ("start", start.to_string()),
                    ("num", num.min(100).to_string()),
                    ("sortField", "username".into()),
                    ("sortOrder", "asc".into()),
                ],
            )
            .await?;
        let next_start = reply
            .next_start
            .filter(|n| *n > 0 && !reply.users.is_empty())
            .map(|n| n as u64);
        Ok(UserPage {
            total: reply.total,
            users: reply.users,
            next_start,
        })
    }
}

impl MemberCreation for ArcgisClient {
    async fn invite(&self, invitations: &[Invitation]) -> Result<Vec<String>, Error> {
        let list: Vec<Value> = invitations.iter().map(invitation_json).collect();
        let invitation_list = serde_json::json!({
            "invitations": list,
            "apps": [],
            "appBundles": [],
        })
        .to_string();
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            success: Option<bool>,
            #[serde(default)]
            not_invited: Vec<String>,
        }
        let reply: Reply = self
            .call(
                Api::Sharing,
                Method::Post,
                "portals/self/invite",
                &[("invitationList", invitation_list)],
            )
            .await?;
        // An answer that does not say it worked did not work.
        if reply.success != Some(true) {
            return Err(Error::Api {
                service: "ArcGIS",
                operation: "portals/self/invite".into(),
                code: 200,
                message_code: None,
                message:
                    "the portal did not answer success:true; nobody in the call is taken as invited"
                        .into(),
            });
        }
        Ok(reply.not_invited)
    }

    async fn create_enterprise_member(&self, member: &EnterpriseMember) -> Result<String, Error> {
        let mut form: Vec<(&str, String)> = vec![
            ("username", member.username.clone()),
            ("firstname", member.first_name.clone()),
            ("lastname", member.last_name.clone()),
            ("email", member.email.clone()),
            (
                "provider",
                member.provider.clone().unwrap_or_else(|| "arcgis".into()),
            ),
        ];
        if let Some(password) = &member.password {
            form.push(("password", password.expose().to_string()));
        }
        if let Some(role) = &member.role {
            form.push(("role", role.clone()));
        }
        if let Some(user_type) = &member.user_type {
            form.push(("userLicenseTypeId", user_type.clone()));
        }
        if let Some(idp) = &member.idp_username {
            form.push(("idpUsername", idp.clone()));
        }
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            username: Option<String>,
        }
        let reply: Reply = self
            .call(
                Api::PortalAdmin,
                Method::Post,
                "security/users/createUser",
                &form,
            )
            .await?;
        if reply.status.as_deref() != Some("success") {
            return Err(Error::Api {
                service: "ArcGIS",
                operation: "security/users/createUser".into(),
                code: 200,
                message_code: None,
                message:
                    "the portal did not answer status:success; the member is not taken as created"
                        .into(),
            });
        }
        Ok(reply
            .username
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| member.username.clone()))
    }
}

impl MemberStatus for ArcgisClient {
    async fn disable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        self.bulk("portals/self/disableUsers", usernames).await
    }

    async fn enable_users(&self, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        self.bulk("portals/self/enableUsers", usernames).await
    }
}

impl ArcgisClient {
    /// `disableUsers` / `enableUsers`: one `results[]` entry per user with
    /// its `status`. The ArcGIS API for Python (`UserManager.disable_users`
    /// and `enable_users` in `arcgis/gis/__init__.py`, PyPI `arcgis` 2.4.4)
    /// reads only `status`, so an answer may hold no `username`: an entry is
    /// matched by its `username` when it has one, else by its position when
    /// there are as many entries as users. An entry that cannot be matched,
    /// or has no boolean `status`, is doubtful: the member is looked up
    /// (`community/users/{u}`) and its `disabled` flag is trusted.
    async fn bulk(&self, path: &str, usernames: &[String]) -> Result<Vec<BulkResult>, Error> {
        let disable = path.ends_with("disableUsers");
        let reply: BulkReply = self
            .call(
                Api::Sharing,
                Method::Post,
                path,
                &[("users", usernames.join(","))],
            )
            .await?;
        let mut results = Vec::with_capacity(usernames.len());
        for (name, said) in usernames.iter().zip(reply.per_user(usernames)) {
            let result = match said {
                Some(result) => result,
                None => self.confirm(name, disable).await,
            };
            results.push(result);
        }
        Ok(results)
    }

    /// A doubtful bulk entry: whether the member's `disabled` flag is now
    /// what the call asked for.
    async fn confirm(&self, username: &str, disable: bool) -> BulkResult {
        let (ok, error) = match self.user(username).await {
            Ok(Some(user)) if user.disabled == disable => (true, None),
            Ok(Some(_)) => (
                false,
                Some(format!(
                    "the portal's answer did not say, and the account is still {}",
                    if disable { "enabled" } else { "disabled" }
                )),
            ),
            Ok(None) => (
                false,
                Some("the portal's answer did not say, and no such member was found".into()),
            ),
            Err(e) => (
                false,
                Some(format!(
                    "the portal's answer did not say, and looking the member up failed: {e}"
                )),
            ),
        };
        BulkResult {
            username: username.to_string(),
            ok,
            error,
        }
    }
}

/// One `results[]` entry of a bulk answer (`disableUsers`, `enableUsers`,
/// `updateUserLicenseType`).
#[derive(Deserialize)]
struct BulkEntry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

/// A bulk answer: `{"results": [...]}`.
#[derive(Deserialize)]
pub(super) struct BulkReply {
    #[serde(default)]
    results: Vec<BulkEntry>,
}

impl BulkReply {
    /// Per username, in order: what the answer says, or `None` when it is
    /// doubtful. An entry is matched by its `username` when it has one, else
    /// by its position when there are as many entries as users; an entry
    /// that cannot be matched, or has no boolean `status`, is doubtful.
    pub(super) fn per_user(&self, usernames: &[String]) -> Vec<Option<BulkResult>> {
        let by_position = self.results.len() == usernames.len();
        usernames
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let entry = self
                    .results
                    .iter()
                    .find(|r| {
                        r.username
                            .as_deref()
                            .is_some_and(|u| u.eq_ignore_ascii_case(name))
                    })
                    .or_else(|| {
                        by_position
                            .then(|| &self.results[index])
                            .filter(|r| r.username.is_none())
                    })?;
                let ok = entry.status.as_ref().and_then(Value::as_bool)?;
                Some(BulkResult {
                    username: name.clone(),
                    ok,
                    error: (!ok).then(|| refusal(entry.error.as_ref())),
                })
            })
            .collect()
    }
}

/// The portal's reason for a `status: false` entry.
fn refusal(error: Option<&Value>) -> String {
    match error {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_string(),
        _ => "the portal refused it".to_string(),
    }
}

fn invitation_json(invitation: &Invitation) -> Value {
    let mut json = serde_json::json!({
        "username": invitation.username,
        "firstname": invitation.first_name,
        "lastname": invitation.last_name,
        "fullname": format!("{} {}", invitation.first_name, invitation.last_name),
        "email": invitation.email,
        "userCreditAssignment": invitation.credits.unwrap_or(-1.0),
    });
    let object = json.as_object_mut().expect("a JSON object literal");
    if let Some(role) = &invitation.role {
        object.insert("role".into(), role.clone().into());
    }
    if let Some(user_type) = &invitation.user_type {
        object.insert("userLicenseType".into(), user_type.clone().into());
    }
    if let Some(password) = &invitation.password {
        object.insert("password".into(), password.expose().into());
    }
    if let Some(provider) = &invitation.provider {
        object.insert("targetUserProvider".into(), provider.clone().into());
    }
    if let Some(idp) = &invitation.idp_username {
        object.insert("idpUsername".into(), idp.clone().into());
        if invitation.provider.is_none() {
            object.insert("targetUserProvider".into(), "enterprise".into());
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_without_password_has_no_password_field() {
        let invitation = Invitation {
            username: "jdoe_org".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@example.com".into(),
            role: Some("org_user".into()),
            user_type: None,
            credits: None,
            password: None,
            provider: None,
            idp_username: None,
        };
        let json = invitation_json(&invitation);
        assert!(json.get("password").is_none());
        assert_eq!(json["userCreditAssignment"], -1.0);
        assert_eq!(json["fullname"], "Jane Doe");
    }
}
