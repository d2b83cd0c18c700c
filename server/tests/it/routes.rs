//! Router tests through `tower::ServiceExt::oneshot`: no socket, a fixture
//! asset root in a temp dir.

use crate::error_body;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use server::{AppState, Config, app};
use tower::ServiceExt as _;

const WASM_MAGIC: &[u8] = b"\0asm\x01\0\0\0";

fn fixture_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("index.html"),
        "<!DOCTYPE html><title>fixture</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("go")).unwrap();
    std::fs::write(dir.path().join("go/hello.0123abcd.wasm"), WASM_MAGIC).unwrap();
    std::fs::write(dir.path().join("go/wasm_exec.0123abcd.js"), "// shim").unwrap();
    dir
}

async fn get(site: &tempfile::TempDir, uri: &str) -> axum::response::Response {
    let state = AppState::new(Config::with_assets_dir(site.path())).expect("state");
    app(state)
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn json_body(response: axum::response::Response) -> serde_json::Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).expect("JSON body")
}

fn content_type(response: &axum::response::Response) -> &str {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn healthz_reports_ok() {
    let site = fixture_site();
    let response = get(&site, "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let health: wire::Health = serde_json::from_value(json_body(response).await).unwrap();
    assert_eq!(
        (
            health.status.as_str(),
            health.registry,
            health.registry_backend.as_str()
        ),
        ("ok", wire::RegistryHealth::Ok, "local")
    );
}

#[tokio::test]
async fn wasm_is_served_as_application_wasm() {
    let site = fixture_site();
    let response = get(&site, "/go/hello.0123abcd.wasm").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/wasm");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], WASM_MAGIC);
}

#[tokio::test]
async fn shim_is_served_as_javascript() {
    let site = fixture_site();
    let response = get(&site, "/go/wasm_exec.0123abcd.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        content_type(&response).starts_with("text/javascript"),
        "got {}",
        content_type(&response)
    );
}

#[tokio::test]
async fn root_serves_index_html() {
    let site = fixture_site();
    let response = get(&site, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
}

#[tokio::test]
async fn a_deep_link_to_an_app_page_is_index_html_revalidated() {
    let site = fixture_site();
    for page in ["/easy", "/medium", "/hard", "/memo"] {
        let response = get(&site, page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert!(content_type(&response).starts_with("text/html"), "{page}");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "no-cache",
            "{page}"
        );
    }
    for other in ["/hard/", "/hard/x", "/nope"] {
        assert_eq!(
            get(&site, other).await.status(),
            StatusCode::NOT_FOUND,
            "{other}"
        );
    }
}

#[tokio::test]
async fn unknown_path_is_a_typed_json_404() {
    let site = fixture_site();
    let response = get(&site, "/no/such/file.wasm").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json_body(response).await;
    assert_eq!(error_body::code(&body).as_deref(), Some("not_found"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/no/such/file.wasm")
    );
}
