//! Benchmark: a 1,000-row member file mixing every action (create, update,
//! disable, enable, delete with `reassign_to`) against the sandbox portal
//! with 50 ms latency on every portal call, side by side with the ArcGIS
//! user-management guide's loop, one call per member and change. Run by
//! `scripts/bench onboard-lifecycle`.
//!
//! Two phases, each against a fresh sandbox process seeded alike:
//!
//! 1. **rollcall**: the onboard handler exactly as `main` builds it (real
//!    S3, SES, Secrets Manager and ArcGIS adapters), with
//!    `MAX_DELETES_PER_RUN` 100, handling the file. Every row must end with
//!    the outcome its action asks for, so the benchmark never measures
//!    failures.
//! 2. **guide loop**: the notebook pattern of the ArcGIS API for Python's
//!    user-management guide
//!    (<https://developers.arcgis.com/python/guide/accessing-and-managing-users/>),
//!    strictly sequential: per member one `gis.users.get`, then one call per
//!    change (`user.update`, `user.update_role`, `user.update_license_type`,
//!    the credit allocation, `group.remove_users` / `add_users` for that
//!    member alone, `user.disable()` / `enable()`, `gis.users.create`, and
//!    `user.delete(reassign_to=…)`, which lists the member's content, moves
//!    each item and group, then deletes). It is made with the real
//!    [`ArcgisClient`] ports, one member per call. Every call must succeed,
//!    and the org must end exactly as rollcall left it.
//!
//! Reports each phase's wall time and portal calls (`GET /sandbox/calls`),
//! calls per row, the speed-up, the calls by operation, and the peak RSS of
//! the rollcall phase (VmHWM, taken before the guide loop runs).
//!
//! Options: `--rows N` (default 1000; the mix scales with it), `--latency-ms
//! N` (default 50), `--concurrency N` (rollcall's `ARCGIS_CONCURRENCY`,
//! default 8), `--skip-loop` (rollcall only).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use connectors::arcgis::{
    ArcgisClient, BulkResult, GroupLeaving, GroupLookup, GroupMembership, Invitation,
    MemberContent, MemberCreation, MemberDeletion, MemberLookup, MemberStatus, MemberUpdate,
    OrgInfo, ProfileChanges,
};
use connectors::inbox::Outcome;
use connectors::secrets::SecretString;
use rollcall_tests::bench::{flag, option, peak_rss_kib, spawn_sandbox, BenchAws};
use rollcall_tests::sandbox::SeedMember;
use rollcall_tests::world::InBucket;
use serde_json::{json, Value};

/// The group update rows join.
const JOIN_GROUP: &str = "b1000000000000000000000000000001";
/// The group update rows leave (their members are seeded in it).
const LEAVE_GROUP: &str = "b1000000000000000000000000000002";
/// The Creator who receives the deleted members' items and groups.
const RECEIVER: &str = "bench.keeper";
/// The Viewer role's id (a built-in listed role).
const VIEWER_ROLE: &str = "iAAAAAAAAAAAAAAA";
/// The credits a third of the update rows allocate.
const CREDITS: f64 = 500.0;
/// Items each member deleted with `reassign_to` owns (besides one group).
const ITEMS_OWNED: u32 = 2;
/// `MAX_DELETES_PER_RUN` of the rollcall run (raised to the file's deletes
/// when `--rows` asks for more).
const MAX_DELETES: usize = 100;
const PASSWORD: &str = "Bench-Password1!";

/// The 20-row pattern the file repeats: 5 create, 6 update, 4 disable,
/// 3 enable, 2 delete (250, 300, 200, 150 and 100 of 1,000 rows).
const CYCLE: [Kind; 20] = {
    use Kind::*;
    [
        Create, Update, Disable, Create, Update, Enable, Delete, Update, Disable, Create, Update,
        Enable, Create, Update, Disable, Delete, Create, Update, Enable, Disable,
    ]
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Create,
    Update,
    Disable,
    Enable,
    Delete,
}

/// What an update row changes besides names and email.
#[derive(Debug, Clone, Copy)]
enum UpdateExtra {
    /// Creator → Viewer, with the Viewer role.
    ViewerTypeAndRole,
    /// A credit allocation of [`CREDITS`].
    Credits,
    /// Join [`JOIN_GROUP`], leave [`LEAVE_GROUP`].
    Groups,
}

