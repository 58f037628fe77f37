//! What each run measures, written as one CloudWatch Embedded Metric Format
//! (EMF) line: a JSON object whose `_aws` member tells CloudWatch Logs to
//! extract metrics from it, so no CloudWatch API is called
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! Lambda sends what a function writes to standard output to its log group
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html>);
//! the line is written there on its own, never inside a tracing event, since
//! CloudWatch reads EMF only from a log event that is the JSON object itself.
//!
//! Every metric is in the [`NAMESPACE`] `Rollcall` with one dimension,
//! [`FUNCTION_DIMENSION`] (`Function`): the deployed Lambda function's name
//! (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets), or the rollcall
//! function's own name outside Lambda. The names are fixed ([`Metric`]); the
//! README lists them, and the SAM template's alarms and dashboard use them.
//!
//! API calls are counted by the clients themselves: each holds an
//! [`ApiMeter`] (a shared atomic counter) that counts every HTTP attempt and
//! every throttled answer; a run reports the difference over its own time.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::inbox::{Counts, Outcome};

/// The CloudWatch namespace of every rollcall metric.
pub const NAMESPACE: &str = "Rollcall";

/// The one dimension of every rollcall metric: the function's name.
pub const FUNCTION_DIMENSION: &str = "Function";

/// A system rollcall calls, as metric names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    ArcGIS,
    /// Teamworks AMS.
    Ams,
    /// Amazon Connect.
    Connect,
}

impl Service {
    /// `ArcGIS`, `AMS` or `Connect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::ArcGIS => "ArcGIS",
            Service::Ams => "AMS",
            Service::Connect => "Connect",
        }
    }
}

/// A CloudWatch unit (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Every metric rollcall emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `Rows<Outcome>`: rows of a CSV run with that outcome (`RowsCreated`,
    /// `RowsFailed`…), one per word of the job's vocabulary.
    Rows(Outcome),
    /// `RowsExported`: rows an export wrote.
    RowsExported,
    /// `ApiCalls<Service>`: HTTP attempts to a service (retries included).
    ApiCalls(Service),
    /// `Throttled<Service>`: of those, the ones answered "too many requests".
    Throttled(Service),
    /// `DurationMs`: the run's time, in milliseconds.
    DurationMs,
    /// `MembersWarned`: members the sweep mailed a warning.
    MembersWarned,
    /// `MembersDisabled`: members the sweep disabled.
    MembersDisabled,
    /// `MembersReclaimed`: members whose paid licence the sweep took back.
    MembersReclaimed,
    /// `BreakerTripped`: 1 when the sweep's circuit breaker stopped the run.
    BreakerTripped,
    /// `ContinuationLimitReached`: 1 when a chain of continuations stopped
    /// at its limit with rows still to do.
    ContinuationLimitReached,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> String {
        match self {
            Metric::Rows(outcome) => format!("Rows{}", capitalised(outcome.as_str())),
            Metric::RowsExported => "RowsExported".into(),
            Metric::ApiCalls(service) => format!("ApiCalls{}", service.as_str()),
            Metric::Throttled(service) => format!("Throttled{}", service.as_str()),
            Metric::DurationMs => "DurationMs".into(),
            Metric::MembersWarned => "MembersWarned".into(),
            Metric::MembersDisabled => "MembersDisabled".into(),
            Metric::MembersReclaimed => "MembersReclaimed".into(),
            Metric::BreakerTripped => "BreakerTripped".into(),
            Metric::ContinuationLimitReached => "ContinuationLimitReached".into(),
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::DurationMs => Unit::Milliseconds,
            _ => Unit::Count,
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Default)]
struct Tally {
    calls: AtomicU64,
    throttled: AtomicU64,
}

/// The API calls of one client, shared by its clones: the client counts,
/// a run reads. Built once per client (per cold start).
#[derive(Clone)]
pub struct ApiMeter {
    service: Service,
    tally: Arc<Tally>,
}

/// An [`ApiMeter`]'s counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCalls {
    pub service: Service,
    /// HTTP attempts, retries and sign-ins included.
    pub calls: u64,
    /// Attempts answered "too many requests" (HTTP 429, or the service's
    /// own throttling code).
    pub throttled: u64,
}

impl ApiMeter {
    /// A meter at zero for `service`.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            tally: Arc::default(),
        }
    }

    pub fn service(&self) -> Service {
        self.service
    }

    /// One HTTP attempt was sent.
    pub fn call(&self) {
        self.tally.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// One attempt was answered "too many requests".
    pub fn throttled(&self) {
        self.tally.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn read(&self) -> ApiCalls {
        ApiCalls {
            service: self.service,
            calls: self.tally.calls.load(Ordering::Relaxed),
            throttled: self.tally.throttled.load(Ordering::Relaxed),
        }
    }

    /// Counts one attempt of the crate's HTTP clients by its outcome.
    pub(crate) fn count<T>(&self, attempt: &Result<T, crate::retry::Attempt>) {
        self.call();
        if let Err(crate::retry::Attempt::Retry { status: 429, .. }) = attempt {
            self.throttled();
        }
    }
}

impl fmt::Debug for ApiMeter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiMeter").field(&self.read()).finish()
    }
}

