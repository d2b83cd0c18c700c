//! The one way handlers run guest code and registry validation: on a
//! blocking thread, never on an async worker (guest code is CPU-bound, and
//! wasmtime-wasi's synchronous preview-1 bindings start their own runtime).

use crate::error::ApiError;

/// Runs `work` on tokio's blocking pool; a panic in it becomes a typed 500.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal {
            message: format!("sandbox worker failed: {e}"),
        })
}
