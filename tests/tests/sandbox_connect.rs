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
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::operation::associate_user_proficiencies::{
    AssociateUserProficienciesError, AssociateUserProficienciesOutput,
};
use aws_sdk_connect::operation::create_predefined_attribute::{
    CreatePredefinedAttributeError, CreatePredefinedAttributeOutput,
};
use aws_sdk_connect::operation::delete_predefined_attribute::{
    DeletePredefinedAttributeError, DeletePredefinedAttributeOutput,
};
use aws_sdk_connect::operation::describe_predefined_attribute::{
    DescribePredefinedAttributeError, DescribePredefinedAttributeOutput,
};
use aws_sdk_connect::operation::describe_user::{DescribeUserError, DescribeUserOutput};
use aws_sdk_connect::operation::disassociate_user_proficiencies::{
    DisassociateUserProficienciesError, DisassociateUserProficienciesOutput,
};
use aws_sdk_connect::operation::list_user_proficiencies::{
    ListUserProficienciesError, ListUserProficienciesOutput,
};
use aws_sdk_connect::operation::list_users::{ListUsersError, ListUsersOutput};
use aws_sdk_connect::operation::search_users::{SearchUsersError, SearchUsersOutput};
use aws_sdk_connect::operation::update_user_proficiencies::{
    UpdateUserProficienciesError, UpdateUserProficienciesOutput,
};
use aws_sdk_connect::types::{
    ListCondition, PredefinedAttributeValues, StringComparisonType, StringCondition,
    TargetListType, UserProficiency, UserProficiencyDisassociate, UserSearchCriteria,
    UserSearchSummary, UserSummary,
};
use aws_sdk_connect::Client;
use rollcall_tests::sandbox::{ConnectCalls, ConnectConfig, ConnectSandbox, DEFAULT_INSTANCE_ID};
use serde_json::{json, Value};

// ------------------------------------------------------------------- GIVEN

/// A sandbox started with `config`, and the SDK client the test drives it with.
async fn given(config: ConnectConfig) -> (ConnectSandbox, Api) {
    let sandbox = ConnectSandbox::start(config).await;
    let api = Api::new(&sandbox);
    (sandbox, api)
}

/// As [`given`], with agents named `usernames`; their ids in the same order.
async fn given_agents<const N: usize>(
    config: ConnectConfig,
    usernames: [&str; N],
) -> (ConnectSandbox, Api, [String; N]) {
    let (sandbox, api) = given(config).await;
    let ids = usernames.map(|u| sandbox.add_agent(u));
    (sandbox, api, ids)
}

