//! A sandbox as a standalone server, for the local run and benchmarks: the
//! ArcGIS portal (the default) or, with `--service ams`, a Teamworks AMS site.
//!
//! ```text
//! cargo run -p rollcall-tests --bin sandbox -- [--service arcgis] [--mode online|enterprise]
//!     [--port N] [--latency-ms N] [--fault-rate F] [--retry-after-secs N]
//!     [--token-lifetime-secs N] [--seed N] [--seed-groups id1,id2] [--admin-username U]
//!     [--admin-password P] [--generate-members N [--generate-seed S]]
//! cargo run -p rollcall-tests --bin sandbox -- --service ams [--site NAME] [--port N]
//!     [--latency-ms N] [--fault-rate F] [--retry-after-secs N] [--session-lifetime-secs N]
//!     [--seed N] [--admin-username U] [--admin-password P] [--generate-people N [--generate-seed S]]
//! ```
//!
//! `--generate-members N` adds a generated organization of N accounts before
//! serving ([`ArcgisSandbox::generate_org`]; seed default: `--seed`; "now":
//! the wall clock), `--generate-people N` N AMS accounts
//! ([`AmsSandbox::generate_people`]); either reports its counts and the time
//! taken as one JSON line on stderr.
//!
//! Prints `SANDBOX_URL=<portal root or AMS site URL>` and
//! `SANDBOX_ADMIN=<username>` on stdout, then serves until killed. The
//! password is never printed: it is the documented default
//! (`sandbox-password`) unless `--admin-password` is given.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use rollcall_tests::sandbox::{AmsConfig, AmsSandbox, ArcgisSandbox, OrgSpec, SandboxConfig};

const USAGE: &str = "usage: sandbox [--service arcgis] [--mode online|enterprise] [--port N] \
[--latency-ms N] [--fault-rate F] [--retry-after-secs N] [--token-lifetime-secs N] [--seed N] \
[--seed-groups id1,id2] [--admin-username U] [--admin-password P] \
[--generate-members N [--generate-seed S]]
       sandbox --service ams [--site NAME] [--port N] [--latency-ms N] [--fault-rate F] \
[--retry-after-secs N] [--session-lifetime-secs N] [--seed N] [--admin-username U] \
[--admin-password P] [--generate-people N [--generate-seed S]]";

/// Parsed command line: the service's configuration and what to seed.
enum Args {
    Arcgis {
        config: SandboxConfig,
        port: u16,
        /// Accounts to generate, if any.
        generate_members: Option<usize>,
        /// Seed of the generated org (default: the sandbox seed).
        generate_seed: Option<u64>,
    },
    Ams {
        config: AmsConfig,
        port: u16,
        /// People to generate, if any.
        generate_people: Option<usize>,
        /// Seed of the generated people (default: the sandbox seed).
        generate_seed: Option<u64>,
    },
}

/// `--flag value` and `--flag=value` pairs, in order.
fn flag_pairs(mut argv: impl Iterator<Item = String>) -> Result<Vec<(String, String)>, String> {
    let mut flags: Vec<(String, String)> = Vec::new();
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
                (flag, v)
            }
        };
        flags.push((name, value));
    }
    Ok(flags)
}

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let flags = flag_pairs(argv)?;
    let last = |flag: &str| {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == flag)
            .map(|(_, v)| v.clone())
    };
    match last("--service").as_deref().unwrap_or("arcgis") {
        "arcgis" => parse_arcgis(flags),
        "ams" => parse_ams(flags),
        other => Err(format!("--service must be arcgis or ams, not {other:?}")),
    }
}

fn number(name: &str, value: &str, what: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("{name} needs {what}, got {value:?}"))
}

fn port(value: &str) -> Result<u16, String> {
    u16::try_from(number("--port", value, "a port number")?)
        .map_err(|_| format!("--port {value} is out of range"))
}

fn fault_rate(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("--fault-rate needs 0.0 to 1.0, got {value:?}"))
}

fn count(name: &str, value: &str) -> Result<usize, String> {
    usize::try_from(number(name, value, "a count")?)
        .map_err(|_| format!("{name} {value} is out of range"))
}

