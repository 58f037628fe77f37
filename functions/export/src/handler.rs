//! The Lambda handler: a console event in, a CSV under `exports/` in the
//! report bucket, and where it is.

use chrono::Utc;
use connectors::deadline::{run_id, Deadline};
use connectors::error::{diagnostic, Classified};
use connectors::lambda::Function;
use connectors::metrics::Metric;
use connectors::store::{CsvUpload, MultipartUploads, NewUpload, ObjectStore};
use connectors::ErrorKind;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, instrument};

use crate::ams::{self, AmsSource};
use crate::arcgis::{self, ArcgisSource};
use crate::config::{ExportConfig, Sources};
use crate::event::{export_key, parse, Export, InvalidEvent};

/// The metadata name the export's objects are marked with.
const FUNCTION: &str = "export";

/// What the invocation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportResult {
    /// `s3://<bucket>/exports/<source>-<what>-<yyyymmddThhmmssZ>.csv`
    pub uri: String,
    /// Rows written (the header not counted).
    pub rows: u64,
    pub source: &'static str,
    pub what: &'static str,
    /// What the reader should know about the rows (a search cap met, a
    /// record missing); absent when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A failed export. Nothing is left in the bucket: an upload in progress is
/// aborted.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the event is not an export event: {0}")]
    Event(#[from] InvalidEvent),
    #[error("{what} is not configured for this function: {variables} must be set")]
    NotConfigured {
        what: &'static str,
        variables: &'static str,
    },
    #[error("filter {key}: {message}")]
    Filter { key: &'static str, message: String },
    #[error("the export failed and nothing was written: {0}")]
    Service(#[from] connectors::Error),
}

impl Classified for ExportError {
    fn kind(&self) -> ErrorKind {
        match self {
            ExportError::Event(_) | ExportError::Filter { .. } => ErrorKind::InvalidEvent,
            ExportError::NotConfigured { .. } => ErrorKind::InvalidConfiguration,
            ExportError::Service(e) => e.kind(),
        }
    }
}

impl From<ExportError> for Diagnostic {
    fn from(error: ExportError) -> Self {
        diagnostic(&error)
    }
}

/// The export function: its S3 store, its (unused) mailer, its sources and
/// configuration.
pub type Handler<S, M, A, P> = Function<S, M, Sources<A, P>, ExportConfig>;

/// What the export does with an invocation.
pub trait ExportFunction {
    /// Handles one console event.
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<ExportResult, ExportError>;
}

impl<S, M, A, P> ExportFunction for Handler<S, M, A, P>
where
    S: ObjectStore + MultipartUploads,
    A: ArcgisSource,
    P: AmsSource,
{
    #[instrument(skip_all, fields(request_id = %event.context.request_id))]
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<ExportResult, ExportError> {
        let export = parse(&event.payload)?;
        let (source, what) = (export.source(), export.what());
        let key = export_key(source, what, Utc::now());
        let run_id = run_id(&event.context.request_id);
        let mut metrics = self.config.metrics.start(FUNCTION, &run_id);
        let bucket = &self.config.report_bucket;
        let target = NewUpload::csv(bucket, &key, FUNCTION, &run_id);
        let mut csv = CsvUpload::new(&self.store, target, columns(&export));
        let deadline = Deadline::from_epoch_ms(event.context.deadline);
        let margin = self.config.deadline_margin;
        let rows = write_rows(&self.service, &self.config, &export, &mut csv);
        let written = deadline.scope(margin, rows).await;
        metrics.set(Metric::RowsExported, csv.rows());
        let notes = match written {
            Ok(notes) => notes,
            Err(e) => {
                metrics.emit();
                error!(error = %e, key = %key, "export failed; aborting its upload");
                if let Err(abort) = deadline.scope(margin, csv.abort()).await {
                    error!(error = %abort, key = %key,
                        "the upload could not be aborted; the bucket's lifecycle rule will remove its parts");
                }
                return Err(e);
            }
        };
        let rows = csv.rows();
        let uploaded = deadline.scope(margin, csv.finish()).await;
        metrics.emit();
        let uploaded = uploaded?;
        info!(uri = %uploaded.uri(), rows, bytes = uploaded.bytes, parts = uploaded.parts, "export written");
        Ok(ExportResult {
            uri: uploaded.uri(),
            rows,
            source: source.name(),
            what: what.name(),
            notes,
        })
    }
}

/// Writes the rows `export` asks for from the configured `sources`;
/// returns its notes.
async fn write_rows<S, A, P>(
    sources: &Sources<A, P>,
    config: &ExportConfig,
    export: &Export,
    csv: &mut CsvUpload<'_, S>,
) -> Result<Vec<String>, ExportError>
where
    S: ObjectStore + MultipartUploads,
    A: ArcgisSource,
    P: AmsSource,
{
    let arcgis_concurrency = config.arcgis.as_ref().map_or(1, |a| a.concurrency);
    let ams_concurrency = config.ams.as_ref().map_or(1, |a| a.concurrency);
    // A source that is not configured is refused before anything is read
    // (or written: the upload has sent nothing yet).
    let arcgis = || {
        sources.arcgis.as_ref().ok_or(ExportError::NotConfigured {
            what: "ArcGIS",
            variables: "ARCGIS_URL and ARCGIS_SECRET_ID",
        })
    };
    let ams = || {
        sources.ams.as_ref().ok_or(ExportError::NotConfigured {
            what: "Teamworks AMS",
            variables: "AMS_URL and AMS_SECRET_ID",
        })
    };
    match export {
        Export::ArcgisUsers(filter) => {
            arcgis::users::export(arcgis()?, filter, csv, arcgis_concurrency).await
        }
        Export::ArcgisGroups => arcgis::groups::export(arcgis()?, csv, arcgis_concurrency).await,
        Export::AmsUsers(filter) => ams::users::export(ams()?, filter, csv, ams_concurrency).await,
        Export::AmsGroups => ams::groups::export(ams()?, csv, ams_concurrency).await,
    }
}

/// The columns of an export.
pub fn columns(export: &Export) -> &'static [&'static str] {
    match export {
        Export::ArcgisUsers(_) => &arcgis::users::COLUMNS,
        Export::ArcgisGroups => &arcgis::groups::COLUMNS,
        Export::AmsUsers(_) => &ams::users::COLUMNS,
        Export::AmsGroups => &ams::groups::COLUMNS,
    }
}
