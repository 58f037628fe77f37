//! The real ArcGIS client's lifecycle ports against the sandbox portal:
//! member updates, leaving groups, content and its reassignment, deletion,
//! custom roles and licence seats, each refusal surfacing as a typed error
//! or a per-member result carrying the portal's reason.

use std::time::Duration;

use connectors::arcgis::{
    ArcgisClient, ArcgisOptions, BulkResult, GroupLeaving, Licences, MemberContent, MemberDeletion,
    MemberUpdate, ProfileChanges, RoleAdmin, Seats,
};
use connectors::retry::RetryPolicy;
use connectors::secrets::{Credentials, SecretString};
use connectors::Error;
use rollcall_tests::sandbox::{ArcgisSandbox, ItemView, SandboxConfig, SeedMember, DAY_MS};

const VIEWER_ROLE: &str = "iAAAAAAAAAAAAAAA";

fn client(sandbox: &ArcgisSandbox) -> ArcgisClient {
    let options = ArcgisOptions {
        retry: RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..ArcgisOptions::default()
    };
    let credentials = Credentials::Account {
        username: sandbox.admin_username().to_string(),
        password: SecretString::new(sandbox.admin_password()),
    };
    ArcgisClient::new(&sandbox.url(), credentials, options).unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The portal's message of an `Error::Api`; panics on any other error.
fn refusal(error: Error) -> String {
    match error {
        Error::Api { message, .. } => message,
        other => panic!("expected the portal's refusal, got {other:?}"),
    }
}

fn ok(username: &str) -> BulkResult {
    BulkResult {
        username: username.into(),
        ok: true,
        error: None,
    }
}

#[tokio::test]
async fn a_profile_update_changes_only_the_fields_given() {
    // GIVEN a member
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane.doe"));
    let client = client(&sandbox);

    // WHEN only the first name is given
    let first = ProfileChanges {
        first_name: Some("Janet".into()),
        ..ProfileChanges::default()
    };
    client.update_profile("jane.doe", &first).await.unwrap();

    // THEN the first name (and so the full name) changes, nothing else
    let member = sandbox.member("jane.doe").unwrap();
    assert_eq!(
        (
            member.first_name.as_str(),
            member.last_name.as_str(),
            member.full_name.as_str(),
            member.email.as_str()
        ),
        ("Janet", "Doe", "Janet Doe", "jane.doe@example.com")
    );

    // AND an e-mail alone changes the e-mail alone
    let email = ProfileChanges {
        email: Some("janet@example.org".into()),
        ..ProfileChanges::default()
    };
    client.update_profile("jane.doe", &email).await.unwrap();
    let member = sandbox.member("jane.doe").unwrap();
    assert_eq!(
        (member.first_name.as_str(), member.email.as_str()),
        ("Janet", "janet@example.org")
    );

    // AND nothing to change calls nothing
    sandbox.reset_calls();
    client
        .update_profile("jane.doe", &ProfileChanges::default())
        .await
        .unwrap();
    assert_eq!(sandbox.calls().count("updateUser"), 0);

    // AND an e-mail the portal refuses comes back with its reason
    let bad = ProfileChanges {
        email: Some("not an address".into()),
        ..ProfileChanges::default()
    };
    let message = refusal(client.update_profile("jane.doe", &bad).await.unwrap_err());
    assert!(message.contains("Invalid email address"), "{message}");
}

#[tokio::test]
async fn a_role_lands_and_a_role_the_user_type_cannot_hold_is_refused() {
    // GIVEN a Creator and a Viewer (user type) holding the Viewer role
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("cara.creator"));
    sandbox.add_member(
        SeedMember::new("vic.viewer")
            .user_type("viewerUT")
            .role(VIEWER_ROLE),
    );
    let client = client(&sandbox);

    // WHEN the Creator becomes a publisher
    client
        .update_role("cara.creator", "org_publisher")
        .await
        .unwrap();
    // THEN the portal holds it
    assert_eq!(
        sandbox.member("cara.creator").unwrap().role,
        "org_publisher"
    );

    // WHEN the Viewer is to become a publisher
    let message = refusal(
        client
            .update_role("vic.viewer", "org_publisher")
            .await
            .unwrap_err(),
    );
    // THEN the portal's reason comes back and the role stays
    assert!(
        message.contains("not compatible with the user type viewerUT"),
        "{message}"
    );
    let viewer = sandbox.member("vic.viewer").unwrap();
    assert_eq!(viewer.role_id.as_deref(), Some(VIEWER_ROLE));
}

