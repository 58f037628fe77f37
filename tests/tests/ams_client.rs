//! The real Teamworks AMS client against the AMS sandbox: login and the
//! shared session, one re-login when the session dies, retries, searches,
//! person records read, created and updated, and the typed errors the jobs
//! act on.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use connectors::ams::{
    AmsClient, AmsGroups, AmsOptions, AmsPeople, AmsSettings, AmsUser, AmsUsers, Person, UserFilter,
};
use connectors::aws::AwsClients;
use connectors::deadline::Deadline;
use connectors::retry::RetryPolicy;
use connectors::secrets::{Credentials, SecretString};
use connectors::{Error, ErrorKind};
use futures::future::join_all;
use rollcall_tests::moto::{unique_name, Moto};
use rollcall_tests::sandbox::{AmsConfig, AmsSandbox, SeedPerson};
use serde_json::{json, Value};

fn options(max_attempts: u32) -> AmsOptions {
    AmsOptions {
        retry: RetryPolicy {
            max_attempts,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..AmsOptions::default()
    }
}

fn api_account(sandbox: &AmsSandbox) -> Credentials {
    Credentials::Account {
        username: sandbox.admin_username().to_string(),
        password: SecretString::new(sandbox.admin_password()),
    }
}

fn client(sandbox: &AmsSandbox) -> AmsClient {
    AmsClient::new(&sandbox.url(), api_account(sandbox), options(4)).unwrap()
}

/// A site with three people, two of them in "Team A".
async fn site() -> (AmsSandbox, [i64; 3]) {
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let riley = sandbox.add_person(
        SeedPerson::new("riley.example")
            .dob("01/12/1990")
            .sex("MALE")
            .uuid("new123"),
    );
    let sam = sandbox.add_person(SeedPerson::new("sam.smith").email("sam@example.org"));
    let alex = sandbox.add_person(SeedPerson::new("alex.jones"));
    sandbox.add_group("Team A", &[riley, sam]);
    (sandbox, [riley, sam, alex])
}

fn usernames(users: &[AmsUser]) -> BTreeSet<String> {
    users.iter().map(|u| u.username.clone()).collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn one_login_serves_every_call_even_concurrent_first_ones() {
    let (sandbox, [riley, ..]) = site().await;
    let client = client(&sandbox);

    // WHEN eight calls start at once on a fresh client, then three more follow
    let first = join_all((0..8).map(|_| client.users(&UserFilter::All))).await;
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    client.group_names().await.unwrap();
    client.people(&[riley]).await.unwrap();
    client
        .users(&UserFilter::Group("Team A".into()))
        .await
        .unwrap();

    // THEN one login served them all
    let calls = sandbox.calls();
    assert_eq!(calls.count("user/loginUser"), 1, "{calls:?}");
    assert_eq!(calls.count("usersearch"), 8);
    assert_eq!(calls.unauthorized_count("usersearch"), 0);
}

#[tokio::test]
async fn a_session_that_dies_mid_run_costs_exactly_one_new_login() {
    for expired_status in [401, 403] {
        let mut config = AmsConfig::new();
        config.session_expired_status = expired_status;
        let sandbox = AmsSandbox::start(config).await;
        sandbox.add_person(SeedPerson::new("riley.example"));
        let client = client(&sandbox);
        let before = client.users(&UserFilter::All).await.unwrap();

        // WHEN the site ends the session and five calls find it dead at once
        sandbox.expire_sessions();
        let after = join_all((0..5).map(|_| client.users(&UserFilter::All))).await;

        // THEN every call went through after a single new login
        for answer in after {
            assert_eq!(answer.unwrap(), before, "expired with {expired_status}");
        }
        let calls = sandbox.calls();
        assert_eq!(calls.count("user/loginUser"), 2, "{calls:?}");
        assert!(calls.unauthorized_count("usersearch") >= 1, "{calls:?}");
    }
}

#[tokio::test]
async fn bad_credentials_are_a_sign_in_error_that_never_shows_the_password() {
    for as_rpc_exception in [false, true] {
        let mut config = AmsConfig::new();
        config.bad_login_as_rpc_exception = as_rpc_exception;
        let sandbox = AmsSandbox::start(config).await;
        let wrong = Credentials::Account {
            username: sandbox.admin_username().into(),
            password: SecretString::new("not-the-Password-42"),
        };
        let client = AmsClient::new(&sandbox.url(), wrong, options(4)).unwrap();
        let error = client.users(&UserFilter::All).await.unwrap_err();
        assert!(matches!(error, Error::SignIn { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::SignIn);
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("not-the-Password-42"), "{shown}");
        if as_rpc_exception {
            assert!(shown.contains("Invalid username or password"), "{shown}");
        } else {
            assert!(shown.contains("HTTP 401"), "{shown}");
        }
        // A refused login is not retried, and nothing else was asked.
        let calls = sandbox.calls();
        assert_eq!(calls.count("user/loginUser"), 1, "{calls:?}");
        assert_eq!(calls.total, 1, "{calls:?}");
    }
}

#[tokio::test]
async fn a_url_without_a_site_name_is_a_configuration_error() {
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let error = AmsClient::new(&sandbox.control_url(), api_account(&sandbox), options(1))
        .err()
        .expect("no client without a site name");
    assert_eq!(error.kind(), ErrorKind::InvalidConfiguration);
    assert!(error.to_string().contains("AMS_URL"), "{error}");
    assert!(error.to_string().contains("has no site name"), "{error}");
}

#[tokio::test]
async fn each_filter_finds_its_users() {
    let (sandbox, [riley, _, alex]) = site().await;
    let client = client(&sandbox);

    let all = client.users(&UserFilter::All).await.unwrap();
    assert_eq!(
        usernames(&all),
        names(&["rollcall.api", "riley.example", "sam.smith", "alex.jones"])
    );
    let found = client
        .users(&UserFilter::Usernames(vec![
            "riley.example".into(),
            "alex.jones".into(),
            "nobody".into(),
        ]))
        .await
        .unwrap();
    assert_eq!(usernames(&found), names(&["riley.example", "alex.jones"]));
    let riley_seen = found.iter().find(|u| u.user_id == riley).unwrap();
    assert_eq!(
        *riley_seen,
        AmsUser {
            user_id: riley,
            first_name: "Riley".into(),
            last_name: "Example".into(),
            username: "riley.example".into(),
            email: "riley.example@example.com".into(),
            dob: "01/12/1990".into(),
            uuid: "new123".into(),
            middle_name: String::new(),
            known_as: String::new(),
            sex: "MALE".into(),
        }
    );

    let by_email = client
        .users(&UserFilter::Emails(vec!["sam@example.org".into()]))
        .await
        .unwrap();
    assert_eq!(usernames(&by_email), names(&["sam.smith"]));
    let by_id = client
        .users(&UserFilter::UserIds(vec![alex]))
        .await
        .unwrap();
    assert_eq!(usernames(&by_id), names(&["alex.jones"]));
    let by_name = client
        .users(&UserFilter::Name("  riley EXAMPLE ".into()))
        .await
        .unwrap();
    assert_eq!(usernames(&by_name), names(&["riley.example"]));
    assert!(client
        .users(&UserFilter::Name("Riley".into()))
        .await
        .unwrap()
        .is_empty());
    let team = client
        .users(&UserFilter::Group("Team A".into()))
        .await
        .unwrap();
    assert_eq!(usernames(&team), names(&["riley.example", "sam.smith"]));
    let nobody = client
        .users(&UserFilter::Group("No Such Group".into()))
        .await
        .unwrap();
    assert!(nobody.is_empty(), "{nobody:?}");
    let none = client
        .users(&UserFilter::Usernames(vec!["nobody".into()]))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");

    // An empty list is asked of no one (its body would mean "everyone").
    let searches = sandbox.calls().count("usersearch");
    let empty = client.users(&UserFilter::Usernames(vec![])).await.unwrap();
    assert!(empty.is_empty());
    assert_eq!(sandbox.calls().count("usersearch"), searches);
}

#[tokio::test]
async fn group_names_are_the_sites_groups() {
    let (sandbox, [riley, ..]) = site().await;
    sandbox.add_coaches("Coaches", &[riley]);
    let mut groups = client(&sandbox).group_names().await.unwrap();
    groups.sort();
    assert_eq!(groups, vec!["Coaches".to_string(), "Team A".to_string()]);
}

#[tokio::test]
async fn person_records_come_back_whole_in_batches() {
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let ids = sandbox.generate_people(250, 7);
    let client = client(&sandbox);

    // WHEN 250 ids and one unknown id are asked for
    let mut asked = ids.clone();
    asked.push(999_999);
    let people = client.people(&asked).await.unwrap();

    // THEN every known record comes back exactly as the site holds it, in
    // two calls of at most 200 ids, and the unknown id is absent
    assert_eq!(people.len(), 250);
    for person in &people {
        let id = person.id().expect("an id");
        let held = sandbox.person_by_id(id).expect("a held record");
        assert_eq!(Value::Object(person.fields().clone()), held);
    }
    let found: BTreeSet<i64> = people.iter().filter_map(Person::id).collect();
    assert_eq!(found, ids.iter().copied().collect());
    assert_eq!(sandbox.calls().count("person/get"), 2);
    assert!(client.people(&[]).await.unwrap().is_empty());
    assert_eq!(sandbox.calls().count("person/get"), 2);
}

fn new_account(username: &str, password: &str) -> Person {
    let mut person = Person::new_account();
    person.set_text("firstName", "Jo");
    person.set_text("lastName", "Newcomer");
    person.set_text("username", username);
    person.set_text("emailAddress", format!("{username}@example.org"));
    person.set_text("dateOfBirth", "2000-01-31");
    person.set_text("password", password);
    person.set("active", json!(true));
    person.set_text("sex", "Female");
    person
}

#[tokio::test]
async fn a_save_without_an_id_creates_the_account() {
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let client = client(&sandbox);

    let stored = client
        .save(&new_account("jo.newcomer", "Welcome-2026!"))
        .await
        .unwrap();

    // THEN the answer is the stored record: a new id, the date as dd/mm/yyyy
    let id = stored.id().expect("the new account's id");
    assert_eq!(stored.text("dateOfBirth"), "31/01/2000");
    assert_eq!(stored.text("ownerId"), sandbox.admin_id().to_string());
    assert_eq!(stored.text("sex"), "1");
    assert_eq!(
        sandbox.person("jo.newcomer"),
        Some(Value::Object(stored.fields().clone()))
    );
    assert_eq!(sandbox.person_by_id(id).unwrap()["username"], "jo.newcomer");
    assert_eq!(
        sandbox.password_of("jo.newcomer").as_deref(),
        Some("Welcome-2026!")
    );
    assert!(!format!("{stored:?}").contains("Welcome-2026!"));
}

#[tokio::test]
async fn an_update_read_from_the_site_changes_only_the_changed_field() {
    let (sandbox, [riley, ..]) = site().await;
    let client = client(&sandbox);
    let before = sandbox.person_by_id(riley).unwrap();

    // WHEN the record is read, one field changed, and written back
    let mut person = client.people(&[riley]).await.unwrap().remove(0);
    person.set_text("knownAs", "Ry");
    let stored = client.save(&person).await.unwrap();

    // THEN the site holds the same record but for that field (and its
    // modification time)
    assert_eq!(stored.id(), Some(riley));
    let after = sandbox.person_by_id(riley).unwrap();
    assert_eq!(after["knownAs"], "Ry");
    for (field, value) in before.as_object().unwrap() {
        if field != "knownAs" && field != "__mtime__" {
            assert_eq!(&after[field], value, "{field} changed");
        }
    }
    assert_eq!(
        after.as_object().unwrap().len(),
        before.as_object().unwrap().len()
    );
}

#[tokio::test]
async fn creating_a_taken_username_is_already_exists() {
    let (sandbox, _) = site().await;
    let client = client(&sandbox);
    let people = sandbox.people().len();

    let error = client
        .save(&new_account("riley.example", "Welcome-2026!"))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");
    assert!(error.to_string().contains("riley.example"), "{error}");
    assert!(!format!("{error} {error:?}").contains("Welcome-2026!"));
    assert_eq!(sandbox.people().len(), people);
}

#[tokio::test]
async fn saving_over_an_unknown_id_is_not_found() {
    let (sandbox, [riley, ..]) = site().await;
    let client = client(&sandbox);
    let mut person = client.people(&[riley]).await.unwrap().remove(0);
    person.set("id", json!(4711));
    person.set_text("username", "someone.else");
    person.set_text("emailAddress", "someone.else@example.org");
    let error = client.save(&person).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("4711"), "{error}");
    assert!(sandbox.person("someone.else").is_none());
}

#[tokio::test]
async fn an_rpc_exception_on_save_is_never_a_success() {
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    sandbox.rpc_exception_next(
        "person/save",
        "com.fusionsport.exception.ValidationException",
        "The date of birth is not valid",
    );
    let client = client(&sandbox);

    let error = client
        .save(&new_account("jo.newcomer", "Welcome-2026!"))
        .await
        .unwrap_err();

    match &error {
        Error::Api {
            operation,
            message_code,
            message,
            ..
        } => {
            assert_eq!(operation, "person/save");
            assert_eq!(
                message_code.as_deref(),
                Some("com.fusionsport.exception.ValidationException")
            );
            assert_eq!(message, "The date of birth is not valid");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert!(sandbox.person("jo.newcomer").is_none());
    assert_eq!(sandbox.saves(), 0);
    assert_eq!(sandbox.calls().count("person/save"), 1, "not retried");
}

#[tokio::test]
async fn a_refusal_that_outlives_a_new_login_is_a_permission_error() {
    let (sandbox, [riley, ..]) = site().await;
    let client = client(&sandbox);
    let mut person = client.people(&[riley]).await.unwrap().remove(0);
    person.set_text("knownAs", "Ry");
    sandbox.fail_next("person/save", 403, 2);

    let error = client.save(&person).await.unwrap_err();

    assert!(matches!(error, Error::Permission { .. }), "{error:?}");
    assert!(error.to_string().contains("Access denied"), "{error}");
    assert_eq!(sandbox.calls().count("user/loginUser"), 2);
    assert_eq!(sandbox.person_by_id(riley).unwrap()["knownAs"], "");
}

#[tokio::test]
async fn server_errors_are_retried_until_the_site_answers() {
    let (sandbox, _) = site().await;
    let client = client(&sandbox);
    sandbox.fail_next("usersearch", 500, 2);
    let users = client.users(&UserFilter::All).await.unwrap();
    assert_eq!(users.len(), 4);
    let calls = sandbox.calls();
    assert_eq!(calls.count("usersearch"), 3);
    assert_eq!(calls.injected_count("usersearch"), 2);

    // AND a site that keeps failing ends as unavailable after the attempts
    let patient = AmsClient::new(&sandbox.url(), api_account(&sandbox), options(2)).unwrap();
    sandbox.fail_next("listgroups", 503, 5);
    let error = patient.group_names().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                status: 503,
                attempts: 2,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let (sandbox, _) = site().await;
    let client = client(&sandbox);
    client.group_names().await.unwrap();
    sandbox.fail_next("usersearch", 429, 1);

    let started = Instant::now();
    let users = client.users(&UserFilter::All).await.unwrap();

    // THEN the client waited the second the site asked for (its own backoff
    // is at most 50 ms here), then got its answer
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(users.len(), 4);
    assert_eq!(sandbox.calls().count("usersearch"), 2);
}

#[tokio::test]
async fn a_call_ends_at_the_lambda_deadline() {
    let (sandbox, _) = site().await;
    let client = client(&sandbox);
    sandbox.set_latency(Duration::from_secs(30));
    let soon = Deadline::at(Instant::now() + Duration::from_millis(600));
    let error = soon
        .scope(Duration::from_millis(400), client.users(&UserFilter::All))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Deadline(_)), "{error:?}");
}

#[tokio::test]
async fn a_rotated_secret_is_read_afresh_when_the_site_refuses_the_old_one() {
    // GIVEN a secret holding an outdated password, read once at cold start
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let moto = Moto::connect().await;
    let secret_id = unique_name("rollcall-ams");
    let outdated = json!({"username": sandbox.admin_username(), "password": "Outdated-Pass-1"});
    moto.create_secret(&secret_id, &outdated.to_string()).await;
    let aws = AwsClients::from_conf(&moto.conf);
    let client = AmsSettings::new(sandbox.url(), &secret_id)
        .client(aws.secrets.clone())
        .await
        .expect("the secret is read at cold start");

    // WHEN the site refuses it
    let error = client.group_names().await.unwrap_err();
    assert!(matches!(error, Error::SignIn { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("Outdated-Pass-1"));

    // AND the admin rotates the secret
    let current =
        json!({"username": sandbox.admin_username(), "password": sandbox.admin_password()});
    moto.put_secret_value(&secret_id, &current.to_string())
        .await;

    // THEN the same client reads the secret again and logs in
    client
        .group_names()
        .await
        .expect("logged in with the rotated secret");
}
