//! Routes of the built-in demo guests (seed task 8): `POST /api/run/{guest}`
//! (body in, guest output out) and `GET /api/guests`. Anyone may call them;
//! the calls go through the invocation pipeline under the `demo` tenant,
//! with its gate, and reach built-in guests only, never a plugin.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::ApiError;
use crate::extract::Path;
use crate::invoke::{self, Target};
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::tenants::TenantId;

/// Sandbox routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/run/{guest}", post(run))
        .route("/api/guests", get(guests))
}

async fn run(
    State(state): State<AppState>,
    Path(guest): Path<String>,
    request_id: RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let input = state.read_guest_input(&headers, body).await?;
    invoke::invoke(
        &state,
        Target::Builtin(guest),
        TenantId::demo(),
        input,
        &request_id,
    )
    .await
}

async fn guests(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.sandbox().builtins())
}
