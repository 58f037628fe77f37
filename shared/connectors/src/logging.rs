//! The functions' logs: the Lambda runtime's format and level settings,
//! with the HTTP stacks' TRACE events cut off whatever the level asks for,
//! since those events print whole request and response bodies (a rewritten
//! CSV with passwords in it, a sign-in form, a token).

use lambda_runtime::tracing::subscriber::filter::{filter_fn, EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use lambda_runtime::tracing::subscriber::layer::SubscriberExt;
use lambda_runtime::tracing::subscriber::{fmt, Layer, Registry};
use lambda_runtime::tracing::{Level, Metadata, Subscriber};

/// Crates whose TRACE events carry bodies or headers: logged at DEBUG at most.
pub const QUIETED_TARGETS: &[&str] = &[
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_sigv4",
    "aws_runtime",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
];

/// Starts logging as Lambda configures it: the level from
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO) and JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`, to standard output.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "INFO".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let subscriber = subscriber(&level, json, std::io::stdout);
    if lambda_runtime::tracing::subscriber::util::SubscriberInitExt::try_init(subscriber).is_err() {
        eprintln!("logging was already set up");
    }
}

/// The subscriber for `level` (a level or `RUST_LOG`-style directives),
/// writing to `writer`.
pub fn subscriber<W>(level: &str, json: bool, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let directives = || {
        let default = level.parse::<LevelFilter>().unwrap_or(LevelFilter::INFO);
        EnvFilter::builder()
            .with_default_directive(default.into())
            .parse_lossy(level)
    };
    let quiet = filter_fn(|meta: &Metadata<'_>| !is_quieted(meta));
    let format = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let layer = if json {
        format
            .json()
            .with_filter(directives())
            .with_filter(quiet)
            .boxed()
    } else {
        format.with_filter(directives()).with_filter(quiet).boxed()
    };
    Box::new(Registry::default().with(layer))
}

/// A TRACE event of a quieted crate.
fn is_quieted(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE
        && QUIETED_TARGETS
            .iter()
            .any(|target| meta.target().starts_with(target))
}