fn parse_arcgis(flags: Vec<(String, String)>) -> Result<Args, String> {
    let mode = flags
        .iter()
        .rev()
        .find(|(n, _)| n == "--mode")
        .map(|(_, v)| v.as_str())
        .unwrap_or("online");
    let mut config = match mode {
        "online" => SandboxConfig::online(),
        "enterprise" => SandboxConfig::enterprise(),
        other => {
            return Err(format!(
                "--mode must be online or enterprise, not {other:?}"
            ))
        }
    };
    let mut port = 0u16;
    let mut generate_members = None;
    let mut generate_seed = None;
    for (name, value) in flags {
        let num = |what: &str| number(&name, &value, what);
        match name.as_str() {
            "--service" | "--mode" => {}
            "--port" => port = self::port(&value)?,
            "--latency-ms" => config.latency = Duration::from_millis(num("milliseconds")?),
            "--fault-rate" => config.fault_rate = fault_rate(&value)?,
            "--retry-after-secs" => config.retry_after_secs = num("seconds")?,
            "--token-lifetime-secs" => config.token_lifetime = Duration::from_secs(num("seconds")?),
            "--seed" => config.seed = num("an integer")?,
            "--seed-groups" => {
                config.groups = value
                    .split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(|g| (g.to_string(), g.to_string()))
                    .collect()
            }
            "--generate-members" => generate_members = Some(count(&name, &value)?),
            "--generate-seed" => generate_seed = Some(num("an integer")?),
            "--admin-username" => config.admin_username = value,
            "--admin-password" => config.admin_password = value,
            other => return Err(format!("unknown flag {other} for the ArcGIS sandbox")),
        }
    }
    if generate_seed.is_some() && generate_members.is_none() {
        return Err("--generate-seed needs --generate-members".into());
    }
    Ok(Args::Arcgis {
        config,
        port,
        generate_members,
        generate_seed,
    })
}

fn parse_ams(flags: Vec<(String, String)>) -> Result<Args, String> {
    let mut config = AmsConfig::default();
    let mut port = 0u16;
    let mut generate_people = None;
    let mut generate_seed = None;
    for (name, value) in flags {
        let num = |what: &str| number(&name, &value, what);
        match name.as_str() {
            "--service" => {}
            "--site" => {
                if value.is_empty() || value.contains('/') || value == "sandbox" {
                    return Err(format!(
                        "--site must be one path segment other than sandbox, not {value:?}"
                    ));
                }
                config.site = value
            }
            "--port" => port = self::port(&value)?,
            "--latency-ms" => config.latency = Duration::from_millis(num("milliseconds")?),
            "--fault-rate" => config.fault_rate = fault_rate(&value)?,
            "--retry-after-secs" => config.retry_after_secs = num("seconds")?,
            "--session-lifetime-secs" => {
                config.session_lifetime = Some(Duration::from_secs(num("seconds")?))
            }
            "--seed" => config.seed = num("an integer")?,
            "--generate-people" => generate_people = Some(count(&name, &value)?),
            "--generate-seed" => generate_seed = Some(num("an integer")?),
            "--admin-username" => config.admin_username = value,
            "--admin-password" => config.admin_password = value,
            other => return Err(format!("unknown flag {other} for the AMS sandbox")),
        }
    }
    if generate_seed.is_some() && generate_people.is_none() {
        return Err("--generate-seed needs --generate-people".into());
    }
    Ok(Args::Ams {
        config,
        port,
        generate_people,
        generate_seed,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("sandbox: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    // The sandbox lives until the process ends, so its server keeps serving.
    let (url, admin, _arcgis, _ams) = match args {
        Args::Arcgis {
            config,
            port,
            generate_members,
            generate_seed,
        } => {
            let seed = generate_seed.unwrap_or(config.seed);
            let sandbox = or_exit(ArcgisSandbox::bind(config, local(port)).await, port);
            if let Some(members) = generate_members {
                let started = std::time::Instant::now();
                let generated = sandbox.generate_org(OrgSpec::new(members, seed));
                report_generated(serde_json::json!(generated), seed, started);
            }
            let (url, admin) = (sandbox.url(), sandbox.admin_username().to_string());
            (url, admin, Some(sandbox), None)
        }
        Args::Ams {
            config,
            port,
            generate_people,
            generate_seed,
        } => {
            let seed = generate_seed.unwrap_or(config.seed);
            let sandbox = or_exit(AmsSandbox::bind(config, local(port)).await, port);
            if let Some(people) = generate_people {
                let started = std::time::Instant::now();
                let ids = sandbox.generate_people(people, seed);
                report_generated(serde_json::json!({ "people": ids.len() }), seed, started);
            }
            let (url, admin) = (sandbox.url(), sandbox.admin_username().to_string());
            (url, admin, None, Some(sandbox))
        }
    };
    let mut out = std::io::stdout().lock();
    // The local run reads these two lines; a failed write means nobody is listening.
    let _ = writeln!(out, "SANDBOX_URL={url}");
    let _ = writeln!(out, "SANDBOX_ADMIN={admin}");
    let _ = out.flush();
    drop(out);
    // Serve until the process is killed (SIGTERM / ctrl-c end it).
    std::future::pending::<()>().await;
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn or_exit<T>(bound: std::io::Result<T>, port: u16) -> T {
    bound.unwrap_or_else(|e| {
        eprintln!("sandbox: cannot listen on {}: {e}", local(port));
        std::process::exit(1);
    })
}

/// One JSON line on stderr: what was generated, the seed and the time taken.
fn report_generated(mut summary: serde_json::Value, seed: u64, started: std::time::Instant) {
    summary["seed"] = seed.into();
    summary["elapsed_ms"] = (started.elapsed().as_secs_f64() * 1000.0).into();
    eprintln!("sandbox: generated {summary}");
}