#[tokio::test]
async fn user_types_change_per_member_with_each_refusal_and_its_reason() {
    // GIVEN members a Viewer type can take and members it cannot, on a set clock
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let now = 1_780_000_000_000;
    sandbox.set_clock(now);
    let viewer_role = |name: &str| SeedMember::new(name).role(VIEWER_ROLE);
    sandbox.add_member(viewer_role("alice"));
    sandbox.add_member(SeedMember::new("bob")); // org_user: beyond a Viewer
    sandbox.add_member(viewer_role("carol"));
    sandbox.add_item("carol", Some("Maps"), "Parks", "Web Map");
    sandbox.add_member(viewer_role("dave"));
    sandbox.set_user_type_changed("dave", Some(now - 10 * DAY_MS));
    let client = client(&sandbox);

    // WHEN they all go to Viewer in one call, with an unknown name among them
    let results = client
        .update_user_type(
            &names(&["alice", "bob", "carol", "dave", "ghost"]),
            "viewerUT",
        )
        .await
        .unwrap();

    // THEN each member has the portal's answer, in order
    assert_eq!(results[0], ok("alice"));
    let reasons: Vec<(&str, bool, String)> = results
        .iter()
        .map(|r| {
            (
                r.username.as_str(),
                r.ok,
                r.error.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        !reasons[1].1
            && reasons[1]
                .2
                .contains("not compatible with the role org_user")
    );
    assert!(!reasons[2].1 && reasons[2].2.contains("owns 1 item(s)"));
    assert!(!reasons[3].1 && reasons[3].2.contains("changed less than 30 days ago"));
    assert!(reasons[3].2.contains("2026-06-17"), "{}", reasons[3].2);
    assert!(!reasons[4].1 && reasons[4].2.contains("does not exist"));
    let types: Vec<String> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|u| sandbox.member(u).unwrap().user_type)
        .collect();
    assert_eq!(types, ["viewerUT", "creatorUT", "creatorUT", "creatorUT"]);

    // AND alice cannot change back within 30 days, but can after them
    let back = client
        .update_user_type(&names(&["alice"]), "creatorUT")
        .await
        .unwrap();
    assert!(!back[0].ok);
    sandbox.advance_clock_days(30);
    let back = client
        .update_user_type(&names(&["alice"]), "creatorUT")
        .await
        .unwrap();
    assert_eq!(back, vec![ok("alice")]);
    assert_eq!(sandbox.member("alice").unwrap().user_type, "creatorUT");

    // AND with every Viewer licence taken, none is given
    let viewers = sandbox.assigned_licences("viewerUT");
    sandbox.set_purchased_licences(&[("creatorUT", 100), ("viewerUT", viewers)]);
    sandbox.add_member(viewer_role("erin"));
    let full = client
        .update_user_type(&names(&["erin"]), "viewerUT")
        .await
        .unwrap();
    assert!(!full[0].ok);
    assert_eq!(
        full[0].error.as_deref(),
        Some("No viewerUT licenses are available (0 of 0 assigned).")
    );
    assert_eq!(sandbox.member("erin").unwrap().user_type, "creatorUT");
}

#[tokio::test]
async fn user_type_results_without_usernames_are_read_by_position() {
    // GIVEN a portal whose answers hold only each member's status, in order
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.set_bulk_results_without_username(true);
    sandbox.add_member(SeedMember::new("alice").role(VIEWER_ROLE));
    sandbox.add_member(SeedMember::new("bob"));
    let client = client(&sandbox);

    // WHEN both go to Viewer
    let results = client
        .update_user_type(&names(&["alice", "bob"]), "viewerUT")
        .await
        .unwrap();

    // THEN alice's change and bob's refusal are told apart
    assert_eq!(results[0], ok("alice"));
    assert_eq!(results[1].username, "bob");
    assert!(!results[1].ok);
    assert!(results[1]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("not compatible with the role org_user")));
    assert_eq!(sandbox.member("bob").unwrap().user_type, "creatorUT");
}

