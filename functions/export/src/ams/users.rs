//! The AMS users export: one row per user, the search's fields completed
//! from the full person records, which are read `PEOPLE_BATCH` ids a call
//! and written as each batch arrives.
//!
//! The user search has no paging (`usersearch` answers every account at
//! once), so the search's users are in memory whatever the export does; the
//! person records, the larger part, are not: a few batches at a time.

use std::collections::{BTreeMap, HashMap};
use std::pin::pin;

use connectors::ams::{AmsUser, Person, Sex, UserFilter, PEOPLE_BATCH};
use connectors::store::{CsvUpload, MultipartUploads, ObjectStore};
use futures::stream::{self, StreamExt};

use super::{group_members, group_names, AmsSource};
use crate::cells;
use crate::event::AmsFilter;
use crate::handler::ExportError;

/// The columns, in order: teamworksams's column names, as AMS update files
/// use them. `active`, `middle_names`, `language` and `sidebar_width` come
/// from the person records, the rest from the search. There is no password
/// column.
pub const COLUMNS: [&str; 14] = [
    "user_id",
    "first_name",
    "last_name",
    "username",
    "email",
    "dob",
    "active",
    "uuid",
    "known_as",
    "middle_names",
    "language",
    "sidebar_width",
    "sex",
    "groups",
];

/// Writes the users `filter` keeps to `csv`; returns notes (users whose
/// person record could not be read).
pub(crate) async fn export<M, S>(
    ams: &M,
    filter: &AmsFilter,
    csv: &mut CsvUpload<'_, S>,
    concurrency: usize,
) -> Result<Vec<String>, ExportError>
where
    M: AmsSource,
    S: ObjectStore + MultipartUploads,
{
    let names = group_names(ams).await?;
    if let Some(group) = &filter.group {
        if !names.contains(group) {
            return Err(ExportError::Filter {
                key: "group",
                message: format!("the site has no group named {group:?}"),
            });
        }
    }
    // The narrowest search the filter allows; the other keys are checked
    // on what it finds.
    let search = if let Some(username) = &filter.username {
        UserFilter::Usernames(vec![username.clone()])
    } else if let Some(email) = &filter.email {
        UserFilter::Emails(vec![email.clone()])
    } else if let Some(group) = &filter.group {
        UserFilter::Group(group.clone())
    } else {
        UserFilter::All
    };
    let mut users = ams.users(&search).await?;
    // A user's groups, by id, group names in name order.
    let mut groups: HashMap<i64, Vec<&str>> = HashMap::new();
    let mut members = pin!(group_members(ams, &names, concurrency));
    while let Some(entry) = members.next().await {
        let (name, ids) = entry?;
        for id in ids {
            groups.entry(id).or_default().push(name);
        }
    }
    users.retain(|u| {
        filter.username.as_ref().is_none_or(|n| &u.username == n)
            && filter
                .email
                .as_ref()
                .is_none_or(|e| u.email.eq_ignore_ascii_case(e))
            && filter.group.as_ref().is_none_or(|g| {
                groups
                    .get(&u.user_id)
                    .is_some_and(|names| names.contains(&g.as_str()))
            })
    });
    users.sort_by_key(|u| u.user_id);
    users.dedup_by_key(|u| u.user_id);

    let mut without_record = 0usize;
    let mut batches = pin!(stream::iter(users.chunks(PEOPLE_BATCH))
        .map(|batch| async move {
            let ids: Vec<i64> = batch.iter().map(|u| u.user_id).collect();
            let people = ams.people(&ids).await?;
            let by_id: BTreeMap<i64, Person> = people
                .into_iter()
                .filter_map(|p| Some((p.id()?, p)))
                .collect();
            Ok::<_, connectors::Error>((batch, by_id))
        })
        .buffered(concurrency.max(1)));
    while let Some(batch) = batches.next().await {
        let (users, people) = batch?;
        for user in users {
            let person = people.get(&user.user_id);
            without_record += usize::from(person.is_none());
            let user_groups = groups.get(&user.user_id).map(Vec::as_slice);
            csv.row(row(user, person, user_groups.unwrap_or_default()))
                .await?;
        }
    }
    let mut notes = Vec::new();
    if without_record > 0 {
        notes.push(format!(
            "{without_record} user(s) had no person record when it was read (removed during the export?); their active, middle_names, language and sidebar_width are empty"
        ));
    }
    Ok(notes)
}

/// One user's cells, in [`COLUMNS`] order.
fn row(user: &AmsUser, person: Option<&Person>, groups: &[&str]) -> [String; 14] {
    let field = |name: &str| person.map(|p| p.text(name)).unwrap_or_default();
    let active = person
        .and_then(Person::active)
        .map(|a| cells::flag(a).to_string())
        .unwrap_or_default();
    let sex = Sex::parse(&user.sex)
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| user.sex.clone());
    [
        user.user_id.to_string(),
        cells::text(&user.first_name),
        cells::text(&user.last_name),
        user.username.clone(),
        user.email.clone(),
        cells::ams_date(&user.dob),
        active,
        user.uuid.clone(),
        cells::text(&user.known_as),
        cells::text(&field("middleNames")),
        cells::text(&field("language")),
        cells::text(&field("sidebarWidth")),
        sex,
        cells::list(groups),
    ]
}
