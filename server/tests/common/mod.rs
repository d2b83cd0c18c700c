//! Fixtures shared by the sandbox and registry tests: the guests
//! `cargo xtask build` produced (never committed binaries), and one way to
//! send a request through the router without a socket.

#![allow(dead_code)] // each test binary uses a subset

use std::path::PathBuf;

/// `target/guests`, or a panic that says how to build it.
pub fn guests_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    assert!(
        dir.join("process.wasm").is_file(),
        "no sandbox guests in {}: run `cargo xtask build` first",
        dir.display()
    );
    dir
}

/// The bytes of guest `name`.
pub fn guest(name: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sends `request` through `server::app(state)`; returns status, headers, body.
pub async fn send(
    state: &server::AppState,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let response = server::app(state.clone()).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

/// JSON `tracing` output captured in memory, so a test can read its lines.
#[derive(Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// A JSON subscriber writing into this capture.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish()
    }

    /// Every line captured so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
