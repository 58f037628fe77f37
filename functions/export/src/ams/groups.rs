//! The AMS groups export: `name,member_count`, one row per group the API
//! account can see, by name.
//!
//! AMS names groups and gives them nothing else: no id, title or owner
//! (`listgroups` answers names only), so the export has no such columns
//! rather than columns that would always be empty or repeat the name.

use std::pin::pin;

use connectors::store::{CsvUpload, MultipartUploads, ObjectStore};
use futures::StreamExt;

use super::{group_members, group_names, AmsSource};
use crate::handler::ExportError;

/// The columns, in order.
pub const COLUMNS: [&str; 2] = ["name", "member_count"];

/// Writes the site's groups to `csv`.
pub(crate) async fn export<M, S>(
    ams: &M,
    csv: &mut CsvUpload<'_, S>,
    concurrency: usize,
) -> Result<Vec<String>, ExportError>
where
    M: AmsSource,
    S: ObjectStore + MultipartUploads,
{
    let names = group_names(ams).await?;
    let mut groups = pin!(group_members(ams, &names, concurrency));
    while let Some(entry) = groups.next().await {
        let (name, members) = entry?;
        // A group name is the key AMS knows it by: written as it is.
        csv.row([name.to_string(), members.len().to_string()])
            .await?;
    }
    Ok(Vec::new())
}
