//! Free licences before creating: a new member takes a licence of its user
//! type, so rows beyond the free licences of their type fail before any
//! account or invitation is made, instead of leaving pending invitations
//! that hold licences. The summary then says what is left.
//!
//! What the org holds and what is assigned per user type come from the
//! [`connectors::arcgis::Licences`] port: `portals/self/purchases` (*Purchases*,
//! <https://developers.arcgis.com/rest/users-groups-and-items/purchases.htm>)
//! as the ArcGIS API for Python's `License.report` reads it, the Portal
//! Administrator `license` resource on Enterprise (*License*,
//! <https://developers.arcgis.com/rest/enterprise-administration/portal/license.htm>),
//! and `portals/self/users/counts?type=userLicenseType` as its
//! `UserManager.counts('user_type')` reads it.
//!
//! The rules:
//! - Only rows still to be created count: existing members hold their
//!   licence already. Within a user type, rows take the free licences in
//!   file order; the rest fail with `no <Type> licence free (<free> of
//!   <held>)`, where `<free>` is what was free when the run began and
//!   `<held>` what the org holds of that type.
//! - A user type the portal lists no licences for, while it lists others,
//!   is not limited by this check: the ArcGIS API for Python reports only
//!   the entitlements a purchase lists and infers nothing of the others, and
//!   an Enterprise `license` may give a type no maximum (`-1`, unlimited
//!   Viewers), which the port leaves out. Failing such rows on a guess
//!   would stop onboarding the portal allows; the portal still refuses what
//!   it cannot license, and that refusal is the row's reason.
//! - A portal that does not say what it holds (many Enterprise portals):
//!   the check is skipped and the summary says so.
//! - Reading the licences refused (a privilege the account lacks, a
//!   resource the portal does not have, an answer that cannot be read): the
//!   check is skipped, naming the error in the summary; onboarding worked
//!   without it and the portal still refuses what it cannot license. A
//!   portal that is down, throttling or refusing the sign-in fails the file
//!   as any other read before the writes does: it is left untouched for the
//!   retry.

use connectors::arcgis::Seats;
use connectors::inbox::Run;
use connectors::{Error, ErrorKind};

use super::{Catalog, MemberOnboarding, OnboardingPorts, Work};

/// The note when the portal does not say what it holds.
const NOT_SAID: &str =
    "the portal does not say how many licences it holds, so free seats were not checked";

/// What the check before creating found, for the summary after the run.
pub(super) enum SeatCheck {
    /// No row was to be created: nothing was read, nothing is said.
    NotNeeded,
    /// The check was skipped; the note says why.
    Skipped(String),
    /// The licences were checked; the user types the new members asked
    /// for, in file order, and the licences when the run began.
    Checked {
        asked: Vec<String>,
        at_start: Vec<Seats>,
    },
}

impl<D: OnboardingPorts> MemberOnboarding<'_, D> {
    /// Fails the rows still to be created beyond the free licences of their
    /// user type (see the module docs). An error is one that fails the file.
    pub(super) async fn check_seats(
        &self,
        work: &mut [Work],
        catalog: &Catalog,
    ) -> Result<SeatCheck, Error> {
        let asked = types_asked(work);
        if !work.iter().any(Work::pending) {
            return Ok(SeatCheck::NotNeeded);
        }
        let at_start = match self.arcgis.seats().await {
            Ok(Some(seats)) => seats,
            Ok(None) => return Ok(SeatCheck::Skipped(NOT_SAID.into())),
            Err(e) if unreadable(&e) => {
                return Ok(SeatCheck::Skipped(format!(
                    "the org's licences could not be read ({e}), so free seats were not checked"
                )))
            }
            Err(e) => return Err(e),
        };
        hold_back(work, &at_start, catalog);
        Ok(SeatCheck::Checked { asked, at_start })
    }

    /// The summary's notes on licences: why they were not checked, or what
    /// is free after the run (read again; in a dry run, what is free now).
    /// Never fails: the writes are done by then.
    pub(super) async fn seats_notes(
        &self,
        check: SeatCheck,
        catalog: &Catalog,
        run: &Run,
    ) -> Vec<String> {
        let (asked, at_start) = match check {
            SeatCheck::NotNeeded => return Vec::new(),
            SeatCheck::Skipped(note) => return vec![note],
            SeatCheck::Checked { asked, at_start } => (asked, at_start),
        };
        if run.dry_run {
            return vec![free_note("Licences free now", &at_start, &asked, catalog)];
        }
        const AFTER: &str = "Licences free after this run";
        if !run.may_start() {
            return vec![format!(
                "{AFTER} were not read: the Lambda deadline was too near"
            )];
        }
        vec![match self.arcgis.seats().await {
            Ok(Some(after)) => free_note(AFTER, &after, &asked, catalog),
            Ok(None) => format!("{AFTER} could not be read: the portal no longer says"),
            Err(e) => format!("{AFTER} could not be read: {e}"),
        }]
    }
}

