//! The ArcGIS exports: the org's members ([`users`]) and groups
//! ([`groups`]), both built on the org's groups and their members
//! ([`org_groups`]).

mod filter;
pub mod groups;
pub mod users;

use std::collections::HashMap;

use connectors::arcgis::{
    Group, GroupLookup, GroupMembers, MemberListing, OrgCatalog, OrgGroups, OrgInfo,
    SEARCH_RESULT_CAP,
};
use connectors::Error;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};

/// Everything an ArcGIS export calls.
pub trait ArcgisSource:
    OrgInfo + OrgCatalog + MemberListing + GroupLookup + GroupMembers + OrgGroups
{
}

impl<T> ArcgisSource for T where
    T: OrgInfo + OrgCatalog + MemberListing + GroupLookup + GroupMembers + OrgGroups
{
}

/// Groups per search page (the most the portal gives).
const GROUP_PAGE: u64 = 100;

/// The org's groups as the group search finds them.
pub(crate) struct OrgGroupList<S> {
    /// Groups the search matched; past [`SEARCH_RESULT_CAP`] they cannot be
    /// listed.
    pub total: u64,
    /// Each group with its members (usernames, owner included), in title
    /// order, `concurrency` groups' members read at once.
    pub groups: S,
}

impl<S> OrgGroupList<S> {
    /// Says so when the portal's search cap hid some of the org's groups.
    pub fn capped_note(&self) -> Option<String> {
        (self.total > SEARCH_RESULT_CAP).then(|| {
            format!(
                "the org has {} groups; the portal's group search lists the first {SEARCH_RESULT_CAP}, so only those are exported",
                self.total
            )
        })
    }
}

/// Every group of org `org_id` with its members, a page of groups at a
/// time: memory holds a page and the member lists in flight.
pub(crate) async fn org_groups<'a, A: ArcgisSource>(
    arcgis: &'a A,
    org_id: &'a str,
    concurrency: usize,
) -> Result<OrgGroupList<impl Stream<Item = Result<(Group, Vec<String>), Error>> + 'a>, Error> {
    let first = arcgis.groups_page(org_id, 1, GROUP_PAGE).await?;
    let total = first.total;
    let rest = stream::try_unfold(first.next_start, move |next| async move {
        let Some(start) = next else {
            return Ok(None);
        };
        let page = arcgis.groups_page(org_id, start, GROUP_PAGE).await?;
        Ok::<_, Error>(Some((page.groups, page.next_start)))
    });
    let groups = stream::once(async { Ok(first.groups) })
        .chain(rest)
        .map_ok(|page| stream::iter(page.into_iter().map(Ok::<Group, Error>)))
        .try_flatten()
        .map(move |group| with_members(arcgis, group))
        .buffered(concurrency.max(1));
    Ok(OrgGroupList { total, groups })
}

async fn with_members<A: ArcgisSource>(
    arcgis: &A,
    group: Result<Group, Error>,
) -> Result<(Group, Vec<String>), Error> {
    let group = group?;
    let members = arcgis.group_members(&group.id).await?;
    Ok((group, members))
}

/// Group ids by member (lower-cased username): one entry per membership.
pub(crate) type Memberships = HashMap<String, Vec<String>>;
