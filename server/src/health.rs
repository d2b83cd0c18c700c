//! Liveness endpoint for load balancers and the test harness. It answers
//! 200 while the process serves requests, and says whether the registry
//! accepts writes: a replica cut off from the shared registry keeps serving
//! what it has loaded and reports `registry: degraded`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use wire::Health;

use crate::state::AppState;

/// Routes: `GET /healthz`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let (registry, registry_backend) = state.registry().health();
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        registry,
        registry_backend: registry_backend.to_owned(),
    })
}
