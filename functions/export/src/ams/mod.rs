//! The Teamworks AMS exports: users ([`users`]) and groups ([`groups`]).
//!
//! AMS gives groups names only (no ids, titles or owners), and a user's
//! groups only by asking each group for its members (`groupmembers`), so
//! both exports start from [`group_members`].

pub mod groups;
pub mod users;

use std::collections::BTreeSet;

use connectors::ams::{AmsGroups, AmsPeople, AmsUsers, UserFilter};
use connectors::Error;
use futures::stream::{self, Stream, StreamExt};

/// Everything an AMS export calls.
pub trait AmsSource: AmsUsers + AmsGroups + AmsPeople {}

impl<T: AmsUsers + AmsGroups + AmsPeople> AmsSource for T {}

/// The site's group names, sorted (ignoring case, then as written).
pub(crate) async fn group_names<M: AmsSource>(ams: &M) -> Result<Vec<String>, Error> {
    let mut names = ams.group_names().await?;
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    names.dedup();
    Ok(names)
}

/// Each of `names` with the ids of its members (athletes and coaches, each
/// once), in the order given, `concurrency` groups at a time.
pub(crate) fn group_members<'a, M: AmsSource>(
    ams: &'a M,
    names: &'a [String],
    concurrency: usize,
) -> impl Stream<Item = Result<(&'a str, BTreeSet<i64>), Error>> + 'a {
    stream::iter(names)
        .map(move |name| async move {
            let members = ams.users(&UserFilter::Group(name.clone())).await?;
            Ok((name.as_str(), members.iter().map(|u| u.user_id).collect()))
        })
        .buffered(concurrency.max(1))
}
