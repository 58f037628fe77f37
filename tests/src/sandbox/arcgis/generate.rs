//! A deterministic generator of realistic organizations, for the inactivity
//! sweep's tests and benchmarks ([`super::ArcgisSandbox::generate_org`]).
//!
//! Every choice comes from one SplitMix64 stream seeded by [`OrgSpec::seed`],
//! and every time is measured back from [`OrgSpec::now_ms`], so the same spec
//! always yields the same accounts (ids included) and nothing depends on the
//! wall clock. Sources in *italics* are listed under References in [`super`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{Member, State, VIEWER_ROLE};
use crate::sandbox::faults::SplitMix64;

/// One day in epoch milliseconds.
pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Esri's built-in system accounts (those *arcgis-python* excludes in
/// `org_search`), in the order they are generated.
pub const SYSTEM_ACCOUNTS: [&str; 5] = [
    "esri_livingatlas",
    "esri_boundaries",
    "esri_demographics",
    "esri_nav",
    "esri_webstyles",
];

const FIRST_NAMES: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jon", "Kara", "Luis",
    "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Viktor", "Wen",
    "Yusuf",
];
const LAST_NAMES: [&str; 24] = [
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Khan", "Lopez", "Moreau", "Nguyen", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka",
    "Usman", "Varga", "Weber", "Young",
];

/// What [`super::ArcgisSandbox::generate_org`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSpec {
    /// Accounts to add: the `esri_*` system accounts (5 when `members >= 50`,
    /// `members / 10` below) plus regular members `member.000001`, `member.000002`, ...
    /// The sandbox's own admin is not counted.
    pub members: usize,
    /// Seed of every random choice: the same seed and `now_ms` give the same org.
    pub seed: u64,
    /// "Now" for the generated times, epoch ms; `lastLogin`/`created` lie before it.
    pub now_ms: i64,
}

impl OrgSpec {
    /// `members` accounts from `seed`, with "now" taken from the wall clock.
    pub fn new(members: usize, seed: u64) -> Self {
        Self {
            members,
            seed,
            now_ms: super::model::now_ms(),
        }
    }

    /// The username of regular member `n` (1-based): `member.000001`.
    pub fn username(n: usize) -> String {
        format!("member.{n:06}")
    }
}

/// What was generated, by category. Counts cover generated accounts only.
///
/// The sign-in buckets partition the regular members (`active_30d +
/// idle_30_60d + idle_60_90d + idle_over_90d + never_signed_in ==
/// members - system_accounts`) and stay at least an hour clear of the 30/60/90
/// day marks; `org_admins` and `disabled` cut across them (an org admin is
/// never disabled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedOrg {
    /// Accounts added (`OrgSpec::members`).
    pub members: usize,
    /// `esri_*` system accounts (never signed in, created two years before now).
    pub system_accounts: usize,
    /// Last sign-in less than 30 days before `now_ms` (~57%).
    pub active_30d: usize,
    /// Last sign-in 30–60 days before (~15%).
    pub idle_30_60d: usize,
    /// Last sign-in 60–90 days before (~10%).
    pub idle_60_90d: usize,
    /// Last sign-in 90 days to two years before (~12%).
    pub idle_over_90d: usize,
    /// Never signed in, `lastLogin` -1 (~6%), `created` 0–400 days before.
    pub never_signed_in: usize,
    /// Never signed in and created more than 90 days before `now_ms`.
    pub never_signed_in_over_90d: usize,
    /// Role `org_admin` (~1%).
    pub org_admins: usize,
    /// Already disabled (~3% of the others).
    pub disabled: usize,
    /// The `now_ms` the times were measured back from.
    pub now_ms: i64,
}

