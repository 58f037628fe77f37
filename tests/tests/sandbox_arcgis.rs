//! Tests of the ArcGIS portal sandbox itself, with plain reqwest, so the
//! sandbox is known to speak the wire format of Esri's ArcGIS REST API
//! (the sources are listed in `rollcall_tests::sandbox::arcgis`) before any
//! rollcall client is pointed at it.

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use futures::StreamExt;
use reqwest::StatusCode;
use rollcall_tests::sandbox::{
    ArcgisSandbox, GeneratedOrg, MemberView, OrgSpec, SandboxConfig, SeedMember, DAY_MS,
    SYSTEM_ACCOUNTS,
};
use serde_json::{json, Value};

/// A thin portal caller: form posts and queries with `f=json`.
struct Portal {
    http: reqwest::Client,
    rest: String,
}

impl Portal {
    fn new(sandbox: &ArcgisSandbox) -> Self {
        Self {
            http: reqwest::Client::new(),
            rest: format!("{}/sharing/rest", sandbox.url()),
        }
    }

    /// A caller of `sandbox` and a token of its org administrator.
    async fn as_admin(sandbox: &ArcgisSandbox) -> (Self, String) {
        let p = Self::new(sandbox);
        let token = p.admin_token(sandbox).await;
        (p, token)
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let form = [form, &[("f", "json")]].concat();
        let req = self.http.post(format!("{}/{path}", self.rest)).form(&form);
        ok_json(req, &format!("POST {path}")).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let query = [query, &[("f", "json")]].concat();
        let req = self.http.get(format!("{}/{path}", self.rest)).query(&query);
        ok_json(req, &format!("GET {path}")).await
    }

    /// The whole `generateToken` answer, as the real clients ask for it.
    async fn generate_token(&self, username: &str, password: &str) -> Value {
        self.post(
            "generateToken",
            &[
                ("username", username),
                ("password", password),
                ("client", "referer"),
                ("referer", "http"),
                ("expiration", "60"),
            ],
        )
        .await
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let v = self.generate_token(username, password).await;
        v["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {v}"))
            .to_string()
    }

    async fn admin_token(&self, sandbox: &ArcgisSandbox) -> String {
        self.token(sandbox.admin_username(), sandbox.admin_password())
            .await
    }
}

/// Sends `req`, asserts HTTP 200 (`what` names the call) and reads the JSON body.
async fn ok_json(req: reqwest::RequestBuilder, what: &str) -> Value {
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{what}");
    resp.json().await.unwrap()
}

/// Sends `req` and reads the JSON body, whatever the status.
async fn json_of<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    req.send().await.unwrap().json().await.unwrap()
}

/// POSTs `body` as JSON to the sandbox control endpoint `path`.
async fn control_post(sandbox: &ArcgisSandbox, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", sandbox.control_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn error_code(v: &Value) -> Option<i64> {
    v["error"]["code"].as_i64()
}

#[tokio::test]
async fn a_token_is_accepted_all_four_ways() {
    // GIVEN a sandbox and an admin token
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let p = Portal::new(&sb);
    let gen = p.generate_token("rollcall_admin", "sandbox-password").await;
    assert_eq!(gen["ssl"], json!(false));
    assert!(gen["expires"].as_i64().unwrap() > chrono::Utc::now().timestamp_millis());
    let token = gen["token"].as_str().unwrap();
    let url = format!("{}/community/self", p.rest);

    // WHEN the token travels as query, form field, X-Esri-Authorization and Authorization
    let by_query = p
        .http
        .get(&url)
        .query(&[("f", "json"), ("token", token)])
        .send()
        .await
        .unwrap();
    let by_form = p
        .http
        .post(&url)
        .form(&[("f", "json"), ("token", token)])
        .send()
        .await
        .unwrap();
    let by_esri_header = p
        .http
        .get(&url)
        .query(&[("f", "json")])
        .header("X-Esri-Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let by_auth_header = p
        .http
        .get(&url)
        .query(&[("f", "json")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    // THEN each call is the admin
    for resp in [by_query, by_form, by_esri_header, by_auth_header] {
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["username"], "rollcall_admin", "{v}");
        assert_eq!(v["role"], "org_admin");
        assert!(v["privileges"]
            .as_array()
            .unwrap()
            .contains(&json!("portal:admin:viewUsers")));
    }
    assert_eq!(sb.calls().count("community/self"), 4);
    assert_eq!(sb.calls().count("generateToken"), 1);
}

#[tokio::test]
async fn bad_credentials_expired_and_missing_tokens_answer_the_documented_errors() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let p = Portal::new(&sb);

    // Bad credentials: HTTP 200 + 400 "Unable to generate token."
    let bad = p
        .post(
            "generateToken",
            &[
                ("username", "rollcall_admin"),
                ("password", "nope"),
                ("client", "requestip"),
            ],
        )
        .await;
    assert_eq!(
        bad,
        json!({"error": {"code": 400, "message": "Unable to generate token.",
                         "details": ["Invalid username or password."]}})
    );
    // Usernames are case-sensitive at sign-in (ArcGIS REST API reference, "Generate Token":
    // https://developers.arcgis.com/rest/users-groups-and-items/generate-token.htm).
    let recased = p
        .post(
            "generateToken",
            &[
                ("username", "ROLLCALL_ADMIN"),
                ("password", "sandbox-password"),
            ],
        )
        .await;
    assert_eq!(error_code(&recased), Some(400));

    // Missing token on a secured resource: 499; community/self: COM_0019.
    let anon = p.get("portals/self/users", &[]).await;
    assert_eq!(error_code(&anon), Some(499), "{anon}");
    assert_eq!(anon["error"]["message"], "Token Required");
    let anon_self = p.get("community/self", &[]).await;
    assert_eq!(anon_self["error"]["messageCode"], "COM_0019");

    // A valid token works until expire_tokens, then 498; a new one works again.
    let token = p.admin_token(&sb).await;
    let ok = p.get("portals/self/users", &[("token", &token)]).await;
    assert!(ok.get("users").is_some(), "{ok}");
    sb.expire_tokens();
    let expired = p.get("portals/self/users", &[("token", &token)]).await;
    assert_eq!(
        expired,
        json!({"error": {"code": 498, "message": "Invalid token.", "details": []}})
    );
    let unknown = p.get("portals/self", &[("token", "not-a-token")]).await;
    assert_eq!(error_code(&unknown), Some(498));
    let fresh = p.admin_token(&sb).await;
    assert!(p.get("portals/self/users", &[("token", &fresh)]).await["users"].is_array());

    // A zero token lifetime yields tokens that are dead on arrival.
    sb.set_token_lifetime(Duration::ZERO);
    let dead = p.admin_token(&sb).await;
    assert_eq!(
        error_code(&p.get("portals/self/users", &[("token", &dead)]).await),
        Some(498)
    );
}

#[tokio::test]
async fn portals_self_reports_online_and_enterprise_flavours() {
    let online = ArcgisSandbox::start(SandboxConfig::online()).await;
    let (p, token) = Portal::as_admin(&online).await;
    let v = p.get("portals/self", &[("token", &token)]).await;
    assert_eq!(v["isPortal"], false);
    assert_eq!(v["portalMode"], "multitenant");
    assert_eq!(v["portalName"], "ArcGIS Online");
    assert_eq!(v["creditAssignments"], "enabled");
    assert_eq!(v["defaultUserCreditAssignment"], -1.0);
    assert_eq!(v["user"]["username"], "rollcall_admin");
    assert!(v["user"]["privileges"].is_array());
    for key in ["id", "name", "urlKey", "currentVersion"] {
        assert!(v.get(key).is_some(), "portals/self lacks {key}");
    }

    let ent = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    let (p, token) = Portal::as_admin(&ent).await;
    // portals/<orgId> and portal/<orgId> address the same org: the reference's examples
    // use both ("Update User Role" and "Set User Default Settings",
    // https://developers.arcgis.com/rest/users-groups-and-items/update-user-role.htm,
    // https://developers.arcgis.com/rest/users-groups-and-items/set-user-default-settings.htm).
    for path in [
        "portals/self",
        "portals/0123456789ABCDEF",
        "portal/0123456789ABCDEF",
    ] {
        let v = p.get(path, &[("token", &token)]).await;
        assert_eq!(v["isPortal"], true, "{path}");
        assert_eq!(v["portalMode"], "singletenant");
        assert_eq!(v["id"], "0123456789ABCDEF");
        assert!(v.get("creditAssignments").is_none());
    }
}

#[tokio::test]
async fn f_is_required_and_operations_are_post_only() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let p = Portal::new(&sb);
    // Without f the portal answers an HTML page with status 200 (`f` defaults to html:
    // "Common parameters",
    // https://developers.arcgis.com/rest/users-groups-and-items/common-parameters.htm).
    let resp = p
        .http
        .get(format!("{}/portals/self", p.rest))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("<html>"));
    // pjson is pretty JSON.
    let pretty = p
        .http
        .get(format!("{}/portals/self?f=pjson", p.rest))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pretty.contains('\n'));
    // generateToken over GET is refused.
    let get_token = p
        .get(
            "generateToken",
            &[
                ("username", "rollcall_admin"),
                ("password", "sandbox-password"),
            ],
        )
        .await;
    assert_eq!(error_code(&get_token), Some(405));
}

