//! Liveness endpoint for load balancers and the test harness. It answers
//! 200 while the process serves requests, and says whether the registry
//! accepts writes: a replica cut off from the shared registry keeps serving
//! what it has loaded and reports `registry: degraded`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::registry::Health as RegistryHealth;
use crate::state::AppState;

/// `GET /healthz` body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Always `"ok"` while the process serves requests.
    pub status: &'static str,
    /// Server crate version.
    pub version: &'static str,
    /// `ok`, or `degraded` when the shared registry is unreachable (or not
    /// caught up yet): calls are served, registry writes answer 503.
    pub registry: RegistryHealth,
    /// Where registry writes go: `local` or `nats`.
    pub registry_backend: &'static str,
}

/// Routes: `GET /healthz`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let (registry, registry_backend) = state.registry().health();
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        registry,
        registry_backend,
    })
}
