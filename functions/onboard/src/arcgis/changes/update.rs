//! `update` rows: only what differs from the member as the portal has it
//! is written. Names and email (`community/users/{u}/update`), credits
//! (`assignUserCredits` / `unassignUserCredits`), the user type
//! (`updateUserLicenseType`, 25 members a call), the role
//! (`updateUserRole`), then the groups to leave and to join (25 a call).
//!
//! A user type and a role that change together are tried type first; when
//! the portal refuses the type (the member's role does not fit it, as when
//! a Creator becomes a Viewer), the role is given first and the type tried
//! again, and the old role is put back if the type is still refused.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use connectors::arcgis::{ProfileChanges, User, ADD_USERS_BATCH, BULK_USERS_BATCH};
use connectors::inbox::{Outcome, Run, NOT_REACHED};
use futures::stream::{self, StreamExt};

use super::super::request::{Change, Credits, Update};
use super::{ChangePorts, ChangeWork, MemberOnboarding, Org};

/// How a member differs from its row: what the run writes.
#[derive(Debug, Clone, Default)]
struct Diff {
    profile: ProfileChanges,
    credits: Option<Credits>,
    /// (from, to) user type ids.
    user_type: Option<(String, String)>,
    /// (from, to) role ids.
    role: Option<(String, String)>,
    join: Vec<String>,
    leave: Vec<String>,
}

impl Diff {
    fn of(update: &Update, user: &User) -> Self {
        let differs = |want: &Option<String>, have: &Option<String>| {
            want.clone().filter(|w| have.as_deref() != Some(w.as_str()))
        };
        let profile = ProfileChanges {
            first_name: differs(&update.profile.first_name, &user.first_name),
            last_name: differs(&update.profile.last_name, &user.last_name),
            email: update.profile.email.clone().filter(|e| {
                !user
                    .email
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(e))
            }),
        };
        let current_role = current_role(user);
        let role = update
            .role
            .clone()
            .filter(|r| *r != current_role)
            .map(|r| (current_role.clone(), r));
        let current_type = user.user_license_type_id.clone().unwrap_or_default();
        let user_type = update
            .user_type
            .clone()
            .filter(|t| *t != current_type)
            .map(|t| (current_type, t));
        let credits = update.credits.filter(|c| match (c, user.assigned_credits) {
            (Credits::Unlimited, Some(have)) => have >= 0.0,
            (Credits::Unlimited, None) => false,
            (Credits::Limit(want), Some(have)) => *want != have,
            (Credits::Limit(_), None) => true,
        });
        let in_group = |g: &String| user.groups.iter().any(|h| h == g);
        Self {
            profile,
            credits,
            user_type,
            role,
            join: update
                .join
                .iter()
                .filter(|g| !in_group(g))
                .cloned()
                .collect(),
            leave: update
                .leave
                .iter()
                .filter(|g| in_group(g))
                .cloned()
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.profile.is_empty()
            && self.credits.is_none()
            && self.user_type.is_none()
            && self.role.is_none()
            && self.join.is_empty()
            && self.leave.is_empty()
    }
}

/// True when `update` would give `user` another role or user type, which
/// the safety rails keep for guarded members.
pub(super) fn changes_licence(update: &Update, user: &User) -> bool {
    let diff = Diff::of(update, user);
    diff.role.is_some() || diff.user_type.is_some()
}

/// True when `update` would make `user` an administrator.
pub(super) fn makes_admin(update: &Update, user: &User) -> bool {
    Diff::of(update, user)
        .role
        .is_some_and(|(_, to)| to == "org_admin")
}

/// The role a member holds, as a role id: a custom role's id, or the
/// built-in's (`org_user`…).
fn current_role(user: &User) -> String {
    user.role_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| user.role.clone())
        .unwrap_or_default()
}

fn credits_text(credits: Option<f64>) -> String {
    match credits {
        Some(n) if n >= 0.0 => format!("{n}"),
        _ => "unlimited".into(),
    }
}

/// The parts of one member's writes, each with its result.
type Parts = Vec<(String, Result<(), String>)>;

/// One member's role change: the row, the username, (from, to), and the
/// user type to try again after the role, when it waited on it.
type RoleCall = (usize, String, (String, String), Option<(String, String)>);

/// What a row did and did not change, in words.
#[derive(Debug, Default)]
struct Progress {
    diff: Diff,
    done: Vec<String>,
    failed: Vec<String>,
    /// The type was refused with the old role: give the role first, then retry.
    role_first: Option<String>,
}

impl Progress {
    fn did(&mut self, what: String) {
        self.done.push(what);
    }

