//! What the trust tests capture: the log, in memory, and every request that
//! reaches a host nothing should reach.

use std::io::Write;
use std::sync::{Arc, Mutex};

use lambda_runtime::tracing::dispatcher::DefaultGuard;
use lambda_runtime::tracing::subscriber::util::SubscriberInitExt;

/// Everything written to the log, in memory.
#[derive(Clone, Default)]
pub struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    /// The log so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Logs through the functions' own logging at TRACE into this capture
    /// until the guard is dropped.
    pub fn at_trace(&self) -> DefaultGuard {
        let writer = self.clone();
        connectors::logging::subscriber("trace", false, move || writer.clone()).set_default()
    }
}

/// A server that records every request reaching it (URI, headers, body)
/// and answers `{}`: the host a redirect points at.
pub struct Recorder {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Self {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let router = {
            let seen = seen.clone();
            axum::Router::new().fallback(move |request: axum::extract::Request| {
                let seen = seen.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20)
                        .await
                        .unwrap_or_default();
                    seen.lock().unwrap().push(format!(
                        "{} {:?} {}",
                        parts.uri,
                        parts.headers,
                        String::from_utf8_lossy(&body)
                    ));
                    "{}"
                }
            })
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, seen, server }
    }

    /// Every request that reached the server.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}
