//! Lesson endpoints: what the app's task panels need the server to do on
//! their behalf, because a page cannot do it itself.
//!
//! - `GET /api/lessons/delivery` (seed tasks 3 and 5): browsers forbid a
//!   page to set `Accept-Encoding` (a forbidden request header), so the
//!   page cannot ask for br, gzip and identity one at a time. The server
//!   runs the very responder real requests go through
//!   ([`assets::respond::respond`]) on an in-memory GET per encoding for the
//!   hashed Go module and for `/`, then the same GET with
//!   `If-None-Match: <the ETag it got>`, and reports the headers and sizes.
//! - `POST /api/lessons/add?a=2&b=3` (seed task 4): `add` exports
//!   `add(i32, i32) -> i32`, not the plugin ABI `/api/run` speaks, so it
//!   cannot be called there (`abi_violation`). This calls the export the
//!   way `examples/minimal_host.rs` does, through the pipeline under the
//!   `demo` tenant like every `/api/run` call (route `lesson-add`).

pub mod module;
pub mod places;
mod throttle;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use wire::lessons::{AddLesson, DeliveryLesson, HeaderProbe};

use crate::assets::{Catalog, respond};
use crate::error::ApiError;
use crate::extract::Query;
use crate::pipeline::{Admission, Call, Route};
use crate::request_id::RequestId;
use crate::sandbox::{GuestKey, GuestRef, Work};
use crate::state::AppState;
use crate::tenants::TenantId;

mod client_waits;
mod compile_once;
mod fairness;

/// The encodings each delivery probe asks for, one request each.
const ENCODINGS: [&str; 3] = ["br", "gzip", "identity"];
/// The built-in guest of task 4.
const ADD_GUEST: &str = "add";

/// Lesson routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lessons/delivery", get(delivery))
        .route("/api/lessons/add", post(add))
        .merge(throttle::router())
        .merge(compile_once::router())
        .merge(fairness::router())
}

async fn delivery(State(state): State<AppState>) -> Result<Json<DeliveryLesson>, ApiError> {
    let catalog = state.catalog();
    let module = catalog
        .manifest()
        .path_of(&wire::manifest::go_wasm_name(
            wire::manifest::GO_BROWSER_PROGRAM,
        ))
        .ok_or_else(|| ApiError::NotFound {
            path: "the Go module in manifest.json (run `cargo xtask build`)".into(),
        })?
        .to_owned();
    let mut probes = Vec::new();
    for path in [module.as_str(), "/"] {
        for encoding in ENCODINGS {
            probes.push(probe(&catalog, path, encoding).await?);
        }
    }
    Ok(Json(DeliveryLesson { probes }))
}

/// One GET of `path` with `Accept-Encoding: encoding`, then its revalidation.
async fn probe(
    catalog: &Catalog,
    path: &str,
    encoding: &'static str,
) -> Result<HeaderProbe, ApiError> {
    let entry = catalog.get(path).ok_or_else(|| ApiError::NotFound {
        path: path.to_owned(),
    })?;
    let mut request = HeaderMap::new();
    request.insert(ACCEPT_ENCODING, HeaderValue::from_static(encoding));
    let (status, headers, bytes) = read(respond::respond(entry, &Method::GET, &request)).await?;
    if let Some(etag) = headers.get(ETAG) {
        request.insert(IF_NONE_MATCH, etag.clone());
    }
    let (revalidation_status, _, revalidation_bytes) =
        read(respond::respond(entry, &Method::GET, &request)).await?;
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(HeaderProbe {
        path: path.to_owned(),
        accept_encoding: encoding.to_owned(),
        status,
        content_encoding: header(CONTENT_ENCODING),
        content_type: header(CONTENT_TYPE),
        vary: header(VARY),
        cache_control: header(CACHE_CONTROL),
        etag: header(ETAG),
        bytes,
        revalidation_status,
        revalidation_bytes,
    })
}

/// Status, headers and body length of an in-memory response.
async fn read(response: Response) -> Result<(u16, HeaderMap, u64), ApiError> {
    let (parts, body) = response.into_parts();
    let bytes = in_memory_body(body).await?;
    Ok((parts.status.as_u16(), parts.headers, bytes.len() as u64))
}

/// The bytes of a body the asset responder made (one in-memory `Bytes`:
/// collecting it copies nothing).
async fn in_memory_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::Internal {
            message: format!("reading an in-memory asset body: {e}"),
        })
}

/// A query parameter: `default` when absent, else it must lie in `range`
/// (a typed 400 naming the parameter otherwise).
fn bounded(
    name: &str,
    value: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::BadRequest {
            reason: format!(
                "{name} must be {} to {}, not {value}",
                range.start(),
                range.end()
            ),
        })
    }
}

#[derive(Debug, Deserialize)]
struct AddArgs {
    #[serde(default = "two")]
    a: i32,
    #[serde(default = "three")]
    b: i32,
}

fn two() -> i32 {
    2
}

fn three() -> i32 {
    3
}

async fn add(
    State(state): State<AppState>,
    request_id: RequestId,
    Query(args): Query<AddArgs>,
) -> Result<Json<AddLesson>, ApiError> {
    let key = GuestKey::Builtin(ADD_GUEST.to_owned());
    let pipeline = state.pipeline();
    let info = pipeline.sandbox().guest_info(&key).ok_or_else(|| {
        crate::sandbox::SandboxError::UnknownGuest {
            name: ADD_GUEST.to_owned(),
        }
    })?;
    let called = pipeline
        .call(Call {
            route: Route::LessonAdd,
            request_id: request_id.as_str(),
            tenant: &TenantId::demo(),
            requested: ADD_GUEST,
            guest: GuestRef::Installed(&key),
            digest: &info.digest,
            work: Work::Add(args.a, args.b),
            admission: Admission::Tenant,
            options: None,
        })
        .await;
    let sum = called.result?.returned.ok_or_else(|| ApiError::Internal {
        message: "the add export returned no i32".into(),
    })?;
    Ok(Json(AddLesson {
        a: args.a,
        b: args.b,
        sum,
        digest: info.digest,
        duration_ms: called.elapsed.as_secs_f64() * 1e3,
    }))
}
