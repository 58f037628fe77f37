//! What the listing learns of each member's licence reclamation: the record
//! of what rollcall released, the intents an earlier run left in
//! `state/reclaimed.json` (settled against what the member holds now), the
//! notice due and the change waiting.

use connectors::arcgis::User;

use super::role_of;
use super::state::{Kind, NoticeDue, Op, ReclaimState, Reclaimed, Waiting};

/// One member's licence reclamation, as the listing found it and the run
/// changes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberReclaim {
    /// The user type the member holds (after this run's change, once made).
    pub user_type: Option<String>,
    /// The role id the member holds.
    pub role: Option<String>,
    /// What rollcall released and gives back.
    pub record: Option<Reclaimed>,
    /// A role a downgrade changed before its user-type change failed
    /// unrecorded: put back.
    pub repair_role: Option<String>,
    /// A member notice due.
    pub notice: Option<NoticeDue>,
    /// A change the portal refused for now.
    pub waiting: Option<Waiting>,
}

/// What a restore gives back to one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Restore {
    /// The user type to give, when the member does not hold it.
    pub user_type: Option<String>,
    /// The role to give, when the member does not hold it.
    pub role: Option<String>,
    /// The user type the member had (named in the notice).
    pub had: String,
    /// A licence comes back: the member is told.
    pub notify: bool,
}

impl MemberReclaim {
    /// The role the member had before rollcall changed anything: the one a
    /// failed downgrade left changed, else the one they hold.
    pub(crate) fn had_role(&self) -> Option<String> {
        self.repair_role.clone().or_else(|| self.role.clone())
    }

    /// What the member is to get back: the record's type and role, or the
    /// role a failed downgrade left changed.
    pub(crate) fn restore(&self) -> Option<Restore> {
        if let Some(record) = &self.record {
            let user_type = (self.user_type.as_deref() != Some(&record.user_type))
                .then(|| record.user_type.clone());
            let role = (self.role.as_deref() != Some(&record.role)).then(|| record.role.clone());
            return Some(Restore {
                notify: user_type.is_some(),
                user_type,
                role,
                had: record.user_type.clone(),
            });
        }
        let role = self.repair_role.clone()?;
        Some(Restore {
            user_type: None,
            had: self.user_type.clone().unwrap_or_default(),
            role: Some(role),
            notify: false,
        })
    }
}

/// Intents an earlier run left, as this run settled them.
#[derive(Debug, Default)]
pub(crate) struct RecoveredReclaim {
    pub downgraded: Vec<String>,
    pub not_downgraded: Vec<String>,
    pub restored: Vec<String>,
    pub notified: Vec<String>,
    /// Records dropped: an admin changed the member's user type since.
    pub changed_by_admin: Vec<String>,
}

impl RecoveredReclaim {
    /// The notes for the summary.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut note = |names: &[String], what: &str| {
            if !names.is_empty() {
                notes.push(format!("{} {what}: {}", names.len(), names.join(", ")));
            }
        };
        note(
            &self.downgraded,
            "member(s) an earlier run downgraded without recording it are now recorded as downgraded",
        );
        note(
            &self.not_downgraded,
            "member(s) an earlier run set out to downgrade were not downgraded; they were classified afresh",
        );
        note(
            &self.restored,
            "member(s) an earlier run gave their licence back without recording it are now recorded as restored",
        );
        note(
            &self.notified,
            "licence notice(s) an earlier run started without recording it count as sent",
        );
        note(
            &self.changed_by_admin,
            "member(s) whose user type an admin changed after rollcall released their licence; rollcall no longer gives it back",
        );
        notes
    }
}

/// Settles what the state holds of `user` (key `key`) against what the
/// member holds now, pushing the state's changes to `ops`.
pub(crate) fn settle(
    state: &ReclaimState,
    key: &str,
    user: &User,
    ops: &mut Vec<Op>,
    recovered: &mut RecoveredReclaim,
) -> MemberReclaim {
    let mut found = MemberReclaim {
        user_type: user.user_license_type_id.clone(),
        role: role_of(user),
        record: state.members.get(key).cloned(),
        notice: state.notices_due.get(key).cloned(),
        waiting: state.waiting.get(key).cloned(),
        repair_role: None,
    };
    let holds = |t: &str| found.user_type.as_deref() == Some(t);
    // A downgrade started and not recorded: the member's type says whether it happened.
    if let Some(intent) = state.pending.downgrade.get(key) {
        if holds(&intent.to) && intent.user_type != intent.to {
            ops.push(Op::Settled(Kind::Downgrade, key.to_string()));
            let record = intent.reclaimed();
            ops.push(Op::Downgraded(key.to_string(), record.clone()));
            found.notice = state.notices_due.get(key).cloned().or(Some(NoticeDue {
                notice: super::state::Notice::Released,
                at: record.downgraded_at,
                user_type: record.user_type.clone(),
                now_holds: record.downgraded_to.clone(),
            }));
            found.record = Some(record);
            found.waiting = None;
            recovered.downgraded.push(user.username.clone());
        } else {
            recovered.not_downgraded.push(user.username.clone());
            if found.role.as_deref() != Some(&intent.role) {
                // The role moved and the type did not: the intent stays
                // until the role is put back (or the member is downgraded).
                found.repair_role = Some(intent.role.clone());
            } else {
                ops.push(Op::Settled(Kind::Downgrade, key.to_string()));
            }
        }
    }
    // A restore started and not recorded: done if the member holds what they had.
    if let Some(intent) = state.pending.restore.get(key) {
        ops.push(Op::Settled(Kind::Restore, key.to_string()));
        if let Some(record) = found.record.clone() {
            if found
                .restore()
                .is_none_or(|r| r.user_type.is_none() && r.role.is_none())
            {
                ops.push(Op::Restored {
                    name: key.to_string(),
                    at: intent.at,
                    user_type: record.user_type.clone(),
                    notify: true,
                });
                found.notice = Some(NoticeDue {
                    notice: super::state::Notice::Restored,
                    at: intent.at,
                    user_type: record.user_type.clone(),
                    now_holds: record.user_type.clone(),
                });
                found.record = None;
                found.waiting = None;
                recovered.restored.push(user.username.clone());
            }
        }
    }
    // A notice started and not recorded counts as sent.
    if state.pending.notify.contains_key(key) {
        ops.push(Op::Settled(Kind::Notify, key.to_string()));
        ops.push(Op::NoticeDone(key.to_string()));
        found.notice = None;
        recovered.notified.push(user.username.clone());
    }
    // A record the org no longer matches: given back already, or changed by an admin.
    if let Some(record) = found.record.clone() {
        let now = found.user_type.clone();
        if now.as_deref() == Some(&record.user_type) && found.role.as_deref() == Some(&record.role)
        {
            ops.push(Op::Restored {
                name: key.to_string(),
                at: record.downgraded_at,
                user_type: record.user_type.clone(),
                notify: false,
            });
            found.record = None;
            found.notice = None;
        } else if now
            .as_deref()
            .is_some_and(|t| t != record.downgraded_to && t != record.user_type)
        {
            ops.push(Op::Forget(key.to_string()));
            found.record = None;
            recovered.changed_by_admin.push(user.username.clone());
        }
    }
    found
}
