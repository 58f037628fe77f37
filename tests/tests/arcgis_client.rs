//! The real ArcGIS client against the sandbox portal: sign-in, token
//! refresh, retries, paging and the typed errors the jobs act on.

use std::time::{Duration, Instant};

use connectors::arcgis::{
    ArcgisClient, ArcgisOptions, ArcgisSettings, GroupLookup, Invitation, MemberCreation,
    MemberListing, MemberLookup, OrgGroups, OrgInfo, PortalKind,
};
use connectors::aws::AwsClients;
use connectors::retry::RetryPolicy;
use connectors::secrets::{Credentials, SecretString};
use connectors::Error;
use rollcall_tests::moto::{unique_name, Moto};
use rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember};
use serde_json::json;

fn options(max_attempts: u32) -> ArcgisOptions {
    ArcgisOptions {
        retry: RetryPolicy {
            max_attempts,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..ArcgisOptions::default()
    }
}

fn admin(sandbox: &ArcgisSandbox) -> Credentials {
    Credentials::Account {
        username: sandbox.admin_username().to_string(),
        password: SecretString::new(sandbox.admin_password()),
    }
}

#[tokio::test]
async fn online_and_enterprise_are_told_apart_from_portals_self() {
    for (config, kind) in [
        (SandboxConfig::online(), PortalKind::Online),
        (SandboxConfig::enterprise(), PortalKind::Enterprise),
    ] {
        let sandbox = ArcgisSandbox::start(config).await;
        let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(3)).unwrap();
        let portal = client.portal().await.unwrap();
        assert_eq!(portal.kind, kind);
        assert_eq!(portal.caller.unwrap().username, "rollcall_admin");
    }
}

#[tokio::test]
async fn a_rotated_secret_is_read_afresh_when_the_portal_refuses_the_old_one() {
    // GIVEN a secret in Secrets Manager holding an outdated password, read
    // once at cold start as main does
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let moto = Moto::connect().await;
    let secret_id = unique_name("rollcall-arcgis");
    let outdated = json!({"username": "rollcall_admin", "password": "Outdated-Pass-1"});
    moto.create_secret(&secret_id, &outdated.to_string()).await;
    let aws = AwsClients::from_conf(&moto.conf);
    let client = ArcgisSettings::new(sandbox.url(), &secret_id)
        .client(aws.secrets.clone())
        .await
        .expect("the secret is read at cold start");

    // WHEN the portal refuses it
    let error = client.portal().await.unwrap_err();
    assert!(matches!(error, Error::SignIn { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("Outdated-Pass-1"));

    // AND the admin rotates the secret
    let current =
        json!({"username": sandbox.admin_username(), "password": sandbox.admin_password()});
    moto.put_secret_value(&secret_id, &current.to_string())
        .await;

    // THEN the same client reads the secret again and signs in (well inside
    // the cache's 15 minutes)
    let portal = client
        .portal()
        .await
        .expect("signed in with the rotated secret");
    assert_eq!(portal.caller.unwrap().username, "rollcall_admin");
}

#[tokio::test]
async fn a_missing_secret_fails_the_cold_start_naming_it() {
    let moto = Moto::connect().await;
    let aws = AwsClients::from_conf(&moto.conf);
    let missing = unique_name("no-such-secret");
    let error = ArcgisSettings::new("https://example.maps.arcgis.com", &missing)
        .client(aws.secrets.clone())
        .await
        .err()
        .expect("no client without its secret");
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&missing), "{error}");
}

#[tokio::test]
async fn a_wrong_password_is_a_sign_in_error_that_never_shows_the_password() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let wrong = Credentials::Account {
        username: "rollcall_admin".into(),
        password: SecretString::new("not-the-Password-42"),
    };
    let client = ArcgisClient::new(&sandbox.url(), wrong, options(3)).unwrap();
    let error = client.portal().await.unwrap_err();
    assert!(matches!(error, Error::SignIn { .. }), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("Invalid username or password"), "{shown}");
    assert!(!shown.contains("not-the-Password-42"), "{shown}");

    // AND new credentials take effect without a new client
    client.set_credentials(admin(&sandbox)).await;
    assert!(client.portal().await.is_ok());
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_goes_through() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(3)).unwrap();
    client.portal().await.unwrap();
    sandbox.expire_tokens();
    let portal = client.portal().await.expect("refreshed after 498");
    assert_eq!(portal.kind, PortalKind::Online);
    assert_eq!(sandbox.calls().count("generateToken"), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_before_giving_up() {
    // GIVEN a portal failing every call: first 429 with Retry-After: 1, then 503
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.set_retry_after(1);
    sandbox.set_fault_rate(1.0);
    let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(2)).unwrap();

    // WHEN a call is made with two attempts allowed
    let started = Instant::now();
    let error = client.portal().await.unwrap_err();

    // THEN the client waited as told between them, then reported the outage
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
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
    assert_eq!(sandbox.calls().faults, 2);
}

