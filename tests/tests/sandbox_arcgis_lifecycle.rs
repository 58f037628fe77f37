//! The member-lifecycle resources of the ArcGIS portal sandbox on the wire,
//! with plain reqwest: the JSON shapes the public documentation and the
//! ArcGIS API for Python describe (sources in
//! `rollcall_tests::sandbox::arcgis`), which the client's tests do not show.

use rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember};
use serde_json::{json, Value};

/// Form posts and queries with `f=json` and a token.
struct Portal {
    http: reqwest::Client,
    rest: String,
    token: String,
}

impl Portal {
    async fn signed_in(sandbox: &ArcgisSandbox, username: &str, password: &str) -> Portal {
        let http = reqwest::Client::new();
        let rest = format!("{}/sharing/rest", sandbox.url());
        let answer: Value = http
            .post(format!("{rest}/generateToken"))
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
        let token = answer["token"].as_str().expect("a token").to_string();
        Portal { http, rest, token }
    }

    async fn admin(sandbox: &ArcgisSandbox) -> Portal {
        Self::signed_in(sandbox, sandbox.admin_username(), sandbox.admin_password()).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let query = [query, &[("f", "json"), ("token", &self.token)]].concat();
        let req = self.http.get(format!("{}/{path}", self.rest)).query(&query);
        req.send().await.unwrap().json().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let form = [form, &[("f", "json"), ("token", &self.token)]].concat();
        let req = self.http.post(format!("{}/{path}", self.rest)).form(&form);
        req.send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test]
async fn content_listings_page_items_and_name_the_folders_at_the_root() {
    // GIVEN a member with twelve root items and one folder holding one item
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane").password("Jane-pass-1"));
    sandbox.add_member(SeedMember::new("bob").password("Bob-pass-1"));
    for i in 1..=12 {
        sandbox.add_item("jane", None, &format!("Map {i:02}"), "Web Map");
    }
    let in_folder = sandbox.add_item("jane", Some("Survey"), "Points", "Feature Service");
    let admin = Portal::admin(&sandbox).await;

    // WHEN the admin lists the root, a page of ten
    let first = admin.get("content/users/jane", &[("num", "10")]).await;

    // THEN it pages on with nextStart and names the folder
    assert_eq!(
        (
            &first["total"],
            &first["num"],
            &first["nextStart"],
            &first["currentFolder"]
        ),
        (&json!(12), &json!(10), &json!(11), &Value::Null)
    );
    let folder = &first["folders"][0];
    assert_eq!(
        (&folder["username"], &folder["title"]),
        (&json!("jane"), &json!("Survey"))
    );
    assert_eq!(first["items"][0]["title"], "Map 01");
    assert_eq!(first["items"][0]["ownerFolder"], Value::Null);
    let last = admin
        .get("content/users/jane", &[("num", "10"), ("start", "11")])
        .await;
    assert_eq!((&last["num"], &last["nextStart"]), (&json!(2), &json!(-1)));

    // AND the folder's listing holds its item and names itself
    let folder_id = folder["id"].as_str().unwrap();
    let inside = admin
        .get(&format!("content/users/jane/{folder_id}"), &[])
        .await;
    assert_eq!(inside["currentFolder"]["title"], "Survey");
    assert_eq!(inside["items"][0]["id"], in_folder.as_str());
    assert_eq!(inside["items"][0]["ownerFolder"], folder_id);
    assert_eq!(inside["folders"], json!([]));

    // AND another member may not read her content, nor reassign it
    let bob = Portal::signed_in(&sandbox, "bob", "Bob-pass-1").await;
    let denied = bob.get("content/users/jane", &[]).await;
    assert_eq!(denied["error"]["code"], 403);
    let denied = bob
        .post(
            &format!("content/users/jane/{folder_id}/items/{in_folder}/reassign"),
            &[("targetUsername", "bob"), ("targetFolderName", "/")],
        )
        .await;
    assert_eq!(denied["error"]["code"], 403);
    assert_eq!(sandbox.items_of("jane").len(), 13);
}

#[tokio::test]
async fn a_user_type_refusal_is_a_false_status_with_an_error_object() {
    // GIVEN a member with the Viewer role and one with the User role
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("alice").role("iAAAAAAAAAAAAAAA"));
    sandbox.add_member(SeedMember::new("bob"));
    let admin = Portal::admin(&sandbox).await;

    // WHEN both go to Viewer, named in a comma list (the reference's list form)
    let answer = admin
        .post(
            "portals/self/updateuserlicensetype",
            &[("users", "alice,BOB"), ("userLicenseType", "viewerUT")],
        )
        .await;

    // THEN each has a status, the refusal its error object, and no `success`
    assert_eq!(
        answer,
        json!({"results": [
            {"username": "alice", "status": true},
            {"username": "bob", "status": false, "error": {"code": 400,
                "message": "The user type viewerUT is not compatible with the role org_user of bob."}}
        ]})
    );
}

#[tokio::test]
async fn licences_are_served_as_purchases_and_paged_counts() {
    // GIVEN an org holding Creator and Viewer licences, with two Creators
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("cara"));
    sandbox.set_purchased_licences(&[("creatorUT", 5), ("viewerUT", 3)]);
    let admin = Portal::admin(&sandbox).await;

    // THEN the user types are one purchase's entitlements, beside ArcGIS Pro's
    let purchases = admin.get("portals/self/purchases", &[]).await;
    assert_eq!(
        purchases["purchases"][0]["provision"]["orgEntitlements"]["entitlements"],
        json!({"creatorUT": {"num": 5}, "viewerUT": {"num": 3}})
    );
    assert_eq!(purchases["purchases"][1]["listing"]["title"], "ArcGIS Pro");

    // AND the counts per user type come a page at a time
    let counts = admin
        .get(
            "portals/self/users/counts",
            &[("type", "userLicenseType"), ("num", "1")],
        )
        .await;
    assert_eq!(
        counts,
        json!({"total": 1, "start": 1, "num": 1, "nextStart": -1,
               "results": [{"key": "creatorUT", "count": 2}]})
    );

    // AND operations are POST only
    let get = admin
        .get("content/users/cara/createFolder", &[("title", "x")])
        .await;
    assert_eq!(get["error"]["code"], 405);
    assert!(sandbox.folders_of("cara").is_empty());
}
