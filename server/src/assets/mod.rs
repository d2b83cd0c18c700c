//! Asset delivery (seed tasks 1, 3 and 5): the built site from memory, with
//! exact content types, pre-compressed variants negotiated per request,
//! immutable caching for content-hashed files and revalidation for the rest.
//!
//! - [`catalog`]: loads the site once; requests never touch the filesystem
//! - [`negotiate`]: `Accept-Encoding` with q-values
//! - [`respond`]: conditional requests, ranges, HEAD
//! - [`cache_control`], [`content_type`], [`csp`]: the header policies
//! - [`spa`]: which unknown paths are the app's pages (deep links → `index.html`)
//!
//! What the build says about each file is `manifest.json`, read into a
//! [`wire::Manifest`] by the catalog.

pub mod cache_control;
pub mod catalog;
pub mod content_type;
pub mod csp;
pub mod negotiate;
pub mod range;
pub mod respond;
pub mod spa;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use catalog::{Catalog, CatalogError};

use crate::error::ApiError;

/// Path prefix of the task 1 demo: the Go module served as `text/plain`.
pub const WRONG_MIME_DEMO_PREFIX: &str = "/demo/wrong-mime/";

/// Routes of the asset origin: `/api/assets` (the size report), the
/// wrong-MIME demo when enabled, and every file of the catalog.
pub fn router(catalog: Arc<Catalog>, wrong_mime_demo: bool) -> Router {
    let mut router = Router::new().route("/api/assets", get(size_report));
    if wrong_mime_demo {
        router = router.route(
            &format!("{WRONG_MIME_DEMO_PREFIX}{{name}}"),
            get(wrong_mime),
        );
    }
    router.fallback(serve_file).with_state(catalog)
}

async fn serve_file(
    State(catalog): State<Arc<Catalog>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = ApiError::MethodNotAllowed {
            method: method.to_string(),
        }
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = uri.path();
    let entry = catalog
        .get(path)
        .or_else(|| spa::fallback_for(path).and_then(|index| catalog.get(index)));
    match entry {
        Some(entry) => respond::respond(entry, &method, &headers),
        None => ApiError::NotFound {
            path: uri.path().to_owned(),
        }
        .into_response(),
    }
}

/// The size report of seed task 2, as written by `cargo xtask build`.
async fn size_report(
    State(catalog): State<Arc<Catalog>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    match catalog.get("/size-report.json") {
        Some(entry) => respond::respond(entry, &method, &headers),
        None => ApiError::NotFound {
            path: "/api/assets (no size-report.json: run `cargo xtask build`)".to_owned(),
        }
        .into_response(),
    }
}

/// Seed task 1, broken on purpose: the same module bytes as `text/plain`, so
/// the page can show `WebAssembly.instantiateStreaming` rejecting them.
async fn wrong_mime(State(catalog): State<Arc<Catalog>>, Path(name): Path<String>) -> Response {
    let entry = catalog
        .manifest()
        .path_of(&name)
        .filter(|path| path.ends_with(".wasm"))
        .and_then(|path| catalog.get(path));
    let Some(entry) = entry else {
        return ApiError::NotFound {
            path: format!("{WRONG_MIME_DEMO_PREFIX}{name}"),
        }
        .into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, cache_control::NO_STORE),
            (
                header::HeaderName::from_static("x-wip-demo"),
                HeaderValue::from_static("wrong-mime: seed task 1, deliberately broken"),
            ),
        ],
        entry.identity().bytes.clone(),
    )
        .into_response()
}
