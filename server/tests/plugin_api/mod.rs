//! The plugin API through `app(state).oneshot(...)`: a state with an
//! admin token and four tenants, and request helpers.

#![allow(dead_code)] // each test binary uses a subset

use axum::body::Body;
use axum::http::{Request, StatusCode};
use server::{AppState, Config};

use crate::common::{guest, send};

pub const ADMIN: &str = "admin-token-for-tests-0123456789abcdef";
pub const ACME: &str = "acme-key-0123456789";
pub const SOLO: &str = "solo-key-0123456789";
pub const LEAN: &str = "lean-key-0123456789";
pub const HASTY: &str = "hasty-key-0123456789";

pub fn state(dir: &tempfile::TempDir) -> AppState {
    let tenants = dir.path().join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[[tenant]]\nid = \"acme\"\napi_key = \"{ACME}\"\nmax_concurrency = 4\n\n\
             [[tenant]]\nid = \"solo\"\napi_key = \"{SOLO}\"\nmax_concurrency = 1\nqueue_depth = 0\n\n\
             [[tenant]]\nid = \"lean\"\napi_key = \"{LEAN}\"\nmemory_pages = 40\n\n\
             [[tenant]]\nid = \"hasty\"\napi_key = \"{HASTY}\"\ndeadline_ms = 2\n"
        ),
    )
    .unwrap();
    let mut config = Config::with_assets_dir(dir.path().join("no-site"));
    config.guests_dir = dir.path().join("no-guests");
    config.data_dir = dir.path().join("registry");
    config.admin_token = Some(ADMIN.into());
    config.tenants_file = Some(tenants);
    // Generous: only hasty's own 2 ms deadline may end a call here, however
    // busy the machine (a 1 s deadline failed a large CSV under load).
    config.sandbox_deadline_ms = 20_000;
    AppState::new(config).unwrap()
}

pub async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if method == "PUT" {
        request = request.header("content-type", "application/json");
    }
    send(state, request.body(Body::from(body)).unwrap()).await
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(bytes)))
}

pub async fn upload(state: &AppState, name: &str, module: &str) -> String {
    let (status, _, body) = call(
        state,
        "POST",
        &format!("/api/plugins?name={name}&version=1"),
        Some(ADMIN),
        guest(module),
    )
    .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status} {}",
        String::from_utf8_lossy(&body)
    );
    json(&body)["digest"].as_str().unwrap().to_owned()
}

pub async fn futures_join_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}