/// One row of the file and what it does.
#[derive(Debug, Clone)]
enum Action {
    Create {
        password: bool,
    },
    Update(UpdateExtra),
    Disable,
    Enable,
    /// `owns`: two items and a group, moved to [`RECEIVER`] (`reassign_to`).
    Delete {
        owns: bool,
    },
}

#[derive(Debug, Clone)]
struct Row {
    username: String,
    /// The row's index among the rows of its kind.
    nth: usize,
    action: Action,
}

impl Row {
    /// The outcome the report must give the row.
    fn expected(&self) -> Outcome {
        match self.action {
            Action::Create { password: true } => Outcome::Created,
            Action::Create { password: false } => Outcome::Invited,
            Action::Update(_) => Outcome::Updated,
            Action::Disable => Outcome::Disabled,
            Action::Enable => Outcome::Enabled,
            Action::Delete { .. } => Outcome::Deleted,
        }
    }

    fn new_names(&self) -> ProfileChanges {
        ProfileChanges {
            first_name: Some("Renamed".into()),
            last_name: Some(format!("Member{}", self.nth)),
            email: Some(format!("{}.new@example.org", self.username)),
        }
    }

    /// The group a member deleted with `reassign_to` owns.
    fn owned_group(&self) -> String {
        format!("d{:031x}", self.nth)
    }

    /// The row as a CSV line (columns of [`HEADER`]).
    fn csv_line(&self) -> String {
        let u = &self.username;
        match &self.action {
            Action::Create { password } => {
                let pw = if *password { PASSWORD } else { "" };
                format!(
                    "{u},create,{pw},Bench,Create{},{u}@example.org,Creator,User,,,,",
                    self.nth
                )
            }
            Action::Update(extra) => {
                let names = self.new_names();
                let (user_type, role, credits, join, leave) = match extra {
                    UpdateExtra::ViewerTypeAndRole => ("Viewer", "Viewer", String::new(), "", ""),
                    UpdateExtra::Credits => ("", "", CREDITS.to_string(), "", ""),
                    UpdateExtra::Groups => ("", "", String::new(), JOIN_GROUP, LEAVE_GROUP),
                };
                format!(
                    "{u},update,,{},{},{},{user_type},{role},{credits},{join},{leave},",
                    names.first_name.unwrap_or_default(),
                    names.last_name.unwrap_or_default(),
                    names.email.unwrap_or_default(),
                )
            }
            Action::Disable => format!("{u},disable,,,,,,,,,,"),
            Action::Enable => format!("{u},enable,,,,,,,,,,"),
            Action::Delete { owns: true } => format!("{u},delete,,,,,,,,,,{RECEIVER}"),
            Action::Delete { owns: false } => format!("{u},delete,,,,,,,,,,"),
        }
    }
}

const HEADER: &str = "username,action,password,firstname,lastname,email,user type,role,credit allocation,groups,leave_groups,reassign_to";

/// The file's rows: [`CYCLE`] repeated over `rows`; within each kind the
/// variants alternate (half the creates with a password, update extras in
/// thirds, half the deletes owning content).
fn plan(rows: usize) -> Vec<Row> {
    let mut seen: BTreeMap<Kind, usize> = BTreeMap::new();
    (0..rows)
        .map(|i| {
            let kind = CYCLE[i % CYCLE.len()];
            let counter = seen.entry(kind).or_default();
            let nth = *counter;
            *counter += 1;
            let (word, action) = match kind {
                Kind::Create => (
                    "create",
                    Action::Create {
                        password: nth % 2 == 0,
                    },
                ),
                Kind::Update => (
                    "update",
                    Action::Update(match nth % 3 {
                        0 => UpdateExtra::ViewerTypeAndRole,
                        1 => UpdateExtra::Credits,
                        _ => UpdateExtra::Groups,
                    }),
                ),
                Kind::Disable => ("disable", Action::Disable),
                Kind::Enable => ("enable", Action::Enable),
                Kind::Delete => ("delete", Action::Delete { owns: nth % 2 == 0 }),
            };
            Row {
                username: format!("bench.{word}{nth:05}"),
                nth,
                action,
            }
        })
        .collect()
}

fn count(plan: &[Row], kind: fn(&Action) -> bool) -> usize {
    plan.iter().filter(|r| kind(&r.action)).count()
}

