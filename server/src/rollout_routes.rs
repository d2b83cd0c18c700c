//! Canary rollouts over HTTP (see `docs/rollouts.md`):
//!
//! - `PUT /api/plugins/{name}/rollout` (admin): start one
//! - `POST /api/plugins/{name}/rollout/promote` (admin): promote by hand
//! - `DELETE /api/plugins/{name}/rollout` (admin): abort
//!
//! and [`count`], which the invocation pipeline calls for every call a
//! rollout routed: metrics, then the registry's judgement, then, when the
//! call settled it, the decision's metrics and its one log line.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use wire::{Decision, DecisionKind, RolloutRequest};

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::{JsonBody, Path};
use crate::outcome::Outcome;
use crate::registry::{Counted, RolloutCall};
use crate::state::AppState;

/// The rollout routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/plugins/{name}/rollout", put(start).delete(abort))
        .route("/api/plugins/{name}/rollout/promote", post(promote))
}

async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    _: Admin,
    JsonBody(request): JsonBody<RolloutRequest>,
) -> Result<(StatusCode, Json<wire::Rollout>), ApiError> {
    let rollout = state.registry().start_rollout(&name, &request).await?;
    state.metrics().rollouts().started(&name);
    tracing::info!(
        plugin = %name,
        stable = %rollout.stable,
        candidate = %rollout.candidate,
        percent = rollout.percent,
        min_calls = rollout.min_calls,
        "rollout started"
    );
    Ok((StatusCode::CREATED, Json(rollout)))
}

async fn promote(
    State(state): State<AppState>,
    Path(name): Path<String>,
    _: Admin,
) -> Result<Json<Decision>, ApiError> {
    decide(&state, &name, DecisionKind::PromotedManually).await
}

async fn abort(
    State(state): State<AppState>,
    Path(name): Path<String>,
    _: Admin,
) -> Result<Json<Decision>, ApiError> {
    decide(&state, &name, DecisionKind::Aborted).await
}

async fn decide(
    state: &AppState,
    name: &str,
    kind: DecisionKind,
) -> Result<Json<Decision>, ApiError> {
    let decision = state.registry().decide(name, kind).await?;
    announce(state, name, &decision);
    Ok(Json(decision))
}

/// Counts a call `call`'s rollout sent to `digest`, and announces the
/// decision when this call settled the rollout. A call that ends after
/// the decision is counted, but does not bring back the share series.
pub async fn count(
    state: &AppState,
    call: &RolloutCall,
    digest: &str,
    outcome: Outcome,
    took: Duration,
) {
    let metrics = state.metrics().rollouts();
    let role = call.role.as_str();
    metrics.call(&call.name, digest, role, outcome);
    match state.registry().observe(call, outcome, took).await {
        Counted::Ended => {}
        Counted::Running => metrics.share(&call.name, digest, role, call.share),
        Counted::Decided(decision) => announce(state, &call.name, &decision),
    }
}

fn announce(state: &AppState, name: &str, decision: &Decision) {
    state.metrics().rollouts().decided(name, decision);
    let (s, c) = (&decision.stable_stats, &decision.candidate_stats);
    tracing::info!(
        plugin = %name,
        decision = decision.kind.as_str(),
        stable = %decision.stable,
        candidate = %decision.candidate,
        active = %decision.active,
        after_ms = decision.after_ms,
        percent = decision.percent,
        stable_calls = s.calls,
        candidate_calls = c.calls,
        stable_trap = s.trap,
        candidate_trap = c.trap,
        stable_deadline = s.deadline,
        candidate_deadline = c.deadline,
        stable_memory_limit = s.memory_limit,
        candidate_memory_limit = c.memory_limit,
        stable_guest_error = s.guest_error,
        candidate_guest_error = c.guest_error,
        stable_p99_ms = s.p99_ms,
        candidate_p99_ms = c.p99_ms,
        thresholds = %serde_json::to_string(&decision.thresholds).unwrap_or_default(),
        reasons = %decision.reasons.join("; "),
        "rollout decision"
    );
}
