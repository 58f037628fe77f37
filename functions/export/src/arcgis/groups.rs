//! The ArcGIS groups export: every group the org's search lists, by title,
//! with its owner and how many members it has (owner and managers
//! included), written as each group's members are counted.

use std::collections::HashSet;
use std::pin::pin;

use connectors::store::{CsvUpload, MultipartUploads, ObjectStore};
use futures::StreamExt;

use super::{org_groups, ArcgisSource};
use crate::cells;
use crate::handler::ExportError;

/// The columns, in order.
pub const COLUMNS: [&str; 4] = ["id", "title", "owner", "member_count"];

/// Writes the org's groups to `csv`; returns notes (a search cap met).
pub(crate) async fn export<A, S>(
    arcgis: &A,
    csv: &mut CsvUpload<'_, S>,
    concurrency: usize,
) -> Result<Vec<String>, ExportError>
where
    A: ArcgisSource,
    S: ObjectStore + MultipartUploads,
{
    let org = arcgis.portal().await?;
    let listing = org_groups(arcgis, &org.id, concurrency).await?;
    let notes = listing.capped_note().into_iter().collect();
    let mut groups = pin!(listing.groups);
    let mut seen = HashSet::new();
    while let Some(entry) = groups.next().await {
        let (group, members) = entry?;
        // A group the search moved between pages is written once.
        if !seen.insert(group.id.clone()) {
            continue;
        }
        let distinct: HashSet<String> = members.iter().map(|m| m.to_lowercase()).collect();
        csv.row([
            group.id,
            cells::text(&group.title),
            group.owner,
            distinct.len().to_string(),
        ])
        .await?;
    }
    Ok(notes)
}