/// A 32-hex id (like the ids in *User* and *Group*) from the generator's stream.
fn new_id(rng: &mut SplitMix64) -> String {
    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

/// A uniform integer in `lo..hi` (`lo` when the range is empty).
fn between(rng: &mut SplitMix64, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    lo + (rng.next_u64() % (hi - lo) as u64) as i64
}

/// Which sign-in bucket a regular member falls in.
#[derive(Clone, Copy)]
enum Bucket {
    Active,
    Idle30,
    Idle60,
    Idle90,
    Never,
}

fn pick_bucket(u: f64) -> Bucket {
    match u {
        u if u < 0.57 => Bucket::Active,
        u if u < 0.72 => Bucket::Idle30,
        u if u < 0.82 => Bucket::Idle60,
        u if u < 0.94 => Bucket::Idle90,
        _ => Bucket::Never,
    }
}

/// A member with every field set; the caller fills in the variable parts.
fn base_member(username: String, id: String, first: &str, last: &str, created: i64) -> Member {
    Member {
        email: format!("{username}@example.com"),
        username,
        id,
        first_name: first.to_string(),
        last_name: last.to_string(),
        full_name: format!("{first} {last}"),
        role: "org_user".into(),
        role_id: None,
        user_type: "creatorUT".into(),
        esri_access: None,
        credits: None,
        invited: false,
        password: None,
        provider: "arcgis".into(),
        idp_username: None,
        disabled: false,
        groups: BTreeSet::new(),
        org_id: None,
        created,
        modified: created,
        last_login: None,
        items: 0,
        description: String::new(),
        access: "org".into(),
    }
}

/// Adds the accounts of `spec` to the org (replacing same-named ones) and
/// counts them. One insert per account into the ordered map; the listing
/// index is rebuilt once, lazily, on the next listing.
pub(crate) fn populate(state: &mut State, spec: OrgSpec) -> GeneratedOrg {
    let now = spec.now_ms;
    let online = state.online();
    let mut rng = SplitMix64::new(spec.seed ^ 0x6E4E_7A7E_D0C0_FFEE);
    let mut out = GeneratedOrg {
        members: spec.members,
        now_ms: now,
        ..GeneratedOrg::default()
    };
    let mut accounts = Vec::with_capacity(spec.members);

    let system = if spec.members >= 50 {
        SYSTEM_ACCOUNTS.len()
    } else {
        (spec.members / 10).min(SYSTEM_ACCOUNTS.len())
    };
    for name in &SYSTEM_ACCOUNTS[..system] {
        let label = name.trim_start_matches("esri_");
        let mut m = base_member(
            name.to_string(),
            new_id(&mut rng),
            "Esri",
            label,
            now - 730 * DAY_MS,
        );
        m.email = format!("{name}@esri.com");
        m.user_type = "viewerUT".into();
        accounts.push(m);
    }
    out.system_accounts = system;

    for n in 1..=spec.members - system {
        let first = FIRST_NAMES[(rng.next_u64() % FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[(rng.next_u64() % LAST_NAMES.len() as u64) as usize];
        let bucket = pick_bucket(rng.next_f64());
        let last_login = match bucket {
            Bucket::Active => Some(now - between(&mut rng, 60_000, 30 * DAY_MS - HOUR_MS)),
            Bucket::Idle30 => {
                Some(now - between(&mut rng, 30 * DAY_MS + HOUR_MS, 60 * DAY_MS - HOUR_MS))
            }
            Bucket::Idle60 => {
                Some(now - between(&mut rng, 60 * DAY_MS + HOUR_MS, 90 * DAY_MS - HOUR_MS))
            }
            Bucket::Idle90 => Some(now - between(&mut rng, 90 * DAY_MS + HOUR_MS, 730 * DAY_MS)),
            Bucket::Never => None,
        };
        let created = match last_login {
            // Created up to three years before the last sign-in.
            Some(at) => at - between(&mut rng, 0, 3 * 365 * DAY_MS),
            None => now - between(&mut rng, 0, 400 * DAY_MS + 1),
        };
        match bucket {
            Bucket::Active => out.active_30d += 1,
            Bucket::Idle30 => out.idle_30_60d += 1,
            Bucket::Idle60 => out.idle_60_90d += 1,
            Bucket::Idle90 => out.idle_over_90d += 1,
            Bucket::Never => {
                out.never_signed_in += 1;
                if created < now - 90 * DAY_MS {
                    out.never_signed_in_over_90d += 1;
                }
            }
        }
        let mut m = base_member(OrgSpec::username(n), new_id(&mut rng), first, last, created);
        m.last_login = last_login;
        let role = rng.next_f64();
        if role < 0.01 {
            m.role = "org_admin".into();
            out.org_admins += 1;
        } else {
            if role < 0.11 {
                m.role = "org_publisher".into();
            } else if role < 0.31 {
                m.role_id = Some(VIEWER_ROLE.into());
                m.user_type = "viewerUT".into();
            } else if role < 0.39 {
                m.user_type = "editorUT".into();
            }
            if rng.next_f64() < 0.03 {
                m.disabled = true;
                out.disabled += 1;
            }
        }
        accounts.push(m);
    }

    for mut m in accounts {
        if online {
            m.esri_access = Some("arcgisonly".into());
        }
        let key = m.username.to_lowercase();
        if state.members.contains_key(&key) {
            // Keeps group memberships consistent for a replaced account.
            state.remove_member(&key);
        }
        state.members.insert(key, m);
    }
    state.members_changed();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_documented_shares() {
        let mut counts = [0usize; 5];
        let mut rng = SplitMix64::new(7);
        for _ in 0..100_000 {
            counts[pick_bucket(rng.next_f64()) as usize] += 1;
        }
        let shares: Vec<f64> = counts.iter().map(|c| *c as f64 / 100_000.0).collect();
        for (got, want) in shares.iter().zip([0.57, 0.15, 0.10, 0.12, 0.06]) {
            assert!((got - want).abs() < 0.01, "{shares:?}");
        }
    }
}
