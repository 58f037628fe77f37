//! What the benchmark binaries share: their options, the sandbox process,
//! and the peak resident memory of the process being measured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The value after `name` on the command line, or `default`.
pub fn option(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// This process's peak resident set size (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The `sandbox` binary built beside this one, started with `args` in its
/// own process (so its memory is not the benchmark's); returns the child
/// and the portal root it serves.
pub fn spawn_sandbox(args: &[&str]) -> (Child, String) {
    let binary = std::env::current_exe()
        .expect("current executable")
        .with_file_name("sandbox");
    let mut child = Command::new(&binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the sandbox prints its URL")
            .expect("sandbox output");
        if let Some(url) = line.strip_prefix("SANDBOX_URL=") {
            break url.to_string();
        }
    };
    (child, url)
}
