//! Tests of the Amazon Connect emulation with the real `aws-sdk-connect`
//! client pointed at it through `endpoint_url`, so the sandbox is known to
//! speak the REST-JSON wire format (URIs, bodies, timestamps, error
//! classification) of the Amazon Connect API Reference
//! (e.g. <https://docs.aws.amazon.com/connect/latest/APIReference/API_SearchUsers.html>;
//! all sources are listed in `rollcall_tests::sandbox::connect`) before
//! rollcall's adapter uses it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{
    ListCondition, PredefinedAttributeValues, StringComparisonType, StringCondition,
    TargetListType, UserProficiency, UserProficiencyDisassociate, UserSearchCriteria,
};
use aws_sdk_connect::Client;
use rollcall_tests::sandbox::{ConnectCalls, ConnectConfig, ConnectSandbox, DEFAULT_INSTANCE_ID};
use serde_json::{json, Value};

fn client_with(sandbox: &ConnectSandbox, retry: RetryConfig) -> Client {
    let conf = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(sandbox.url())
        .retry_config(retry)
        .build();
    Client::from_conf(conf)
}

fn client(sandbox: &ConnectSandbox) -> Client {
    client_with(sandbox, RetryConfig::disabled())
}

fn prof(name: &str, value: &str, level: f32) -> UserProficiency {
    UserProficiency::builder()
        .attribute_name(name)
        .attribute_value(value)
        .level(level)
        .build()
        .unwrap()
}

fn unprof(name: &str, value: &str) -> UserProficiencyDisassociate {
    UserProficiencyDisassociate::builder()
        .attribute_name(name)
        .attribute_value(value)
        .build()
        .unwrap()
}

fn username_condition(value: &str, cmp: StringComparisonType) -> UserSearchCriteria {
    UserSearchCriteria::builder()
        .string_condition(
            StringCondition::builder()
                .field_name("Username")
                .value(value)
                .comparison_type(cmp)
                .build(),
        )
        .build()
}

fn owned(v: &[(&str, &str, f32)]) -> Vec<(String, String, f32)> {
    v.iter()
        .map(|(n, v, l)| (n.to_string(), v.to_string(), *l))
        .collect()
}

/// A user's proficiencies as the API lists them (all pages), sorted.
async fn listed(c: &Client, sandbox: &ConnectSandbox, user: &str) -> Vec<(String, String, f32)> {
    let mut out: Vec<(String, String, f32)> = c
        .list_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(user)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.attribute_name, p.attribute_value, p.level))
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

async fn search_exact(c: &Client, sandbox: &ConnectSandbox, username: &str) -> Vec<String> {
    let out = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(username_condition(username, StringComparisonType::Exact))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.approximate_total_count(),
        Some(out.users().len() as i64),
        "one page holds every hit here"
    );
    out.users()
        .iter()
        .map(|u| u.username().unwrap().to_string())
        .collect()
}

/// A sandbox with the attributes the proficiency tests use.
async fn with_attributes(config: ConnectConfig) -> ConnectSandbox {
    let sandbox = ConnectSandbox::start(config).await;
    sandbox.add_attribute("Language", &["English", "French", "Spanish"]);
    sandbox.add_attribute("Skill", &["Billing", "Tech", "Sales"]);
    sandbox
}

