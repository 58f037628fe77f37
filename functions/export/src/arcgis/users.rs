//! The ArcGIS users export: every member of the org, one row each, written
//! as each page of `portals/self/users` arrives.
//!
//! The first eight columns are onboarding's, holding values onboarding
//! takes back: the user type and role as ids (role names are not unique),
//! credits as a number or `unlimited`, group ids separated by `;`.
//!
//! Memory holds the pages in flight, one entry per group membership (a
//! listing gives no member's groups, so they are read group by group
//! first) and the usernames written (a member who moves between pages while
//! the org changes is written once); not the export.

use std::collections::HashSet;
use std::pin::pin;

use connectors::arcgis::{User, UserPage};
use connectors::store::{CsvUpload, MultipartUploads, ObjectStore};
use connectors::Error;
use futures::stream::{self, StreamExt};

use super::filter::{self, role_of, Resolved};
use super::{org_groups, ArcgisSource, Memberships};
use crate::cells;
use crate::event::ArcgisFilter;
use crate::handler::ExportError;

/// The columns, in order.
pub const COLUMNS: [&str; 11] = [
    "username",
    "firstname",
    "lastname",
    "email",
    "user type",
    "role",
    "credit allocation",
    "groups",
    "last_login",
    "created",
    "disabled",
];

/// Members per `portals/self/users` page (the most the portal gives).
const PAGE: u64 = 100;

/// Writes the members `filter` keeps to `csv`; returns notes for the
/// caller (a search cap met).
pub(crate) async fn export<A, S>(
    arcgis: &A,
    filter: &ArcgisFilter,
    csv: &mut CsvUpload<'_, S>,
    concurrency: usize,
) -> Result<Vec<String>, ExportError>
where
    A: ArcgisSource,
    S: ObjectStore + MultipartUploads,
{
    let filter = filter::resolve(arcgis, filter).await?;
    let org = arcgis.portal().await?;
    let (memberships, notes) =
        memberships(arcgis, &org.id, filter.group.as_deref(), concurrency).await?;
    let mut rows = Rows {
        filter: &filter,
        memberships: &memberships,
        seen: HashSet::new(),
    };
    let first = arcgis.users_page(1, PAGE).await?;
    let total = first.total;
    let mut next_start = first.next_start;
    rows.write(csv, first.users).await?;
    // Page 1 gave the total; the other pages are read ahead at fixed
    // offsets, a few at a time, and written in order.
    let starts = (1..).map(|i| 1 + i * PAGE).take_while(|s| *s <= total);
    let mut pages = pin!(stream::iter(starts)
        .map(|start| arcgis.users_page(start, PAGE))
        .buffered(concurrency.max(1)));
    while let Some(page) = pages.next().await {
        let page: UserPage = page?;
        next_start = page.next_start;
        rows.write(csv, page.users).await?;
    }
    // Members who joined after the total was read: follow nextStart.
    while let Some(start) = next_start {
        let page = arcgis.users_page(start, PAGE).await?;
        next_start = page.next_start.filter(|n| *n > start);
        rows.write(csv, page.users).await?;
    }
    Ok(notes)
}

/// Group ids by member, from every group the org's search lists (and the
/// filter's group, should the search not list it).
async fn memberships<A: ArcgisSource>(
    arcgis: &A,
    org_id: &str,
    filter_group: Option<&str>,
    concurrency: usize,
) -> Result<(Memberships, Vec<String>), Error> {
    let listing = org_groups(arcgis, org_id, concurrency).await?;
    let notes: Vec<String> = listing.capped_note().into_iter().collect();
    let mut index = Memberships::new();
    let mut add = |group: &str, members: Vec<String>| {
        for member in members {
            let groups = index.entry(member.to_lowercase()).or_default();
            if !groups.iter().any(|g| g == group) {
                groups.push(group.to_string());
            }
        }
    };
    let mut filter_group_listed = false;
    let mut groups = pin!(listing.groups);
    while let Some(entry) = groups.next().await {
        let (group, members) = entry?;
        filter_group_listed |= filter_group == Some(group.id.as_str());
        add(&group.id, members);
    }
    if let Some(id) = filter_group.filter(|_| !filter_group_listed) {
        add(id, arcgis.group_members(id).await?);
    }
    Ok((index, notes))
}

/// Writes members as rows, each once.
struct Rows<'a> {
    filter: &'a Resolved,
    memberships: &'a Memberships,
    seen: HashSet<String>,
}

impl Rows<'_> {
    async fn write<S: ObjectStore + MultipartUploads>(
        &mut self,
        csv: &mut CsvUpload<'_, S>,
        users: Vec<User>,
    ) -> Result<(), Error> {
        for user in users {
            let key = user.username.to_lowercase();
            let mut groups = self.memberships.get(&key).cloned().unwrap_or_default();
            if !self.filter.keeps(&user, &groups) || !self.seen.insert(key) {
                continue;
            }
            groups.sort();
            csv.row(row(&user, &groups)).await?;
        }
        Ok(())
    }
}

/// One member's cells, in [`COLUMNS`] order.
fn row(user: &User, groups: &[String]) -> [String; 11] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        user.username.clone(),
        cells::text(&text(&user.first_name)),
        cells::text(&text(&user.last_name)),
        text(&user.email),
        text(&user.user_license_type_id),
        role_of(user).to_string(),
        cells::credits(user.assigned_credits),
        cells::list(groups),
        cells::epoch_ms(user.last_login.at()),
        cells::epoch_ms(user.created),
        cells::flag(user.disabled).to_string(),
    ]
}