    fn missed(&mut self, what: &str, why: impl std::fmt::Display) {
        self.failed.push(format!("{what} ({why})"));
    }
}

impl<D: ChangePorts> MemberOnboarding<'_, D> {
    /// Applies (or plans) every `update` row still pending.
    pub(super) async fn update(&self, work: &mut [ChangeWork], org: &Org<'_>, run: &Run) {
        let mut progress: HashMap<usize, Progress> = HashMap::new();
        for (i, w) in work.iter_mut().enumerate().filter(|(_, w)| w.pending()) {
            let (Change::Update(update), Some(user)) = (&w.change, &w.member) else {
                continue;
            };
            let diff = Diff::of(update, user);
            if diff.is_empty() {
                w.settle(Outcome::Unchanged, "nothing to change");
                continue;
            }
            progress.insert(
                i,
                Progress {
                    diff,
                    ..Progress::default()
                },
            );
        }
        self.check_joined_groups(work, &mut progress).await;
        if run.dry_run {
            for (i, p) in progress {
                let plan = describe(&p.diff, org);
                work[i].settle(
                    Outcome::Planned,
                    format!("would change {}", plan.join(", ")),
                );
            }
            return;
        }
        self.write_profiles(work, &mut progress, run).await;
        self.write_user_types(work, &mut progress, org, run).await;
        self.write_roles(work, &mut progress, org, run).await;
        self.write_groups(work, &mut progress, run).await;
        for (i, p) in progress {
            let w = &mut work[i];
            if p.failed.is_empty() {
                w.settle(Outcome::Updated, format!("changed {}", p.done.join(", ")));
            } else if p.done.is_empty() {
                w.fail(format!("not changed: {}", p.failed.join("; ")));
            } else {
                w.fail(format!(
                    "changed {}; not changed: {}",
                    p.done.join(", "),
                    p.failed.join("; ")
                ));
            }
        }
    }

    /// Fails rows joining a group that does not exist, before any write.
    async fn check_joined_groups(
        &self,
        work: &mut [ChangeWork],
        progress: &mut HashMap<usize, Progress>,
    ) {
        let wanted: BTreeSet<String> = progress
            .values()
            .flat_map(|p| p.diff.join.iter().cloned())
            .collect();
        let found: HashMap<String, Result<bool, connectors::Error>> =
            self.groups_exist(wanted).await.into_iter().collect();
        progress.retain(|i, p| {
            let problems: Vec<String> = p
                .diff
                .join
                .iter()
                .filter_map(|g| match found.get(g) {
                    Some(Ok(true)) => None,
                    Some(Err(e)) => Some(format!("{g:?} (looking it up failed: {e})")),
                    _ => Some(format!(
                        "{g:?} does not exist or is not visible to the signed-in account"
                    )),
                })
                .collect();
            if problems.is_empty() {
                return true;
            }
            work[*i].fail(format!("groups: {}", problems.join(", ")));
            false
        });
    }

    /// Names, email and credits: one call each per member that needs it.
    async fn write_profiles(
        &self,
        work: &[ChangeWork],
        progress: &mut HashMap<usize, Progress>,
        run: &Run,
    ) {
        let calls: Vec<(usize, String, ProfileChanges, Option<Credits>)> = progress
            .iter()
            .filter(|(_, p)| !p.diff.profile.is_empty() || p.diff.credits.is_some())
            .map(|(i, p)| {
                (
                    *i,
                    work[*i].username.clone(),
                    p.diff.profile.clone(),
                    p.diff.credits,
                )
            })
            .collect();
        let answers: Vec<(usize, Parts)> = stream::iter(calls)
            .map(|(i, username, profile, credits)| async move {
                let mut parts = Vec::new();
                if !profile.is_empty() {
                    let what = profile_words(&profile);
                    let result = if run.may_start() {
                        self.arcgis
                            .update_profile(&username, &profile)
                            .await
                            .map_err(|e| e.to_string())
                    } else {
                        Err(NOT_REACHED.to_string())
                    };
                    parts.push((what, result));
                }
                if let Some(credits) = credits {
                    let amount = match credits {
                        Credits::Limit(n) => Some(n),
                        Credits::Unlimited => None,
                    };
                    let result = if run.may_start() {
                        self.arcgis
                            .assign_credits(&username, amount)
                            .await
                            .map_err(|e| e.to_string())
                    } else {
                        Err(NOT_REACHED.to_string())
                    };
                    parts.push((format!("credits ({})", credits_text(amount)), result));
                }
                (i, parts)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        record(progress, answers);
    }

    /// User types, 25 members a call per target type. A member whose type
    /// is refused while its row also changes the role gets the role first.
    async fn write_user_types(
        &self,
        work: &[ChangeWork],
        progress: &mut HashMap<usize, Progress>,
        org: &Org<'_>,
        run: &Run,
    ) {
        let mut by_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in progress.iter() {
            if let Some((_, to)) = &p.diff.user_type {
                by_type.entry(to.clone()).or_default().push(*i);
            }
        }
        let calls = batches(by_type, BULK_USERS_BATCH);
        let answers = stream::iter(calls)
            .map(|(to, rows)| {
                let names: Vec<String> = rows.iter().map(|i| work[*i].username.clone()).collect();
                async move {
                    if !run.may_start() {
                        return (to, rows, Err(NOT_REACHED.to_string()));
                    }
                    let answer = self.arcgis.update_user_type(&names, &to).await;
                    (to, rows, answer.map_err(|e| e.to_string()))
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect::<Vec<_>>()
            .await;
        for (to, rows, answer) in answers {
            for i in rows {
                let Some(p) = progress.get_mut(&i) else {
                    continue;
                };
                let Some((from, _)) = p.diff.user_type.clone() else {
                    continue;
                };
                let what = format!(
                    "user type ({} → {})",
                    org.catalog.user_type_name(&from),
                    org.catalog.user_type_name(&to)
                );
                let refusal = match &answer {
                    Err(why) => Some(why.clone()),
                    Ok(results) => match results
                        .iter()
                        .find(|r| r.username.eq_ignore_ascii_case(&work[i].username))
                    {
                        Some(r) if r.ok => None,
                        Some(r) => Some(
                            r.error
                                .clone()
                                .unwrap_or_else(|| "the portal refused".into()),
                        ),
                        None => Some("the portal's answer did not mention the member".into()),
                    },
                };
                match refusal {
                    None => p.did(what),
                    Some(why) if p.diff.role.is_some() && answer.is_ok() => {
                        p.role_first = Some(why)
                    }
                    Some(why) => p.missed(&what, why),
                }
            }
        }
    }

    /// Roles, one call each; for a member whose type waits on its role, the
    /// role first, then the type again (and the old role back if the type
    /// is still refused).
    async fn write_roles(
        &self,
        work: &[ChangeWork],
        progress: &mut HashMap<usize, Progress>,
        org: &Org<'_>,
        run: &Run,
    ) {
        let calls: Vec<RoleCall> = progress
            .iter()
            .filter_map(|(i, p)| {
                let role = p.diff.role.clone()?;
                let retry_type = p.role_first.as_ref().and(p.diff.user_type.clone());
                Some((*i, work[*i].username.clone(), role, retry_type))
            })
            .collect();
        let answers: Vec<(usize, Parts)> = stream::iter(calls)
            .map(|(i, username, (from, to), retry_type)| async move {
                let role_words = format!(
                    "role ({} → {})",
                    org.catalog.role_name(&from),
                    org.catalog.role_name(&to)
                );
                if !run.may_start() {
                    let mut parts = vec![(role_words, Err(NOT_REACHED.to_string()))];
                    if let Some((type_from, type_to)) = retry_type {
                        parts.push((
                            type_words(org, &type_from, &type_to),
                            Err(NOT_REACHED.to_string()),
                        ));
                    }
                    return (i, parts);
                }
                let role = self
                    .arcgis
                    .update_role(&username, &to)
                    .await
                    .map_err(|e| e.to_string());
                let Some((type_from, type_to)) = retry_type else {
                    return (i, vec![(role_words, role)]);
                };
                let type_words = type_words(org, &type_from, &type_to);
                if let Err(why) = role {
                    return (
                        i,
                        vec![
                            (role_words, Err(why)),
                            (type_words, Err("it needs the new role, which was refused".into())),
                        ],
                    );
                }
                let retried = match self
                    .arcgis
                    .update_user_type(std::slice::from_ref(&username), &type_to)
                    .await
                {
                    Ok(results) => match results.into_iter().next() {
                        Some(r) if r.ok => Ok(()),
                        Some(r) => Err(r.error.unwrap_or_else(|| "the portal refused".into())),
                        None => Err("the portal's answer did not mention the member".into()),
                    },
                    Err(e) => Err(e.to_string()),
                };
                match retried {
                    Ok(()) => (i, vec![(type_words, Ok(())), (role_words, Ok(()))]),
                    Err(why) => {
                        // The row asked for both; leave the member as it was.
                        let back = self.arcgis.update_role(&username, &from).await;
                        let role_result = match back {
                            Ok(()) => Err("not kept: the user type it goes with was refused".into()),
                            Err(e) => Err(format!(
                                "given, but the user type it goes with was refused and putting the old role back failed: {e}"
                            )),
                        };
                        (i, vec![(type_words, Err(why)), (role_words, role_result)])
                    }
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        record(progress, answers);
    }

    /// Groups to leave, then groups to join, 25 members a call per group.
    async fn write_groups(
        &self,
        work: &[ChangeWork],
        progress: &mut HashMap<usize, Progress>,
        run: &Run,
    ) {
        for joining in [false, true] {
            let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, p) in progress.iter() {
                let groups = if joining { &p.diff.join } else { &p.diff.leave };
                for g in groups {
                    by_group.entry(g.clone()).or_default().push(*i);
                }
            }
            let calls = batches(by_group, ADD_USERS_BATCH);
            let answers = stream::iter(calls)
                .map(|(group, rows)| {
                    let names: Vec<String> =
                        rows.iter().map(|i| work[*i].username.clone()).collect();
                    async move {
                        if !run.may_start() {
                            return (group, rows, Err(NOT_REACHED.to_string()));
                        }
                        let answer = if joining {
                            self.arcgis.add_to_group(&group, &names).await
                        } else {
                            self.arcgis.remove_from_group(&group, &names).await
                        };
                        (group, rows, answer.map_err(|e| e.to_string()))
                    }
                })
                .buffered(self.settings.concurrency)
                .collect::<Vec<_>>()
                .await;
            for (group, rows, answer) in answers {
                let left_out: HashSet<String> = match &answer {
                    Ok(names) => names.iter().map(|n| n.to_lowercase()).collect(),
                    Err(_) => HashSet::new(),
                };
                let what = if joining {
                    format!("joined {group}")
                } else {
                    format!("left {group}")
                };
                for i in rows {
                    let Some(p) = progress.get_mut(&i) else {
                        continue;
                    };
                    match &answer {
                        Err(why) => p.missed(&what, why),
                        Ok(_) if left_out.contains(&work[i].username.to_lowercase()) => {
                            p.missed(&what, "the portal left the member out")
                        }
                        Ok(_) => p.did(what.clone()),
                    }
                }
            }
        }
    }
}

/// Writes each member's parts into its progress.
fn record(progress: &mut HashMap<usize, Progress>, answers: Vec<(usize, Parts)>) {
    for (i, parts) in answers {
        let Some(p) = progress.get_mut(&i) else {
            continue;
        };
        for (what, result) in parts {
            match result {
                Ok(()) => p.did(what),
                Err(why) => p.missed(&what, why),
            }
        }
    }
}

/// Calls of at most `size` rows per key (a user type, a group), rows in
/// file order.
fn batches(by_key: BTreeMap<String, Vec<usize>>, size: usize) -> Vec<(String, Vec<usize>)> {
    by_key
        .into_iter()
        .flat_map(|(key, mut rows)| {
            rows.sort_unstable();
            rows.chunks(size)
                .map(|c| (key.clone(), c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn type_words(org: &Org<'_>, from: &str, to: &str) -> String {
    format!(
        "user type ({} → {})",
        org.catalog.user_type_name(from),
        org.catalog.user_type_name(to)
    )
}

/// `firstname, lastname, email`: the profile fields a change writes.
fn profile_words(profile: &ProfileChanges) -> String {
    [
        ("firstname", &profile.first_name),
        ("lastname", &profile.last_name),
        ("email", &profile.email),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(name, _)| name)
    .collect::<Vec<_>>()
    .join(", ")
}

/// Every change of `diff`, in the order the run writes them.
fn describe(diff: &Diff, org: &Org<'_>) -> Vec<String> {
    let mut parts = Vec::new();
    if !diff.profile.is_empty() {
        parts.push(profile_words(&diff.profile));
    }
    if let Some(credits) = diff.credits {
        parts.push(format!(
            "credits ({})",
            credits_text(match credits {
                Credits::Limit(n) => Some(n),
                Credits::Unlimited => None,
            })
        ));
    }
    if let Some((from, to)) = &diff.user_type {
        parts.push(type_words(org, from, to));
    }
    if let Some((from, to)) = &diff.role {
        parts.push(format!(
            "role ({} → {})",
            org.catalog.role_name(from),
            org.catalog.role_name(to)
        ));
    }
    parts.extend(diff.leave.iter().map(|g| format!("leave {g}")));
    parts.extend(diff.join.iter().map(|g| format!("join {g}")));
    parts
}
