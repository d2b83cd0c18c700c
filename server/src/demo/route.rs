//! `GET /api/demo`: the demo's credentials, for the page's sandbox panel.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use wire::demo::DEMO_PATH;

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /api/demo`.
pub fn router() -> Router<AppState> {
    Router::new().route(DEMO_PATH, get(demo_keys))
}

/// The demo's credentials, never cached; 404 when the server is not a demo.
async fn demo_keys(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let demo = state.demo().ok_or_else(|| ApiError::NotFound {
        path: DEMO_PATH.to_owned(),
    })?;
    Ok(([(CACHE_CONTROL, "no-store")], Json(demo.keys().clone())))
}
