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
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        (self.status(), Json(body)).into_response()
    }
}
