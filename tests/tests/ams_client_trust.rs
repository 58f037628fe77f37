//! What the Teamworks AMS client never gives away: the password and the
//! session token stay out of the log at TRACE, and nothing follows a
//! redirect to another host.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use connectors::ams::{AmsClient, AmsGroups, AmsOptions, AmsPeople, AmsUsers, Person, UserFilter};
use connectors::secrets::{Credentials, SecretString};
use connectors::Error;
use reqwest::StatusCode;
use rollcall_tests::capture::{CapturedLog, Recorder};
use rollcall_tests::sandbox::{AmsConfig, AmsSandbox};
use serde_json::json;

const NEW_PASSWORD: &str = "Welcome-2026-Pw!";

/// Logs in to `sandbox` as its API account outside the client; the token.
async fn raw_login(sandbox: &AmsSandbox) -> String {
    let body = json!({
        "username": sandbox.admin_username(),
        "password": sandbox.admin_password(),
        "loginProperties": {"appName": sandbox.site(), "clientTime": "2025-05-16T08:28:06"},
    });
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/user/loginUser", sandbox.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()["session-header"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Whether `sandbox` takes `token` as a live session.
async fn is_live(sandbox: &AmsSandbox, token: &str) -> bool {
    reqwest::Client::new()
        .post(format!("{}/api/v1/listgroups", sandbox.url()))
        .header("session-header", token)
        .json(&json!({"name": ""}))
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::OK
}

#[tokio::test]
async fn at_trace_neither_the_password_nor_the_session_token_reaches_the_log() {
    // GIVEN the tokens the client will get: a site issues its tokens from
    // its seed, so a twin site with the same seed hands out the same ones
    let twin = AmsSandbox::start(AmsConfig::new()).await;
    let (first_token, second_token) = (raw_login(&twin).await, raw_login(&twin).await);
    drop(twin);
    let sandbox = AmsSandbox::start(AmsConfig::new()).await;
    let credentials = Credentials::Account {
        username: sandbox.admin_username().into(),
        password: SecretString::new(sandbox.admin_password()),
    };
    let client = AmsClient::new(&sandbox.url(), credentials, AmsOptions::default()).unwrap();
    let log = CapturedLog::default();

    // WHEN the client logs in, searches, creates an account with a password,
    let guard = log.at_trace();
    client.users(&UserFilter::All).await.unwrap();
    let mut person = Person::new_account();
    for (field, value) in [
        ("firstName", "Jo"),
        ("lastName", "Newcomer"),
        ("username", "jo.newcomer"),
        ("emailAddress", "jo@example.org"),
        ("dateOfBirth", "2000-01-31"),
        ("password", NEW_PASSWORD),
    ] {
        person.set_text(field, value);
    }
    client.save(&person).await.unwrap();
    drop(guard);
    assert!(
        is_live(&sandbox, &first_token).await,
        "the client's session"
    );

    // AND logs in again after the site ended its session
    sandbox.expire_sessions();
    let guard = log.at_trace();
    client.group_names().await.unwrap();
    drop(guard);
    assert!(
        is_live(&sandbox, &second_token).await,
        "the client's new session"
    );

    // THEN the log follows the run, and holds no password and no token
    let text = log.text();
    assert!(text.contains("logged in"), "{text}");
    assert!(text.contains("session refused; logging in again"), "{text}");
    for secret in [
        sandbox.admin_password(),
        NEW_PASSWORD,
        &first_token,
        &second_token,
    ] {
        assert!(!text.contains(secret), "{secret} was logged:\n{text}");
    }
}

#[tokio::test]
async fn no_password_or_token_follows_a_redirect_to_another_host() {
    // GIVEN a second server that records whatever reaches it, and a site
    // answering every request with 307 to that server
    let other = Recorder::start().await;
    let other_url = other.url.clone();
    let asked = Arc::new(AtomicUsize::new(0));
    let redirecting = {
        let asked = asked.clone();
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (asked, to) = (asked.clone(), format!("{other_url}{uri}"));
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, to)],
                )
            }
        })
    };
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_url = format!("http://{}/rollcall", site.local_addr().unwrap());
    let serving = tokio::spawn(async move { axum::serve(site, redirecting).await });
    let credentials = Credentials::Account {
        username: "rollcall.api".into(),
        password: SecretString::new("Sup3r-Secret-Pw-4711"),
    };
    let client = AmsClient::new(&site_url, credentials, AmsOptions::default()).unwrap();

    // WHEN the client logs in to make a call
    let error = client.group_names().await.unwrap_err();

    // THEN the call fails naming the redirect, and the other host saw nothing
    assert!(matches!(error, Error::Api { code: 307, .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("redirected the request to another host"),
        "{error}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1, "asked once, not retried");
    assert_eq!(other.seen(), Vec::<String>::new());
    serving.abort();
}