#[tokio::test]
async fn search_users_exact_ignores_case_by_default_and_can_be_case_sensitive() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let jane = sandbox.add_agent("Jane.Doe");
    sandbox.add_agent("jane.doe2");
    sandbox.add_agent("bob");
    let c = client(&sandbox);

    assert_eq!(search_exact(&c, &sandbox, "jane.doe").await, ["Jane.Doe"]);
    assert_eq!(search_exact(&c, &sandbox, "JANE.DOE").await, ["Jane.Doe"]);
    assert!(search_exact(&c, &sandbox, "jane").await.is_empty());

    sandbox.set_exact_search_case_sensitive(true);
    assert!(search_exact(&c, &sandbox, "jane.doe").await.is_empty());
    assert_eq!(search_exact(&c, &sandbox, "Jane.Doe").await, ["Jane.Doe"]);

    // The summary carries what the adapter needs.
    let out = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(username_condition("Jane.Doe", StringComparisonType::Exact))
        .send()
        .await
        .unwrap();
    let user = &out.users()[0];
    assert_eq!(user.id(), Some(jane.as_str()));
    assert_eq!(user.arn(), Some(sandbox.user_arn(&jane).as_str()));
    assert!(user
        .arn()
        .unwrap()
        .starts_with("arn:aws:connect:us-east-1:123456789012:instance/"));
    assert_eq!(user.identity_info().unwrap().first_name(), Some("Jane"));

    // STARTS_WITH ignores case; two hits.
    let out = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(username_condition("JANE", StringComparisonType::StartsWith))
        .send()
        .await
        .unwrap();
    assert_eq!(out.approximate_total_count(), Some(2));

    // The knob from the config, too.
    let strict = ConnectSandbox::start(ConnectConfig {
        exact_search_case_sensitive: true,
        ..ConnectConfig::new()
    })
    .await;
    strict.add_agent("Jane.Doe");
    let c2 = client(&strict);
    assert!(search_exact(&c2, &strict, "jane.doe").await.is_empty());
    assert_eq!(search_exact(&c2, &strict, "Jane.Doe").await, ["Jane.Doe"]);
}

#[tokio::test]
async fn search_users_pages_and_rejects_what_the_sandbox_does_not_support() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let generated = sandbox.generate_agents(7, "agent");
    let c = client(&sandbox);

    let found: Vec<String> = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(username_condition(
            "agent",
            StringComparisonType::StartsWith,
        ))
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username.unwrap())
        .collect();
    let want: BTreeSet<String> = generated.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(found.len(), 7);
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), want);
    assert_eq!(sandbox.calls().count("SearchUsers"), 3);

    // CONTAINS needs 2..=25 characters.
    let err = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(username_condition("a", StringComparisonType::Contains))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_parameter_exception());

    // ListCondition (proficiency search) is not emulated.
    let err = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .search_criteria(
            UserSearchCriteria::builder()
                .list_condition(
                    ListCondition::builder()
                        .target_list_type(TargetListType::Proficiencies)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    assert!(err
        .message()
        .unwrap()
        .contains("unsupported in the sandbox"));

    // Unknown instance.
    let err = c
        .search_users()
        .instance_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());
}

#[tokio::test]
async fn list_users_pages_with_the_sdk_paginator() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let generated = sandbox.generate_agents(25, "pager");
    let c = client(&sandbox);

    let items: Vec<_> = c
        .list_users()
        .instance_id(sandbox.instance_id())
        .max_results(10)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(items.len(), 25);
    let got: BTreeSet<(String, String)> = items
        .iter()
        .map(|u| {
            (
                u.username().unwrap().to_string(),
                u.id().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, generated.into_iter().collect::<BTreeSet<_>>());
    assert!(items.iter().all(|u| u.last_modified_time().is_some()
        && u.last_modified_region() == Some("us-east-1")
        && u.arn().unwrap().ends_with(u.id().unwrap())));
    assert_eq!(sandbox.calls().count("ListUsers"), 3);

    // Default page size (100) holds all 25 in one page without a token.
    let page = c
        .list_users()
        .instance_id(sandbox.instance_id())
        .send()
        .await
        .unwrap();
    assert_eq!(page.user_summary_list().len(), 25);
    assert_eq!(page.next_token(), None);

    // Out-of-range page size and a forged token.
    let err = c
        .list_users()
        .instance_id(sandbox.instance_id())
        .max_results(1001)
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_parameter_exception());
    let err = c
        .list_users()
        .instance_id(sandbox.instance_id())
        .next_token("forged")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_parameter_exception());
}

#[tokio::test]
async fn describe_user_found_missing_and_unknown_instance() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let id = sandbox.add_agent("john.smith@example.com");
    let c = client(&sandbox);

    let out = c
        .describe_user()
        .instance_id(sandbox.instance_id())
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(user.id(), Some(id.as_str()));
    assert_eq!(user.username(), Some("john.smith@example.com"));
    let info = user.identity_info().unwrap();
    assert_eq!(info.first_name(), Some("John"));
    assert_eq!(info.last_name(), Some("Smith"));
    assert_eq!(info.email(), Some("john.smith@example.com"));
    assert!(user.routing_profile_id().is_some());
    assert_eq!(user.security_profile_ids().len(), 1);
    let modified = user.last_modified_time().unwrap().secs();
    let now = chrono::Utc::now().timestamp();
    assert!((now - modified).abs() < 60, "epoch seconds: {modified}");

    let err = c
        .describe_user()
        .instance_id(sandbox.instance_id())
        .user_id("no-such-user")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 404);

    let err = c
        .describe_user()
        .instance_id("some-other-instance")
        .user_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());
    assert_eq!(sandbox.instance_id(), DEFAULT_INSTANCE_ID);
}