/// Seeds the org of `plan` through the sandbox control API: the two
/// groups, the receiver, every member a change row names (disabled for
/// enable rows, in [`LEAVE_GROUP`] for group updates, with items for
/// deletes with `reassign_to`), then the groups those members own.
async fn seed(http: &reqwest::Client, control: &str, plan: &[Row]) {
    let post = |path: &str, body: Value| {
        let url = format!("{control}{path}");
        async move {
            let answer = http.post(&url).json(&body).send().await.expect(&url);
            assert!(
                answer.status().is_success(),
                "{url}: {}",
                answer.text().await.unwrap_or_default()
            );
        }
    };
    post(
        "/sandbox/groups",
        json!([
            {"id": JOIN_GROUP, "title": "Bench Joined"},
            {"id": LEAVE_GROUP, "title": "Bench Left"},
        ]),
    )
    .await;
    let mut members = vec![SeedMember::new(RECEIVER).role("org_publisher")];
    let mut owned_groups = Vec::new();
    for row in plan {
        let member = SeedMember::new(&row.username);
        members.push(match row.action {
            Action::Create { .. } => continue,
            Action::Update(UpdateExtra::Groups) => member.groups(&[LEAVE_GROUP]),
            Action::Update(_) | Action::Disable => member,
            Action::Enable => member.disabled(true),
            Action::Delete { owns: false } => member,
            Action::Delete { owns: true } => {
                owned_groups.push(json!({
                    "id": row.owned_group(),
                    "title": format!("Crew {}", row.nth),
                    "owner": row.username,
                }));
                member.items(ITEMS_OWNED)
            }
        });
    }
    post("/sandbox/members", json!(members)).await;
    if !owned_groups.is_empty() {
        post("/sandbox/groups", Value::Array(owned_groups)).await;
    }
}

/// Portal calls so far: the total and by operation.
struct Calls {
    total: u64,
    by_operation: BTreeMap<String, u64>,
}

async fn calls(http: &reqwest::Client, control: &str) -> Calls {
    let stats: Value = http
        .get(format!("{control}/sandbox/calls"))
        .send()
        .await
        .expect("GET /sandbox/calls")
        .json()
        .await
        .expect("call stats");
    Calls {
        total: stats["total"].as_u64().expect("total"),
        by_operation: stats["by_operation"]
            .as_object()
            .expect("by_operation")
            .iter()
            .map(|(op, n)| (op.clone(), n.as_u64().unwrap_or(0)))
            .collect(),
    }
}

/// The org as the rows leave it: every member's fields a row may change,
/// each group's owner and members, and where the receiver's items are
/// (read with the client after the calls were counted).
async fn org_after(http: &reqwest::Client, control: &str, client: &ArcgisClient) -> Value {
    let state: Value = http
        .get(format!("{control}/sandbox/state"))
        .send()
        .await
        .expect("GET /sandbox/state")
        .json()
        .await
        .expect("sandbox state");
    let fields = [
        "first_name",
        "last_name",
        "email",
        "role",
        "role_id",
        "user_type",
        "credits",
        "invited",
        "has_password",
        "disabled",
        "groups",
        "items",
    ];
    let users: BTreeMap<String, Value> = state["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            let kept: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| {
                    let value = u.get(*f).unwrap_or_else(|| panic!("the state has no {f}"));
                    (f.to_string(), value.clone())
                })
                .collect();
            (
                u["username"].as_str().unwrap_or_default().to_string(),
                Value::Object(kept),
            )
        })
        .collect();
    let groups: BTreeMap<String, Value> = state["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let members: BTreeSet<&str> = g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (
                g["id"].as_str().unwrap_or_default().to_string(),
                json!({"owner": g["owner"], "members": members}),
            )
        })
        .collect();
    let held = client
        .holdings(RECEIVER)
        .await
        .expect("the receiver's holdings");
    let mut items: Vec<String> = held
        .items
        .iter()
        .map(|i| {
            let folder = i.folder.as_ref().map_or("(root)", |f| f.title.as_str());
            format!("{folder}/{}", i.title)
        })
        .collect();
    items.sort();
    json!({"users": users, "groups": groups, "receiver_items": items})
}

/// What one phase measured.
struct Phase {
    wall: Duration,
    calls: Calls,
    /// The org afterwards ([`org_after`]).
    org: Value,
}

/// The sandbox portal in its own process, seeded with the org of `plan`.
async fn fresh_sandbox(
    latency: &str,
    http: &reqwest::Client,
    plan: &[Row],
) -> (std::process::Child, String, String) {
    let (sandbox, url) = spawn_sandbox(&["--mode", "online", "--latency-ms", latency]);
    let control = url.trim_end_matches("/portal").to_string();
    seed(http, &control, plan).await;
    (sandbox, url, control)
}

