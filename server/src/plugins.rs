//! Routes of the plugin registry and invocation (seed tasks 12, 13, 14):
//!
//! - `POST /api/plugins?name=&version=` (admin): upload module bytes
//! - `GET /api/plugins`, `GET /api/plugins/{digest}`: what is stored and active
//! - `PUT /api/plugins/{name}/active` (admin): `{"digest": "…"}` or `{"rollback": true}`
//! - `POST /api/invoke/{name-or-digest}` (tenant key): run it
//! - `GET /metrics` (Prometheus text), `GET /api/stats` (percentiles)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;

use crate::auth;
use crate::blocking::run_blocking;
use crate::error::ApiError;
use crate::metrics::outcome_of;
use crate::registry::{MAX_MODULE_BYTES, PluginDigest, RegistryError};
use crate::state::AppState;

/// Registry and invocation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/plugins",
            post(upload)
                .get(list)
                // Room for a maximal module plus one byte, so an oversized
                // upload reaches our typed 413 rather than a bare one.
                .layer(DefaultBodyLimit::max(MAX_MODULE_BYTES + 1)),
        )
        .route("/api/plugins/{digest}", get(show))
        .route("/api/plugins/{name}/active", put(activate))
        .route("/api/invoke/{target}", post(invoke))
        .route("/metrics", get(metrics))
        .route("/api/stats", get(stats))
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: String,
    #[serde(default)]
    version: String,
}

fn body_or_413(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::Registry(RegistryError::TooLarge {
            size: MAX_MODULE_BYTES + 1,
            max: MAX_MODULE_BYTES,
        }),
        _ => ApiError::BadRequest {
            reason: rejection.body_text(),
        },
    })
}

async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    auth::require_admin(&headers, state.config().admin_token.as_deref())?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest {
        reason: e.body_text(),
    })?;
    let body = body_or_413(body)?;
    let registry = state.registry();
    let (meta, created) =
        run_blocking(move || registry.upload(&query.name, &query.version, &body)).await??;
    let status = if created {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, Json(meta)).into_response())
}

async fn list(State(state): State<AppState>) -> impl IntoResponse {
    let registry = state.registry();
    Json(json!({ "plugins": registry.plugins(), "active": registry.activations() }))
}

async fn show(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let parsed = PluginDigest::parse(&digest).ok_or_else(|| ApiError::BadRequest {
        reason: format!("{digest:?} is not a sha256 digest"),
    })?;
    state
        .registry()
        .plugin(&parsed)
        .map(Json)
        .ok_or(ApiError::Registry(RegistryError::UnknownDigest { digest }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    digest: Option<String>,
    #[serde(default)]
    rollback: bool,
}

async fn activate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ActivateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    auth::require_admin(&headers, state.config().admin_token.as_deref())?;
    let Json(body) = body.map_err(|e| ApiError::BadRequest {
        reason: e.body_text(),
    })?;
    let registry = state.registry();
    let activation = match (body.rollback, body.digest) {
        (true, None) => registry.rollback(&name)?,
        (false, Some(digest)) => {
            let digest = PluginDigest::parse(&digest).ok_or_else(|| ApiError::BadRequest {
                reason: format!("{digest:?} is not a sha256 digest"),
            })?;
            registry.activate(&name, &digest)?
        }
        _ => {
            return Err(ApiError::BadRequest {
                reason: "send either {\"digest\": \"<sha256>\"} or {\"rollback\": true}".into(),
            });
        }
    };
    tracing::info!(plugin = %name, active = %activation.active, "plugin activated");
    Ok(Json(activation))
}

async fn invoke(
    State(state): State<AppState>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = crate::blocking::body_or_typed_error(body)?;
    static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);
    let request_id = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    let tenant = auth::tenant_of(&headers, state.tenants().keys())?;
    let registry = state.registry();
    let digest = registry.resolve(&target)?;
    let started = Instant::now();
    let Some(gate) = state.tenants().gate(&tenant) else {
        return Err(ApiError::Internal {
            message: format!("tenant {tenant} has no gate"),
        });
    };
    let permit = match gate.admit(&tenant).await {
        Ok(permit) => permit,
        Err(e) => {
            state
                .metrics()
                .record(digest.as_str(), &tenant, "rejected", started.elapsed());
            let call = CallRecord {
                request_id,
                tenant: &tenant,
                plugin: &target,
                digest: &digest,
            };
            call.log("rejected", started.elapsed(), 0);
            return Err(e);
        }
    };
    let sandbox = state.sandbox();
    let limits = state
        .tenants()
        .call_limits(&tenant, sandbox.limits().per_call());
    let (call_digest, call_tenant) = (digest.clone(), tenant.clone());
    let invocation = state
        .tenants()
        .run(&tenant, move || {
            let _permit = permit;
            sandbox.invoke_with(call_digest.as_str(), &call_tenant, &body, limits)
        })
        .await?;
    let duration = started.elapsed();
    let pages = invocation.peak_memory_pages;
    let result = invocation.result;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => outcome_of(e.code()),
    };
    state
        .metrics()
        .record(digest.as_str(), &tenant, outcome, duration);
    let call = CallRecord {
        request_id,
        tenant: &tenant,
        plugin: &target,
        digest: &digest,
    };
    call.log(outcome, duration, pages);
    let out = result?;
    let mut response = out.bytes.into_response();
    response.headers_mut().insert(
        "x-plugin-digest",
        HeaderValue::from_str(digest.as_str()).expect("hex"),
    );
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from(request_id));
    Ok(response)
}

/// Who called what, for the one log line per invocation.
struct CallRecord<'a> {
    request_id: u64,
    tenant: &'a str,
    plugin: &'a str,
    digest: &'a PluginDigest,
}

impl CallRecord<'_> {
    fn log(&self, outcome: &str, duration: std::time::Duration, memory_pages: u64) {
        tracing::info!(
            request_id = self.request_id,
            tenant = self.tenant,
            plugin = self.plugin,
            digest = %self.digest,
            outcome,
            duration_ms = duration.as_secs_f64() * 1e3,
            memory_pages,
            "plugin invocation"
        );
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics().render(),
    )
}

async fn stats(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.metrics().stats())
}
