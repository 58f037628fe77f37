//! Tests of the Teamworks AMS sandbox itself, with plain reqwest, so the
//! sandbox is known to speak the wire format of the public clients and
//! their recorded traffic (sources listed in `rollcall_tests::sandbox::ams`)
//! before rollcall's client is pointed at it.

use reqwest::{header, StatusCode};
use rollcall_tests::sandbox::{AmsConfig, AmsSandbox, SeedPerson};
use serde_json::{json, Value};

// ------------------------------------------------------------------- GIVEN

/// A caller of one site, as teamworksams calls it.
struct Site {
    http: reqwest::Client,
    url: String,
}

impl Site {
    fn new(sandbox: &AmsSandbox) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: sandbox.url(),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/{path}?informat=json&format=json", self.url)
    }

    /// The login request teamworksams sends (with Basic credentials too).
    async fn login_as(&self, app: &str, username: &str, password: &str) -> reqwest::Response {
        let body = json!({
            "username": username,
            "password": password,
            "loginProperties": {"appName": app, "clientTime": "2025-05-16T08:28:06"},
        });
        self.http
            .post(self.endpoint("v2/user/loginUser"))
            .basic_auth(username, Some(password))
            .json(&body)
            .send()
            .await
            .expect("login request")
    }

    /// Logs in as the API account; the session token.
    async fn token(&self, sandbox: &AmsSandbox) -> String {
        let site = sandbox.site().to_string();
        let response = self
            .login_as(&site, sandbox.admin_username(), sandbox.admin_password())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        header_of(&response, "session-header").expect("a session-header")
    }

    /// A call with the session headers teamworksams sends after login.
    async fn call(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.endpoint(path))
            .header("session-header", token)
            .header(header::COOKIE, format!("JSESSIONID={token}"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// As [`Self::call`], expecting HTTP 200 with JSON.
    async fn json(&self, token: &str, path: &str, body: &Value) -> Value {
        let response = self.call(token, path, body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("a JSON body")
    }
}

fn header_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn given_site() -> (AmsSandbox, Site, String) {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    let site = Site::new(&sandbox);
    let token = site.token(&sandbox).await;
    (sandbox, site, token)
}

/// Every user of a search answer, flattened as both public clients do.
fn users(answer: &Value) -> Vec<Value> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .flat_map(|r| r["results"].as_array().expect("inner results").clone())
        .collect()
}

fn usernames(answer: &Value) -> Vec<String> {
    users(answer)
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

fn person_get_body(ids: Value) -> Value {
    json!({"filter": {"comparisons": {"op": "0", "branches": [
        {"leaf": {"negated": false, "comp": "1", "fieldName": "id", "valueInteger": ids}}
    ]}, "limit": "-1", "offset": "-1"}})
}

/// The create request recorded in smartabasepy's `create_user.yaml`.
fn recorded_create(username: &str, email: &str) -> Value {
    json!({"person": {"id": "-1", "firstName": "Test", "lastName": "User",
        "username": username, "emailAddress": email,
        "dateOfBirth": "2000-01-01", "password": "Test123!", "active": true,
        "knownAs": "", "middleNames": "", "language": "", "sidebarWidth": "",
        "uuid": "test-uuid-123", "sex": "Male"}})
}

fn rpc_message(answer: &Value) -> &str {
    assert_eq!(answer["__is_rpc_exception__"], true, "{answer}");
    answer["value"]["detailMessage"].as_str().unwrap()
}

// ------------------------------------------------------------------- LOGIN

#[tokio::test]
async fn login_answers_the_same_token_in_session_header_and_cookie() {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    let site = Site::new(&sandbox);
    let response = site
        .login_as("rollcall", "rollcall.api", "sandbox-password")
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let token = header_of(&response, "session-header").unwrap();
    assert_eq!(token.len(), 24);
    assert_eq!(
        header_of(&response, "set-cookie").unwrap(),
        format!("JSESSIONID={token}; Path=/; Secure; HttpOnly")
    );
    assert_eq!(
        header_of(&response, "content-type").unwrap(),
        "application/json;charset=utf-8"
    );
    assert_eq!(
        header_of(&response, "content-disposition").unwrap(),
        "attachment"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["id"], sandbox.admin_id());
    assert_eq!(body["user"]["username"], "rollcall.api");
    assert!(body["user"].get("password").is_none(), "{body}");
    assert_eq!(body["isAdmin"], false);
    assert_eq!(body["applicationId"], 1044);
    assert_eq!(body["loginActions"], json!([]));
    assert_eq!(body["restrictionPolicyIds"], json!([]));
    assert!(body["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("Account Write")));
    assert!(body["isAthlete"].is_boolean() && body["isCoach"].is_boolean());
}

#[tokio::test]
async fn bad_credentials_are_401_and_the_knob_makes_them_an_rpc_exception() {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    sandbox.add_person(SeedPerson::new("gone.user").password("pw").active(false));
    let site = Site::new(&sandbox);
    for (user, password) in [
        ("rollcall.api", "wrong"),
        ("nobody", "sandbox-password"),
        ("gone.user", "pw"),
    ] {
        let response = site.login_as("rollcall", user, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{user}");
        assert_eq!(header_of(&response, "session-header"), None);
        assert_eq!(header_of(&response, "set-cookie"), None);
    }

    let config = AmsConfig {
        bad_login_as_rpc_exception: true,
        ..AmsConfig::default()
    };
    let sandbox = AmsSandbox::start(config).await;
    let response = Site::new(&sandbox)
        .login_as("rollcall", "rollcall.api", "wrong")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, "session-header"), None);
    let body: Value = response.json().await.unwrap();
    assert_eq!(rpc_message(&body), "Invalid username or password");
}

#[tokio::test]
async fn another_app_name_is_an_rpc_exception_naming_it() {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    let response = Site::new(&sandbox)
        .login_as("other", "rollcall.api", "sandbox-password")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, "session-header"), None);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        rpc_message(&body),
        "There is no application known as 'other'"
    );
    assert!(body["type"].is_string());
}