#[tokio::test]
async fn associate_update_disassociate_list_round_trip() {
    let sandbox = with_attributes(ConnectConfig::new()).await;
    let user = sandbox.add_agent("agent.one");
    let c = client(&sandbox);
    let id = sandbox.instance_id().to_string();

    c.associate_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .user_proficiencies(prof("Language", "English", 3.0))
        .user_proficiencies(prof("Skill", "Billing", 2.0))
        .user_proficiencies(prof("Language", "French", 1.0))
        .send()
        .await
        .unwrap();
    let want = owned(&[
        ("Language", "English", 3.0),
        ("Language", "French", 1.0),
        ("Skill", "Billing", 2.0),
    ]);
    assert_eq!(listed(&c, &sandbox, &user).await, want);
    assert_eq!(sandbox.proficiencies(&user), want);

    c.update_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .user_proficiencies(prof("Language", "English", 5.0))
        .send()
        .await
        .unwrap();
    c.disassociate_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .user_proficiencies(unprof("Skill", "Billing"))
        .user_proficiencies(unprof("Language", "French"))
        .send()
        .await
        .unwrap();
    let want = owned(&[("Language", "English", 5.0)]);
    assert_eq!(listed(&c, &sandbox, &user).await, want);
    assert_eq!(sandbox.proficiencies(&user), want);

    // One page answers LastModified*; paging with maxResults 1 works.
    for (n, v) in [("Skill", "Tech"), ("Skill", "Sales")] {
        sandbox.set_proficiency(&user, n, v, 4.0);
    }
    let page = c
        .list_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.user_proficiency_list().len(), 1);
    assert!(page.next_token().is_some());
    assert!(page.last_modified_time().is_some());
    assert_eq!(page.last_modified_region(), Some("us-east-1"));
    sandbox.reset_calls();
    let pages = c
        .list_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(sandbox.calls().count("ListUserProficiencies"), 3);

    // A user with nothing lists nothing; a missing user is not found.
    let other = sandbox.add_agent("agent.two");
    assert!(listed(&c, &sandbox, &other).await.is_empty());
    let err = c
        .list_user_proficiencies()
        .instance_id(&id)
        .user_id("missing")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());
}