/// Phase 1: the onboard handler runs the file; every row must end as its
/// action asks.
async fn rollcall(
    bench: &BenchAws,
    http: &reqwest::Client,
    plan: &[Row],
    latency: &str,
    concurrency: usize,
    max_deletes: usize,
) -> (Phase, BTreeMap<Outcome, usize>, u64) {
    let (mut sandbox, url, control) = fresh_sandbox(latency, http, plan).await;
    let mut csv = format!("{HEADER}\n");
    for row in plan {
        csv.push_str(&row.csv_line());
        csv.push('\n');
    }
    let key = "inbox/arcgis/lifecycle.csv";
    bench.drop_csv(key, &csv).await;

    // The handler exactly as main builds it, with the deployment's defaults
    // but for MAX_DELETES_PER_RUN.
    let (settings, arcgis) = bench.arcgis(&url, concurrency).await;
    let mut config = onboard::OnboardConfig::new(bench.common(), settings);
    config.max_deletes_per_run = max_deletes;
    let handler = onboard::Handler {
        store: bench.aws.s3.clone(),
        mailer: bench.aws.mail.clone(),
        service: onboard::Systems {
            arcgis: Some(arcgis),
            ams: None::<connectors::ams::AmsClient>,
        },
        config,
    };
    let event = bench.s3_event(key);

    let started = Instant::now();
    let response = handler.handle(event).await.expect("the run succeeds");
    let wall = started.elapsed();
    let peak_rss = peak_rss_kib();
    let calls = calls(http, &control).await;

    // Every row ended with its expected outcome.
    let report = bench
        .text_at(response.report.as_deref().expect("a report"))
        .await;
    let mut reader = csv::Reader::from_reader(report.as_bytes());
    let mut outcomes: BTreeMap<String, (String, String)> = BTreeMap::new();
    for record in reader.records() {
        let record = record.expect("a report row");
        outcomes.insert(
            record[1].to_string(),
            (record[2].to_string(), record[4].to_string()),
        );
    }
    let wrong: Vec<String> = plan
        .iter()
        .filter_map(|row| {
            let want = row.expected().as_str();
            match outcomes.get(&row.username) {
                Some((got, _)) if got == want => None,
                Some((got, reason)) => Some(format!(
                    "{} ({:?}): {got}, not {want}: {reason}",
                    row.username, row.action
                )),
                None => Some(format!("{}: not in the report", row.username)),
            }
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} rows did not end as expected; the first: {:#?}",
        wrong.len(),
        plan.len(),
        &wrong[..wrong.len().min(10)]
    );
    let mut counted: BTreeMap<Outcome, usize> = BTreeMap::new();
    for row in plan {
        *counted.entry(row.expected()).or_default() += 1;
    }
    for (outcome, n) in &counted {
        assert_eq!(response.counts.get(*outcome), *n, "{outcome:?} rows");
    }
    assert_eq!(response.counts.get(Outcome::Failed), 0, "no failed rows");

    let (_, client) = bench.arcgis(&url, concurrency).await;
    let org = org_after(http, &control, &client).await;
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    (Phase { wall, calls, org }, counted, peak_rss)
}

/// A bulk call for one member that must have worked.
fn one_ok(what: &str, username: &str, answer: Result<Vec<BulkResult>, connectors::Error>) {
    let results = answer.unwrap_or_else(|e| panic!("{what} {username}: {e}"));
    assert!(
        results.len() == 1 && results[0].ok,
        "{what} {username}: {results:?}"
    );
}

/// A call answering the usernames left out, which must be none.
fn none_left_out(what: &str, username: &str, answer: Result<Vec<String>, connectors::Error>) {
    let left_out = answer.unwrap_or_else(|e| panic!("{what} {username}: {e}"));
    assert!(left_out.is_empty(), "{what} {username}: left out");
}

/// The guide's notebook loop over the file, one member and one change per
/// call, strictly in file order.
async fn guide_loop(client: &ArcgisClient, plan: &[Row]) {
    // `GIS(...)`: the org (for the new members' default credits), then the
    // two groups the loop adds to and removes from (`gis.groups.get`).
    let portal = client.portal().await.expect("portals/self");
    for group in [JOIN_GROUP, LEAVE_GROUP] {
        let found = client.group(group).await.expect("gis.groups.get");
        assert!(found.is_some(), "group {group}");
    }
    for row in plan {
        let u = row.username.as_str();
        // `gis.users.get(username)`.
        let found = client
            .user(u)
            .await
            .unwrap_or_else(|e| panic!("get {u}: {e}"));
        if matches!(row.action, Action::Create { .. }) {
            assert!(found.is_none(), "{u} exists before its create");
        } else {
            assert!(found.is_some(), "{u} not found");
        }
        match row.action {
            Action::Create { password } => {
                // `gis.users.create(...)`: one invitation per call.
                let invitation = Invitation {
                    username: u.to_string(),
                    first_name: "Bench".into(),
                    last_name: format!("Create{}", row.nth),
                    email: format!("{u}@example.org"),
                    role: Some("org_user".into()),
                    user_type: Some("creatorUT".into()),
                    credits: portal.default_credits,
                    password: password.then(|| SecretString::new(PASSWORD)),
                    provider: None,
                    idp_username: None,
                };
                none_left_out("invite", u, client.invite(&[invitation]).await);
            }
            Action::Update(extra) => {
                // `user.update(first_name=, last_name=, email=)`.
                client
                    .update_profile(u, &row.new_names())
                    .await
                    .unwrap_or_else(|e| panic!("update {u}: {e}"));
                match extra {
                    UpdateExtra::ViewerTypeAndRole => {
                        // `user.update_role(...)` first: a User-role Creator
                        // cannot become a Viewer.
                        client
                            .update_role(u, VIEWER_ROLE)
                            .await
                            .unwrap_or_else(|e| panic!("update_role {u}: {e}"));
                        one_ok(
                            "update_license_type",
                            u,
                            client.update_user_type(&[u.to_string()], "viewerUT").await,
                        );
                    }
                    UpdateExtra::Credits => client
                        .assign_credits(u, Some(CREDITS))
                        .await
                        .unwrap_or_else(|e| panic!("credits {u}: {e}")),
                    UpdateExtra::Groups => {
                        let one = [u.to_string()];
                        none_left_out(
                            "remove_users",
                            u,
                            client.remove_from_group(LEAVE_GROUP, &one).await,
                        );
                        none_left_out("add_users", u, client.add_to_group(JOIN_GROUP, &one).await);
                    }
                }
            }
            Action::Disable => one_ok("disable", u, client.disable_users(&[u.to_string()]).await),
            Action::Enable => one_ok("enable", u, client.enable_users(&[u.to_string()]).await),
            Action::Delete { owns } => {
                if owns {
                    // `user.delete(reassign_to=...)`: list the content, move
                    // each item and group, then delete.
                    let held = client
                        .holdings(u)
                        .await
                        .unwrap_or_else(|e| panic!("content of {u}: {e}"));
                    for item in &held.items {
                        client
                            .reassign_item(u, item, RECEIVER, u)
                            .await
                            .unwrap_or_else(|e| panic!("reassign {} of {u}: {e}", item.id));
                    }
                    for group in &held.groups {
                        client
                            .reassign_group(&group.id, RECEIVER)
                            .await
                            .unwrap_or_else(|e| panic!("reassign group {} of {u}: {e}", group.id));
                    }
                }
                client
                    .delete_user(u)
                    .await
                    .unwrap_or_else(|e| panic!("delete {u}: {e}"));
            }
        }
    }
}

/// Phase 2: the guide's loop against a fresh sandbox seeded alike.
async fn guide(bench: &BenchAws, http: &reqwest::Client, plan: &[Row], latency: &str) -> Phase {
    let (mut sandbox, url, control) = fresh_sandbox(latency, http, plan).await;
    let (_, client) = bench.arcgis(&url, 1).await;
    let started = Instant::now();
    guide_loop(&client, plan).await;
    let wall = started.elapsed();
    let calls = calls(http, &control).await;
    let org = org_after(http, &control, &client).await;
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    Phase { wall, calls, org }
}

/// Where two orgs differ, at most `max` entries.
fn differences(a: &Value, b: &Value, path: &str, max: usize, out: &mut Vec<String>) {
    if out.len() >= max || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (l, r) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(l, r, &format!("{path}/{k}"), max, out);
            }
        }
        _ => out.push(format!("{path}: rollcall {a}, guide loop {b}")),
    }
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::main]
async fn main() {
    let rows: usize = option("--rows", "1000").parse().expect("--rows N");
    let latency = option("--latency-ms", "50");
    let concurrency: usize = option("--concurrency", "8")
        .parse()
        .expect("--concurrency N");
    let skip_loop = flag("--skip-loop");

    let plan = plan(rows);
    let deletes = count(&plan, |a| matches!(a, Action::Delete { .. }));
    let max_deletes = MAX_DELETES.max(deletes);
    let http = reqwest::Client::new();
    let bench = BenchAws::new("bench-lifecycle").await;

    println!(
        "onboard lifecycle benchmark: {rows} rows ({} create, {} update, {} disable, {} enable, {deletes} delete), ArcGIS Online, {latency} ms per portal call",
        count(&plan, |a| matches!(a, Action::Create { .. })),
        count(&plan, |a| matches!(a, Action::Update(_))),
        count(&plan, |a| matches!(a, Action::Disable)),
        count(&plan, |a| matches!(a, Action::Enable)),
    );
    println!(
        "  rollcall: concurrency {concurrency}, MAX_DELETES_PER_RUN {max_deletes} (the default is {})",
        onboard::config::DEFAULT_MAX_DELETES_PER_RUN
    );
    println!(
        "  deletes: {} move {ITEMS_OWNED} items and 1 group to {RECEIVER}, {} own nothing",
        count(&plan, |a| matches!(a, Action::Delete { owns: true })),
        count(&plan, |a| matches!(a, Action::Delete { owns: false })),
    );

    let rss_before = peak_rss_kib();
    let (ours, outcomes, peak_rss) =
        rollcall(&bench, &http, &plan, &latency, concurrency, max_deletes).await;
    let owners = count(&plan, |a| matches!(a, Action::Delete { owns: true }));
    let moved = ours.org["receiver_items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        moved,
        owners * ITEMS_OWNED as usize,
        "the receiver holds every moved item"
    );
    let words: Vec<String> = outcomes
        .iter()
        .map(|(o, n)| format!("{} {n}", o.as_str()))
        .collect();
    println!(
        "  rollcall outcomes: {}, failed 0 (every row as expected)",
        words.join(", ")
    );

    let theirs = if skip_loop {
        None
    } else {
        let phase = guide(&bench, &http, &plan, &latency).await;
        let mut diff = Vec::new();
        differences(&ours.org, &phase.org, "", 10, &mut diff);
        assert!(
            diff.is_empty(),
            "the guide loop left the org unlike rollcall: {diff:#?}"
        );
        println!("  guide loop: every call succeeded; the org ends exactly as rollcall left it");
        Some(phase)
    };

    let per_row = |calls: u64| calls as f64 / rows as f64;
    println!();
    println!("  {:<28} {:>12} {:>12}", "", "rollcall", "guide loop");
    let other = |f: &dyn Fn(&Phase) -> String| theirs.as_ref().map_or("skipped".into(), f);
    println!(
        "  {:<28} {:>12} {:>12}",
        "wall time",
        format!("{:.2} s", ours.wall.as_secs_f64()),
        other(&|p| format!("{:.2} s", p.wall.as_secs_f64()))
    );
    println!(
        "  {:<28} {:>12} {:>12}",
        "portal calls",
        thousands(ours.calls.total),
        other(&|p| thousands(p.calls.total))
    );
    println!(
        "  {:<28} {:>12} {:>12}",
        "calls per row",
        format!("{:.2}", per_row(ours.calls.total)),
        other(&|p| format!("{:.2}", per_row(p.calls.total)))
    );
    if let Some(p) = &theirs {
        println!(
            "  {:<28} {:>12}",
            "speed-up (wall)",
            format!("{:.1}x", p.wall.as_secs_f64() / ours.wall.as_secs_f64())
        );
        println!(
            "  {:<28} {:>12}",
            "fewer calls",
            format!("{:.1}x", p.calls.total as f64 / ours.calls.total as f64)
        );
    }
    println!();
    println!("  {:<28} {:>12} {:>12}", "calls by operation", "", "");
    let operations: BTreeSet<&String> = ours
        .calls
        .by_operation
        .keys()
        .chain(theirs.iter().flat_map(|p| p.calls.by_operation.keys()))
        .collect();
    for op in operations {
        let n = |c: &Calls| thousands(c.by_operation.get(op).copied().unwrap_or(0));
        println!(
            "    {op:<26} {:>12} {:>12}",
            n(&ours.calls),
            other(&|p| n(&p.calls))
        );
    }
    println!();
    println!(
        "  peak RSS (rollcall)  {:.1} MiB (before the run: {:.1} MiB)",
        peak_rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