#[tokio::test]
async fn login_works_without_the_query_string_as_smartabase_r_sends_it() {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/user/loginUser", sandbox.url()))
        .json(
            &json!({"username": "rollcall.api", "password": "sandbox-password",
            "loginProperties": {"appName": "rollcall", "clientTime": "2025-05-16T08:28"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, "session-header").is_some());
}

// --------------------------------------------------------- LATER CALLS

#[tokio::test]
async fn later_calls_take_the_session_header_the_cookie_or_basic_credentials() {
    let (sandbox, site, token) = given_site().await;
    let url = site.endpoint("v1/listgroups");
    let body = json!({"name": ""});
    let http = &site.http;

    let by_header = http
        .post(&url)
        .header("session-header", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    assert_eq!(header_of(&by_header, "session-header"), Some(token.clone()));

    let by_cookie = http
        .post(&url)
        .header(header::COOKIE, format!("other=1; JSESSIONID={token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);
    assert_eq!(header_of(&by_cookie, "session-header"), Some(token.clone()));

    let by_basic = http
        .post(&url)
        .basic_auth("rollcall.api", Some("sandbox-password"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(by_basic.status(), StatusCode::OK);
    assert_eq!(header_of(&by_basic, "session-header"), None);

    let wrong_basic = http
        .post(&url)
        .basic_auth("rollcall.api", Some("nope"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_basic.status(), StatusCode::UNAUTHORIZED);
    let nothing = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(nothing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sandbox.calls().unauthorized_count("listgroups"), 2);
}

#[tokio::test]
async fn expired_sessions_answer_401_with_a_short_body_and_a_new_login_works() {
    let (sandbox, site, token) = given_site().await;
    let search = json!({"identification": []});
    assert_eq!(
        site.call(&token, "v1/usersearch", &search).await.status(),
        StatusCode::OK
    );

    sandbox.expire_sessions();
    let response = site.call(&token, "v1/usersearch", &search).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let text = response.text().await.unwrap();
    assert!(!text.is_empty() && text.len() < 100, "{text}");

    let fresh = site.token(&sandbox).await;
    assert_ne!(fresh, token);
    assert_eq!(
        site.call(&fresh, "v1/usersearch", &search).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_lifetime_ends_idle_sessions_and_the_status_is_a_knob() {
    let config = AmsConfig {
        session_lifetime: Some(std::time::Duration::ZERO),
        session_expired_status: 403,
        ..AmsConfig::default()
    };
    let sandbox = AmsSandbox::start(config).await;
    let site = Site::new(&sandbox);
    let token = site.token(&sandbox).await;
    let response = site.call(&token, "v1/listgroups", &json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    sandbox.set_session_lifetime(None);
    let token = site.token(&sandbox).await;
    let response = site.call(&token, "v1/listgroups", &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ------------------------------------------------------------ SEARCHES

/// Riley (athlete of First Team, role Athlete, a mobile phone, a uuid),
/// Jordan (inactive, coach of First Team) and Avery (no group).
async fn given_people() -> (AmsSandbox, Site, String, [i64; 3]) {
    let (sandbox, site, token) = given_site().await;
    let riley = sandbox.add_person(
        SeedPerson::new("riley.example")
            .email("r.example@example.com")
            .dob("1990-12-01")
            .sex("male")
            .uuid("new123")
            .role("Athlete")
            .phone("MOBILE", "1", "333", "4567891"),
    );
    let jordan = sandbox.add_person(SeedPerson::new("jordan.nguyen").active(false).sex("Female"));
    let avery = sandbox.add_person(SeedPerson::new("avery.silva").middle_names("Lee"));
    sandbox.add_group("First Team", &[riley]);
    sandbox.add_coaches("First Team", &[jordan]);
    sandbox.add_group("Reserves", &[]);
    (sandbox, site, token, [riley, jordan, avery])
}

#[tokio::test]
async fn an_empty_identification_lists_every_account_without_active() {
    let (sandbox, site, token, [riley, ..]) = given_people().await;
    let answer = site
        .json(&token, "v1/usersearch", &json!({"identification": []}))
        .await;

    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    assert_eq!(answer["results"][0]["search"], json!({}));
    assert_eq!(
        usernames(&answer),
        [
            "rollcall.api",
            "riley.example",
            "jordan.nguyen",
            "avery.silva"
        ]
    );
    let all = users(&answer);
    let riley_user = all.iter().find(|u| u["userId"] == riley).unwrap();
    assert_eq!(
        riley_user,
        &json!({
            "userId": riley, "firstName": "Riley", "lastName": "Example",
            "dob": "01/12/1990", "middleName": "", "emailAddress": "r.example@example.com",
            "knownAs": "", "organisationalId": -1, "username": "riley.example",
            "phoneNumbers": [{"type": "MOBILE", "countryCode": "1", "prefix": "333", "number": "4567891"}],
            "sex": "MALE", "uuid": "new123",
        })
    );
    for user in &all {
        assert!(user.get("active").is_none(), "{user}");
        assert!(user.get("groupsAndRoles").is_none(), "{user}");
    }
    let jordan_user = &all[2];
    assert_eq!(jordan_user["sex"], "FEMALE");
    assert_eq!(jordan_user["uuid"], "");
    assert!(jordan_user.get("phoneNumbers").is_none());
    assert_eq!(sandbox.calls().count("usersearch"), 1);
}

#[tokio::test]
async fn each_identification_entry_gets_its_own_record_echoing_it() {
    let (_sandbox, site, token, [riley, jordan, avery]) = given_people().await;
    let body = json!({"identification": [
        {"username": "riley.example"},
        {"emailAddress": "jordan.nguyen@example.com"},
        {"userId": avery},
        {"userId": riley.to_string()},
        {"firstName": "Avery", "lastName": "Silva"},
        {"firstName": "Avery", "lastName": "Example"},
        {"username": "RILEY.EXAMPLE"},
        {"username": "nobody"},
    ]});
    let answer = site.json(&token, "v1/usersearch", &body).await;

    let records = answer["results"].as_array().unwrap();
    assert_eq!(records.len(), 8);
    for (record, entry) in records
        .iter()
        .zip(body["identification"].as_array().unwrap())
    {
        assert_eq!(&record["search"], entry);
    }
    let ids: Vec<Vec<i64>> = records
        .iter()
        .map(|r| {
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userId"].as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        ids,
        [
            vec![riley],
            vec![jordan],
            vec![avery],
            vec![riley],
            vec![avery],
            vec![],
            vec![],
            vec![]
        ]
    );
}

#[tokio::test]
async fn the_email_key_is_honoured_only_with_the_alias_switch() {
    let (sandbox, site, token, [riley, ..]) = given_people().await;
    let body = json!({"identification": [{"email": "r.example@example.com"}]});
    let answer = site.json(&token, "v1/usersearch", &body).await;
    assert!(users(&answer).is_empty(), "{answer}");

    sandbox.set_email_alias(true);
    let answer = site.json(&token, "v1/usersearch", &body).await;
    assert_eq!(users(&answer)[0]["userId"], riley);
}

#[tokio::test]
async fn groups_and_roles_come_only_when_the_answer_holds_one_user() {
    let (sandbox, site, token, [riley, jordan, _]) = given_people().await;
    let one = site
        .json(
            &token,
            "v1/usersearch",
            &json!({"identification": [{"username": "riley.example"}]}),
        )
        .await;
    let first_team = sandbox.add_group("First Team", &[]);
    let roles = &users(&one)[0]["groupsAndRoles"];
    assert_eq!(roles["role"][0]["name"], "Athlete");
    assert!(roles["role"][0]["id"].is_i64(), "{roles}");
    assert_eq!(
        roles,
        &json!({
            "role": [{"id": roles["role"][0]["id"], "name": "Athlete"}],
            "athleteGroups": [{"id": first_team, "name": "First Team"}],
            "coachGroups": [],
        })
    );
    let coach = site
        .json(
            &token,
            "v1/usersearch",
            &json!({"identification": [{"userId": jordan}]}),
        )
        .await;
    assert_eq!(
        users(&coach)[0]["groupsAndRoles"]["coachGroups"],
        json!([{"id": first_team, "name": "First Team"}])
    );

    let two = site
        .json(
            &token,
            "v1/usersearch",
            &json!({"identification": [{"userId": riley}, {"userId": jordan}]}),
        )
        .await;
    assert_eq!(users(&two).len(), 2);
    assert!(users(&two)
        .iter()
        .all(|u| u.get("groupsAndRoles").is_none()));
}

#[tokio::test]
async fn group_members_take_a_name_or_a_list_and_groups_are_listed_by_name() {
    let (_sandbox, site, token, [riley, jordan, _]) = given_people().await;
    let scalar = site
        .json(&token, "v1/groupmembers", &json!({"name": "First Team"}))
        .await;
    let ids: Vec<Value> = users(&scalar).iter().map(|u| u["userId"].clone()).collect();
    assert_eq!(ids, [json!(riley), json!(jordan)]);

    let list = site
        .json(
            &token,
            "v1/groupmembers",
            &json!({"name": ["Reserves", "First Team", "Nobody's"]}),
        )
        .await;
    let sizes: Vec<usize> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["results"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [0, 2, 0]);
    assert_eq!(list["results"][1]["search"]["name"], "First Team");

    let groups = site
        .json(&token, "v1/listgroups", &json!({"name": "rollcall.api"}))
        .await;
    assert_eq!(groups, json!({"name": ["First Team", "Reserves"]}));
}

// -------------------------------------------------------------- PEOPLE

#[tokio::test]
async fn person_get_takes_ids_as_strings_or_numbers_and_answers_full_records() {
    let (sandbox, site, token, [riley, jordan, _]) = given_people().await;
    let answer = site
        .json(
            &token,
            "v2/person/get",
            &person_get_body(json!([jordan.to_string(), riley, "999999", riley])),
        )
        .await;
    let objects = answer["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 2, "{answer}");
    assert_eq!(objects[0]["id"], jordan);
    assert_eq!(objects[0]["active"], false);
    assert_eq!(objects[0]["sex"], "1");
    let record = &objects[1];
    assert_eq!(record, &sandbox.person("riley.example").unwrap());
    assert_eq!(record["sex"], "0");
    assert_eq!(record["dateOfBirth"], "01/12/1990");
    assert_eq!(record["accountExpiration"], "01/01/1970");
    assert_eq!(record["ownerId"], sandbox.admin_id());
    assert_eq!(
        record["phoneNumbers"],
        json!([{"type": 1, "countryCode": "1", "prefix": "333", "number": "4567891"}])
    );
    assert_eq!(record["uuid"], "new123");
    assert!(record["__mtime__"].is_i64());
    for field in [
        "active",
        "admin",
        "pending",
        "communicationPreferences",
        "avatarId",
        "organisationId",
        "plan",
        "state",
        "emailAddress",
        "firstName",
        "knownAs",
        "language",
        "lastName",
        "middleNames",
        "sidebarWidth",
        "skypeName",
        "timezone",
        "username",
        "addresses",
        "favoriteDashboards",
        "favoriteEvents",
        "frontPageButtons",
    ] {
        assert!(record.get(field).is_some(), "{field} missing from {record}");
    }
    assert!(objects.iter().all(|o| o.get("password").is_none()));
}

#[tokio::test]
async fn the_recorded_create_makes_an_account_with_the_recorded_defaults() {
    let (sandbox, site, token) = given_site().await;
    let saved = site
        .json(
            &token,
            "v2/person/save",
            &recorded_create("test.user.2025@example.com", "test.user.2025@example.com"),
        )
        .await;

    let id = saved["id"].as_i64().expect("a numeric id");
    assert_ne!(id, sandbox.admin_id());
    let mtime = saved["__mtime__"].clone();
    assert!(mtime.is_i64());
    assert_eq!(
        saved,
        json!({
            "active": true, "admin": false, "pending": false, "communicationPreferences": null,
            "sex": "0", "avatarId": 0, "id": id, "organisationId": 0,
            "ownerId": sandbox.admin_id(), "plan": 0, "state": 0,
            "emailAddress": "test.user.2025@example.com", "firstName": "Test", "knownAs": "",
            "language": "English", "lastName": "User", "middleNames": "", "sidebarWidth": "",
            "skypeName": null, "timezone": null, "username": "test.user.2025@example.com",
            "uuid": "test-uuid-123", "addresses": null, "favoriteDashboards": null,
            "favoriteEvents": null, "frontPageButtons": null, "phoneNumbers": null,
            "accountExpiration": "01/01/1970", "dateOfBirth": "01/01/2000", "__mtime__": mtime,
        })
    );
    let read_back = site
        .json(
            &token,
            "v2/person/get",
            &person_get_body(json!([id.to_string()])),
        )
        .await;
    assert_eq!(read_back["objects"], json!([saved]));
    assert_eq!(
        sandbox.password_of("test.user.2025@example.com").as_deref(),
        Some("Test123!")
    );
    assert_eq!(sandbox.saves(), 1);
    let login = site
        .login_as("rollcall", "test.user.2025@example.com", "Test123!")
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn day_first_dates_and_sex_spellings_are_accepted_on_create() {
    let (sandbox, site, token) = given_site().await;
    for (n, (dob, sex, stored_sex)) in [
        ("24/03/1999", "FEMALE", "1"),
        ("1999-03-24", "unspecified", "2"),
        ("24/03/1999", "0", "0"),
    ]
    .into_iter()
    .enumerate()
    {
        let username = format!("new.person{n}");
        let body = json!({"person": {"id": -1, "username": username,
            "emailAddress": format!("{username}@example.com"), "firstName": "New",
            "lastName": "Person", "dateOfBirth": dob, "sex": sex, "active": true}});
        let saved = site.json(&token, "v2/person/save", &body).await;
        assert_eq!(saved["dateOfBirth"], "24/03/1999", "{saved}");
        assert_eq!(saved["sex"], stored_sex, "{saved}");
        assert_eq!(sandbox.password_of(&username), None);
    }
}

#[tokio::test]
async fn refused_saves_are_rpc_exceptions_in_http_200_and_change_nothing() {
    let (sandbox, site, token, [riley, ..]) = given_people().await;
    let before = sandbox.people();
    let riley_record = sandbox.person("riley.example").unwrap();
    let mut taken_email = riley_record.clone();
    taken_email["emailAddress"] = json!("AVERY.SILVA@example.com");
    let mut bad_dob = riley_record.clone();
    bad_dob["dateOfBirth"] = json!("31/02/1990");
    let mut unknown = riley_record.clone();
    unknown["id"] = json!("999999");
    let cases = [
        (
            recorded_create("Riley.Example", "new@example.com"),
            "A user with the username 'Riley.Example' already exists",
        ),
        (
            recorded_create("someone.new", "r.example@example.com"),
            "A user with the email address 'r.example@example.com' already exists",
        ),
        (
            json!({"person": taken_email}),
            "A user with the email address 'AVERY.SILVA@example.com' already exists",
        ),
        (
            json!({"person": bad_dob}),
            "Invalid date '31/02/1990': expected yyyy-mm-dd or dd/mm/yyyy",
        ),
        (json!({"person": unknown}), "No user with id 999999 exists"),
        (
            json!({"person": {"id": "-1", "username": "x.y", "sex": "robot"}}),
            "Invalid sex 'robot'",
        ),
    ];
    for (body, message) in cases {
        let response = site.call(&token, "v2/person/save", &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(rpc_message(&answer), message);
        assert!(answer["type"].is_string());
    }
    assert_eq!(sandbox.people(), before);
    assert_eq!(sandbox.saves(), 0);
    assert_eq!(sandbox.person_by_id(riley).unwrap(), riley_record);
}

#[tokio::test]
async fn an_update_replaces_the_record_with_the_one_sent() {
    let (sandbox, site, token, [riley, ..]) = given_people().await;
    let mut record = site
        .json(&token, "v2/person/get", &person_get_body(json!([riley])))
        .await["objects"][0]
        .clone();
    // As teamworksams sends it: changed fields, ids and counters as strings.
    record["firstName"] = json!("Rylee");
    record["dateOfBirth"] = json!("1991-02-03");
    record["active"] = json!(false);
    for key in [
        "id",
        "avatarId",
        "organisationId",
        "ownerId",
        "plan",
        "state",
    ] {
        record[key] = json!(record[key].to_string());
    }
    let saved = site
        .json(&token, "v2/person/save", &json!({"person": record}))
        .await;
    assert_eq!(saved["id"], riley);
    assert_eq!(saved["firstName"], "Rylee");
    assert_eq!(saved["dateOfBirth"], "03/02/1991");
    assert_eq!(saved["active"], false);
    assert_eq!(saved["state"], -1);
    assert_eq!(saved["uuid"], "new123");
    assert_eq!(sandbox.person("riley.example").unwrap(), saved);

    // A partial record clears what it leaves out.
    let partial = json!({"person": {"id": riley.to_string(), "username": "riley.example"}});
    let saved = site.json(&token, "v2/person/save", &partial).await;
    assert_eq!(saved["firstName"], Value::Null);
    assert_eq!(saved["uuid"], Value::Null);
    assert_eq!(saved["emailAddress"], Value::Null);
    assert_eq!(saved["ownerId"], sandbox.admin_id());
    assert_eq!(sandbox.saves(), 2);

    // With the knob off, fields left out keep their values.
    sandbox.set_save_replaces_record(false);
    let partial = json!({"person": {"id": riley, "firstName": "Riley"}});
    let saved = site.json(&token, "v2/person/save", &partial).await;
    assert_eq!(saved["firstName"], "Riley");
    assert_eq!(saved["username"], "riley.example");
}

#[tokio::test]
async fn a_password_sent_for_an_existing_account_is_accepted_but_not_applied() {
    let (sandbox, site, token) = given_site().await;
    sandbox.add_person(SeedPerson::new("casey.okafor").password("old-pass"));
    let mut record = sandbox.person("casey.okafor").unwrap();
    record["password"] = json!("new-pass");
    let saved = site
        .json(&token, "v2/person/save", &json!({"person": record.clone()}))
        .await;
    assert!(saved.get("password").is_none());
    assert_eq!(
        sandbox.password_of("casey.okafor").as_deref(),
        Some("old-pass")
    );
    let old = site.login_as("rollcall", "casey.okafor", "old-pass").await;
    assert_eq!(old.status(), StatusCode::OK);
    let new = site.login_as("rollcall", "casey.okafor", "new-pass").await;
    assert_eq!(new.status(), StatusCode::UNAUTHORIZED);

    sandbox.set_apply_password_on_update(true);
    site.json(&token, "v2/person/save", &json!({"person": record}))
        .await;
    assert_eq!(
        sandbox.password_of("casey.okafor").as_deref(),
        Some("new-pass")
    );
}

// -------------------------------------------------------------- KNOBS

#[tokio::test]
async fn fail_next_answers_the_statuses_asked_for_then_serves_again() {
    let (sandbox, site, token) = given_site().await;
    let body = json!({"name": ""});
    sandbox.fail_next("listgroups", 429, 2);
    sandbox.fail_next("person/save", 403, 1);
    for _ in 0..2 {
        let response = site.call(&token, "v1/listgroups", &body).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header_of(&response, "retry-after").as_deref(), Some("1"));
    }
    assert_eq!(
        site.call(&token, "v1/listgroups", &body).await.status(),
        StatusCode::OK
    );
    let denied = site
        .call(&token, "v2/person/save", &recorded_create("a.b", "a@b.c"))
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert!(denied.text().await.unwrap().contains("Access denied"));
    assert_eq!(sandbox.saves(), 0);

    for status in [401, 500] {
        sandbox.fail_next("usersearch", status, 1);
        let response = site
            .call(&token, "v1/usersearch", &json!({"identification": []}))
            .await;
        assert_eq!(response.status().as_u16(), status);
    }
    sandbox.fail_next("user/loginUser", 500, 1);
    let login = site
        .login_as("rollcall", "rollcall.api", "sandbox-password")
        .await;
    assert_eq!(login.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let calls = sandbox.calls();
    assert_eq!(calls.count("listgroups"), 3);
    assert_eq!(calls.injected_count("listgroups"), 2);
    assert_eq!(calls.injected_count("person/save"), 1);
    assert_eq!(calls.injected_count("usersearch"), 2);
    assert_eq!(calls.count("user/loginUser"), 2);
}

#[tokio::test]
async fn rpc_exception_next_answers_one_rpc_body_in_http_200() {
    let (sandbox, site, token) = given_site().await;
    sandbox.rpc_exception_next("person/get", "SomeServerException", "Something broke");
    let body = person_get_body(json!([sandbox.admin_id()]));
    let response = site.call(&token, "v2/person/get", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"__is_rpc_exception__": true, "type": "SomeServerException",
            "value": {"detailMessage": "Something broke", "cause": null}})
    );
    let next = site.json(&token, "v2/person/get", &body).await;
    assert_eq!(next["objects"][0]["id"], sandbox.admin_id());
}

#[tokio::test]
async fn the_fault_rate_answers_500_and_503_in_turn_deterministically() {
    async fn statuses(rate: f64) -> Vec<u16> {
        let sandbox = AmsSandbox::start(AmsConfig {
            fault_rate: rate,
            seed: 42,
            ..AmsConfig::default()
        })
        .await;
        let http = reqwest::Client::new();
        let mut seen = Vec::new();
        for _ in 0..40 {
            let response = http
                .post(format!("{}/api/v1/listgroups", sandbox.url()))
                .basic_auth("rollcall.api", Some("sandbox-password"))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            seen.push(response.status().as_u16());
        }
        assert_eq!(
            sandbox.calls().injected_count("listgroups"),
            seen.iter().filter(|s| **s != 200).count() as u64
        );
        seen
    }
    let all = statuses(1.0).await;
    assert_eq!(&all[..4], [500, 503, 500, 503]);
    let some = statuses(0.3).await;
    assert_eq!(some, statuses(0.3).await);
    let faults: Vec<u16> = some.iter().copied().filter(|s| *s != 200).collect();
    assert!((4..=24).contains(&faults.len()), "{some:?}");
    assert!(faults.iter().all(|s| [500, 503].contains(s)));
}

#[tokio::test]
async fn calls_record_the_most_requests_in_flight() {
    let (sandbox, site, token) = given_site().await;
    for _ in 0..3 {
        site.json(&token, "v1/listgroups", &json!({})).await;
    }
    assert_eq!(sandbox.calls().max_in_flight, 1);

    sandbox.reset_calls();
    sandbox.set_latency(std::time::Duration::from_millis(500));
    let body = json!({});
    let calls = (0..4).map(|_| site.call(&token, "v1/listgroups", &body));
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let calls = sandbox.calls();
    assert_eq!(calls.count("listgroups"), 4);
    assert_eq!(calls.total, 4);
    assert!(calls.max_in_flight >= 2, "{calls:?}");
}

// --------------------------------------------------------------- WIRE

#[tokio::test]
async fn unknown_paths_other_methods_and_non_json_bodies_are_refused() {
    let (sandbox, site, token) = given_site().await;
    let http = &site.http;
    let not_found = http
        .post(format!("{}/api/v1/currentgroup", sandbox.url()))
        .header("session-header", &token)
        .json(&json!({"name": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    let other_site = http
        .post(format!("{}/other/api/v1/listgroups", sandbox.control_url()))
        .header("session-header", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(other_site.status(), StatusCode::NOT_FOUND);
    let get = http
        .get(site.endpoint("v1/listgroups"))
        .header("session-header", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let not_json = http
        .post(site.endpoint("v1/usersearch"))
        .header("session-header", &token)
        .body("identification=all")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    // Without the query string, as smartabaseR calls the data endpoints.
    let bare = http
        .post(format!("{}/api/v1/usersearch", sandbox.url()))
        .header("session-header", &token)
        .json(&json!({"identification": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    assert_eq!(sandbox.calls().count("unknown"), 2);
}

#[tokio::test]
async fn control_endpoints_seed_and_report() {
    let sandbox = AmsSandbox::start(AmsConfig::default()).await;
    let http = reqwest::Client::new();
    let control = |path: &str| format!("{}/sandbox/{path}", sandbox.control_url());
    let added: Value = http
        .post(control("people"))
        .json(&json!([{"username": "kai.osei", "active": false}, {"username": "sage.rossi", "sex": "female"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = added["ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2);
    let kai = sandbox.person("kai.osei").unwrap();
    assert_eq!(kai["active"], false);
    assert_eq!(kai["firstName"], "Kai");
    assert_eq!(sandbox.person("sage.rossi").unwrap()["sex"], "1");
    let duplicate = http
        .post(control("people"))
        .json(&json!({"username": "kai.osei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    let group = http
        .post(control("groups"))
        .json(&json!({"name": "Squad", "athletes": ids}))
        .send()
        .await
        .unwrap();
    assert_eq!(group.status(), StatusCode::OK);
    assert_eq!(sandbox.group_members("Squad").len(), 2);
    let knobs = http
        .post(control("config"))
        .json(&json!({"email_alias": true, "fault_rate": 0.0, "session_lifetime_secs": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(knobs.status(), StatusCode::OK);
    let bad_knob = http
        .post(control("config"))
        .json(&json!({"fault_rate": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_knob.status(), StatusCode::BAD_REQUEST);
    let state: Value = http
        .get(control("state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["knobs"]["email_alias"], true);
    assert_eq!(state["people"].as_array().unwrap().len(), 3);
    assert!(!state.to_string().contains("sandbox-password"));
    let calls: Value = http
        .get(control("calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["total"], 0);
}

#[tokio::test]
async fn generated_people_are_searchable() {
    let (sandbox, site, token) = given_site().await;
    let ids = sandbox.generate_people(120, 7);
    assert_eq!(ids.len(), 120);
    let answer = site
        .json(&token, "v1/usersearch", &json!({"identification": []}))
        .await;
    assert_eq!(users(&answer).len(), 121);
    let people = site
        .json(&token, "v2/person/get", &person_get_body(json!(ids)))
        .await;
    let inactive = people["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["active"] == false)
        .count();
    assert_eq!(inactive, 6);
}

#[tokio::test]
async fn the_binary_serves_an_ams_site_with_generated_people() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args([
            "--service",
            "ams",
            "--site",
            "club",
            "--generate-people",
            "40",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sandbox binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = stdout.next().expect("SANDBOX_URL line").unwrap();
    let admin = stdout.next().expect("SANDBOX_ADMIN line").unwrap();
    let url = url.strip_prefix("SANDBOX_URL=").expect(&url).to_string();
    assert!(url.ends_with("/club"), "{url}");
    assert_eq!(admin, "SANDBOX_ADMIN=rollcall.api");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let summary = stderr.next().expect("summary line").unwrap();
    assert!(summary.contains("\"people\":40"), "{summary}");

    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{url}/api/v1/usersearch?informat=json&format=json"))
        .basic_auth("rollcall.api", Some("sandbox-password"))
        .json(&json!({"identification": []}))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let answer: Value = answer.json().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users(&answer).len(), 41);
}

#[test]
fn the_binary_refuses_flags_of_the_other_service() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["--service", "ams", "--mode", "online"])
        .output()
        .expect("run the sandbox binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown flag --mode for the AMS sandbox"),
        "{stderr}"
    );
}
