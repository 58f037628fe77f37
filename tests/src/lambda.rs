//! A local Lambda runtime API, so tests and the local run drive the real
//! function binary exactly as Lambda does: the binary long-polls
//! `invocation/next`, runs the handler, and posts a response or an error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    Error {
        error_type: String,
        error_message: String,
    },
}

struct Pending {
    request_id: String,
    payload: Value,
}

#[derive(Clone)]
struct Runtime {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Answer>>>>,
    init_error: Arc<Mutex<Option<String>>>,
    timeout: Duration,
}

/// The runtime API server. Dropping it stops the server.
pub struct LocalRuntime {
    addr: SocketAddr,
    sender: mpsc::UnboundedSender<Pending>,
    runtime: Runtime,
    task: tokio::task::JoinHandle<()>,
}

impl LocalRuntime {
    /// Serves the runtime API on a free loopback port. `timeout` is the
    /// function timeout reported to the handler as its deadline.
    pub async fn start(timeout: Duration) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let runtime = Runtime {
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            waiting: Arc::default(),
            init_error: Arc::default(),
            timeout,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the runtime API on loopback");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            sender,
            runtime,
            task,
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn api_address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one invocation and waits for the function's answer.
    pub async fn invoke(&self, payload: Value, wait: Duration) -> Result<Answer, String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.runtime
            .waiting
            .lock()
            .expect("runtime state")
            .insert(request_id.clone(), tx);
        self.sender
            .send(Pending {
                request_id,
                payload,
            })
            .map_err(|_| "the runtime API stopped".to_string())?;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            _ => Err(
                match self
                    .runtime
                    .init_error
                    .lock()
                    .expect("runtime state")
                    .clone()
                {
                    Some(init) => format!("the function failed to start: {init}"),
                    None => format!("no answer within {wait:?}"),
                },
            ),
        }
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(runtime): State<Runtime>) -> impl IntoResponse {
    let pending = runtime.queue.lock().await.recv().await;
    let Some(pending) = pending else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    let deadline = chrono::Utc::now().timestamp_millis() + runtime.timeout.as_millis() as i64;
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", header(&pending.request_id));
    headers.insert("lambda-runtime-deadline-ms", header(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:us-east-1:123456789012:function:local"),
    );
    headers.insert("content-type", header("application/json"));
    (
        StatusCode::OK,
        headers,
        Bytes::from(pending.payload.to_string()),
    )
}

async fn response(
    State(runtime): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&runtime, &id, Answer::Response(value))
}

async fn error(
    State(runtime): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let answer = Answer::Error {
        error_type: field("errorType"),
        error_message: field("errorMessage"),
    };
    settle(&runtime, &id, answer)
}

async fn init_error(State(runtime): State<Runtime>, body: Bytes) -> StatusCode {
    *runtime.init_error.lock().expect("runtime state") =
        Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

fn settle(runtime: &Runtime, id: &str, answer: Answer) -> StatusCode {
    match runtime.waiting.lock().expect("runtime state").remove(id) {
        Some(tx) => {
            let _ = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Starts the function binary against `runtime` with `env` (plus the
/// variables Lambda sets). The process is killed when the handle drops.
pub fn spawn_function(binary: &Path, runtime: &LocalRuntime, env: &[(String, String)]) -> Child {
    spawn_function_writing_to(binary, runtime, env, Stdio::inherit())
}

/// [`spawn_function`] with the function's standard output going to `stdout`
/// (`Stdio::piped()` to read its log lines).
pub fn spawn_function_writing_to(
    binary: &Path,
    runtime: &LocalRuntime,
    env: &[(String, String)],
    stdout: Stdio,
) -> Child {
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "function".into());
    Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.api_address())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "Text")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
}

/// The workspace's debug binary `name` (built by the test command).
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    // Test executables live in target/debug/deps; binaries in target/debug.
    let exe = std::env::current_exe().expect("current executable");
    let mut dir = exe.parent().expect("executable directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the test command (scripts/test), which builds the function binaries first",
        path.display()
    );
    path
}
