//! Routes of the plugin registry and invocation (seed tasks 12, 13, 14):
//!
//! - `POST /api/plugins?name=&version=[&smoke_input=]` (admin): upload module bytes
//! - `GET /api/plugins`, `GET /api/plugins/{digest}`: what is stored and active
//! - `GET /api/plugins/{name}`: its activation, rollout and decisions
//! - `PUT /api/plugins/{name}/active` (admin): `{"digest": "…"}` or `{"rollback": true}`
//! - `POST /api/invoke/{name-or-digest}` (tenant key): run it
//! - `GET /metrics` (Prometheus text), `GET /api/stats` (percentiles)
//!
//! Credentials are checked before a body is read. Bodies are the [`wire`]
//! types; the registry's on-disk records are converted at the route.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use serde::Deserialize;
use wire::{ActivateRequest, PluginInfo, PluginList};

use crate::auth;
use crate::error::ApiError;
use crate::extract::{BodyError, JsonBody, Path, Query, read_limited};
use crate::invoke::{self, Target};
use crate::registry::{PluginDigest, RegistryError, Upload};
use crate::request_id::RequestId;
use crate::state::AppState;

/// Registry and invocation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/plugins", post(upload).get(list))
        .route("/api/plugins/{digest}", get(show))
        .route("/api/plugins/{name}/active", put(activate))
        .route("/api/invoke/{target}", post(run_plugin))
        .route("/metrics", get(metrics))
        .route("/api/stats", get(stats))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: String,
    #[serde(default)]
    version: String,
    /// Input of the smoke call (the default is a small CSV).
    smoke_input: Option<String>,
}

async fn upload(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    auth::require_admin(&headers, state.config().admin_token.as_deref())?;
    let timeout = state.config().body_read_timeout();
    let max = state.config().max_module_bytes;
    let bytes = read_limited(&headers, body, max, timeout)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { announced } => ApiError::Registry(RegistryError::TooLarge {
                size: announced.map_or(max + 1, |n| n as usize),
                max,
            }),
            BodyError::Failed(e) => e,
        })?;
    let upload = Upload {
        name: query.name,
        version: query.version,
        bytes,
        smoke_input: query.smoke_input.map(Bytes::from),
    };
    let (meta, created) = state
        .registry()
        .upload(upload, state.pipeline(), request_id.as_str())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PluginInfo::from(&meta))).into_response())
}

async fn list(State(state): State<AppState>) -> Json<PluginList> {
    let registry = state.registry();
    Json(PluginList {
        plugins: registry.plugins().iter().map(PluginInfo::from).collect(),
        active: registry
            .activations()
            .iter()
            .map(|(name, activation)| (name.clone(), activation.into()))
            .collect(),
    })
}

fn parse_digest(text: &str) -> Result<PluginDigest, ApiError> {
    PluginDigest::parse(text).ok_or_else(|| ApiError::BadRequest {
        reason: format!("{text:?} is not a sha256 digest"),
    })
}

/// A digest answers its module's [`PluginInfo`]; a name its
/// [`wire::PluginStatus`] (activation, rollout, decisions).
async fn show(
    State(state): State<AppState>,
    Path(name_or_digest): Path<String>,
) -> Result<Response, ApiError> {
    let registry = state.registry();
    let Some(digest) = PluginDigest::parse(&name_or_digest) else {
        return Ok(Json(registry.status(&name_or_digest)?).into_response());
    };
    registry
        .plugin(&digest)
        .map(|meta| Json(PluginInfo::from(&meta)).into_response())
        .ok_or(ApiError::Registry(RegistryError::UnknownDigest {
            digest: name_or_digest,
        }))
}

async fn activate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    _: auth::Admin,
    JsonBody(body): JsonBody<ActivateRequest>,
) -> Result<Json<wire::Activation>, ApiError> {
    let registry = state.registry();
    let activation = match (body.rollback, body.digest) {
        (true, None) => registry.rollback(&name).await?,
        (false, Some(digest)) => registry.activate(&name, &parse_digest(&digest)?).await?,
        _ => {
            return Err(ApiError::BadRequest {
                reason: "send either {\"digest\": \"<sha256>\"} or {\"rollback\": true}".into(),
            });
        }
    };
    tracing::info!(plugin = %name, active = %activation.active, "plugin activated");
    Ok(Json(wire::Activation::from(&activation)))
}

async fn run_plugin(
    State(state): State<AppState>,
    Path(target): Path<String>,
    request_id: RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = state.tenants().authenticate(&headers)?;
    let input = state.read_guest_input(&headers, body).await?;
    invoke::invoke(&state, Target::Plugin(target), tenant, input, &request_id).await
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