#[tokio::test]
async fn credits_are_allocated_and_made_unlimited_on_online_only() {
    // GIVEN an Online member with unlimited credits
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane"));
    let online = client(&sandbox);

    // WHEN 250 credits are allocated, THEN the member holds 250
    online.assign_credits("jane", Some(250.0)).await.unwrap();
    assert_eq!(sandbox.member("jane").unwrap().credits, Some(250.0));

    // WHEN made unlimited, THEN the allocation is gone
    online.assign_credits("jane", None).await.unwrap();
    assert_eq!(sandbox.member("jane").unwrap().credits, None);
    assert_eq!(sandbox.calls().count("assignUserCredits"), 1);
    assert_eq!(sandbox.calls().count("unassignUserCredits"), 1);

    // AND an Enterprise portal has no credits to allocate
    let enterprise = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    enterprise.add_member(SeedMember::new("jane"));
    let error = client(&enterprise)
        .assign_credits("jane", Some(10.0))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
}

#[tokio::test]
async fn members_leave_a_group_and_those_not_removed_are_named() {
    // GIVEN a group of the admin's with two members
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_group("g1", "Field crews");
    for name in ["ann", "ben"] {
        sandbox.add_member(SeedMember::new(name).groups(&["g1"]));
    }
    let client = client(&sandbox);

    // WHEN ann, the owner and a stranger are to leave
    let not_removed = client
        .remove_from_group("g1", &names(&["ann", "rollcall_admin", "stranger"]))
        .await
        .unwrap();

    // THEN ann is out; the owner and the stranger are named
    assert_eq!(not_removed, names(&["rollcall_admin", "stranger"]));
    assert_eq!(
        sandbox.group_members("g1"),
        names(&["ben", "rollcall_admin"])
    );
}

#[tokio::test]
async fn holdings_are_every_item_in_every_folder_and_every_owned_group() {
    // GIVEN a member with root items, two folders (one past a page) and groups
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane").groups(&["joined"]));
    sandbox.add_item("jane", None, "Root map", "Web Map");
    sandbox.add_item("jane", Some("Projects"), "Survey", "Feature Service");
    for i in 0..105 {
        sandbox.add_item("jane", Some("Archive"), &format!("Old {i}"), "CSV");
    }
    sandbox.add_group_owned_by("g-owned-1", "Jane's crew", "jane");
    sandbox.add_group_owned_by("g-owned-2", "Jane's maps", "jane");
    let client = client(&sandbox);

    // WHEN the client reads what she owns
    let holdings = client.holdings("jane").await.unwrap();

    // THEN every item is there with its folder, and only the groups she owns
    assert_eq!(holdings.items.len(), 107);
    let titled = |title: &str| holdings.items.iter().find(|i| i.title == title).unwrap();
    assert_eq!(titled("Root map").folder, None);
    assert_eq!(titled("Survey").item_type, "Feature Service");
    assert_eq!(titled("Survey").folder.as_ref().unwrap().title, "Projects");
    assert_eq!(titled("Old 104").folder.as_ref().unwrap().title, "Archive");
    let folders: Vec<&str> = holdings.folders.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(folders, ["Projects", "Archive"]);
    let mut groups: Vec<&str> = holdings.groups.iter().map(|g| g.id.as_str()).collect();
    groups.sort();
    assert_eq!(groups, ["g-owned-1", "g-owned-2"]);
    assert!(holdings.groups.iter().all(|g| g.owner == "jane"));

    // AND a member who owns nothing holds nothing
    sandbox.add_member(SeedMember::new("empty"));
    assert!(client.holdings("empty").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_folder_is_created_once_and_found_again_by_its_title() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("heir"));
    let client = client(&sandbox);

    let created = client.create_folder("heir", "jane").await.unwrap();
    let again = client.create_folder("heir", "JANE").await.unwrap();

    assert_eq!(created, again);
    assert_eq!(created.title, "jane");
    assert_eq!(sandbox.folders_of("heir"), names(&["jane"]));
    assert_eq!(sandbox.calls().count("createFolder"), 1);
}

