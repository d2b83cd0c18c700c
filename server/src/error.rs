//! The one place where server errors become HTTP responses.
//!
//! Every error a client can see is an [`ApiError`] variant, rendered as
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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
    /// Registry operation failed.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// No or unknown credentials.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why.
        reason: String,
    },
    /// Valid request, wrong credentials for it.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// The tenant's gate is full.
    #[error("tenant {tenant} is at its concurrency limit and its queue is full")]
    TooManyRequests {
        /// The tenant.
        tenant: String,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
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
    /// A JSON body without `Content-Type: application/json`.
    #[error("unsupported media type: {reason}")]
    UnsupportedMediaType {
        /// What was expected.
        reason: String,
    },
    /// The client sent its body too slowly.
    #[error("the request body did not arrive within {timeout_ms} ms")]
    RequestTimeout {
        /// The body read timeout.
        timeout_ms: u64,
    },
    /// One client asked again too soon for something it may do only so
    /// often (a lesson's CPU-heavy step).
    #[error("{what}: this client may ask again in {retry_after_secs} s")]
    RateLimited {
        /// What is limited.
        what: String,
        /// Seconds until the client may ask again.
        retry_after_secs: u64,
    },
    /// The request's `Host` is not one of this server's names (DNS
    /// rebinding): refused before routing.
    #[error(
        "host {host:?} is not one of this server's names; start it with --allowed-host to serve it"
    )]
    HostNotAllowed {
        /// The `Host` the request carried.
        host: String,
    },
    /// A bounded server resource (e.g. the throttled lesson streams) is
    /// fully in use: 503 with `Retry-After`, like a busy sandbox.
    #[error("all {limit} {what} are in use; try again shortly")]
    Saturated {
        /// What is in use.
        what: &'static str,
        /// How many there are.
        limit: u32,
    },
    /// Something that runs one at a time (a lesson's load run or its naive
    /// compile) is running already.
    #[error("{what} is already running; try again in {retry_after_secs} s")]
    AlreadyRunning {
        /// What is running.
        what: String,
        /// Seconds until it should be over.
        retry_after_secs: u64,
    },
}

impl From<crate::tenants::Refusal> for ApiError {
    fn from(refusal: crate::tenants::Refusal) -> Self {
        use crate::tenants::Refusal as R;
        match refusal {
            R::Unauthorized { reason } => Self::Unauthorized { reason },
            R::Full {
                tenant,
                retry_after_secs,
            } => Self::TooManyRequests {
                tenant,
                retry_after_secs,
            },
            R::NoGate { tenant } => Self::Internal {
                message: format!("tenant {tenant} has no gate"),
            },
        }
    }
}

impl From<crate::pipeline::PipelineError> for ApiError {
    fn from(error: crate::pipeline::PipelineError) -> Self {
        use crate::pipeline::PipelineError as P;
        match error {
            P::Refused(refusal) => refusal.into(),
            P::Guest(error) => Self::Sandbox(error),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest {
            reason: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest {
            reason: rejection.body_text(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType {
                reason: rejection.body_text(),
            },
            other => Self::BadRequest {
                reason: other.body_text(),
            },
        }
    }
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
            Self::Registry(e) => registry_code(e),
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::RequestTimeout { .. } => "request_timeout",
            Self::Saturated { .. } => "busy",
            Self::AlreadyRunning { .. } => "already_running",
            Self::HostNotAllowed { .. } => "host_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
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
            Self::Registry(e) => registry_status(e),
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Sandbox(e) => sandbox_status(e),
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Saturated { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::AlreadyRunning { .. } => StatusCode::CONFLICT,
            Self::HostNotAllowed { .. } => StatusCode::MISDIRECTED_REQUEST,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// Seconds a client should wait before retrying, for the statuses that
    /// invite a retry (429, and 503 when the sandbox is busy or the registry unreachable).
    fn retry_after_secs(&self) -> Option<u64> {
        use crate::registry::RegistryError as R;
        use crate::sandbox::SandboxError as S;
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::AlreadyRunning {
                retry_after_secs, ..
            }
            | Self::RateLimited {
                retry_after_secs, ..
            }
            | Self::Registry(R::Busy { retry_after_secs }) => Some(*retry_after_secs),
            Self::Sandbox(S::Busy { .. })
            | Self::Registry(R::Unavailable { .. })
            | Self::Saturated { .. } => Some(1),
            _ => None,
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
        // Like a deadline, the guest did not answer within what it may use.
        E::Deadline { .. } | E::CpuBudget { .. } => StatusCode::GATEWAY_TIMEOUT,
        E::MemoryLimit { .. } => StatusCode::INSUFFICIENT_STORAGE,
        E::Trap { .. } | E::Exit { .. } | E::AbiViolation { .. } => StatusCode::BAD_GATEWAY,
    }
}

fn registry_code(error: &crate::registry::RegistryError) -> &'static str {
    use crate::registry::RegistryError as E;
    match error {
        E::TooLarge { .. } => "too_large",
        E::Busy { .. } => "busy",
        E::NotWasm => "not_wasm",
        E::Rejected { .. } => "validation_failed",
        E::UnknownDigest { .. } => "unknown_digest",
        E::UnknownName { .. } => "unknown_plugin",
        E::WrongName { .. } => "wrong_plugin_name",
        E::NoPrevious { .. } => "no_previous_version",
        E::BadName { .. } => "bad_plugin_name",
        E::RolloutInProgress { .. } => "rollout_in_progress",
        E::NoRollout { .. } => "no_rollout",
        E::BadRollout { .. } => "bad_request",
        E::Conflict { .. } => "conflict",
        E::Unavailable { .. } => "registry_unavailable",
        E::Storage(_) => "storage",
    }
}

fn registry_status(error: &crate::registry::RegistryError) -> StatusCode {
    use crate::registry::RegistryError as E;
    match error {
        E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::NotWasm | E::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        E::UnknownDigest { .. } | E::UnknownName { .. } => StatusCode::NOT_FOUND,
        E::WrongName { .. }
        | E::NoPrevious { .. }
        | E::RolloutInProgress { .. }
        | E::NoRollout { .. }
        | E::Conflict { .. } => StatusCode::CONFLICT,
        E::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::BadName { .. } | E::BadRollout { .. } => StatusCode::BAD_REQUEST,
        E::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal { message } = &self {
            // Only our own bugs reach the error log; a guest's failure is
            // the guest's outcome, logged by the invocation pipeline.
            tracing::error!(%message, "internal error");
        }
        let reason = match &self {
            Self::Registry(e) => e.reason().map(str::to_owned),
            _ => None,
        };
        let body = wire::ErrorBody {
            error: wire::ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                reason,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryError;

    #[test]
    fn a_lost_compare_and_set_is_409_and_an_unreachable_registry_503_with_retry_after() {
        let conflict =
            ApiError::Registry(RegistryError::Conflict { name: "csv".into() }).into_response();
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert!(conflict.headers().get("retry-after").is_none());
        let down = ApiError::Registry(RegistryError::Unavailable {
            message: "NATS: timed out".into(),
        })
        .into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()["retry-after"], "1");
        assert_eq!(
            registry_code(&RegistryError::Unavailable {
                message: String::new()
            }),
            "registry_unavailable"
        );
        assert_eq!(
            registry_code(&RegistryError::Conflict {
                name: String::new()
            }),
            "conflict"
        );
    }
}
