//! Routes of the sandbox (seed task 8): `POST /api/run/{guest}` (body in,
//! guest output out; tenant from `x-tenant-id`) and `GET /api/guests`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::blocking::run_blocking;
use crate::error::ApiError;
use crate::state::AppState;

/// Header naming the calling tenant.
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Sandbox routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/run/{guest}", post(run))
        .route("/api/guests", get(guests))
}

/// `[A-Za-z0-9_-]{1,64}`, so a tenant id is safe in logs and metrics labels.
fn tenant(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(TENANT_HEADER) else {
        return Ok("anonymous".to_owned());
    };
    let id = value.to_str().unwrap_or_default();
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(id.to_owned())
    } else {
        Err(ApiError::BadRequest {
            reason: format!("{TENANT_HEADER} must match [A-Za-z0-9_-]{{1,64}}"),
        })
    }
}

async fn run(
    State(state): State<AppState>,
    Path(guest): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = crate::blocking::body_or_typed_error(body)?;
    let tenant = tenant(&headers)?;
    let sandbox = state.sandbox();
    let call_tenant = tenant.clone();
    let call_guest = guest.clone();
    let result = run_blocking(move || sandbox.invoke(&call_guest, &call_tenant, &body)).await?;
    match &result {
        Ok(out) => {
            tracing::info!(%tenant, %guest, outcome = "ok", ms = out.duration.as_secs_f64() * 1e3, pages = out.peak_memory_pages, "guest call")
        }
        Err(e) => tracing::info!(%tenant, %guest, outcome = e.code(), error = %e, "guest call"),
    }
    let out = result?;
    let mut response = out.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-guest-log-lines", HeaderValue::from(out.logs.len()));
    headers.insert("x-guest-logs-dropped", HeaderValue::from(out.logs_dropped));
    headers.insert(
        "x-guest-memory-pages",
        HeaderValue::from(out.peak_memory_pages),
    );
    Ok(response)
}

async fn guests(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.sandbox().guests())
}
