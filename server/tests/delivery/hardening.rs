//! What an attacker or a confused client sees: typed 404s (never an HTML
//! fallback), JSON 405s with `Allow`, traversal probes that reach nothing,
//! and the document's CSP.

use crate::{Server, error_code, go_wasm, h};

#[tokio::test]
async fn unknown_path_is_a_typed_404() {
    let server = Server::start().await;
    let response = server.get("/no/such/file.wasm", &[]).await;
    assert_eq!(response.status(), 404);
    assert_eq!(h(response.headers(), "content-type"), "application/json");
}

#[tokio::test]
async fn methods_other_than_get_and_head_are_405_with_allow() {
    let server = Server::start().await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = server.request(method.clone(), &go_wasm(), &[]).await;
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(h(response.headers(), "allow"), "GET, HEAD");
        assert_eq!(error_code(response).await, "method_not_allowed");
    }
}

#[tokio::test]
async fn traversal_and_encoded_dot_segment_probes_are_404() {
    let server = Server::start().await;
    for probe in [
        "/../Cargo.toml",
        "/../../../../etc/passwd",
        "/go/../../Cargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/go/%2e%2e/%2e%2e/Cargo.toml",
        "/..%2f..%2fCargo.toml",
        "/go/..%5c..%5cCargo.toml",
        "/%252e%252e/Cargo.toml",
        "//etc/passwd",
        "/go/./inspector.wasm",
    ] {
        assert_eq!(server.raw_status(probe).await, 404, "{probe}");
    }
}

#[tokio::test]
async fn html_has_a_csp_allowing_wasm_and_only_its_hashed_inline_script() {
    let server = Server::start().await;
    let response = server.get("/", &[]).await;
    let csp = h(response.headers(), "content-security-policy").to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
}
