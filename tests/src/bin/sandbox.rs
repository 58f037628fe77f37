//! The ArcGIS portal sandbox as a standalone server, for the local run.
//!
//! ```text
//! cargo run -p rollcall-tests --bin sandbox -- [--mode online|enterprise] [--port N]
//!     [--latency-ms N] [--fault-rate F] [--retry-after-secs N] [--token-lifetime-secs N]
//!     [--seed N] [--seed-groups id1,id2] [--admin-username U] [--admin-password P]
//!     [--generate-members N [--generate-seed S]]
//! ```
//!
//! `--generate-members N` adds a generated organization of N accounts before
//! serving ([`ArcgisSandbox::generate_org`]; seed default: `--seed`; "now":
//! the wall clock) and reports its counts and the time taken as one JSON line
//! on stderr.
//!
//! Prints `SANDBOX_URL=<portal root>` and `SANDBOX_ADMIN=<username>` on stdout,
//! then serves until killed. The password is never printed: it is the
//! documented default (`sandbox-password`) unless `--admin-password` is given.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use rollcall_tests::sandbox::{ArcgisSandbox, OrgSpec, SandboxConfig};

const USAGE: &str = "usage: sandbox [--mode online|enterprise] [--port N] [--latency-ms N] \
[--fault-rate F] [--retry-after-secs N] [--token-lifetime-secs N] [--seed N] \
[--seed-groups id1,id2] [--admin-username U] [--admin-password P] \
[--generate-members N [--generate-seed S]]";

/// Parsed command line.
struct Args {
    config: SandboxConfig,
    port: u16,
    /// Accounts to generate, if any.
    generate_members: Option<usize>,
    /// Seed of the generated org (default: the sandbox seed).
    generate_seed: Option<u64>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
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
        let num = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name} needs {what}, got {value:?}"))
        };
        match name.as_str() {
            "--mode" => {}
            "--port" => {
                port = u16::try_from(num("a port number")?)
                    .map_err(|_| format!("--port {value} is out of range"))?
            }
            "--latency-ms" => config.latency = Duration::from_millis(num("milliseconds")?),
            "--fault-rate" => {
                config.fault_rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("--fault-rate needs 0.0 to 1.0, got {value:?}"))?
            }
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
            "--generate-members" => {
                generate_members = Some(
                    usize::try_from(num("a member count")?)
                        .map_err(|_| format!("--generate-members {value} is out of range"))?,
                )
            }
            "--generate-seed" => generate_seed = Some(num("an integer")?),
            "--admin-username" => config.admin_username = value,
            "--admin-password" => config.admin_password = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if generate_seed.is_some() && generate_members.is_none() {
        return Err("--generate-seed needs --generate-members".into());
    }
    Ok(Args {
        config,
        port,
        generate_members,
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
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let seed = args.generate_seed.unwrap_or(args.config.seed);
    let sandbox = match ArcgisSandbox::bind(args.config, addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sandbox: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Some(members) = args.generate_members {
        let started = std::time::Instant::now();
        let generated = sandbox.generate_org(OrgSpec::new(members, seed));
        let mut summary = serde_json::json!(generated);
        summary["seed"] = seed.into();
        summary["elapsed_ms"] = (started.elapsed().as_secs_f64() * 1000.0).into();
        eprintln!("sandbox: generated {summary}");
    }
    let mut out = std::io::stdout().lock();
    // The local run reads these two lines; a failed write means nobody is listening.
    let _ = writeln!(out, "SANDBOX_URL={}", sandbox.url());
    let _ = writeln!(out, "SANDBOX_ADMIN={}", sandbox.admin_username());
    let _ = out.flush();
    drop(out);
    // Serve until the process is killed (SIGTERM / ctrl-c end it).
    std::future::pending::<()>().await;
}
