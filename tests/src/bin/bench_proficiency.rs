//! Benchmark: 2,000 proficiency rows over 400 agents in an instance of 5,000
//! agents, the Connect sandbox enforcing Connect's per-operation rates
//! scaled up 5× (writes and SearchUsers 10/s, ListUsers and
//! ListUserProficiencies 50/s) and `CONNECT_MAX_RPS` set to match (10).
//! Run by `scripts/bench proficiency`. Reports the wall time against the
//! floor those rates set for the calls made, and calls per agent.

use std::time::Instant;

use rollcall_tests::sandbox::ConnectConfig;
use rollcall_tests::world::ConnectWorld;
use rollcall_tests::world::InBucket;

const FACTOR: f64 = 5.0;

#[tokio::main]
async fn main() {
    let world = ConnectWorld::new(ConnectConfig::new().with_connect_rates(FACTOR)).await;
    let c = &world.connect;
    let skills: Vec<String> = (0..20).map(|i| format!("S{i:02}")).collect();
    let languages: Vec<String> = (0..10).map(|i| format!("L{i}")).collect();
    c.add_attribute(
        "Skill",
        &skills.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    c.add_attribute(
        "Language",
        &languages.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let agents = c.generate_agents(5000, "agent");
    // 400 agents, five rows each: two adds, two updates (one of them of a
    // proficiency the agent lacks), one remove.
    let mut csv = String::from("identifier,identifier_type,action,attribute,value,level\n");
    for (n, (name, id)) in agents.iter().step_by(12).take(400).enumerate() {
        c.set_proficiency(id, "Skill", "S00", 2.0);
        c.set_proficiency(id, "Skill", "S01", 3.0);
        c.set_proficiency(id, "Language", "L0", 1.0);
        let lang = format!("L{}", 1 + n % 9);
        csv.push_str(&format!("{name},username,add,Language,{lang},3\n"));
        csv.push_str(&format!("{name},username,add,Skill,S{:02},2\n", 2 + n % 18));
        csv.push_str(&format!("{name},username,update,Skill,S00,4\n"));
        csv.push_str(&format!("{name},username,update,Language,L0,5\n"));
        csv.push_str(&format!("{name},username,remove,Skill,S01,\n"));
    }
    world.drop_csv("inbox/connect/bench.csv", &csv).await;
    let handler = world.handler(world.config(10.0));
    c.reset_calls();

    let started = Instant::now();
    let response = handler
        .handle(world.console("inbox/connect/bench.csv", false))
        .await
        .expect("the run succeeds");
    let wall = started.elapsed().as_secs_f64();

    let calls = c.calls();
    let rates = ConnectConfig::new().with_connect_rates(FACTOR).rates;
    println!("proficiency benchmark: 2,000 rows, 400 agents, instance of 5,000 agents, Connect rates x{FACTOR}");
    println!(
        "  outcomes           {}",
        serde_json::to_string(&response.counts).unwrap_or_default()
    );
    let floor = rollcall_tests::bench::connect_quota_floor(&calls, &rates);
    let per_agent_max = [
        "ListUserProficiencies",
        "AssociateUserProficiencies",
        "UpdateUserProficiencies",
        "DisassociateUserProficiencies",
    ]
    .map(|op| {
        calls
            .by_operation_and_user
            .iter()
            .filter(|((o, _), _)| o == op)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    });
    println!("  most calls of one kind for one agent (list, associate, update, disassociate): {per_agent_max:?}");
    println!("  floor (busiest operation at its rate) {floor:.1} s");
    println!(
        "  wall time          {wall:.1} s ({:.2}x the floor)",
        wall / floor
    );
    println!("  the one-call-per-row script at one call a second: over 2,000 s");
}
