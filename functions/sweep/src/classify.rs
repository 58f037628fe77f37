//! How one member is classified, from the sign-in dates, the protections
//! and the notice-period state. Pure: the same inputs give the same answer.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use connectors::arcgis::{LastLogin, User};
use serde::Serialize;

use crate::config::Thresholds;
use crate::reclaim::state::Reclaimed;
use crate::state::Warned;

const DAY_MS: i64 = 86_400_000;

/// What the sweep thinks of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Active,
    /// Inactive past the warning threshold.
    Warn,
    /// Inactive past the disable threshold, warned long enough ago.
    Disable,
    /// As `Disable`, when the sweep downgrades instead.
    Downgrade,
    /// rollcall released the member's licence; they have not signed in since.
    Downgraded,
    /// Holds the user type a downgrade gives already: no licence to reclaim.
    AlreadyDowngraded,
    AlreadyDisabled,
    Protected,
    /// The portal did not say when the member last signed in: left alone.
    Unknown,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Active => "active",
            Class::Warn => "warn",
            Class::Disable => "disable",
            Class::Downgrade => "downgrade",
            Class::Downgraded => "downgraded",
            Class::AlreadyDowngraded => "already_downgraded",
            Class::AlreadyDisabled => "already_disabled",
            Class::Protected => "protected",
            Class::Unknown => "unknown",
        }
    }
}

/// What the member needs this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// A warning mail (first of this inactivity spell).
    Warning,
    /// Disabling (or downgrading), after the notice period.
    Disabling,
    /// Getting back the user type and role rollcall took: the member
    /// signed in after the downgrade.
    Restoring,
}

/// The classification of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub class: Class,
    pub need: Need,
    /// Whole days since the last sign-in (or creation, if never signed in).
    pub days_inactive: Option<i64>,
    /// When the member will be (or would be) disabled, for the warning mail.
    pub disable_on: Option<DateTime<Utc>>,
    /// Keep the member's notice-period entry.
    pub keep_warning: bool,
    pub reason: String,
}

/// What every classification in one run shares.
pub struct Rules<'a> {
    pub now: DateTime<Utc>,
    pub thresholds: Thresholds,
    /// Lower-cased usernames never touched: the signed-in account and `PROTECTED_USERS`.
    pub signed_in: &'a str,
    pub protected_users: &'a HashSet<String>,
    /// Lower-cased members of `PROTECTED_GROUPS`.
    pub protected_group_members: &'a HashSet<String>,
    /// The user type a downgrade gives, when the sweep downgrades.
    pub downgrade_to: Option<&'a str>,
}

