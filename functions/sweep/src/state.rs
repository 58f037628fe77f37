//! The notice-period state, `state/sweep.json`: when each member was warned.
//! Rewritten only with a conditional put, so two runs never lose each other's
//! warnings.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use connectors::store::{written_by, NewObject, ObjectStore};
use connectors::Error;
use serde::{Deserialize, Serialize};

/// Where the state lives in the report bucket.
pub const STATE_KEY: &str = "state/sweep.json";

/// One member's warning in the current inactivity spell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warned {
    pub warned_at: DateTime<Utc>,
}

/// Every warned member, by lower-cased username.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub version: u32,
    #[serde(default)]
    pub warned: BTreeMap<String, Warned>,
}

/// The state as read, with the ETag a rewrite must match.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub state: SweepState,
    pub etag: Option<String>,
}

/// What one run changes: applied to the state it read, or to a newer one
/// when another run wrote in between.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub set: BTreeMap<String, Warned>,
    pub remove: BTreeSet<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    pub fn apply(&self, state: &mut SweepState) {
        for name in &self.remove {
            state.warned.remove(name);
        }
        for (name, warned) in &self.set {
            state.warned.insert(name.clone(), warned.clone());
        }
    }
}

/// Reads the state; a missing object is an empty state.
pub async fn load<S: ObjectStore>(store: &S, bucket: &str) -> Result<Loaded, Error> {
    let Some(object) = store.get(bucket, STATE_KEY).await? else {
        return Ok(Loaded::default());
    };
    let state = serde_json::from_slice(&object.body).map_err(|e| Error::Decode {
        service: "S3",
        operation: format!("s3://{bucket}/{STATE_KEY}"),
        path: format!("line {} column {}", e.line(), e.column()),
        message: e.to_string(),
    })?;
    Ok(Loaded {
        state,
        etag: Some(object.etag),
    })
}

/// Writes `changes` over the state read; if another run wrote meanwhile,
/// reads again and re-applies them (a few times) so neither run's warnings are lost.
pub async fn save<S: ObjectStore>(
    store: &S,
    bucket: &str,
    mut loaded: Loaded,
    changes: &Changes,
    run_id: &str,
) -> Result<(), Error> {
    for _ in 0..4 {
        let mut state = loaded.state.clone();
        state.version = 1;
        changes.apply(&mut state);
        let body = serde_json::to_vec_pretty(&state).expect("state serialises");
        let put = store
            .put(NewObject {
                bucket: bucket.to_string(),
                key: STATE_KEY.to_string(),
                body,
                content_type: "application/json".into(),
                metadata: written_by("sweep", run_id),
                if_absent: loaded.etag.is_none(),
                if_match: loaded.etag.clone(),
            })
            .await;
        match put {
            Ok(()) => return Ok(()),
            Err(Error::PreconditionFailed { .. }) => loaded = load(store, bucket).await?,
            Err(e) => return Err(e),
        }
    }
    Err(Error::PreconditionFailed {
        bucket: bucket.to_string(),
        key: STATE_KEY.to_string(),
    })
}