#[tokio::test]
async fn items_and_groups_move_to_the_heir_and_then_the_member_can_go() {
    // GIVEN a departing member with items in the root and a folder, and a group
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane"));
    sandbox.add_member(SeedMember::new("heir"));
    sandbox.add_item("jane", None, "Root map", "Web Map");
    sandbox.add_item("jane", Some("Projects"), "Survey", "Feature Service");
    sandbox.add_group_owned_by("g1", "Jane's crew", "jane");
    let client = client(&sandbox);

    // WHEN the delete is tried first, THEN the portal refuses with its reason
    let message = refusal(client.delete_user("jane").await.unwrap_err());
    assert!(
        message.contains("owns 2 item(s) and 1 group(s)"),
        "{message}"
    );
    assert!(sandbox.member("jane").is_some());

    // WHEN every item goes to the heir's folder named after her (which the
    // portal creates) and the group to the heir
    let holdings = client.holdings("jane").await.unwrap();
    for item in &holdings.items {
        client
            .reassign_item("jane", item, "heir", "jane")
            .await
            .unwrap();
    }
    for group in &holdings.groups {
        client.reassign_group(&group.id, "heir").await.unwrap();
    }

    // THEN she holds nothing, the heir holds it all in that folder
    assert!(client.holdings("jane").await.unwrap().is_empty());
    let moved: Vec<ItemView> = sandbox.items_of("heir");
    let placed: Vec<(&str, Option<&str>)> = moved
        .iter()
        .map(|i| (i.title.as_str(), i.folder.as_deref()))
        .collect();
    assert_eq!(
        placed,
        [("Root map", Some("jane")), ("Survey", Some("jane"))]
    );
    assert_eq!(sandbox.group_owner("g1").as_deref(), Some("heir"));

    // AND the delete now goes through
    client.delete_user("jane").await.unwrap();
    assert!(sandbox.member("jane").is_none());
}

#[tokio::test]
async fn content_cannot_go_to_a_viewer_and_an_item_moved_already_is_not_found() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    sandbox.add_member(SeedMember::new("jane"));
    sandbox.add_member(
        SeedMember::new("vic")
            .user_type("viewerUT")
            .role(VIEWER_ROLE),
    );
    sandbox.add_member(SeedMember::new("heir"));
    sandbox.add_item("jane", None, "Root map", "Web Map");
    sandbox.add_group_owned_by("g1", "Jane's crew", "jane");
    let client = client(&sandbox);
    let holdings = client.holdings("jane").await.unwrap();
    let item = &holdings.items[0];

    // A Viewer cannot own content: both moves are refused with the reason
    let message = refusal(
        client
            .reassign_item("jane", item, "vic", "jane")
            .await
            .unwrap_err(),
    );
    assert!(message.contains("cannot own content"), "{message}");
    let message = refusal(client.reassign_group("g1", "vic").await.unwrap_err());
    assert!(message.contains("cannot own content"), "{message}");
    assert_eq!(sandbox.items_of("jane").len(), 1);
    assert_eq!(sandbox.group_owner("g1").as_deref(), Some("jane"));

    // An item moved already is not where the listing said: not found
    client
        .reassign_item("jane", item, "heir", "/")
        .await
        .unwrap();
    assert_eq!(sandbox.items_of("heir")[0].folder, None);
    let error = client
        .reassign_item("jane", item, "heir", "/")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn custom_roles_are_created_renamed_and_given_exactly_their_privileges() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    let client = client(&sandbox);

    // The pre-built roles are listed with their privileges
    let before = client.role_details().await.unwrap();
    let listed: Vec<&str> = before.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(listed, ["Viewer", "Data Editor"]);
    assert!(before[1]
        .privileges
        .contains(&"features:user:edit".to_string()));

    // A role is created, described and given its privileges
    let id = client
        .create_role("Field lead", "Leads a field crew")
        .await
        .unwrap();
    client
        .set_privileges(
            &id,
            &names(&["portal:user:joinGroup", "features:user:edit"]),
        )
        .await
        .unwrap();
    client
        .update_role_description(&id, "Field Lead", "Leads crews")
        .await
        .unwrap();
    client
        .set_privileges(&id, &names(&["portal:user:viewOrgItems"]))
        .await
        .unwrap();
    let role = client
        .role_details()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    assert_eq!(
        (
            role.name.as_str(),
            role.description.as_str(),
            role.privileges
        ),
        (
            "Field Lead",
            "Leads crews",
            names(&["portal:user:viewOrgItems"])
        )
    );
    assert_eq!(
        sandbox.role_named("field lead").unwrap().privileges,
        names(&["portal:user:viewOrgItems"])
    );

    // Refusals: an unknown privilege, the pre-built roles, a taken name
    let message = refusal(
        client
            .set_privileges(&id, &names(&["portal:user:makeCoffee"]))
            .await
            .unwrap_err(),
    );
    assert!(message.contains("portal:user:makeCoffee"), "{message}");
    let message = refusal(
        client
            .update_role_description(VIEWER_ROLE, "Viewer", "mine now")
            .await
            .unwrap_err(),
    );
    assert!(message.contains("cannot be changed"), "{message}");
    let message = refusal(
        client
            .set_privileges("iBBBBBBBBBBBBBBB", &names(&["portal:user:createItem"]))
            .await
            .unwrap_err(),
    );
    assert!(message.contains("cannot be changed"), "{message}");
    let error = client.create_role("FIELD LEAD", "again").await.unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");
    assert_eq!(sandbox.roles().len(), 3);
}

