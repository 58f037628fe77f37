//! Tests of the ArcGIS portal sandbox itself, with plain reqwest, so the
//! sandbox is known to speak the wire format of `specs/arcgis-rest.md`
//! before any rollcall client is pointed at it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember};
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

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let mut form = form.to_vec();
        form.push(("f", "json"));
        let resp = self
            .http
            .post(format!("{}/{path}", self.rest))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "POST {path}");
        resp.json().await.unwrap()
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut query = query.to_vec();
        query.push(("f", "json"));
        let resp = self
            .http
            .get(format!("{}/{path}", self.rest))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let v = self
            .post(
                "generateToken",
                &[
                    ("username", username),
                    ("password", password),
                    ("client", "referer"),
                    ("referer", "http"),
                    ("expiration", "60"),
                ],
            )
            .await;
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

fn error_code(v: &Value) -> Option<i64> {
    v["error"]["code"].as_i64()
}

#[tokio::test]
async fn a_token_is_accepted_all_four_ways() {
    // GIVEN a sandbox and an admin token
    let sb = ArcgisSandbox::start(SandboxConfig::online()).await;
    let p = Portal::new(&sb);
    let gen = p
        .post(
            "generateToken",
            &[
                ("username", "rollcall_admin"),
                ("password", "sandbox-password"),
                ("client", "referer"),
                ("referer", "http"),
                ("expiration", "60"),
            ],
        )
        .await;
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
    // Usernames are case-sensitive at sign-in (§1.1).
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
    let p = Portal::new(&online);
    let token = p.admin_token(&online).await;
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
    let p = Portal::new(&ent);
    let token = p.admin_token(&ent).await;
    // portals/<orgId> and portal/<orgId> address the same org (§0.1).
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
    // Without f the portal answers an HTML page with status 200 (§0.2).
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
    let p = Portal::new(&sb);
    let token = p.admin_token(&sb).await;
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
    let mut knobs = reqwest::Client::new()
        .post(format!("{}/sandbox/config", sb.control_url()))
        .json(&json!({"max_invitations_per_call": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(knobs.status(), StatusCode::OK);
    let capped = p
        .post(
            "portals/self/invite",
            &[("token", &token), ("invitationList", &list.to_string())],
        )
        .await;
    assert_eq!(error_code(&capped), Some(400));
    knobs = reqwest::Client::new()
        .post(format!("{}/sandbox/config", sb.control_url()))
        .json(&json!({"fault_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(knobs.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn enterprise_creates_members_through_portaladmin() {
    let sb = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    let p = Portal::new(&sb);
    let token = p.admin_token(&sb).await;
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

    assert_eq!(create("ent_user1").await, json!({"status": "success"}));
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
    let p = Portal::new(&sb);
    let token = p.admin_token(&sb).await;

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
    let p = Portal::new(&sb);
    let token = p.admin_token(&sb).await;

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
    let state: Value = http
        .get(format!("{}/sandbox/state", sb.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["calls"]["total"], 4);
    assert_eq!(state["users"][0]["username"], "rollcall_admin");
    assert!(!state.to_string().contains("sandbox-password"));

    // Back to normal; a reset restores the starting state.
    sb.set_fault_rate(0.0);
    let ok: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
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
    let p = Portal::new(&sb);
    let t = p.admin_token(&sb).await;
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
                ("userLicenseType", "fieldWorkerUT"),
            ],
        )
        .await;
    assert_eq!(
        ut["results"][0],
        json!({"username": "alice_rc", "status": true})
    );
    assert_eq!(ut["results"][1]["status"], false);
    assert_eq!(sb.member("alice_rc").unwrap().user_type, "fieldWorkerUT");

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
