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

/// The request body, or the typed error for one that could not be read
/// (over the body limit → 413 `invalid_input`, like an over-long input).
pub fn body_or_typed_error(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::Sandbox(crate::sandbox::SandboxError::InvalidInput {
                reason: "request body over the server's body limit".into(),
            })
        }
        _ => ApiError::BadRequest {
            reason: rejection.body_text(),
        },
    })
}