/// As [`given_agents`], after creating the attributes the proficiency tests
/// use: `Language` (English, French, Spanish) and `Skill` (Billing, Tech, Sales).
async fn given_skilled_agents<const N: usize>(
    config: ConnectConfig,
    usernames: [&str; N],
) -> (ConnectSandbox, Api, [String; N]) {
    let (sandbox, api) = given(config).await;
    sandbox.add_attribute("Language", &["English", "French", "Spanish"]);
    sandbox.add_attribute("Skill", &["Billing", "Tech", "Sales"]);
    let ids = usernames.map(|u| sandbox.add_agent(u));
    (sandbox, api, ids)
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

// -------------------------------------------------------------------- WHEN

/// What one SDK call answers.
type Answer<O, E> = Result<O, SdkError<E>>;

/// The real `aws-sdk-connect` client pointed at one instance of a sandbox:
/// one method per call the tests make.
struct Api {
    c: Client,
    instance: String,
}

impl Api {
    /// Without retries, so every answer reaches the test.
    fn new(sandbox: &ConnectSandbox) -> Self {
        Self::with_retry(sandbox, RetryConfig::disabled())
    }

    fn with_retry(sandbox: &ConnectSandbox, retry: RetryConfig) -> Self {
        let conf = aws_sdk_connect::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(sandbox.url())
            .retry_config(retry)
            .build();
        Api {
            c: Client::from_conf(conf),
            instance: sandbox.instance_id().to_string(),
        }
    }

    /// The same client, addressing another instance id.
    fn on_instance(&self, instance: &str) -> Api {
        Api {
            c: self.c.clone(),
            instance: instance.to_string(),
        }
    }

    async fn describe_user(&self, user: &str) -> Answer<DescribeUserOutput, DescribeUserError> {
        self.c
            .describe_user()
            .instance_id(&self.instance)
            .user_id(user)
            .send()
            .await
    }

    async fn associate(
        &self,
        user: &str,
        proficiencies: Vec<UserProficiency>,
    ) -> Answer<AssociateUserProficienciesOutput, AssociateUserProficienciesError> {
        self.c
            .associate_user_proficiencies()
            .instance_id(&self.instance)
            .user_id(user)
            .set_user_proficiencies(Some(proficiencies))
            .send()
            .await
    }

    async fn update(
        &self,
        user: &str,
        proficiencies: Vec<UserProficiency>,
    ) -> Answer<UpdateUserProficienciesOutput, UpdateUserProficienciesError> {
        self.c
            .update_user_proficiencies()
            .instance_id(&self.instance)
            .user_id(user)
            .set_user_proficiencies(Some(proficiencies))
            .send()
            .await
    }

    /// Disassociates the `(attribute, value)` pairs.
    async fn disassociate(
        &self,
        user: &str,
        pairs: &[(&str, &str)],
    ) -> Answer<DisassociateUserProficienciesOutput, DisassociateUserProficienciesError> {
        self.c
            .disassociate_user_proficiencies()
            .instance_id(&self.instance)
            .user_id(user)
            .set_user_proficiencies(Some(pairs.iter().map(|(n, v)| unprof(n, v)).collect()))
            .send()
            .await
    }

    /// One page of ListUserProficiencies.
    async fn list_proficiencies(
        &self,
        user: &str,
        max_results: Option<i32>,
    ) -> Answer<ListUserProficienciesOutput, ListUserProficienciesError> {
        self.c
            .list_user_proficiencies()
            .instance_id(&self.instance)
            .user_id(user)
            .set_max_results(max_results)
            .send()
            .await
    }

    /// Every proficiency of `user`, through the SDK paginator.
    async fn all_proficiencies(&self, user: &str, page: Option<i32>) -> Vec<UserProficiency> {
        self.c
            .list_user_proficiencies()
            .instance_id(&self.instance)
            .user_id(user)
            .set_max_results(page)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    }

    /// A user's proficiencies as the API lists them (all pages), sorted.
    async fn listed(&self, user: &str) -> Vec<(String, String, f32)> {
        let mut out: Vec<(String, String, f32)> = self
            .all_proficiencies(user, None)
            .await
            .into_iter()
            .map(|p| (p.attribute_name, p.attribute_value, p.level))
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// One page of SearchUsers.
    async fn search(
        &self,
        criteria: Option<UserSearchCriteria>,
    ) -> Answer<SearchUsersOutput, SearchUsersError> {
        self.c
            .search_users()
            .instance_id(&self.instance)
            .set_search_criteria(criteria)
            .send()
            .await
    }

    /// One page of SearchUsers on the username.
    async fn search_username(
        &self,
        value: &str,
        cmp: StringComparisonType,
    ) -> Answer<SearchUsersOutput, SearchUsersError> {
        self.search(Some(username_condition(value, cmp))).await
    }

    /// Every hit of `criteria`, `page` at a time, through the SDK paginator.
    async fn search_all(&self, criteria: UserSearchCriteria, page: i32) -> Vec<UserSearchSummary> {
        self.c
            .search_users()
            .instance_id(&self.instance)
            .search_criteria(criteria)
            .max_results(page)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    }

    /// The usernames an EXACT username search finds (one page holds them all).
    async fn search_exact(&self, username: &str) -> Vec<String> {
        let out = self
            .search_username(username, StringComparisonType::Exact)
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

    /// One page of ListUsers.
    async fn list_users(
        &self,
        max_results: Option<i32>,
        next_token: Option<&str>,
    ) -> Answer<ListUsersOutput, ListUsersError> {
        self.c
            .list_users()
            .instance_id(&self.instance)
            .set_max_results(max_results)
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
    }

    /// Every user, `page` at a time, through the SDK paginator.
    async fn all_users(&self, page: i32) -> Vec<UserSummary> {
        self.c
            .list_users()
            .instance_id(&self.instance)
            .max_results(page)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    }

    /// CreatePredefinedAttribute with a `StringList` of `values`.
    async fn create_attribute(
        &self,
        name: &str,
        values: &[&str],
    ) -> Answer<CreatePredefinedAttributeOutput, CreatePredefinedAttributeError> {
        let values = values.iter().map(|v| v.to_string()).collect();
        self.c
            .create_predefined_attribute()
            .instance_id(&self.instance)
            .name(name)
            .values(PredefinedAttributeValues::StringList(values))
            .send()
            .await
    }

    /// CreatePredefinedAttribute without `Values`.
    async fn create_bare_attribute(
        &self,
        name: &str,
    ) -> Answer<CreatePredefinedAttributeOutput, CreatePredefinedAttributeError> {
        self.c
            .create_predefined_attribute()
            .instance_id(&self.instance)
            .name(name)
            .send()
            .await
    }

    /// Every attribute name, `page` at a time, through the SDK paginator.
    async fn attribute_names(&self, page: i32) -> Vec<String> {
        self.c
            .list_predefined_attributes()
            .instance_id(&self.instance)
            .max_results(page)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name.unwrap())
            .collect()
    }

    async fn describe_attribute(
        &self,
        name: &str,
    ) -> Answer<DescribePredefinedAttributeOutput, DescribePredefinedAttributeError> {
        self.c
            .describe_predefined_attribute()
            .instance_id(&self.instance)
            .name(name)
            .send()
            .await
    }

    async fn delete_attribute(
        &self,
        name: &str,
    ) -> Answer<DeletePredefinedAttributeOutput, DeletePredefinedAttributeError> {
        self.c
            .delete_predefined_attribute()
            .instance_id(&self.instance)
            .name(name)
            .send()
            .await
    }
}

/// GET the sandbox control endpoint `path`, as JSON.
async fn control_get(sandbox: &ConnectSandbox, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sandbox.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POST `body` to the sandbox control endpoint `path`.
async fn control_post(sandbox: &ConnectSandbox, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", sandbox.control_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// POST `body` to the sandbox control endpoint `path`; the answer as JSON.
async fn control_post_json(sandbox: &ConnectSandbox, path: &str, body: Value) -> Value {
    control_post(sandbox, path, body)
        .await
        .json()
        .await
        .unwrap()
}

// -------------------------------------------------------------------- THEN

/// Asserts that an [`Answer`] is the modelled service error `$kind` (e.g.
/// `is_invalid_request_exception`) and evaluates to the error, for more checks.
macro_rules! service_error {
    ($answer:expr, $kind:ident) => {
        service_error!($answer, $kind, "expected {}", stringify!($kind))
    };
    ($answer:expr, $kind:ident, $($message:tt)+) => {{
        let err = $answer.unwrap_err();
        assert!(err.as_service_error().unwrap().$kind(), $($message)+);
        err
    }};
}

/// The HTTP status an error came with.
fn status<E>(err: &SdkError<E>) -> u16 {
    err.raw_response().unwrap().status().as_u16()
}

// ------------------------------------------------------------------- tests

/// A well-formed user id that no user has.
const NOBODY: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn search_users_exact_ignores_case_by_default_and_can_be_case_sensitive() {
    let (sandbox, api, [jane, ..]) =
        given_agents(ConnectConfig::new(), ["Jane.Doe", "jane.doe2", "bob"]).await;

    assert_eq!(api.search_exact("jane.doe").await, ["Jane.Doe"]);
    assert_eq!(api.search_exact("JANE.DOE").await, ["Jane.Doe"]);
    assert!(api.search_exact("jane").await.is_empty());

    sandbox.set_exact_search_case_sensitive(true);
    assert!(api.search_exact("jane.doe").await.is_empty());
    assert_eq!(api.search_exact("Jane.Doe").await, ["Jane.Doe"]);

    // The summary carries what the adapter needs.
    let out = api
        .search_username("Jane.Doe", StringComparisonType::Exact)
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
    let out = api
        .search_username("JANE", StringComparisonType::StartsWith)
        .await
        .unwrap();
    assert_eq!(out.approximate_total_count(), Some(2));

    // The knob from the config, too.
    let strict_config = ConnectConfig {
        exact_search_case_sensitive: true,
        ..ConnectConfig::new()
    };
    let (_strict, strict_api, _) = given_agents(strict_config, ["Jane.Doe"]).await;
    assert!(strict_api.search_exact("jane.doe").await.is_empty());
    assert_eq!(strict_api.search_exact("Jane.Doe").await, ["Jane.Doe"]);
}

#[tokio::test]
async fn search_users_pages_and_rejects_what_the_sandbox_does_not_support() {
    let (sandbox, api) = given(ConnectConfig::new()).await;
    let generated = sandbox.generate_agents(7, "agent");

    let agents = username_condition("agent", StringComparisonType::StartsWith);
    let found: Vec<String> = api
        .search_all(agents, 3)
        .await
        .into_iter()
        .map(|u| u.username.unwrap())
        .collect();
    let want: BTreeSet<String> = generated.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(found.len(), 7);
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), want);
    assert_eq!(sandbox.calls().count("SearchUsers"), 3);

    // CONTAINS needs 2..=25 characters.
    service_error!(
        api.search_username("a", StringComparisonType::Contains)
            .await,
        is_invalid_parameter_exception
    );

    // ListCondition (proficiency search) is not emulated.
    let by_proficiency = UserSearchCriteria::builder()
        .list_condition(
            ListCondition::builder()
                .target_list_type(TargetListType::Proficiencies)
                .build(),
        )
        .build();
    let err = service_error!(
        api.search(Some(by_proficiency)).await,
        is_invalid_request_exception
    );
    assert!(err
        .message()
        .unwrap()
        .contains("unsupported in the sandbox"));

    // Unknown instance.
    let elsewhere = api.on_instance("00000000-0000-0000-0000-000000000000");
    service_error!(
        elsewhere.search(None).await,
        is_resource_not_found_exception
    );
}

#[tokio::test]
async fn list_users_pages_with_the_sdk_paginator() {
    let (sandbox, api) = given(ConnectConfig::new()).await;
    let generated = sandbox.generate_agents(25, "pager");

    let items = api.all_users(10).await;
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
    let page = api.list_users(None, None).await.unwrap();
    assert_eq!(page.user_summary_list().len(), 25);
    assert_eq!(page.next_token(), None);

    // Out-of-range page size and a forged token.
    service_error!(
        api.list_users(Some(1001), None).await,
        is_invalid_parameter_exception
    );
    service_error!(
        api.list_users(None, Some("forged")).await,
        is_invalid_parameter_exception
    );
}

#[tokio::test]
async fn describe_user_found_missing_and_unknown_instance() {
    let (sandbox, api, [id]) = given_agents(ConnectConfig::new(), ["john.smith@example.com"]).await;

    let out = api.describe_user(&id).await.unwrap();
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

    let err = service_error!(
        api.describe_user(NOBODY).await,
        is_resource_not_found_exception
    );
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(status(&err), 404);

    service_error!(
        api.on_instance("some-other-instance")
            .describe_user(&id)
            .await,
        is_resource_not_found_exception
    );
    assert_eq!(sandbox.instance_id(), DEFAULT_INSTANCE_ID);
}

#[tokio::test]
async fn a_user_id_that_is_not_an_id_is_an_invalid_parameter_not_a_missing_user() {
    // DescribeUser lists InvalidParameterException (400, "One or more of the
    // specified parameters are not valid") beside ResourceNotFoundException (404).
    let (sandbox, api, [id]) = given_skilled_agents(ConnectConfig::new(), ["agent.one"]).await;

    for malformed in [
        "not-a-user-id",
        "jane.doe",
        "6f0b8c1e2d3a4b5c9d8e7f6a5b4c3d2e",
    ] {
        let err = service_error!(
            api.describe_user(malformed).await,
            is_invalid_parameter_exception,
            "{malformed}"
        );
        assert_eq!(err.code(), Some("InvalidParameterException"));
        assert_eq!(status(&err), 400);
    }
    // The proficiency operations answer the same for the same path label.
    service_error!(
        api.list_proficiencies("not-a-user-id", None).await,
        is_invalid_parameter_exception
    );
    service_error!(
        api.associate("not-a-user-id", vec![prof("Skill", "Tech", 2.0)])
            .await,
        is_invalid_parameter_exception
    );

    // A well-formed id of nobody is still not found, and a real id is found.
    let err = service_error!(
        api.describe_user(NOBODY).await,
        is_resource_not_found_exception
    );
    assert_eq!(status(&err), 404);
    api.describe_user(&id).await.unwrap();
    assert_eq!(sandbox.calls().count("DescribeUser"), 5);
}

#[tokio::test]
async fn associate_update_disassociate_list_round_trip() {
    let (sandbox, api, [user]) = given_skilled_agents(ConnectConfig::new(), ["agent.one"]).await;

    api.associate(
        &user,
        vec![
            prof("Language", "English", 3.0),
            prof("Skill", "Billing", 2.0),
            prof("Language", "French", 1.0),
        ],
    )
    .await
    .unwrap();
    let want = owned(&[
        ("Language", "English", 3.0),
        ("Language", "French", 1.0),
        ("Skill", "Billing", 2.0),
    ]);
    assert_eq!(api.listed(&user).await, want);
    assert_eq!(sandbox.proficiencies(&user), want);

    api.update(&user, vec![prof("Language", "English", 5.0)])
        .await
        .unwrap();
    api.disassociate(&user, &[("Skill", "Billing"), ("Language", "French")])
        .await
        .unwrap();
    let want = owned(&[("Language", "English", 5.0)]);
    assert_eq!(api.listed(&user).await, want);
    assert_eq!(sandbox.proficiencies(&user), want);

    // One page answers LastModified*; paging with maxResults 1 works.
    for (n, v) in [("Skill", "Tech"), ("Skill", "Sales")] {
        sandbox.set_proficiency(&user, n, v, 4.0);
    }
    let page = api.list_proficiencies(&user, Some(1)).await.unwrap();
    assert_eq!(page.user_proficiency_list().len(), 1);
    assert!(page.next_token().is_some());
    assert!(page.last_modified_time().is_some());
    assert_eq!(page.last_modified_region(), Some("us-east-1"));
    sandbox.reset_calls();
    let pages = api.all_proficiencies(&user, Some(1)).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(sandbox.calls().count("ListUserProficiencies"), 3);

    // A user with nothing lists nothing; a missing user is not found.
    let other = sandbox.add_agent("agent.two");
    assert!(api.listed(&other).await.is_empty());
    service_error!(
        api.list_proficiencies(NOBODY, None).await,
        is_resource_not_found_exception
    );
}

#[tokio::test]
async fn update_of_a_missing_proficiency_is_invalid_request() {
    let (sandbox, api, [user]) = given_skilled_agents(ConnectConfig::new(), ["agent.one"]).await;
    sandbox.set_proficiency(&user, "Language", "English", 2.0);

    let err = service_error!(
        api.update(
            &user,
            vec![
                prof("Language", "English", 4.0),
                prof("Language", "French", 4.0),
            ],
        )
        .await,
        is_invalid_request_exception
    );
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert_eq!(status(&err), 400);
    // Nothing applied, not even the valid entry.
    assert_eq!(
        sandbox.proficiencies(&user),
        owned(&[("Language", "English", 2.0)])
    );

    // Strict membership: disassociating what is not there is rejected too...
    service_error!(
        api.disassociate(&user, &[("Skill", "Tech")]).await,
        is_invalid_request_exception
    );
    // ...and a no-op when lenient.
    sandbox.set_strict_membership(false);
    api.disassociate(&user, &[("Skill", "Tech")]).await.unwrap();
}

#[tokio::test]
async fn the_per_agent_quota_is_enforced() {
    let (sandbox, api) = given(ConnectConfig::new()).await;
    let values: Vec<String> = (1..=12).map(|i| format!("S{i:02}")).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    sandbox.add_attribute("Skill", &refs);
    let user = sandbox.add_agent("busy.agent");
    for v in &values[..9] {
        sandbox.set_proficiency(&user, "Skill", v, 1.0);
    }

    let err = service_error!(
        api.associate(
            &user,
            vec![prof("Skill", "S10", 1.0), prof("Skill", "S11", 1.0)]
        )
        .await,
        is_invalid_request_exception
    );
    let msg = err.message().unwrap();
    assert!(msg.contains("quota") && msg.contains("10"), "{msg}");
    assert_eq!(sandbox.proficiencies(&user).len(), 9);

    api.associate(&user, vec![prof("Skill", "S10", 1.0)])
        .await
        .unwrap();
    assert_eq!(sandbox.proficiencies(&user).len(), 10);

    // The knob.
    sandbox.set_proficiency_quota(11);
    api.associate(&user, vec![prof("Skill", "S11", 1.0)])
        .await
        .unwrap();
    assert_eq!(sandbox.proficiencies(&user).len(), 11);
}

#[tokio::test]
async fn unknown_attributes_values_bad_levels_and_duplicates_are_rejected() {
    let (sandbox, api, [user]) = given_skilled_agents(ConnectConfig::new(), ["agent.one"]).await;

    let err = service_error!(
        api.associate(&user, vec![prof("Language", "Klingon", 3.0)])
            .await,
        is_invalid_request_exception
    );
    assert!(err.message().unwrap().contains("Klingon"));

    service_error!(
        api.associate(&user, vec![prof("Planet", "Mars", 3.0)])
            .await,
        is_invalid_request_exception
    );

    // Attribute names are matched exactly.
    service_error!(
        api.associate(&user, vec![prof("language", "English", 3.0)])
            .await,
        is_invalid_request_exception
    );

    for level in [0.0, 5.5] {
        service_error!(
            api.associate(&user, vec![prof("Language", "English", level)])
                .await,
            is_invalid_parameter_exception,
            "level {level}"
        );
    }
    assert!(sandbox.proficiencies(&user).is_empty());

    api.associate(&user, vec![prof("Language", "English", 3.0)])
        .await
        .unwrap();
    // Strict: associating it again is an error; lenient: sets the level.
    service_error!(
        api.associate(&user, vec![prof("Language", "English", 4.0)])
            .await,
        is_invalid_request_exception
    );
    sandbox.set_strict_membership(false);
    api.associate(&user, vec![prof("Language", "English", 4.0)])
        .await
        .unwrap();
    assert_eq!(
        sandbox.proficiencies(&user),
        owned(&[("Language", "English", 4.0)])
    );

    // The same pair twice in one call.
    service_error!(
        api.associate(
            &user,
            vec![prof("Skill", "Tech", 1.0), prof("Skill", "Tech", 2.0)]
        )
        .await,
        is_invalid_request_exception
    );
}

#[tokio::test]
async fn a_level_that_is_not_a_whole_number_is_refused() {
    // "The valid values are 1, 2, 3, 4 and 5" (API reference, UserProficiency),
    // although the model's type is a float from 1.0 to 5.0.
    let (sandbox, api, [user]) = given_skilled_agents(ConnectConfig::new(), ["agent.one"]).await;

    // A fraction is refused, and the whole call with it.
    let err = service_error!(
        api.associate(
            &user,
            vec![
                prof("Language", "English", 3.0),
                prof("Language", "French", 2.5)
            ]
        )
        .await,
        is_invalid_parameter_exception
    );
    assert_eq!(status(&err), 400);
    let msg = err.message().unwrap();
    assert!(
        msg.contains("2.5") && msg.contains("1, 2, 3, 4 and 5"),
        "{msg}"
    );
    assert!(sandbox.proficiencies(&user).is_empty());

    // 1.0 and 5.0 are whole numbers.
    api.associate(
        &user,
        vec![
            prof("Language", "English", 1.0),
            prof("Language", "French", 5.0),
        ],
    )
    .await
    .unwrap();

    // An update to a fraction is refused too.
    service_error!(
        api.update(&user, vec![prof("Language", "English", 4.5)])
            .await,
        is_invalid_parameter_exception
    );
    assert_eq!(
        sandbox.proficiencies(&user),
        owned(&[("Language", "English", 1.0), ("Language", "French", 5.0)])
    );
}

#[tokio::test]
async fn throttling_answers_429_and_the_standard_retry_gets_through() {
    let limited = ConnectConfig::new().with_rate("DescribeUser", 2.0);
    let (sandbox, plain, [user]) = given_agents(limited, ["agent.one"]).await;

    let mut throttled = 0;
    for _ in 0..6 {
        if let Err(err) = plain.describe_user(&user).await {
            assert_eq!(err.code(), Some("ThrottlingException"));
            assert!(err.as_service_error().unwrap().is_throttling_exception());
            assert_eq!(status(&err), 429);
            throttled += 1;
        }
    }
    assert!(throttled >= 3, "{throttled} of 6 throttled at 2/s");
    let calls = sandbox.calls();
    assert_eq!(calls.count("DescribeUser"), 6);
    assert_eq!(calls.throttled_count("DescribeUser"), throttled);
    // Other operations are not limited.
    for _ in 0..5 {
        plain.list_users(None, None).await.unwrap();
    }

    sandbox.reset_calls();
    let retrying = Api::with_retry(
        &sandbox,
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(100)),
    );
    for _ in 0..5 {
        retrying.describe_user(&user).await.unwrap();
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
        plain.describe_user(&user).await.unwrap();
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
    let (sandbox, api, [a, b]) =
        given_skilled_agents(ConnectConfig::new(), ["agent.a", "agent.b"]).await;

    for user in [&a, &a, &b] {
        api.list_proficiencies(user, None).await.unwrap();
    }
    api.associate(&b, vec![prof("Skill", "Tech", 2.0)])
        .await
        .unwrap();
    api.describe_user(&a).await.unwrap();
    // A failed call counts as well.
    let _ = api
        .update(&a, vec![prof("Skill", "Tech", 2.0)])
        .await
        .unwrap_err();
    api.list_users(None, None).await.unwrap();

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
    let v = control_get(&sandbox, "/sandbox/calls").await;
    assert_eq!(v["total"], 7);
    assert_eq!(v["by_operation_and_user"]["ListUserProficiencies"][&a], 2);
    assert_eq!(v["by_operation"]["ListUserProficiencies"], 3);
    let resp = control_post(&sandbox, "/sandbox/reset-calls", json!({})).await;
    assert!(resp.status().is_success());
    assert_eq!(sandbox.calls(), ConnectCalls::default());
}

#[tokio::test]
async fn control_endpoints_change_knobs_and_show_state() {
    let (sandbox, api, [user]) = given_skilled_agents(ConnectConfig::new(), ["Jane.Doe"]).await;
    sandbox.set_proficiency(&user, "Language", "English", 3.0);
    let config = |body: Value| control_post_json(&sandbox, "/sandbox/config", body);

    // Rate 0 throttles every SearchUsers call; null lifts it.
    let knobs = config(json!({"rates": {"SearchUsers": 0}})).await;
    assert_eq!(knobs["rates"]["SearchUsers"], 0.0);
    let err = api.search(None).await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    config(json!({"rates": {"SearchUsers": null}, "exact_search_case_sensitive": true})).await;
    assert!(api.search_exact("jane.doe").await.is_empty());

    // Connect's rates × factor, then none.
    let knobs = config(json!({"connect_rates_factor": 2.0})).await;
    assert_eq!(knobs["rates"]["SearchUsers"], 4.0);
    let knobs = config(json!({"connect_rates_factor": null})).await;
    assert_eq!(knobs["rates"], json!({}));

    // Bad knobs are refused, all or nothing.
    let resp = control_post(
        &sandbox,
        "/sandbox/config",
        json!({"proficiency_quota": 3, "rates": {"NoSuchOp": 1}}),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 400);
    let state = control_get(&sandbox, "/sandbox/state").await;
    assert_eq!(state["config"]["proficiency_quota"], 10);
    assert_eq!(state["agents"][0]["username"], "Jane.Doe");
    assert_eq!(state["agents"][0]["proficiencies"][0]["value"], "English");
    assert_eq!(state["attributes"].as_array().unwrap().len(), 2);

    // Seeding over HTTP.
    let pairs = control_post_json(
        &sandbox,
        "/sandbox/agents",
        json!({"generate": 2, "prefix": "web"}),
    )
    .await;
    assert_eq!(pairs[1][0], "web00002");
    let web1 = pairs[0][1].as_str().unwrap().to_string();
    control_post(
        &sandbox,
        "/sandbox/proficiencies",
        json!({"user_id": web1, "attribute": "Skill", "value": "Tech", "level": 2}),
    )
    .await;
    assert_eq!(
        sandbox.proficiencies(&web1),
        owned(&[("Skill", "Tech", 2.0)])
    );
    assert_eq!(sandbox.user_id("web00001"), Some(web1));
    assert_eq!(sandbox.calls().total, 2, "only the two SearchUsers calls");
}

#[tokio::test]
async fn injected_faults_and_latency() {
    let (sandbox, api, [user]) = given_agents(ConnectConfig::new(), ["agent.one"]).await;

    sandbox.set_fault_rate(1.0);
    let err = service_error!(
        api.describe_user(&user).await,
        is_internal_service_exception
    );
    assert_eq!(status(&err), 500);
    assert_eq!(sandbox.calls().faulted["DescribeUser"], 1);
    sandbox.set_fault_rate(0.0);

    sandbox.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    api.describe_user(&user).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn predefined_attributes_through_the_sdk() {
    let (sandbox, api) = given(ConnectConfig::new()).await;

    api.create_attribute("Language", &["English", "French"])
        .await
        .unwrap();
    // Names are unique case-insensitively.
    let err = service_error!(
        api.create_bare_attribute("language").await,
        is_duplicate_resource_exception
    );
    assert_eq!(status(&err), 409);
    service_error!(
        api.create_bare_attribute("aws:reserved").await,
        is_invalid_parameter_exception
    );

    for n in ["Region Code", "Skill/Tier"] {
        api.create_attribute(n, &["A"]).await.unwrap();
    }
    let names = api.attribute_names(2).await;
    assert_eq!(names, ["Language", "Region Code", "Skill/Tier"]);

    // Describe, with a name that needs percent-encoding in the path.
    let out = api.describe_attribute("Skill/Tier").await.unwrap();
    let attr = out.predefined_attribute().unwrap();
    assert_eq!(attr.name(), Some("Skill/Tier"));
    assert_eq!(
        attr.values().unwrap().as_string_list().unwrap(),
        &vec!["A".to_string()]
    );
    assert!(attr.last_modified_time().is_some());
    service_error!(
        api.describe_attribute("Nope").await,
        is_resource_not_found_exception
    );

    // The values created through the API gate associations.
    let user = sandbox.add_agent("agent.one");
    api.associate(&user, vec![prof("Language", "French", 2.0)])
        .await
        .unwrap();
    assert_eq!(
        sandbox.attribute_values("Language").unwrap(),
        ["English", "French"]
    );

    // An attribute in use cannot be deleted; an unused one can.
    service_error!(
        api.delete_attribute("Language").await,
        is_resource_in_use_exception
    );
    api.delete_attribute("Region Code").await.unwrap();
    assert_eq!(sandbox.attribute_values("Region Code"), None);
}