#[tokio::test]
async fn update_of_a_missing_proficiency_is_invalid_request() {
    let sandbox = with_attributes(ConnectConfig::new()).await;
    let user = sandbox.add_agent("agent.one");
    sandbox.set_proficiency(&user, "Language", "English", 2.0);
    let c = client(&sandbox);

    let err = c
        .update_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(prof("Language", "English", 4.0))
        .user_proficiencies(prof("Language", "French", 4.0))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    // Nothing applied, not even the valid entry.
    assert_eq!(
        sandbox.proficiencies(&user),
        owned(&[("Language", "English", 2.0)])
    );

    // Strict membership: disassociating what is not there is rejected too...
    let err = c
        .disassociate_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(unprof("Skill", "Tech"))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    // ...and a no-op when lenient.
    sandbox.set_strict_membership(false);
    c.disassociate_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(unprof("Skill", "Tech"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_per_agent_quota_is_enforced() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let values: Vec<String> = (1..=12).map(|i| format!("S{i:02}")).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    sandbox.add_attribute("Skill", &refs);
    let user = sandbox.add_agent("busy.agent");
    for v in &values[..9] {
        sandbox.set_proficiency(&user, "Skill", v, 1.0);
    }
    let c = client(&sandbox);

    let err = c
        .associate_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(prof("Skill", "S10", 1.0))
        .user_proficiencies(prof("Skill", "S11", 1.0))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    let msg = err.message().unwrap();
    assert!(msg.contains("quota") && msg.contains("10"), "{msg}");
    assert_eq!(sandbox.proficiencies(&user).len(), 9);

    c.associate_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(prof("Skill", "S10", 1.0))
        .send()
        .await
        .unwrap();
    assert_eq!(sandbox.proficiencies(&user).len(), 10);

    // The knob.
    sandbox.set_proficiency_quota(11);
    c.associate_user_proficiencies()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .user_proficiencies(prof("Skill", "S11", 1.0))
        .send()
        .await
        .unwrap();
    assert_eq!(sandbox.proficiencies(&user).len(), 11);
}

#[tokio::test]
async fn unknown_attributes_values_bad_levels_and_duplicates_are_rejected() {
    let sandbox = with_attributes(ConnectConfig::new()).await;
    let user = sandbox.add_agent("agent.one");
    let c = client(&sandbox);
    let associate = |p: Vec<UserProficiency>| {
        c.associate_user_proficiencies()
            .instance_id(sandbox.instance_id())
            .user_id(&user)
            .set_user_proficiencies(Some(p))
            .send()
    };

    let err = associate(vec![prof("Language", "Klingon", 3.0)])
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    assert!(err.message().unwrap().contains("Klingon"));

    let err = associate(vec![prof("Planet", "Mars", 3.0)])
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());

    // Attribute names are matched exactly.
    let err = associate(vec![prof("language", "English", 3.0)])
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());

    for level in [0.0, 5.5] {
        let err = associate(vec![prof("Language", "English", level)])
            .await
            .unwrap_err();
        assert!(
            err.as_service_error()
                .unwrap()
                .is_invalid_parameter_exception(),
            "level {level}"
        );
    }
    assert!(sandbox.proficiencies(&user).is_empty());

    associate(vec![prof("Language", "English", 3.0)])
        .await
        .unwrap();
    // Strict: associating it again is an error; lenient: sets the level.
    let err = associate(vec![prof("Language", "English", 4.0)])
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
    sandbox.set_strict_membership(false);
    associate(vec![prof("Language", "English", 4.0)])
        .await
        .unwrap();
    assert_eq!(
        sandbox.proficiencies(&user),
        owned(&[("Language", "English", 4.0)])
    );

    // The same pair twice in one call.
    let err = associate(vec![prof("Skill", "Tech", 1.0), prof("Skill", "Tech", 2.0)])
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_request_exception());
}

#[tokio::test]
async fn throttling_answers_429_and_the_standard_retry_gets_through() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new().with_rate("DescribeUser", 2.0)).await;
    let user = sandbox.add_agent("agent.one");
    let plain = client(&sandbox);

    let mut throttled = 0;
    for _ in 0..6 {
        match plain
            .describe_user()
            .instance_id(sandbox.instance_id())
            .user_id(&user)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err) => {
                assert_eq!(err.code(), Some("ThrottlingException"));
                assert!(err.as_service_error().unwrap().is_throttling_exception());
                assert_eq!(err.raw_response().unwrap().status().as_u16(), 429);
                throttled += 1;
            }
        }
    }
    assert!(throttled >= 3, "{throttled} of 6 throttled at 2/s");
    let calls = sandbox.calls();
    assert_eq!(calls.count("DescribeUser"), 6);
    assert_eq!(calls.throttled_count("DescribeUser"), throttled);
    // Other operations are not limited.
    for _ in 0..5 {
        plain
            .list_users()
            .instance_id(sandbox.instance_id())
            .send()
            .await
            .unwrap();
    }

    sandbox.reset_calls();
    let retrying = client_with(
        &sandbox,
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(100)),
    );
    for _ in 0..5 {
        retrying
            .describe_user()
            .instance_id(sandbox.instance_id())
            .user_id(&user)
            .send()
            .await
            .unwrap();
    }
    let calls = sandbox.calls();
    assert!(
        calls.throttled_count("DescribeUser") > 0,
        "the retries were needed: {calls:?}"
    );
    assert_eq!(
        calls.count("DescribeUser"),
        5 + calls.throttled_count("DescribeUser")
    );

    // Lifting the limit.
    sandbox.set_rate("DescribeUser", None);
    sandbox.reset_calls();
    for _ in 0..10 {
        plain
            .describe_user()
            .instance_id(sandbox.instance_id())
            .user_id(&user)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(sandbox.calls().throttled_total(), 0);
}