/// Errors that mean the portal will not say, rather than that it is down:
/// the check is skipped instead of failing the file.
fn unreadable(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Permission
            | ErrorKind::NotFound
            | ErrorKind::Rejected
            | ErrorKind::UnexpectedAnswer
    )
}

/// The user types the rows to be created ask for, each once, in file order.
fn types_asked(work: &[Work]) -> Vec<String> {
    let mut asked: Vec<String> = Vec::new();
    for user_type in work.iter().filter(|w| w.pending()).filter_map(user_type) {
        if !asked.iter().any(|t| t.eq_ignore_ascii_case(user_type)) {
            asked.push(user_type.to_string());
        }
    }
    asked
}

fn user_type(w: &Work) -> Option<&str> {
    w.member.as_ref()?.account.user_type.as_deref()
}

/// Lets through, per user type in file order, as many rows still to be
/// created as there are free licences, and fails the rest.
fn hold_back(work: &mut [Work], seats: &[Seats], catalog: &Catalog) {
    let mut given = vec![0u64; seats.len()];
    for w in work.iter_mut().filter(|w| w.pending()) {
        let Some(at) = user_type(w).and_then(|t| {
            seats
                .iter()
                .position(|s| s.user_type.eq_ignore_ascii_case(t))
        }) else {
            continue;
        };
        let held = &seats[at];
        if given[at] < held.free() {
            given[at] += 1;
        } else {
            w.fail(no_licence_free(
                catalog.user_type_name(&held.user_type),
                held,
            ));
        }
    }
}

/// The reason of a row beyond the free licences of its type.
fn no_licence_free(type_name: &str, seats: &Seats) -> String {
    format!(
        "no {type_name} licence free ({} of {})",
        seats.free(),
        seats.purchased
    )
}

/// `<lead>: Creator 3 of 50, Viewer 97 of 100`: the types the file asked
/// for first, in file order, then the org's other types as the portal
/// lists them; types the portal lists no licences for are left out.
fn free_note(lead: &str, seats: &[Seats], asked: &[String], catalog: &Catalog) -> String {
    let position = |s: &Seats| {
        asked
            .iter()
            .position(|t| t.eq_ignore_ascii_case(&s.user_type))
            .unwrap_or(asked.len())
    };
    let mut listed: Vec<&Seats> = seats.iter().collect();
    listed.sort_by_key(|s| position(s));
    if listed.is_empty() {
        return format!("{lead}: the portal lists no licences");
    }
    let listed: Vec<String> = listed
        .iter()
        .map(|s| {
            format!(
                "{} {} of {}",
                catalog.user_type_name(&s.user_type),
                s.free(),
                s.purchased
            )
        })
        .collect();
    format!("{lead}: {}", listed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::arcgis::{PortalKind, UserType};

    fn catalog() -> Catalog {
        let types = [("creatorUT", "Creator"), ("viewerUT", "Viewer")]
            .iter()
            .map(|(id, name)| UserType {
                id: (*id).into(),
                name: (*name).into(),
            })
            .collect();
        Catalog::new(PortalKind::Online, Vec::new(), types)
    }

    fn seats(user_type: &str, purchased: u64, assigned: u64) -> Seats {
        Seats {
            user_type: user_type.into(),
            purchased,
            assigned,
        }
    }

    #[test]
    fn the_reason_names_the_type_and_what_was_free_of_what_is_held() {
        let catalog = catalog();
        assert_eq!(
            no_licence_free(
                catalog.user_type_name("creatorUT"),
                &seats("creatorUT", 50, 50)
            ),
            "no Creator licence free (0 of 50)"
        );
        assert_eq!(
            catalog.user_type_name("GISProfessionalStdUT"),
            "GISProfessionalStdUT"
        );
    }

    #[test]
    fn the_note_lists_the_types_asked_for_first() {
        let held = [
            seats("creatorUT", 50, 47),
            seats("fieldWorkerUT", 5, 5),
            seats("viewerUT", 100, 3),
        ];
        let asked = ["viewerUT".to_string(), "editorUT".to_string()];
        assert_eq!(
            free_note("Licences free now", &held, &asked, &catalog()),
            "Licences free now: Viewer 97 of 100, Creator 3 of 50, fieldWorkerUT 0 of 5"
        );
        assert_eq!(
            free_note("Licences free now", &[], &asked, &catalog()),
            "Licences free now: the portal lists no licences"
        );
    }
}