impl Rules<'_> {
    /// Classifies `member`, given its notice-period entry if it has one.
    pub fn classify(&self, member: &User, warned: Option<&Warned>) -> Decision {
        self.classify_with(member, warned, None)
    }

    /// Classifies `member`, given its notice-period entry and the record of
    /// the licence rollcall released, if it has them.
    pub fn classify_with(
        &self,
        member: &User,
        warned: Option<&Warned>,
        reclaimed: Option<&Reclaimed>,
    ) -> Decision {
        let name = member.username.to_ascii_lowercase();
        let now_ms = self.now.timestamp_millis();
        let last_activity = member.last_login.at().or(member.created);
        let days_inactive = last_activity.map(|at| (now_ms - at).max(0) / DAY_MS);
        let decision = |class, need, reason: String| Decision {
            class,
            need,
            days_inactive,
            disable_on: None,
            keep_warning: false,
            reason,
        };
        if member.disabled {
            return decision(
                Class::AlreadyDisabled,
                Need::Nothing,
                "already disabled".into(),
            );
        }
        if let Some(record) = reclaimed {
            // What rollcall took it gives back, once the member signs in.
            let released = record.downgraded_at.format("%Y-%m-%d");
            let since = member.last_login.at();
            return match since.filter(|at| *at > record.downgraded_at.timestamp_millis()) {
                Some(at) => decision(
                    Class::Active,
                    Need::Restoring,
                    format!(
                        "signed in on {} after the {} licence was released on {released}",
                        ms_to_time(at).format("%Y-%m-%d"),
                        record.user_type
                    ),
                ),
                None => decision(
                    Class::Downgraded,
                    Need::Nothing,
                    format!(
                        "the {} licence was released on {released}; given back when the member signs in",
                        record.user_type
                    ),
                ),
            };
        }
        let protection = if name == self.signed_in {
            Some("the account rollcall signs in as")
        } else if member.role.as_deref() == Some("org_admin") {
            Some("an org administrator")
        } else if name.starts_with("esri_") {
            Some("a system account")
        } else if self.protected_users.contains(&name) {
            Some("listed in PROTECTED_USERS")
        } else if self.protected_group_members.contains(&name) {
            Some("a member of a group in PROTECTED_GROUPS")
        } else {
            None
        };
        if let Some(why) = protection {
            return decision(Class::Protected, Need::Nothing, format!("protected: {why}"));
        }
        if member.last_login == LastLogin::Unknown {
            // Absent is not "never": without the date, nobody is warned or disabled.
            return Decision {
                keep_warning: warned.is_some(),
                days_inactive: None,
                ..decision(
                    Class::Unknown,
                    Need::Nothing,
                    "the portal did not say when the member last signed in (no lastLogin); left alone".into(),
                )
            };
        }
        if let Some(to) = self.downgrade_to {
            if member.user_license_type_id.as_deref() == Some(to) {
                return decision(
                    Class::AlreadyDowngraded,
                    Need::Nothing,
                    format!("holds the {to} user type already; no licence to reclaim"),
                );
            }
            if member.user_license_type_id.is_none()
                || (member.role_id.is_none() && member.role.is_none())
            {
                // Without them there is nothing to give back later.
                return Decision {
                    keep_warning: warned.is_some(),
                    ..decision(
                        Class::Unknown,
                        Need::Nothing,
                        "the portal did not say which user type and role the member holds; left alone".into(),
                    )
                };
            }
        }
        let (act_class, acted) = match self.downgrade_to {
            Some(_) => (Class::Downgrade, "downgraded"),
            None => (Class::Disable, "disabled"),
        };
        let t = &self.thresholds;
        if let Some(created) = member.created {
            let age = (now_ms - created).max(0) / DAY_MS;
            if age < t.new_account_grace_days as i64 {
                return decision(
                    Class::Active,
                    Need::Nothing,
                    format!(
                        "new account, created {age} days ago (grace {} days)",
                        t.new_account_grace_days
                    ),
                );
            }
        }
        let (Some(days), Some(last)) = (days_inactive, last_activity) else {
            return decision(
                Class::Active,
                Need::Nothing,
                "no sign-in or creation date; left alone".into(),
            );
        };
        let since = if member.last_login.at().is_some() {
            "signed in"
        } else {
            "never signed in; created"
        };
        if days < t.notify_after_days as i64 {
            return decision(
                Class::Active,
                Need::Nothing,
                format!("{since} {days} days ago"),
            );
        }
        // A warning counts for this spell only if there was no sign-in since.
        let warning = warned.filter(|w| w.warned_at.timestamp_millis() >= last);
        let disable_at_threshold = last + t.disable_after_days as i64 * DAY_MS;
        match warning {
            Some(w) => {
                let notice_end = w.warned_at.timestamp_millis() + t.notice_days as i64 * DAY_MS;
                let disable_on = ms_to_time(disable_at_threshold.max(notice_end));
                let warned_on = w.warned_at.format("%Y-%m-%d");
                if days >= t.disable_after_days as i64 && now_ms >= notice_end {
                    Decision {
                        disable_on: Some(disable_on),
                        keep_warning: true,
                        ..decision(
                            act_class,
                            Need::Disabling,
                            format!(
                                "inactive {days} days; warned on {warned_on}, notice period over"
                            ),
                        )
                    }
                } else {
                    Decision {
                        disable_on: Some(disable_on),
                        keep_warning: true,
                        ..decision(
                            Class::Warn,
                            Need::Nothing,
                            format!(
                                "inactive {days} days; warned on {warned_on}; {acted} from {} if still inactive",
                                disable_on.format("%Y-%m-%d")
                            ),
                        )
                    }
                }
            }
            None => {
                let notice_end = now_ms + t.notice_days as i64 * DAY_MS;
                let disable_on = ms_to_time(disable_at_threshold.max(notice_end));
                let past = if days >= t.disable_after_days as i64 {
                    "; past the disable threshold, so warned first"
                } else {
                    ""
                };
                Decision {
                    disable_on: Some(disable_on),
                    ..decision(
                        Class::Warn,
                        Need::Warning,
                        format!("{since} {days} days ago{past}"),
                    )
                }
            }
        }
    }
}

fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> i64 {
        // 2026-01-01 plus n days, in ms.
        1_767_225_600_000 + n * DAY_MS
    }

    fn member(name: &str, last_login: Option<i64>, created: i64) -> User {
        User {
            username: name.into(),
            last_login: last_login.map_or(LastLogin::Never, LastLogin::At),
            created: Some(created),
            role: Some("org_user".into()),
            ..User::default()
        }
    }

    fn with<R>(now_day: i64, f: impl FnOnce(&Rules) -> R) -> R {
        let none = HashSet::new();
        let group = HashSet::from(["grouped.member".to_string()]);
        let listed = HashSet::from(["listed.member".to_string()]);
        let rules = Rules {
            now: ms_to_time(day(now_day)),
            thresholds: Thresholds::default(),
            signed_in: "rollcall_admin",
            protected_users: &listed,
            protected_group_members: if now_day >= 0 { &group } else { &none },
            downgrade_to: None,
        };
        f(&rules)
    }

    #[test]
    fn a_spell_goes_warn_wait_disable() {
        let m = member("idle.member", Some(day(0)), day(-400));
        // Day 60: first warning.
        let d = with(60, |r| r.classify(&m, None));
        assert_eq!((d.class, d.need), (Class::Warn, Need::Warning));
        assert_eq!(d.disable_on, Some(ms_to_time(day(90))));
        let warned = Warned {
            warned_at: ms_to_time(day(60)),
        };
        // Day 61: warned already, nothing to do.
        let d = with(61, |r| r.classify(&m, Some(&warned)));
        assert_eq!(
            (d.class, d.need, d.keep_warning),
            (Class::Warn, Need::Nothing, true)
        );
        // Day 90: past the threshold, notice (14 days) over: disable.
        let d = with(90, |r| r.classify(&m, Some(&warned)));
        assert_eq!((d.class, d.need), (Class::Disable, Need::Disabling));
    }

    #[test]
    fn never_warned_past_the_threshold_is_warned_first_and_waits_the_notice() {
        let m = member("long.gone", Some(day(0)), day(-400));
        let d = with(200, |r| r.classify(&m, None));
        assert_eq!((d.class, d.need), (Class::Warn, Need::Warning));
        assert!(
            d.reason
                .ends_with("past the disable threshold, so warned first"),
            "{}",
            d.reason
        );
        let warned = Warned {
            warned_at: ms_to_time(day(200)),
        };
        assert_eq!(
            with(213, |r| r.classify(&m, Some(&warned))).need,
            Need::Nothing
        );
        assert_eq!(
            with(214, |r| r.classify(&m, Some(&warned))).need,
            Need::Disabling
        );
    }

    #[test]
    fn signing_in_after_the_warning_clears_it() {
        let m = member("came.back", Some(day(70)), day(-400));
        let warned = Warned {
            warned_at: ms_to_time(day(60)),
        };
        let d = with(95, |r| r.classify(&m, Some(&warned)));
        assert_eq!(
            (d.class, d.need, d.keep_warning),
            (Class::Active, Need::Nothing, false)
        );
    }

    #[test]
    fn never_signed_in_counts_from_creation_and_new_accounts_have_grace() {
        let never = member("never.in", None, day(0));
        assert_eq!(with(59, |r| r.classify(&never, None)).class, Class::Active);
        let d = with(60, |r| r.classify(&never, None));
        assert_eq!(d.class, Class::Warn);
        assert!(
            d.reason.starts_with("never signed in; created 60 days ago"),
            "{}",
            d.reason
        );
        let fresh = member("fresh.account", None, day(50));
        assert!(with(75, |r| r.classify(&fresh, None))
            .reason
            .starts_with("new account"));
    }

    #[test]
    fn an_absent_last_login_is_left_alone_and_keeps_its_warning() {
        let mut m = member("quiet.member", None, day(-400));
        m.last_login = LastLogin::Unknown;
        let warned = Warned {
            warned_at: ms_to_time(day(60)),
        };
        for w in [None, Some(&warned)] {
            let d = with(365, |r| r.classify(&m, w));
            assert_eq!((d.class, d.need), (Class::Unknown, Need::Nothing));
            assert_eq!(d.keep_warning, w.is_some());
            assert!(
                d.reason.starts_with("the portal did not say when"),
                "{}",
                d.reason
            );
        }
        // `-1` (never) still counts from the creation date.
        m.last_login = LastLogin::Never;
        assert_eq!(with(365, |r| r.classify(&m, None)).need, Need::Warning);
    }

    #[test]
    fn protections_win_over_inactivity() {
        let old = Some(day(0));
        let cases = [
            (
                "rollcall_admin",
                "org_user",
                "the account rollcall signs in as",
            ),
            ("boss.admin", "org_admin", "an org administrator"),
            ("esri_livingatlas", "org_user", "a system account"),
            ("Listed.Member", "org_user", "listed in PROTECTED_USERS"),
            (
                "grouped.member",
                "org_user",
                "a member of a group in PROTECTED_GROUPS",
            ),
        ];
        for (name, role, why) in cases {
            let mut m = member(name, old, day(-400));
            m.role = Some(role.into());
            let d = with(365, |r| r.classify(&m, None));
            assert_eq!(
                (d.class, d.reason.as_str()),
                (Class::Protected, format!("protected: {why}").as_str())
            );
        }
        let mut disabled = member("off.already", old, day(-400));
        disabled.disabled = true;
        assert_eq!(
            with(365, |r| r.classify(&disabled, None)).class,
            Class::AlreadyDisabled
        );
    }
}