impl PartialEq for ApiMeter {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tally, &other.tally)
    }
}

impl Eq for ApiMeter {}

/// Where EMF lines go.
#[derive(Clone, Default)]
enum Sink {
    /// Standard output, one line per document (Lambda ships it to CloudWatch Logs).
    #[default]
    Stdout,
    /// Kept in memory, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
}

/// Where a function's metrics go, and the meters of its clients. Part of
/// every function's configuration; the default writes to standard output
/// and counts no client until [`Metrics::metering`] adds its meters.
#[derive(Clone, Default)]
pub struct Metrics {
    sink: Sink,
    /// The deployed function's name, when it runs in Lambda.
    deployed_name: Option<String>,
    meters: Vec<ApiMeter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match self.sink {
            Sink::Stdout => "stdout",
            Sink::Memory(_) => "memory",
        };
        f.debug_struct("Metrics")
            .field("sink", &sink)
            .field("deployed_name", &self.deployed_name)
            .field("meters", &self.meters)
            .finish()
    }
}

impl PartialEq for Metrics {
    fn eq(&self, other: &Self) -> bool {
        let same_sink = match (&self.sink, &other.sink) {
            (Sink::Stdout, Sink::Stdout) => true,
            (Sink::Memory(a), Sink::Memory(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_sink && self.deployed_name == other.deployed_name && self.meters == other.meters
    }
}

impl Eq for Metrics {}

impl Metrics {
    /// Lines to standard output, the dimension from `AWS_LAMBDA_FUNCTION_NAME`
    /// when Lambda set it.
    pub fn stdout() -> Self {
        Self {
            sink: Sink::Stdout,
            deployed_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .ok()
                .filter(|name| !name.trim().is_empty()),
            meters: Vec::new(),
        }
    }

    /// Lines kept in memory (read them with [`Metrics::lines`]); the
    /// dimension is the rollcall function's name.
    pub fn in_memory() -> Self {
        Self {
            sink: Sink::Memory(Arc::default()),
            deployed_name: None,
            meters: Vec::new(),
        }
    }

    /// These metrics, also reporting the calls each of `meters` counts.
    pub fn metering(mut self, meters: impl IntoIterator<Item = ApiMeter>) -> Self {
        for meter in meters {
            if !self.meters.contains(&meter) {
                self.meters.push(meter);
            }
        }
        self
    }

    /// The lines written so far, when kept in memory (none otherwise).
    pub fn lines(&self) -> Vec<String> {
        match &self.sink {
            Sink::Memory(lines) => lines.lock().map(|l| l.clone()).unwrap_or_default(),
            Sink::Stdout => Vec::new(),
        }
    }

    /// The `Function` dimension's value for `function`.
    pub fn function_name<'a>(&'a self, function: &'a str) -> &'a str {
        self.deployed_name.as_deref().unwrap_or(function)
    }

    /// Starts measuring a run of `function` (`onboard`, `sweep`…) now.
    pub fn start(&self, function: &str, run_id: &str) -> RunMetrics<'_> {
        RunMetrics {
            metrics: self,
            function: self.function_name(function).to_string(),
            run_id: run_id.to_string(),
            started: Instant::now(),
            before: self.meters.iter().map(|m| (m.clone(), m.read())).collect(),
            values: Vec::new(),
        }
    }

    fn write(&self, document: &Value) {
        let line = document.to_string();
        match &self.sink {
            // `println!` holds the stdout lock for the whole line, so no log
            // line lands inside it (and a test harness captures it).
            Sink::Stdout => println!("{line}"),
            Sink::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }
}

/// One run being measured: its figures so far, written as one EMF line by
/// [`RunMetrics::emit`].
pub struct RunMetrics<'a> {
    metrics: &'a Metrics,
    function: String,
    run_id: String,
    started: Instant,
    /// Each client's meter and its counts when the run started.
    before: Vec<(ApiMeter, ApiCalls)>,
    values: Vec<(Metric, u64)>,
}

impl RunMetrics<'_> {
    /// Sets `metric` to `value` (the last value set wins).
    pub fn set(&mut self, metric: Metric, value: u64) -> &mut Self {
        match self.values.iter_mut().find(|(m, _)| *m == metric) {
            Some((_, v)) => *v = value,
            None => self.values.push((metric, value)),
        }
        self
    }

    /// `Rows<Outcome>` for every outcome `counts` reports (zeros included).
    pub fn rows(&mut self, counts: &Counts) -> &mut Self {
        for (outcome, n) in counts.each() {
            self.set(Metric::Rows(outcome), n as u64);
        }
        self
    }

    /// The document as it would be written now: the figures set, the API
    /// calls since the start and the duration so far.
    pub fn document(&self) -> Value {
        let mut values = self.values.clone();
        for (meter, before) in &self.before {
            let now = meter.read();
            let calls = now.calls.saturating_sub(before.calls);
            let throttled = now.throttled.saturating_sub(before.throttled);
            values.push((Metric::ApiCalls(before.service), calls));
            values.push((Metric::Throttled(before.service), throttled));
        }
        let elapsed = self.started.elapsed().as_millis() as u64;
        values.push((Metric::DurationMs, elapsed));
        emf(
            &self.function,
            &self.run_id,
            &values,
            chrono::Utc::now().timestamp_millis(),
        )
    }

    /// Writes the run's line.
    pub fn emit(self) {
        let document = self.document();
        self.metrics.write(&document);
    }
}

/// One EMF document: `values` as metrics of `function` in [`NAMESPACE`],
/// and the run id as a property to find the run's other log lines by.
fn emf(function: &str, run_id: &str, values: &[(Metric, u64)], timestamp_ms: i64) -> Value {
    let definitions: Vec<Value> = values
        .iter()
        .map(|(metric, _)| json!({"Name": metric.name(), "Unit": metric.unit().as_str()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[FUNCTION_DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert(FUNCTION_DIMENSION.into(), json!(function));
    root.insert("RunId".into(), json!(run_id));
    for (metric, value) in values {
        root.insert(metric.name(), json!(value));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::Vocabulary;

    const WORDS: Vocabulary = Vocabulary {
        outcomes: &[Outcome::Created, Outcome::Failed],
        success_total: None,
        headline: &[],
        listed: &[],
    };

    fn only_line(metrics: &Metrics) -> Value {
        let lines = metrics.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        serde_json::from_str(&lines[0]).expect("a JSON object")
    }

    #[test]
    fn names_are_fixed() {
        assert_eq!(Metric::Rows(Outcome::Created).name(), "RowsCreated");
        assert_eq!(Metric::Rows(Outcome::Exists).name(), "RowsExists");
        assert_eq!(Metric::ApiCalls(Service::ArcGIS).name(), "ApiCallsArcGIS");
        assert_eq!(Metric::Throttled(Service::Ams).name(), "ThrottledAMS");
        assert_eq!(Metric::ApiCalls(Service::Connect).name(), "ApiCallsConnect");
        assert_eq!(Metric::DurationMs.unit(), Unit::Milliseconds);
        assert_eq!(Metric::BreakerTripped.name(), "BreakerTripped");
    }

    #[test]
    fn a_run_is_one_emf_document_with_every_value_defined() {
        // GIVEN metrics in memory with a client's meter that counted before the run
        let meter = ApiMeter::new(Service::ArcGIS);
        meter.call();
        let metrics = Metrics::in_memory().metering([meter.clone()]);
        // WHEN a run counts two calls, one throttled, and sets its rows
        let mut run = metrics.start("onboard", "run-1");
        meter.call();
        meter.call();
        meter.throttled();
        let mut counts = Counts::new(&WORDS);
        counts.add(Outcome::Created);
        counts.add(Outcome::Created);
        run.rows(&counts).set(Metric::MembersWarned, 4);
        run.emit();

        // THEN one line: the envelope names the namespace, the dimension and
        // a definition for every value, and the values are the run's
        let doc = only_line(&metrics);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 0);
        assert_eq!(directive["Namespace"], "Rollcall");
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(doc["Function"], "onboard");
        assert_eq!(doc["RunId"], "run-1");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "RowsCreated",
                "RowsFailed",
                "MembersWarned",
                "ApiCallsArcGIS",
                "ThrottledArcGIS",
                "DurationMs"
            ]
        );
        for name in names {
            assert!(doc[name].is_u64(), "{name} has no number: {doc}");
        }
        assert_eq!(doc["RowsCreated"], 2);
        assert_eq!(doc["RowsFailed"], 0);
        assert_eq!(doc["MembersWarned"], 4);
        assert_eq!(doc["ApiCallsArcGIS"], 2);
        assert_eq!(doc["ThrottledArcGIS"], 1);
        assert_eq!(directive["Metrics"][5]["Unit"], "Milliseconds");
    }

    #[test]
    fn a_stopped_chain_is_counted_in_its_runs_line() {
        let metrics = Metrics::in_memory();
        let mut run = metrics.start("proficiency", "run-7");
        run.set(Metric::ContinuationLimitReached, 1);
        run.emit();
        let doc = only_line(&metrics);
        assert_eq!(doc["ContinuationLimitReached"], 1);
        assert_eq!(doc["Function"], "proficiency");
        let names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert!(names.contains(&"ContinuationLimitReached"), "{doc}");
    }

    #[test]
    fn a_meter_is_added_once_and_compared_by_identity() {
        let meter = ApiMeter::new(Service::Ams);
        let metrics = Metrics::in_memory().metering([meter.clone(), meter.clone()]);
        assert_eq!(metrics.meters.len(), 1);
        assert_ne!(meter, ApiMeter::new(Service::Ams));
        assert_eq!(Metrics::default(), Metrics::default());
        assert_ne!(Metrics::in_memory(), Metrics::in_memory());
    }
}