#[tokio::test]
async fn admin_operations_need_an_org_admin_member_token() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.add_member(SeedMember::new("plain.member").password("memberpass1"));
    let p = Portal::new(&sb);

    // A plain member is refused with 403 GWM_0003.
    let member = p.token("plain.member", "memberpass1").await;
    let denied = p.get("portals/self/users", &[("token", &member)]).await;
    assert_eq!(denied["error"]["code"], 403);
    assert_eq!(denied["error"]["messageCode"], "GWM_0003");
    // ...but reads itself.
    let me = p.get("community/self", &[("token", &member)]).await;
    assert_eq!(me["username"], "plain.member");

    // An app token is not a member token.
    let app = p
        .post(
            "oauth2/token",
            &[
                ("client_id", "rollcallSandboxApp"),
                ("client_secret", "sandbox-app-secret"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    let app_token = app["access_token"].as_str().expect("access_token");
    assert!(app["expires_in"].as_i64().unwrap() > 0);
    let self_as_app = p.get("portals/self", &[("token", app_token)]).await;
    assert!(self_as_app.get("user").is_none());
    assert_eq!(self_as_app["appInfo"]["appId"], "rollcallSandboxApp");
    let invite_as_app = p
        .post(
            "portals/self/invite",
            &[
                ("token", app_token),
                ("invitationList", r#"{"invitations":[]}"#),
            ],
        )
        .await;
    assert_eq!(invite_as_app["error"]["messageCode"], "GWM_0003");
    let bad_app = p
        .post(
            "oauth2/token",
            &[
                ("client_id", "rollcallSandboxApp"),
                ("client_secret", "wrong"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(bad_app["error"]["error"], "invalid_client");
}

#[tokio::test]
async fn invite_creates_members_with_and_without_password_and_skips_existing_ones() {
    // GIVEN an Online org with a group, defaults, and a name taken by another org
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.add_group("g1", "Field crews");
    sb.add_group("g2", "Analysts");
    sb.set_user_defaults("iAAAAAAAAAAAAAAA", "viewerUT", &["g2"]);
    sb.add_member(SeedMember::new("Taken_Elsewhere").other_org("OtherOrg00000001"));
    let (p, token) = Portal::as_admin(&sb).await;
    let list = json!({
        "invitations": [
            {"username": "jdoe_rc", "firstname": "Jane", "lastname": "Doe", "fullname": "Jane Doe",
             "email": "jane@example.com", "role": "org_publisher", "userLicenseType": "creatorUT",
             "groups": "g1,unknown-group", "userCreditAssignment": 250, "password": "Secret123"},
            {"username": "asmith_rc", "firstname": "Al", "lastname": "Smith",
             "email": "al@example.com", "userCreditAssignment": -1},
            {"username": "ROLLCALL_ADMIN", "firstname": "Dup", "lastname": "Admin",
             "email": "dup@example.com", "role": "org_user", "userLicenseType": "creatorUT"},
            {"username": "taken_elsewhere", "firstname": "T", "lastname": "E",
             "email": "t@example.com"},
            {"username": "bad role", "email": "x@example.com"},
            {"username": "badtype_rc", "email": "x@example.com", "userLicenseType": "nopeUT"}
        ],
        "apps": [], "appBundles": []
    });

    // WHEN the admin invites them
    let v = p
        .post(
            "portals/self/invite",
            &[
                ("token", &token),
                ("invitationList", &list.to_string()),
                ("message", "Welcome"),
            ],
        )
        .await;

    // THEN success with the duplicates and invalid ones in notInvited
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(
        v["notInvited"],
        json!([
            "ROLLCALL_ADMIN",
            "taken_elsewhere",
            "bad role",
            "badtype_rc"
        ])
    );
    let jane = sb.member("JDOE_RC").unwrap();
    assert_eq!(jane.username, "jdoe_rc");
    assert!(jane.has_password && !jane.invited);
    assert_eq!(jane.role, "org_publisher");
    assert_eq!(jane.credits, Some(250.0));
    assert_eq!(jane.groups, vec!["g1"]);
    let al = sb.member("asmith_rc").unwrap();
    assert!(al.invited && !al.has_password);
    assert_eq!(
        (
            al.role.as_str(),
            al.role_id.as_deref(),
            al.user_type.as_str()
        ),
        ("org_user", Some("iAAAAAAAAAAAAAAA"), "viewerUT")
    );
    assert_eq!(al.credits, None);
    assert_eq!(
        al.groups,
        vec!["g2"],
        "default groups apply when groups is absent"
    );
    let mails = sb.invitations();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].username, "asmith_rc");
    assert_eq!(mails[0].message.as_deref(), Some("Welcome"));
    assert_eq!(sb.group_members("g1"), vec!["jdoe_rc", "rollcall_admin"]);

    // The new member can sign in and is visible with canonical casing.
    let jt = p.token("jdoe_rc", "Secret123").await;
    let got = p.get("community/users/JDoe_RC", &[("token", &jt)]).await;
    assert_eq!(got["username"], "jdoe_rc");
    assert_eq!(got["groups"][0]["id"], "g1");
    assert_eq!(got["groups"][0]["userMembership"]["memberType"], "member");
    assert_eq!(got["assignedCredits"], 250.0);
    let missing = p
        .get("community/users/nobody_here", &[("token", &jt)])
        .await;
    assert_eq!(missing["error"]["messageCode"], "COM_0018");
    assert_eq!(sb.calls().count("invite"), 1);

    // A knob can cap the list length.
    let mut knobs = control_post(
        &sb,
        "/sandbox/config",
        json!({"max_invitations_per_call": 1}),
    )
    .await;
    assert_eq!(knobs.status(), StatusCode::OK);
    let capped = p
        .post(
            "portals/self/invite",
            &[("token", &token), ("invitationList", &list.to_string())],
        )
        .await;
    assert_eq!(error_code(&capped), Some(400));
    knobs = control_post(&sb, "/sandbox/config", json!({"fault_rate": 2.0})).await;
    assert_eq!(knobs.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn enterprise_creates_members_through_portaladmin() {
    let sb = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    let (p, token) = Portal::as_admin(&sb).await;
    let create = |username: &'static str| {
        let url = format!("{}/portaladmin/security/users/createUser", sb.url());
        let http = p.http.clone();
        let token = token.clone();
        async move {
            let resp = http
                .post(url)
                .header("X-Esri-Authorization", format!("Bearer {token}"))
                .form(&[
                    ("f", "json"),
                    ("token", token.as_str()),
                    ("username", username),
                    ("password", "Passw0rd!"),
                    ("firstname", "Ent"),
                    ("lastname", "User"),
                    ("email", "ent@example.com"),
                    ("role", "iBBBBBBBBBBBBBBB"),
                    ("userLicenseTypeId", "editorUT"),
                    ("provider", "arcgis"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.unwrap()
        }
    };

    // The answer names the stored username, as the ArcGIS API for Python reads it.
    assert_eq!(
        create("ent_user1").await,
        json!({"status": "success", "username": "ent_user1"})
    );
    let m = sb.member("ent_user1").unwrap();
    assert_eq!(m.role_id.as_deref(), Some("iBBBBBBBBBBBBBBB"));
    assert_eq!(m.user_type, "editorUT");
    assert!(m.has_password && !m.invited);

    let dup = create("ENT_USER1").await;
    assert_eq!(dup["status"], "error");
    assert_eq!(dup["code"], 409);
    assert_eq!(dup["messages"][0], "User 'ENT_USER1' already exists.");

    // Invite is an Online operation.
    let inv = p
        .post(
            "portals/self/invite",
            &[
                ("token", &token),
                ("invitationList", r#"{"invitations":[]}"#),
            ],
        )
        .await;
    assert_eq!(error_code(&inv), Some(400));
    assert_eq!(sb.calls().count("createUser"), 2);

    // And portaladmin does not exist on Online.
    let online = ArcgisSandbox::start(SandboxConfig::online()).await;
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/portaladmin/security/users/createUser",
            online.url()
        ))
        .form(&[("f", "json")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn add_users_takes_at_most_25_and_reports_not_added() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.add_group("crew", "Crew");
    for i in 0..30 {
        sb.add_member(SeedMember::new(&format!("member_{i:02}")));
    }
    sb.add_member(SeedMember::new("already_in").groups(&["crew"]));
    sb.add_member(SeedMember::new("foreigner").other_org("OtherOrg00000001"));
    let (p, token) = Portal::as_admin(&sb).await;

    let too_many: Vec<String> = (0..26).map(|i| format!("member_{i:02}")).collect();
    let rejected = p
        .post(
            "community/groups/crew/addUsers",
            &[("token", &token), ("users", &too_many.join(","))],
        )
        .await;
    assert_eq!(error_code(&rejected), Some(400), "{rejected}");
    assert_eq!(
        sb.group_members("crew"),
        vec!["already_in", "rollcall_admin"]
    );

    // JSON-array list form (as the Python client sends), lower-case operation name.
    let v = p
        .post(
            "community/groups/crew/addusers",
            &[
                ("token", &token),
                (
                    "users",
                    r#"["Member_00","already_in","ghost_user","foreigner"]"#,
                ),
                ("admins", "member_01"),
            ],
        )
        .await;
    assert_eq!(v, json!({"notAdded": ["ghost_user", "foreigner"]}));
    assert_eq!(
        sb.group_members("crew"),
        vec!["already_in", "member_00", "member_01", "rollcall_admin"]
    );
    let users = p
        .get("community/groups/crew/users", &[("token", &token)])
        .await;
    assert_eq!(users["owner"], "rollcall_admin");
    assert_eq!(users["admins"], json!(["member_01", "rollcall_admin"]));

    let removed = p
        .post(
            "community/groups/crew/removeUsers",
            &[
                ("token", &token),
                ("users", "member_00,ghost_user,rollcall_admin"),
            ],
        )
        .await;
    assert_eq!(
        removed,
        json!({"notRemoved": ["ghost_user", "rollcall_admin"]})
    );
    assert!(!sb.group_members("crew").contains(&"member_00".to_string()));

    let missing = p.get("community/groups/nope", &[("token", &token)]).await;
    assert_eq!(missing["error"]["messageCode"], "COM_0003");
    assert_eq!(sb.calls().count("addUsers"), 2);
}

#[tokio::test]
async fn org_users_pages_to_the_end() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    for i in 0..249 {
        sb.add_member(SeedMember::new(&format!("user_{i:03}")).created(1_000 + i));
    }
    sb.add_member(SeedMember::new("esri_livingatlas"));
    let (p, token) = Portal::as_admin(&sb).await;

    let mut seen = Vec::new();
    let mut start = 1i64;
    let mut pages = 0;
    loop {
        let page = p
            .get(
                "portals/self/users",
                &[
                    ("token", &token),
                    ("start", &start.to_string()),
                    ("num", "100"),
                    ("excludeSystemUsers", "true"),
                ],
            )
            .await;
        assert_eq!(
            page["total"], 250,
            "249 seeded + admin, system user excluded"
        );
        assert_eq!(page["start"], start);
        seen.extend(
            page["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_string()),
        );
        pages += 1;
        start = page["nextStart"].as_i64().unwrap();
        if start == -1 {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert_eq!(seen.first().unwrap(), "rollcall_admin");
    assert_eq!(seen.last().unwrap(), "user_248");

    // Sorted by creation, newest first; num above 100 is capped.
    let newest = p
        .get(
            "portals/self/users",
            &[
                ("token", &token),
                ("sortField", "created"),
                ("sortOrder", "desc"),
                ("num", "500"),
            ],
        )
        .await;
    assert_eq!(newest["num"], 100);
    assert_eq!(newest["users"].as_array().unwrap().len(), 100);
    assert_eq!(newest["nextStart"], 101);
    assert_eq!(newest["total"], 251);
    let beyond = p
        .get(
            "portals/self/users",
            &[("token", &token), ("start", "1000")],
        )
        .await;
    assert_eq!(beyond["nextStart"], -1);
    assert_eq!(beyond["users"], json!([]));
}

#[tokio::test]
async fn fault_rate_one_rotates_through_every_failure_and_is_counted() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.set_fault_rate(1.0);
    let http = reqwest::Client::new();
    let url = format!("{}/sharing/rest/portals/self?f=json", sb.url());

    let mut kinds = Vec::new();
    for _ in 0..4 {
        let resp = http.get(&url).send().await.unwrap();
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.text().await.unwrap();
        let code = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| error_code(&v));
        kinds.push((status.as_u16(), code, retry_after));
    }
    assert_eq!(
        kinds,
        vec![
            (429, Some(429), Some("1".to_string())),
            (503, None, None),
            (200, Some(429), None),
            (200, Some(503), None),
        ]
    );
    let calls = sb.calls();
    assert_eq!(calls.faults, 4);
    assert_eq!(calls.count("portals/self"), 4);
    assert_eq!(calls.faults_by_operation["portals/self"], 4);

    // Control endpoints are never faulted nor counted, and never show passwords.
    let state: Value = json_of(http.get(format!("{}/sandbox/state", sb.control_url()))).await;
    assert_eq!(state["calls"]["total"], 4);
    assert_eq!(state["users"][0]["username"], "rollcall_admin");
    assert!(!state.to_string().contains("sandbox-password"));

    // Back to normal; a reset restores the starting state.
    sb.set_fault_rate(0.0);
    let ok: Value = json_of(http.get(&url)).await;
    assert_eq!(ok["isPortal"], false);
    sb.reset();
    assert_eq!(sb.calls().total, 0);
    assert_eq!(sb.members().len(), 1);
}

#[tokio::test]
async fn latency_is_added_to_portal_calls() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.set_latency(Duration::from_millis(30));
    let started = Instant::now();
    let resp = reqwest::get(format!("{}/sharing/rest?f=json", sb.url()))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(30));
    let v: Value = resp.json().await.unwrap();
    assert!(v["currentVersion"].is_string());
}

#[tokio::test]
async fn member_lifecycle_operations() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.add_role("cUSTOMROLE000001", "Field lead");
    sb.add_member(SeedMember::new("alice_rc"));
    sb.add_member(SeedMember::new("bob_rc").items(3));
    sb.add_member(SeedMember::new("carol_rc"));
    sb.add_group_owned_by("carolsgroup", "Carol's", "carol_rc");
    sb.add_member(SeedMember::new("Taken").other_org("OtherOrg00000001"));
    let (p, t) = Portal::as_admin(&sb).await;
    let t = t.as_str();

    // checkUsernames: taken names (any org, any casing) get a suggestion.
    let names = p
        .post(
            "community/checkUsernames",
            &[("token", t), ("usernames", "ALICE_RC,taken,free_name")],
        )
        .await;
    assert_eq!(
        names["usernames"],
        json!([
            {"requested": "ALICE_RC", "suggested": "ALICE_RC1"},
            {"requested": "taken", "suggested": "taken1"},
            {"requested": "free_name", "suggested": "free_name"}
        ])
    );

    // update
    let up = p
        .post(
            "community/users/Alice_RC/update",
            &[
                ("token", t),
                ("firstName", "Alicia"),
                ("email", "alicia@example.com"),
            ],
        )
        .await;
    assert_eq!(up, json!({"success": true, "username": "alice_rc"}));
    let a = sb.member("alice_rc").unwrap();
    assert_eq!(
        (a.first_name.as_str(), a.full_name.as_str()),
        ("Alicia", "Alicia Rc")
    );
    assert_eq!(a.email, "alicia@example.com");

    // role and user type
    let role = p
        .post(
            "portals/self/updateuserrole",
            &[
                ("token", t),
                ("user", "alice_rc"),
                ("role", "cUSTOMROLE000001"),
            ],
        )
        .await;
    assert_eq!(role["success"], true);
    assert_eq!(
        sb.member("alice_rc").unwrap().role_id.as_deref(),
        Some("cUSTOMROLE000001")
    );
    let ut = p
        .post(
            "portals/self/updateUserLicenseType",
            &[
                ("token", t),
                ("users", r#"["alice_rc","ghost"]"#),
                ("userLicenseType", "GISProfessionalStdUT"),
            ],
        )
        .await;
    assert_eq!(
        ut["results"][0],
        json!({"username": "alice_rc", "status": true})
    );
    assert_eq!(ut["results"][1]["status"], false);
    assert_eq!(
        sb.member("alice_rc").unwrap().user_type,
        "GISProfessionalStdUT"
    );

    // disable / enable, single and bulk (≤25)
    let d = p
        .post("community/users/alice_rc/disable", &[("token", t)])
        .await;
    assert_eq!(d["success"], true);
    assert!(sb.member("alice_rc").unwrap().disabled);
    let bulk = p
        .post(
            "portals/self/enableUsers",
            &[("token", t), ("users", "alice_rc,ghost")],
        )
        .await;
    assert_eq!(
        bulk["results"][0],
        json!({"username": "alice_rc", "status": true})
    );
    assert_eq!(bulk["results"][1]["status"], false);
    assert!(!sb.member("alice_rc").unwrap().disabled);
    let many: Vec<String> = (0..26).map(|i| format!("u{i}")).collect();
    let too_many = p
        .post(
            "portals/self/disableUsers",
            &[("token", t), ("users", &many.join(","))],
        )
        .await;
    assert_eq!(error_code(&too_many), Some(400));

    // delete: refused while the user owns items or groups
    for owner in ["bob_rc", "carol_rc"] {
        let refused = p
            .post(&format!("community/users/{owner}/delete"), &[("token", t)])
            .await;
        assert_eq!(error_code(&refused), Some(400), "{owner}: {refused}");
    }
    let deleted = p
        .post("community/users/alice_rc/delete", &[("token", t)])
        .await;
    assert_eq!(deleted, json!({"success": true, "username": "alice_rc"}));
    assert!(sb.member("alice_rc").is_none());

    // roles list: custom + Viewer + Data Editor, no built-ins
    let roles = p
        .get("portals/self/roles", &[("token", t), ("num", "100")])
        .await;
    let ids: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["iAAAAAAAAAAAAAAA", "iBBBBBBBBBBBBBBB", "cUSTOMROLE000001"]
    );
    assert_eq!(roles["nextStart"], -1);
    let types = p
        .get("portals/self/userLicenseTypes", &[("token", t)])
        .await;
    assert!(types["userLicenseTypes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == "GISProfessionalAdvUT" && u["name"] == "Professional Plus"));
    let defaults = p
        .get("portals/self/userDefaultSettings", &[("token", t)])
        .await;
    assert_eq!(
        (
            defaults["role"].as_str(),
            defaults["userLicenseType"].as_str()
        ),
        (Some("org_user"), Some("creatorUT"))
    );
    assert_eq!(defaults["groups"], json!([]));
}

// ---------------------------------------------------------------------------
// Inactivity sweep support: generated orgs, parallel listing, bulk disable,
// group userList, clock control.
// ---------------------------------------------------------------------------

/// A fixed "now" for generated orgs (2027-01-15), far from the wall clock.
const NOW: i64 = 1_800_000_000_000;

/// Re-derives a generated org's categories from the accounts themselves.
fn categorize(members: &[MemberView], now: i64) -> GeneratedOrg {
    let mut c = GeneratedOrg {
        now_ms: now,
        ..GeneratedOrg::default()
    };
    for m in members.iter().filter(|m| m.username != "rollcall_admin") {
        c.members += 1;
        if m.username.starts_with("esri_") {
            c.system_accounts += 1;
            continue;
        }
        match m.last_login {
            None => {
                c.never_signed_in += 1;
                if m.created < now - 90 * DAY_MS {
                    c.never_signed_in_over_90d += 1;
                }
            }
            Some(t) if t > now - 30 * DAY_MS => c.active_30d += 1,
            Some(t) if t > now - 60 * DAY_MS => c.idle_30_60d += 1,
            Some(t) if t > now - 90 * DAY_MS => c.idle_60_90d += 1,
            Some(_) => c.idle_over_90d += 1,
        }
        c.org_admins += usize::from(m.role == "org_admin");
        c.disabled += usize::from(m.disabled);
    }
    c
}

#[tokio::test]
async fn a_generated_org_has_a_realistic_deterministic_spread() {
    let spec = OrgSpec {
        members: 10_000,
        seed: 7,
        now_ms: NOW,
    };
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let started = Instant::now();
    let g = sb.generate_org(spec);
    println!("generated in {:?}: {g:?}", started.elapsed());

    // The counts describe exactly what was stored.
    let members = sb.members();
    assert_eq!(members.len(), 10_001, "10,000 generated + the admin");
    assert_eq!(categorize(&members, NOW), g);
    assert_eq!(g.system_accounts, 5);
    assert_eq!(
        g.active_30d + g.idle_30_60d + g.idle_60_90d + g.idle_over_90d + g.never_signed_in,
        9_995
    );
    let within = |n: usize, lo: usize, hi: usize, what: &str| {
        assert!((lo..=hi).contains(&n), "{what}: {n} not in {lo}..={hi}");
    };
    within(g.active_30d, 5_400, 6_000, "signed in within 30 days");
    within(g.idle_30_60d, 1_350, 1_650, "30-60 days");
    within(g.idle_60_90d, 850, 1_150, "60-90 days");
    within(g.idle_over_90d, 1_050, 1_350, "over 90 days");
    within(g.never_signed_in, 480, 720, "never signed in");
    within(
        g.never_signed_in_over_90d,
        300,
        600,
        "never, created > 90 days ago",
    );
    within(g.org_admins, 60, 140, "org admins");
    within(g.disabled, 220, 380, "disabled");

    // Per-account invariants.
    for name in SYSTEM_ACCOUNTS {
        let m = sb.member(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(m.last_login, None, "{name}");
    }
    for m in &members {
        assert!(m.email.contains('@'), "{}: {}", m.username, m.email);
        assert!(m.created <= NOW, "{}", m.username);
        if let Some(t) = m.last_login {
            assert!(m.created <= t, "{}: created after last sign-in", m.username);
        } else if !m.username.starts_with("esri_") && m.username != "rollcall_admin" {
            assert!(m.created >= NOW - 400 * DAY_MS, "{}", m.username);
        }
        assert!(!(m.disabled && m.role == "org_admin"), "{}", m.username);
    }
    assert!(sb.member("member.000001").is_some());
    assert!(sb.member("member.009995").is_some());
    assert!(sb.member("member.009996").is_none());
    assert_eq!(OrgSpec::username(42), "member.000042");

    // Deterministic: the same spec gives the same accounts, another seed does not.
    let again = ArcgisSandbox::start(SandboxConfig::online()).await;
    assert_eq!(again.generate_org(spec), g);
    let strip = |v: Vec<MemberView>| -> Vec<MemberView> {
        v.into_iter()
            .filter(|m| m.username != "rollcall_admin")
            .collect()
    };
    assert_eq!(strip(again.members()), strip(members));
    let other = ArcgisSandbox::start(SandboxConfig::online()).await;
    let g2 = other.generate_org(OrgSpec { seed: 8, ..spec });
    assert_ne!(g2, g);
    assert_ne!(
        other.member("member.000001").unwrap().last_login,
        sb.member("member.000001").unwrap().last_login
    );
}

/// Lists a whole org as Esri's Python client does: one `num=1` call for
/// `total`, then pages of 100 with explicit `start`s, 10 at a time.
async fn list_in_parallel(p: &Portal, token: &str, exclude_system: bool) -> (i64, Vec<Value>) {
    let exclude = exclude_system.to_string();
    let first = p
        .get(
            "portals/self/users",
            &[
                ("token", token),
                ("num", "1"),
                ("excludeSystemUsers", &exclude),
            ],
        )
        .await;
    let total = first["total"].as_i64().unwrap_or_else(|| panic!("{first}"));
    let starts: Vec<i64> = (0..total).step_by(100).map(|s| s + 1).collect();
    let pages: Vec<(i64, Value)> = futures::stream::iter(starts)
        .map(|start| {
            let exclude = exclude.clone();
            async move {
                let page = p
                    .get(
                        "portals/self/users",
                        &[
                            ("token", token),
                            ("start", &start.to_string()),
                            ("num", "100"),
                            ("excludeSystemUsers", &exclude),
                        ],
                    )
                    .await;
                (start, page)
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let mut users = Vec::new();
    for (start, page) in pages {
        assert_eq!(page["total"], total, "start {start}");
        assert_eq!(page["start"], start);
        let rows = page["users"].as_array().unwrap();
        let expected_next = if start + 100 > total { -1 } else { start + 100 };
        assert_eq!(page["nextStart"], expected_next, "start {start}");
        assert_eq!(rows.len() as i64, (total - start + 1).min(100));
        users.extend(rows.iter().cloned());
    }
    (total, users)
}

#[tokio::test]
async fn a_generated_org_pages_to_the_end_in_parallel_with_explicit_starts() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let g = sb.generate_org(OrgSpec {
        members: 2_550,
        seed: 11,
        now_ms: NOW,
    });
    let (p, token) = Portal::as_admin(&sb).await;
    sb.reset_calls();

    for exclude_system in [false, true] {
        let started = Instant::now();
        let (total, users) = list_in_parallel(&p, &token, exclude_system).await;
        println!(
            "listed {total} members (excludeSystemUsers={exclude_system}) in {:?}",
            started.elapsed()
        );
        let expected = 2_551 - if exclude_system { 5 } else { 0 };
        assert_eq!(total, expected);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for u in &users {
            *seen
                .entry(u["username"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        assert_eq!(users.len() as i64, total);
        assert_eq!(seen.len() as i64, total, "every member exactly once");
        assert!(seen.values().all(|n| *n == 1));
        assert_eq!(seen.keys().any(|u| u.starts_with("esri_")), !exclude_system);
        assert!(seen.contains_key("rollcall_admin"));

        // What the sweep classifies on is on the wire, `-1` for "never".
        let never = users.iter().filter(|u| u["lastLogin"] == -1).count();
        let system = if exclude_system { 0 } else { 5 };
        assert_eq!(never, g.never_signed_in + system);
        let disabled = users.iter().filter(|u| u["disabled"] == true).count();
        assert_eq!(disabled, g.disabled);
        let admins = users.iter().filter(|u| u["role"] == "org_admin").count();
        assert_eq!(admins, g.org_admins + 1);
        assert!(users
            .iter()
            .all(|u| u["created"].is_i64() && u["email"].is_string()));
    }
    // 2 × (1 + 26 or 1 + 25 pages)
    assert_eq!(sb.calls().count("portals/self/users"), 1 + 26 + 1 + 26);
    assert!(sb.calls().service_time("portals/self/users") > Duration::ZERO);
}

#[tokio::test]
async fn listings_follow_changes_between_pages() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.generate_org(OrgSpec {
        members: 300,
        seed: 3,
        now_ms: NOW,
    });
    let (p, t) = Portal::as_admin(&sb).await;
    let page = |start: &'static str, extra: &'static [(&'static str, &'static str)]| {
        let p = &p;
        let t = t.clone();
        async move {
            let mut q = vec![("token", t.as_str()), ("start", start), ("num", "100")];
            q.extend_from_slice(extra);
            p.get("portals/self/users", &q).await
        }
    };

    // Descending username order is the ascending order reversed (301 rows).
    let first = page("1", &[]).await;
    let last = page("202", &[("sortOrder", "desc")]).await;
    let names = |v: &Value| -> Vec<String> {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    let mut reversed = names(&last);
    reversed.reverse();
    assert_eq!(names(&first), reversed);

    // A field change shows on the next page; an added account shifts the pages.
    sb.set_last_login("member.000002", Some(NOW + 5 * DAY_MS));
    let newest = page("1", &[("sortField", "lastlogin"), ("sortOrder", "desc")]).await;
    assert_eq!(newest["users"][0]["username"], "member.000002");
    assert_eq!(newest["users"][0]["lastLogin"], NOW + 5 * DAY_MS);
    sb.set_last_login("member.000003", Some(NOW + 6 * DAY_MS));
    let newest = page("1", &[("sortField", "lastlogin"), ("sortOrder", "desc")]).await;
    assert_eq!(newest["users"][0]["username"], "member.000003");
    sb.add_member(SeedMember::new("aaa.first"));
    let again = page("1", &[]).await;
    assert_eq!(again["total"], 302);
    assert_eq!(again["users"][0]["username"], "aaa.first");
    assert_eq!(again["users"][1]["username"], first["users"][0]["username"]);
    let viewers = page("1", &[("role", "iAAAAAAAAAAAAAAA")]).await;
    assert!(viewers["total"].as_i64().unwrap() > 0);
    assert!(viewers["users"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["roleId"] == "iAAAAAAAAAAAAAAA"));
}

#[tokio::test]
async fn disable_users_takes_at_most_25_and_reports_per_user_status() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.generate_org(OrgSpec {
        members: 100,
        seed: 5,
        now_ms: NOW,
    });
    sb.add_member(SeedMember::new("second_admin").role("org_admin"));
    sb.add_member(SeedMember::new("Other.Org").other_org("OtherOrg00000001"));
    sb.add_member(
        SeedMember::new("was_disabled")
            .disabled(true)
            .password("Member-pass1"),
    );
    sb.add_member(SeedMember::new("signs_in").password("Member-pass1"));
    let (p, t) = Portal::as_admin(&sb).await;
    let member_token = p.token("signs_in", "Member-pass1").await;
    sb.reset_calls();

    // More than 25 names: refused as a whole, nothing changes.
    let names: Vec<String> = (1..=26).map(OrgSpec::username).collect();
    let disabled_before: Vec<bool> = names
        .iter()
        .map(|n| sb.member(n).unwrap().disabled)
        .collect();
    let too_many = p
        .post(
            "portals/self/disableUsers",
            &[("token", &t), ("users", &names.join(","))],
        )
        .await;
    assert_eq!(error_code(&too_many), Some(400), "{too_many}");
    let disabled_now = |names: &[String]| -> Vec<bool> {
        names
            .iter()
            .map(|n| sb.member(n).unwrap().disabled)
            .collect()
    };
    assert_eq!(disabled_now(&names), disabled_before);
    let enabled_before = sb.members().iter().filter(|m| !m.disabled).count();

    // 25 names, any casing, with per-user results.
    let mut batch: Vec<String> = (1..=20)
        .map(|n| OrgSpec::username(n).to_uppercase())
        .collect();
    batch.extend(
        [
            "ghost_user",
            "rollcall_admin",
            "other.org",
            "second_admin",
            "was_disabled",
        ]
        .map(String::from),
    );
    assert_eq!(batch.len(), 25);
    let d = p
        .post(
            "portals/self/disableUsers",
            &[("token", &t), ("users", &batch.join(","))],
        )
        .await;
    let results = d["results"].as_array().unwrap_or_else(|| panic!("{d}"));
    assert_eq!(results.len(), 25);
    let by_name: BTreeMap<&str, &Value> = results
        .iter()
        .map(|r| (r["username"].as_str().unwrap(), r))
        .collect();
    for n in 1..=20 {
        // Case-insensitive; the canonical username is echoed.
        let name = OrgSpec::username(n);
        assert_eq!(
            by_name[name.as_str()],
            &json!({"username": name, "status": true})
        );
        assert!(sb.member(&name).unwrap().disabled, "{name}");
    }
    for refused in ["ghost_user", "rollcall_admin", "other.org"] {
        let r = by_name[refused];
        assert_eq!(r["status"], false, "{refused}: {r}");
        assert!(r["error"]["code"].is_i64(), "{refused}: {r}");
    }
    assert_eq!(by_name["second_admin"]["status"], true);
    assert_eq!(by_name["was_disabled"]["status"], true);
    assert!(!sb.member("rollcall_admin").unwrap().disabled);
    assert!(!sb.member("Other.Org").unwrap().disabled);
    let enabled_after = sb.members().iter().filter(|m| !m.disabled).count();
    let newly_disabled = disabled_before[..20].iter().filter(|d| !**d).count() + 1;
    assert_eq!(enabled_before - enabled_after, newly_disabled);

    // A disabled member's token stops working; it cannot sign in again.
    let j = p
        .post(
            "portals/self/disableUsers",
            &[("token", &t), ("users", r#"["signs_in"]"#)],
        )
        .await;
    assert_eq!(j["results"][0]["status"], true, "{j}");
    let dead = p.get("community/self", &[("token", &member_token)]).await;
    assert_eq!(error_code(&dead), Some(498));
    let signin = p
        .post(
            "generateToken",
            &[("username", "signs_in"), ("password", "Member-pass1")],
        )
        .await;
    assert_eq!(error_code(&signin), Some(400));

    // enableUsers reverses it; both are counted under their own names.
    let e = p
        .post(
            "portals/self/enableUsers",
            &[("token", &t), ("users", "member.000001,signs_in")],
        )
        .await;
    assert_eq!(
        e["results"][1],
        json!({"username": "signs_in", "status": true})
    );
    assert!(!sb.member("member.000001").unwrap().disabled);
    assert!(!sb.member("signs_in").unwrap().disabled);
    let empty = p
        .post("portals/self/disableUsers", &[("token", &t), ("users", "")])
        .await;
    assert_eq!(error_code(&empty), Some(400));
    let calls = sb.calls();
    assert_eq!(calls.count("disableUsers"), 4);
    assert_eq!(calls.count("enableUsers"), 1);

    // Only org admins may call it.
    sb.add_member(SeedMember::new("plain").password("Member-pass1"));
    let plain = p.token("plain", "Member-pass1").await;
    let denied = p
        .post(
            "portals/self/disableUsers",
            &[("token", &plain), ("users", "member.000003")],
        )
        .await;
    assert_eq!(error_code(&denied), Some(403));
}

#[tokio::test]
async fn group_user_list_pages_members_with_types_and_join_times() {
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    sb.generate_org(OrgSpec {
        members: 200,
        seed: 9,
        now_ms: NOW,
    });
    sb.add_group("protected", "Keep these");
    let members: Vec<String> = (1..=60).map(OrgSpec::username).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    sb.add_to_group("protected", &refs);
    let (p, t) = Portal::as_admin(&sb).await;
    let added = p
        .post(
            "community/groups/protected/addUsers",
            &[("token", &t), ("admins", "member.000100,MEMBER.000101")],
        )
        .await;
    assert_eq!(added, json!({"notAdded": []}));

    // Default page size 25; pages to the end with nextStart.
    let mut start = 1i64;
    let mut seen = Vec::new();
    let mut pages = 0;
    while start > 0 {
        let page = p
            .get(
                "community/groups/protected/userList",
                &[("token", &t), ("start", &start.to_string())],
            )
            .await;
        assert_eq!(page["total"], 62, "{page}");
        assert_eq!(page["num"], 25);
        assert_eq!(page["owner"]["username"], "rollcall_admin");
        assert_eq!(page["owner"]["memberType"], "owner");
        for u in page["users"].as_array().unwrap() {
            assert!(u["joined"].is_i64() && u["fullName"].is_string(), "{u}");
            seen.push((
                u["username"].as_str().unwrap().to_string(),
                u["memberType"].as_str().unwrap().to_string(),
            ));
        }
        start = page["nextStart"].as_i64().unwrap();
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 62);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "username order by default");
    assert_eq!(
        seen.iter().filter(|(_, t)| t == "admin").count(),
        2,
        "{seen:?}"
    );
    assert!(!seen.iter().any(|(u, _)| u == "rollcall_admin"));

    // num is capped at 100; filters and sorts.
    let all = p
        .get(
            "community/groups/protected/userList",
            &[("token", &t), ("num", "500"), ("sortField", "membertype")],
        )
        .await;
    assert_eq!(all["num"], 100);
    assert_eq!(all["nextStart"], -1);
    assert_eq!(all["users"][0]["memberType"], "admin");
    assert_eq!(all["users"][61]["memberType"], "member");
    let admins = p
        .get(
            "community/groups/protected/userList",
            &[("token", &t), ("memberType", "admin")],
        )
        .await;
    assert_eq!(admins["total"], 2);
    let newest = p
        .get(
            "community/groups/protected/userList",
            &[
                ("token", &t),
                ("sortField", "joined"),
                ("sortOrder", "desc"),
                ("num", "2"),
            ],
        )
        .await;
    let joined: Vec<i64> = newest["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["joined"].as_i64().unwrap())
        .collect();
    assert!(joined[0] >= joined[1]);
    assert_eq!(newest["nextStart"], 3);
    let beyond = p
        .get(
            "community/groups/protected/userList",
            &[("token", &t), ("start", "500")],
        )
        .await;
    assert_eq!(beyond["users"], json!([]));
    assert_eq!(beyond["nextStart"], -1);

    // The deprecated unpaged listing agrees (owner among the admins).
    let legacy = p
        .get("community/groups/protected/users", &[("token", &t)])
        .await;
    assert_eq!(legacy["owner"], "rollcall_admin");
    assert_eq!(legacy["admins"].as_array().unwrap().len(), 3);
    assert_eq!(legacy["users"].as_array().unwrap().len(), 60);

    let missing = p
        .get("community/groups/nope/userList", &[("token", &t)])
        .await;
    assert_eq!(missing["error"]["messageCode"], "COM_0003");
    assert_eq!(sb.calls().count("userList"), 3 + 5);
}

#[tokio::test]
async fn the_clock_is_under_test_control() {
    let sb = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    let g = sb.generate_org(OrgSpec {
        members: 40,
        seed: 1,
        now_ms: NOW,
    });
    assert_eq!(g.system_accounts, 4);
    sb.add_member(
        SeedMember::new("returning")
            .password("Member-pass1")
            .created(NOW - 400 * DAY_MS)
            .last_login(Some(NOW - 200 * DAY_MS)),
    );

    // "Signed in again on day 3" without touching the wall clock.
    sb.set_last_login("RETURNING", Some(NOW + 3 * DAY_MS));
    assert_eq!(
        sb.member("returning").unwrap().last_login,
        Some(NOW + 3 * DAY_MS)
    );
    sb.set_last_login("returning", None);
    let (p, t) = Portal::as_admin(&sb).await;
    let u = p.get("community/users/returning", &[("token", &t)]).await;
    assert_eq!(u["lastLogin"], -1);

    // A real sign-in stamps the wall clock, and only the signing-in account.
    let before = chrono::Utc::now().timestamp_millis();
    p.token("returning", "Member-pass1").await;
    let stamped = sb.member("returning").unwrap().last_login.unwrap();
    assert!(stamped >= before && stamped <= chrono::Utc::now().timestamp_millis());
    let untouched = sb.member("member.000001").unwrap();
    assert!(untouched.last_login.is_none_or(|t| t < NOW));

    // The same through the control endpoints, for a sandbox in another process.
    let at = json!({"username": "member.000002", "at": NOW + DAY_MS});
    let set = control_post(&sb, "/sandbox/last-login", at).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(
        sb.member("member.000002").unwrap().last_login,
        Some(NOW + DAY_MS)
    );
    let nobody = json!({"username": "nobody", "at": null});
    let unknown = control_post(&sb, "/sandbox/last-login", nobody).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let spec = json!({"members": 60, "seed": 2, "now_ms": NOW});
    let generated: GeneratedOrg = control_post(&sb, "/sandbox/generate", spec)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        generated,
        ArcgisSandbox::start(SandboxConfig::enterprise())
            .await
            .generate_org(OrgSpec {
                members: 60,
                seed: 2,
                now_ms: NOW
            })
    );
    let calls: Value =
        json_of(reqwest::Client::new().get(format!("{}/sandbox/calls", sb.control_url()))).await;
    assert_eq!(calls["by_operation"]["generateToken"], 2);
}

#[tokio::test]
async fn the_binary_generates_an_org_before_serving() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["--generate-members", "250", "--generate-seed", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sandbox binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = stdout.next().expect("SANDBOX_URL line").unwrap();
        if let Some(url) = line.strip_prefix("SANDBOX_URL=") {
            break url.to_string();
        }
    };
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let summary = stderr.next().expect("summary line").unwrap();
    let summary: Value = serde_json::from_str(
        summary
            .strip_prefix("sandbox: generated ")
            .unwrap_or_else(|| panic!("{summary}")),
    )
    .unwrap();
    assert_eq!(summary["members"], 250);
    assert_eq!(summary["seed"], 4);

    let http = reqwest::Client::new();
    let token: Value = json_of(
        http.post(format!("{url}/sharing/rest/generateToken"))
            .form(&[
                ("username", "rollcall_admin"),
                ("password", "sandbox-password"),
                ("f", "json"),
            ]),
    )
    .await;
    let page: Value = json_of(
        http.get(format!("{url}/sharing/rest/portals/self/users"))
            .query(&[
                ("f", "json"),
                ("num", "1"),
                ("token", token["token"].as_str().unwrap()),
            ]),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(page["total"], 251);
}
