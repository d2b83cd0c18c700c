//! The one place where server errors become HTTP responses.
//!
//! Every error a client can see is an [`ApiError`] variant, rendered as
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error returned to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route or asset matches the request path.
    #[error("no resource at {path}")]
    NotFound {
        /// The path that was requested.
        path: String,
    },
    /// The client accepts none of the encodings the resource exists in
    /// (e.g. `Accept-Encoding: identity;q=0` for a file with no variants).
    #[error("no acceptable content encoding; available: {available}")]
    NotAcceptable {
        /// The encodings the resource can be sent in.
        available: String,
    },
    /// A `Range` that starts beyond the end of the resource.
    #[error("range not satisfiable: the resource is {len} bytes")]
    RangeNotSatisfiable {
        /// Length of the identity bytes.
        len: usize,
    },
    /// A sandboxed call did not produce output.
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// A bug on our side (e.g. a worker thread panicked).
    #[error("internal error: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
    /// The request is malformed.
    #[error("bad request: {reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// The route exists but does not accept this method.
    #[error("method {method} is not allowed here")]
    MethodNotAllowed {
        /// The method that was used.
        method: String,
    },
}

impl ApiError {
    /// Machine-readable code clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::NotAcceptable { .. } => "not_acceptable",
            Self::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Sandbox(e) => e.code(),
            Self::BadRequest { .. } => "bad_request",
            Self::Internal { .. } => "internal",
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Sandbox(e) => sandbox_status(e),
        }
    }
}

/// Guest failures are the guest's, not the server's: the sandbox acts as a
/// gateway to the guest, so a crashed guest is a 502 and a slow one a 504.
fn sandbox_status(error: &crate::sandbox::SandboxError) -> StatusCode {
    use crate::sandbox::SandboxError as E;
    match error {
        E::UnknownGuest { .. } => StatusCode::NOT_FOUND,
        E::InvalidInput { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::GuestError { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        E::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::Deadline { .. } => StatusCode::GATEWAY_TIMEOUT,
        E::MemoryLimit { .. } => StatusCode::INSUFFICIENT_STORAGE,
        E::Trap { .. } | E::Exit { .. } | E::AbiViolation { .. } => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        (self.status(), Json(body)).into_response()
    }
}
