//! The safety rails of change rows: the accounts no file may demote,
//! disable or delete, and the most deletes one file may ask for.

use connectors::arcgis::{Portal, User};

use super::super::request::Change;
use super::update::{changes_licence, makes_admin};
use super::ChangeWork;

/// Fails every `delete` row when a file holds more than `max`: a file that
/// would delete that many members is more likely a mistake than a plan.
pub(super) fn cap_deletes(work: &mut [ChangeWork], max: usize) {
    let deletes = work
        .iter()
        .filter(|w| matches!(w.change, Change::Delete { .. }))
        .count();
    if deletes <= max {
        return;
    }
    for w in work
        .iter_mut()
        .filter(|w| matches!(w.change, Change::Delete { .. }))
    {
        w.fail(format!(
            "not deleted: the file asks for {deletes} deletes, more than MAX_DELETES_PER_RUN ({max}), so none was done; split the file or raise the limit"
        ));
    }
}

/// Why `user` is guarded, if it is: the signed-in account, an org
/// administrator, or a name in `PROTECTED_USERS`.
fn guard(user: &User, portal: &Portal, protected: &[String]) -> Option<&'static str> {
    let is = |name: &str| name.eq_ignore_ascii_case(&user.username);
    if portal.caller.as_ref().is_some_and(|c| is(&c.username)) {
        Some("is the signed-in account")
    } else if user.role.as_deref() == Some("org_admin")
        || user.role_id.as_deref() == Some("org_admin")
    {
        Some("is an org administrator")
    } else if protected.iter().any(|p| is(p)) {
        Some("is in PROTECTED_USERS")
    } else {
        None
    }
}

/// Fails rows that would change a guarded member's role or user type,
/// disable or delete them; their names, email and groups may still change.
pub(super) fn refuse_guarded(work: &mut [ChangeWork], portal: &Portal, protected: &[String]) {
    for w in work.iter_mut().filter(|w| w.pending()) {
        let Some(member) = &w.member else { continue };
        if let Change::Update(update) = &w.change {
            if makes_admin(update, member) {
                w.fail(
                    "role: a file never makes anyone an administrator; give the role in the portal",
                );
                continue;
            }
        }
        let Some(why) = guard(member, portal, protected) else {
            continue;
        };
        let refused = match &w.change {
            Change::Update(update) if changes_licence(update, member) => {
                "changes its role or user type"
            }
            Change::Disable => "disables it",
            Change::Delete { .. } => "deletes it",
            Change::Update(_) | Change::Enable => continue,
        };
        w.fail(format!(
            "refused: {} {why}; a file never {refused} (its names, email and groups may be updated)",
            w.username
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arcgis::request::Update;
    use connectors::arcgis::PortalKind;
    use connectors::inbox::Outcome;

    fn user(name: &str, role: &str) -> User {
        User {
            username: name.into(),
            role: Some(role.into()),
            ..User::default()
        }
    }

    fn row(name: &str, role: &str, change: Change) -> ChangeWork {
        let mut w = ChangeWork::new(name.into(), change);
        w.member = Some(user(name, role));
        w
    }

    #[test]
    fn guarded_members_keep_their_role_type_and_status() {
        let portal = Portal {
            id: "org".into(),
            name: "Org".into(),
            kind: PortalKind::Online,
            default_credits: None,
            caller: Some(user("rollcall_bot", "org_admin")),
        };
        let role_change = Change::Update(Box::new(Update {
            role: Some("org_user".into()),
            ..Update::default()
        }));
        let names_only = Change::Update(Box::new(Update {
            join: vec!["g1".into()],
            ..Update::default()
        }));
        let mut work = vec![
            row("Rollcall_Bot", "org_user", Change::Disable),
            row("boss_admin", "org_admin", role_change.clone()),
            row("boss_admin2", "org_admin", names_only),
            row(
                "vip_member",
                "org_user",
                Change::Delete { reassign_to: None },
            ),
            row("plain_member", "org_user", role_change),
            row("vip_member2", "org_user", Change::Enable),
            row(
                "climber",
                "org_user",
                Change::Update(Box::new(Update {
                    role: Some("org_admin".into()),
                    ..Update::default()
                })),
            ),
        ];
        refuse_guarded(
            &mut work,
            &portal,
            &["VIP_member".into(), "vip_member2".into()],
        );
        let reasons: Vec<(Option<Outcome>, &str)> = work
            .iter()
            .map(|w| (w.outcome, w.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (Some(Outcome::Failed), "refused: Rollcall_Bot is the signed-in account; a file never disables it (its names, email and groups may be updated)"),
                (Some(Outcome::Failed), "refused: boss_admin is an org administrator; a file never changes its role or user type (its names, email and groups may be updated)"),
                (None, ""),
                (Some(Outcome::Failed), "refused: vip_member is in PROTECTED_USERS; a file never deletes it (its names, email and groups may be updated)"),
                (None, ""),
                (None, ""),
                (Some(Outcome::Failed), "role: a file never makes anyone an administrator; give the role in the portal"),
            ]
        );
    }

    #[test]
    fn over_the_cap_no_delete_happens() {
        let delete = || Change::Delete { reassign_to: None };
        let mut work = vec![
            row("a_member", "org_user", delete()),
            row("b_member", "org_user", Change::Disable),
            row("c_member", "org_user", delete()),
        ];
        cap_deletes(&mut work, 2);
        assert!(work.iter().all(|w| w.outcome.is_none()));
        cap_deletes(&mut work, 1);
        assert_eq!(work[0].reason, "not deleted: the file asks for 2 deletes, more than MAX_DELETES_PER_RUN (1), so none was done; split the file or raise the limit");
        assert_eq!(work[1].outcome, None);
        assert_eq!(work[2].outcome, Some(Outcome::Failed));
    }
}