#[test]
fn connect_rates_are_scaled() {
    let c = ConnectConfig::new().with_connect_rates(0.5);
    assert_eq!(c.rates["SearchUsers"], 1.0);
    assert_eq!(c.rates["ListUsers"], 5.0);
    assert_eq!(c.rates["AssociateUserProficiencies"], 1.0);
    assert_eq!(c.rates["ListUserProficiencies"], 5.0);
    assert!(
        ConnectConfig::new().rates.is_empty(),
        "unlimited by default"
    );
    assert_eq!(ConnectConfig::new().proficiency_quota, 10);
}

#[tokio::test]
async fn calls_are_counted_per_operation_and_per_user() {
    let sandbox = with_attributes(ConnectConfig::new()).await;
    let a = sandbox.add_agent("agent.a");
    let b = sandbox.add_agent("agent.b");
    let c = client(&sandbox);
    let id = sandbox.instance_id().to_string();

    for user in [&a, &a, &b] {
        c.list_user_proficiencies()
            .instance_id(&id)
            .user_id(user)
            .send()
            .await
            .unwrap();
    }
    c.associate_user_proficiencies()
        .instance_id(&id)
        .user_id(&b)
        .user_proficiencies(prof("Skill", "Tech", 2.0))
        .send()
        .await
        .unwrap();
    c.describe_user()
        .instance_id(&id)
        .user_id(&a)
        .send()
        .await
        .unwrap();
    // A failed call counts as well.
    let _ = c
        .update_user_proficiencies()
        .instance_id(&id)
        .user_id(&a)
        .user_proficiencies(prof("Skill", "Tech", 2.0))
        .send()
        .await
        .unwrap_err();
    c.list_users().instance_id(&id).send().await.unwrap();

    let calls = sandbox.calls();
    assert_eq!(calls.total, 7);
    assert_eq!(calls.count("ListUserProficiencies"), 3);
    assert_eq!(calls.user_count("ListUserProficiencies", &a), 2);
    assert_eq!(calls.user_count("ListUserProficiencies", &b), 1);
    assert_eq!(calls.user_count("AssociateUserProficiencies", &b), 1);
    assert_eq!(calls.user_count("AssociateUserProficiencies", &a), 0);
    assert_eq!(calls.user_count("UpdateUserProficiencies", &a), 1);
    assert_eq!(calls.user_count("DescribeUser", &a), 1);
    assert_eq!(calls.count("ListUsers"), 1);
    assert_eq!(calls.throttled_total(), 0);

    // The control endpoints see the same and are not counted themselves.
    let http = reqwest::Client::new();
    let v: Value = http
        .get(format!("{}/sandbox/calls", sandbox.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 7);
    assert_eq!(v["by_operation_and_user"]["ListUserProficiencies"][&a], 2);
    assert_eq!(v["by_operation"]["ListUserProficiencies"], 3);
    let resp = http
        .post(format!("{}/sandbox/reset-calls", sandbox.control_url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(sandbox.calls(), ConnectCalls::default());
}

#[tokio::test]
async fn control_endpoints_change_knobs_and_show_state() {
    let sandbox = with_attributes(ConnectConfig::new()).await;
    let user = sandbox.add_agent("Jane.Doe");
    sandbox.set_proficiency(&user, "Language", "English", 3.0);
    let c = client(&sandbox);
    let http = reqwest::Client::new();
    let base = sandbox.control_url();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();

    // Rate 0 throttles every SearchUsers call; null lifts it.
    let knobs: Value = post("/sandbox/config", json!({"rates": {"SearchUsers": 0}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["rates"]["SearchUsers"], 0.0);
    let err = c
        .search_users()
        .instance_id(sandbox.instance_id())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    post(
        "/sandbox/config",
        json!({"rates": {"SearchUsers": null}, "exact_search_case_sensitive": true}),
    )
    .await
    .unwrap();
    assert!(search_exact(&c, &sandbox, "jane.doe").await.is_empty());

    // Connect's rates × factor, then none.
    let knobs: Value = post("/sandbox/config", json!({"connect_rates_factor": 2.0}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["rates"]["SearchUsers"], 4.0);
    let knobs: Value = post("/sandbox/config", json!({"connect_rates_factor": null}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["rates"], json!({}));

    // Bad knobs are refused, all or nothing.
    let resp = post(
        "/sandbox/config",
        json!({"proficiency_quota": 3, "rates": {"NoSuchOp": 1}}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let state: Value = http
        .get(format!("{base}/sandbox/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["config"]["proficiency_quota"], 10);
    assert_eq!(state["agents"][0]["username"], "Jane.Doe");
    assert_eq!(state["agents"][0]["proficiencies"][0]["value"], "English");
    assert_eq!(state["attributes"].as_array().unwrap().len(), 2);

    // Seeding over HTTP.
    let pairs: Value = post("/sandbox/agents", json!({"generate": 2, "prefix": "web"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pairs[1][0], "web00002");
    let web1 = pairs[0][1].as_str().unwrap().to_string();
    post(
        "/sandbox/proficiencies",
        json!({"user_id": web1, "attribute": "Skill", "value": "Tech", "level": 2}),
    )
    .await
    .unwrap();
    assert_eq!(
        sandbox.proficiencies(&web1),
        owned(&[("Skill", "Tech", 2.0)])
    );
    assert_eq!(sandbox.user_id("web00001"), Some(web1));
    assert_eq!(sandbox.calls().total, 2, "only the two SearchUsers calls");
}

#[tokio::test]
async fn injected_faults_and_latency() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let user = sandbox.add_agent("agent.one");
    let c = client(&sandbox);

    sandbox.set_fault_rate(1.0);
    let err = c
        .describe_user()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_internal_service_exception());
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
    assert_eq!(sandbox.calls().faulted["DescribeUser"], 1);
    sandbox.set_fault_rate(0.0);

    sandbox.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    c.describe_user()
        .instance_id(sandbox.instance_id())
        .user_id(&user)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn predefined_attributes_through_the_sdk() {
    let sandbox = ConnectSandbox::start(ConnectConfig::new()).await;
    let c = client(&sandbox);
    let id = sandbox.instance_id().to_string();

    c.create_predefined_attribute()
        .instance_id(&id)
        .name("Language")
        .values(PredefinedAttributeValues::StringList(vec![
            "English".into(),
            "French".into(),
        ]))
        .send()
        .await
        .unwrap();
    // Names are unique case-insensitively.
    let err = c
        .create_predefined_attribute()
        .instance_id(&id)
        .name("language")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_duplicate_resource_exception());
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 409);
    let err = c
        .create_predefined_attribute()
        .instance_id(&id)
        .name("aws:reserved")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_invalid_parameter_exception());

    for n in ["Region Code", "Skill/Tier"] {
        c.create_predefined_attribute()
            .instance_id(&id)
            .name(n)
            .values(PredefinedAttributeValues::StringList(vec!["A".into()]))
            .send()
            .await
            .unwrap();
    }
    let names: Vec<String> = c
        .list_predefined_attributes()
        .instance_id(&id)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name.unwrap())
        .collect();
    assert_eq!(names, ["Language", "Region Code", "Skill/Tier"]);

    // Describe, with a name that needs percent-encoding in the path.
    let out = c
        .describe_predefined_attribute()
        .instance_id(&id)
        .name("Skill/Tier")
        .send()
        .await
        .unwrap();
    let attr = out.predefined_attribute().unwrap();
    assert_eq!(attr.name(), Some("Skill/Tier"));
    assert_eq!(
        attr.values().unwrap().as_string_list().unwrap(),
        &vec!["A".to_string()]
    );
    assert!(attr.last_modified_time().is_some());
    let err = c
        .describe_predefined_attribute()
        .instance_id(&id)
        .name("Nope")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());

    // The values created through the API gate associations.
    let user = sandbox.add_agent("agent.one");
    c.associate_user_proficiencies()
        .instance_id(&id)
        .user_id(&user)
        .user_proficiencies(prof("Language", "French", 2.0))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sandbox.attribute_values("Language").unwrap(),
        ["English", "French"]
    );

    // An attribute in use cannot be deleted; an unused one can.
    let err = c
        .delete_predefined_attribute()
        .instance_id(&id)
        .name("Language")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .is_resource_in_use_exception());
    c.delete_predefined_attribute()
        .instance_id(&id)
        .name("Region Code")
        .send()
        .await
        .unwrap();
    assert_eq!(sandbox.attribute_values("Region Code"), None);
}