/// Five Creators (the admin and four) and two Viewers.
fn seed_license_holders(sandbox: &ArcgisSandbox) {
    for i in 0..4 {
        sandbox.add_member(SeedMember::new(&format!("creator{i}")));
    }
    for i in 0..2 {
        sandbox.add_member(
            SeedMember::new(&format!("viewer{i}"))
                .user_type("viewerUT")
                .role(VIEWER_ROLE),
        );
    }
}

fn seats(user_type: &str, purchased: u64, assigned: u64) -> Seats {
    Seats {
        user_type: user_type.into(),
        purchased,
        assigned,
    }
}

#[tokio::test]
async fn seats_are_read_from_the_purchases_on_online() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::online()).await;
    seed_license_holders(&sandbox);
    sandbox.set_purchased_licences(&[("creatorUT", 10), ("viewerUT", 2), ("editorUT", 3)]);
    let client = client(&sandbox);

    let found = client.seats().await.unwrap();

    // The ArcGIS Pro entitlements among the purchases are not user types
    assert_eq!(
        found,
        Some(vec![
            seats("creatorUT", 10, 5),
            seats("editorUT", 3, 0),
            seats("viewerUT", 2, 2),
        ])
    );
    assert_eq!(found.unwrap()[2].free(), 0);
    assert_eq!(sandbox.calls().count("license"), 0);
}

#[tokio::test]
async fn seats_are_read_from_the_license_resource_on_enterprise() {
    let sandbox = ArcgisSandbox::start(SandboxConfig::enterprise()).await;
    seed_license_holders(&sandbox);
    sandbox.set_purchased_licences(&[("creatorUT", 6), ("viewerUT", 50)]);
    let client = client(&sandbox);

    let found = client.seats().await.unwrap();

    assert_eq!(
        found,
        Some(vec![seats("creatorUT", 6, 5), seats("viewerUT", 50, 2)])
    );
    assert_eq!(sandbox.calls().count("license"), 1);
}

#[tokio::test]
async fn seats_are_unknown_where_the_portal_does_not_say() {
    for config in [SandboxConfig::online(), SandboxConfig::enterprise()] {
        let sandbox = ArcgisSandbox::start(config).await;
        seed_license_holders(&sandbox);
        assert_eq!(client(&sandbox).seats().await.unwrap(), None);
    }
}