#[tokio::test]
async fn app_credentials_sign_in_but_cannot_administer_members() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let app = Credentials::App {
        client_id: "rollcallSandboxApp".into(),
        client_secret: SecretString::new("sandbox-app-secret"),
    };
    let client = ArcgisClient::new(&sandbox.url(), app, options(3)).unwrap();
    assert!(client.portal().await.unwrap().caller.is_none());
    let invitation = Invitation {
        username: "app.made.user".into(),
        first_name: "App".into(),
        last_name: "Made".into(),
        email: "app@example.org".into(),
        role: None,
        user_type: None,
        credits: None,
        password: None,
        provider: None,
        idp_username: None,
    };
    let error = client.invite(&[invitation]).await.unwrap_err();
    assert!(matches!(error, Error::Permission { .. }), "{error:?}");
    assert!(sandbox.member("app.made.user").is_none());
}

#[tokio::test]
async fn missing_users_and_groups_are_none_and_the_member_list_pages_to_the_end() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    for i in 0..249 {
        sandbox.add_member(SeedMember::new(&format!("paged.member{i:03}")));
    }
    sandbox.add_group("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "Somewhere");
    let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(3)).unwrap();
    assert!(client.user("no.such.person").await.unwrap().is_none());
    assert!(client
        .group("ffffffffffffffffffffffffffffffff")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        client
            .group("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf")
            .await
            .unwrap()
            .unwrap()
            .title,
        "Somewhere"
    );
    let found = client
        .user("PAGED.MEMBER007")
        .await
        .unwrap()
        .expect("case-insensitive lookup");
    assert_eq!(found.username, "paged.member007");

    let mut usernames = Vec::new();
    let mut start = 1;
    loop {
        let page = client.users_page(start, 100).await.unwrap();
        assert_eq!(page.total, 250);
        usernames.extend(page.users.into_iter().map(|u| u.username));
        match page.next_start {
            Some(next) => start = next,
            None => break,
        }
    }
    assert_eq!(usernames.len(), 250);
    assert_eq!(
        usernames.first().map(String::as_str),
        Some("paged.member000")
    );
    assert_eq!(sandbox.calls().count("portals/self/users"), 3);
}

#[tokio::test]
async fn the_org_groups_are_listed_page_by_page_with_their_owners() {
    // GIVEN 150 groups, one owned by a member
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("owner.one"));
    for i in 0..149 {
        sandbox.add_group(&format!("{i:032x}"), &format!("Team {i:03}"));
    }
    sandbox.add_group_owned_by("f0000000000000000000000000000000", "Zebra", "owner.one");
    let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(3)).unwrap();
    let org = client.portal().await.unwrap().id;

    // WHEN the client pages through the org's groups
    let mut groups = Vec::new();
    let mut start = Some(1);
    while let Some(at) = start {
        let page = client.groups_page(&org, at, 100).await.unwrap();
        assert_eq!(page.total, 150);
        groups.extend(page.groups);
        start = page.next_start;
    }

    // THEN every group comes once, by title, with its owner
    assert_eq!(groups.len(), 150);
    assert_eq!(groups[0].title, "Team 000");
    assert_eq!(groups[0].owner, "rollcall_admin");
    assert_eq!(groups[149].id, "f0000000000000000000000000000000");
    assert_eq!(groups[149].owner, "owner.one");
    assert_eq!(sandbox.calls().count("groupSearch"), 2);
    // AND another org's id lists nothing
    let other = client.groups_page("SomeOtherOrg99", 1, 100).await.unwrap();
    assert!(other.groups.is_empty() && other.next_start.is_none());
}

#[tokio::test]
async fn credit_allocations_are_read_from_the_listing() {
    // GIVEN an Online member with 250 credits and one with no limit
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember {
        credits: Some(250.0),
        ..SeedMember::new("counted.member")
    });
    sandbox.add_member(SeedMember::new("unlimited.member"));
    let client = ArcgisClient::new(&sandbox.url(), admin(&sandbox), options(3)).unwrap();

    // WHEN the members are listed
    let page = client.users_page(1, 100).await.unwrap();
    let credits = |name: &str| {
        page.users
            .iter()
            .find(|u| u.username == name)
            .unwrap()
            .assigned_credits
    };

    // THEN the allocation is the number, and -1 for unlimited
    assert_eq!(credits("counted.member"), Some(250.0));
    assert_eq!(credits("unlimited.member"), Some(-1.0));

    // AND an Enterprise portal answers none
    let enterprise = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    enterprise.add_member(SeedMember::new("plain.member"));
    let client = ArcgisClient::new(&enterprise.url(), admin(&enterprise), options(3)).unwrap();
    let page = client.users_page(1, 100).await.unwrap();
    assert!(page.users.iter().all(|u| u.assigned_credits.is_none()));
}
