//! The sandbox's group search (`community/groups`, *Group Search*) with
//! plain reqwest: the search envelope, the `orgid:` query, who sees what,
//! and the 10,000-result cap.

use rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember};
use serde_json::Value;

async fn token(sandbox: &ArcgisSandbox, username: &str, password: &str) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/sharing/rest/generateToken", sandbox.url()))
        .form(&[
            ("username", username),
            ("password", password),
            ("client", "referer"),
            ("referer", "http"),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().expect("a token").to_string()
}

async fn search(sandbox: &ArcgisSandbox, token: Option<&str>, query: &[(&str, &str)]) -> Value {
    let mut query = [query, &[("f", "json")]].concat();
    if let Some(token) = token {
        query.push(("token", token));
    }
    let response = reqwest::Client::new()
        .get(format!("{}/sharing/rest/community/groups", sandbox.url()))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn an_org_search_lists_its_groups_by_title_in_pages() {
    // GIVEN three groups, one owned by a member
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("owner.one"));
    sandbox.add_group("c0000000000000000000000000000003", "Zoning");
    sandbox.add_group("a0000000000000000000000000000001", "Parks");
    sandbox.add_group_owned_by("b0000000000000000000000000000002", "Libraries", "owner.one");
    let admin = token(&sandbox, sandbox.admin_username(), sandbox.admin_password()).await;
    let org = "orgid:RollcallSbxOrg01";

    // WHEN the admin searches the org two at a time
    let first = search(&sandbox, Some(&admin), &[("q", org), ("num", "2")]).await;
    let second = search(
        &sandbox,
        Some(&admin),
        &[("q", org), ("num", "2"), ("start", "3")],
    )
    .await;

    // THEN the pages hold the groups by title, with the search envelope
    assert_eq!(first["total"], 3);
    assert_eq!(first["query"], org);
    assert_eq!(first["nextStart"], 3);
    assert_eq!(
        ids(&first),
        [
            "b0000000000000000000000000000002",
            "a0000000000000000000000000000001"
        ]
    );
    assert_eq!(first["results"][0]["title"], "Libraries");
    assert_eq!(first["results"][0]["owner"], "owner.one");
    assert_eq!(first["results"][0]["orgId"], "RollcallSbxOrg01");
    assert_eq!(second["nextStart"], -1);
    assert_eq!(ids(&second), ["c0000000000000000000000000000003"]);

    // AND another org's id, or an anonymous caller, finds none of them
    let other = search(&sandbox, Some(&admin), &[("q", "orgid:SomeOtherOrg99")]).await;
    assert_eq!(other["total"], 0);
    assert_eq!(other["nextStart"], -1);
    let anonymous = search(&sandbox, None, &[("q", org)]).await;
    assert_eq!(anonymous["total"], 0);

    // AND owner and title terms narrow the search
    let owned = search(
        &sandbox,
        Some(&admin),
        &[("q", "orgid:RollcallSbxOrg01 AND owner:owner.one")],
    )
    .await;
    assert_eq!(ids(&owned), ["b0000000000000000000000000000002"]);
    let worded = search(&sandbox, Some(&admin), &[("q", "park")]).await;
    assert_eq!(ids(&worded), ["a0000000000000000000000000000001"]);
}

#[tokio::test]
async fn a_search_pages_no_further_than_ten_thousand_results() {
    // GIVEN 10,050 groups
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    for i in 0..10_050 {
        sandbox.add_group(&format!("{i:032x}"), &format!("Group {i:05}"));
    }
    let admin = token(&sandbox, sandbox.admin_username(), sandbox.admin_password()).await;
    let q = ("q", "orgid:RollcallSbxOrg01");

    // WHEN the last reachable page and the one after it are asked for
    let last = search(
        &sandbox,
        Some(&admin),
        &[q, ("start", "9951"), ("num", "100")],
    )
    .await;
    let beyond = search(
        &sandbox,
        Some(&admin),
        &[q, ("start", "10001"), ("num", "100")],
    )
    .await;

    // THEN the total counts every group, the last page stops at 10,000, and
    // nothing lies beyond it
    assert_eq!(last["total"], 10_050);
    assert_eq!(ids(&last).len(), 50);
    assert_eq!(last["results"][49]["title"], "Group 09999");
    assert_eq!(last["nextStart"], -1);
    assert!(ids(&beyond).is_empty());
    assert_eq!(beyond["nextStart"], -1);
}
