//! Changing existing members: profile, role, user type, credits.
//!
//! Sources: *Update User*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/update-user.htm>),
//! *Update User Role*
//! (<https://developers.arcgis.com/rest/users-groups-and-items/update-user-role.htm>),
//! and, where the reference is silent (`updateUserLicenseType`,
//! `assignUserCredits`, `unassignUserCredits`), the ArcGIS API for Python
//! (PyPI `arcgis` 2.4.4: `User.update_license_type` in
//! `arcgis/gis/__init__.py`, `CreditManager.allocate` / `deallocate` in
//! `arcgis/gis/admin/_creditmanagement.py`).

use serde::Deserialize;

use super::members::BulkReply;
use super::transport::{path_segment, Api, Method};
use super::{ArcgisClient, BulkResult, MemberLookup, MemberUpdate, ProfileChanges};
use crate::Error;

impl MemberUpdate for ArcgisClient {
    /// Sends only the fields that change (never `clearEmptyFields`, which
    /// would blank every field not sent); nothing to change sends nothing.
    async fn update_profile(&self, username: &str, changes: &ProfileChanges) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut form: Vec<(&str, String)> = Vec::new();
        if let Some(first) = &changes.first_name {
            form.push(("firstName", first.clone()));
        }
        if let Some(last) = &changes.last_name {
            form.push(("lastName", last.clone()));
        }
        if let Some(email) = &changes.email {
            form.push(("email", email.clone()));
        }
        let path = format!("community/users/{}/update", path_segment(username));
        self.post_for_success(&path, &form).await
    }

    async fn update_role(&self, username: &str, role_id: &str) -> Result<(), Error> {
        self.post_for_success(
            "portals/self/updateUserRole",
            &[
                ("user", username.to_string()),
                ("role", role_id.to_string()),
            ],
        )
        .await
    }

    /// `users` goes as a JSON array, as the ArcGIS API for Python sends it.
    /// The answer is `results[]` with a `status` per member (no top-level
    /// `success`); it is read as the bulk disable answers are. A member the
    /// answer leaves in doubt is looked up: the change counts as made when
    /// the member now holds `user_type`.
    async fn update_user_type(
        &self,
        usernames: &[String],
        user_type: &str,
    ) -> Result<Vec<BulkResult>, Error> {
        let users = serde_json::to_string(usernames).map_err(|e| Error::Decode {
            service: "ArcGIS",
            operation: "portals/self/updateUserLicenseType".into(),
            path: "users".into(),
            message: e.to_string(),
        })?;
        let reply: BulkReply = self
            .call(
                Api::Sharing,
                Method::Post,
                "portals/self/updateUserLicenseType",
                &[("users", users), ("userLicenseType", user_type.to_string())],
            )
            .await?;
        let mut results = Vec::with_capacity(usernames.len());
        for (name, said) in usernames.iter().zip(reply.per_user(usernames)) {
            let result = match said {
                Some(result) => result,
                None => self.confirm_user_type(name, user_type).await,
            };
            results.push(result);
        }
        Ok(results)
    }

    /// `assignUserCredits` with `userAssignments=[{"username","credits"}]`
    /// (JSON), or `unassignUserCredits` with `usernames=["u"]` for unlimited.
    async fn assign_credits(&self, username: &str, credits: Option<f64>) -> Result<(), Error> {
        match credits {
            Some(credits) => {
                let assignments =
                    serde_json::json!([{ "username": username, "credits": credits }]).to_string();
                self.post_for_success(
                    "portals/self/assignUserCredits",
                    &[("userAssignments", assignments)],
                )
                .await
            }
            None => {
                let usernames = serde_json::json!([username]).to_string();
                self.post_for_success(
                    "portals/self/unassignUserCredits",
                    &[("usernames", usernames)],
                )
                .await
            }
        }
    }
}

impl ArcgisClient {
    /// A POST answered `{"success": true}`; any other answer is an error
    /// naming the operation (an answer that does not say it worked did not).
    pub(super) async fn post_for_success(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<(), Error> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            success: Option<bool>,
        }
        let reply: Reply = self.call(Api::Sharing, Method::Post, path, form).await?;
        if reply.success == Some(true) {
            Ok(())
        } else {
            Err(Error::Api {
                service: "ArcGIS",
                operation: path.to_string(),
                code: 200,
                message_code: None,
                message: "the portal did not answer success:true; the change is not taken as made"
                    .into(),
            })
        }
    }

    /// A doubtful `updateUserLicenseType` entry: whether the member now holds
    /// the type asked for.
    async fn confirm_user_type(&self, username: &str, user_type: &str) -> BulkResult {
        let (ok, error) = match self.user(username).await {
            Ok(Some(user)) if user.user_license_type_id.as_deref() == Some(user_type) => {
                (true, None)
            }
            Ok(Some(user)) => (
                false,
                Some(format!(
                    "the portal's answer did not say, and the member still holds {}",
                    user.user_license_type_id
                        .as_deref()
                        .unwrap_or("no user type")
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
