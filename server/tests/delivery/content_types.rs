//! Exact content types (seed task 1): `application/wasm` with nosniff for
//! the Go module, every asset kind its own type, and the wrong-MIME demo.

use server::Config;

use crate::{Server, asset_path, go_wasm, h, site_dir};

#[tokio::test]
async fn go_module_is_application_wasm_with_nosniff() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-type"), "application/wasm");
    assert_eq!(h(response.headers(), "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn every_asset_kind_has_its_exact_content_type() {
    let server = Server::start().await;
    for (logical, expected) in [
        ("inspector.wasm_exec.js", "text/javascript; charset=utf-8"),
        ("frontend.js", "text/javascript; charset=utf-8"),
        ("frontend_bg.wasm", "application/wasm"),
        ("style.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ] {
        let response = server.get(&asset_path(logical), &[]).await;
        assert_eq!(h(response.headers(), "content-type"), expected, "{logical}");
    }
    let manifest = server.get("/manifest.json", &[]).await;
    assert_eq!(h(manifest.headers(), "content-type"), "application/json");
}

#[tokio::test]
async fn wrong_mime_demo_serves_the_module_bytes_as_text_plain() {
    let server = Server::start().await;
    let response = server.get("/demo/wrong-mime/inspector.wasm", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        h(response.headers(), "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(h(response.headers(), "cache-control"), "no-store");
    let body = response.bytes().await.unwrap();
    assert_eq!(&body[..4], b"\0asm", "the very same module bytes");
}

#[tokio::test]
async fn wrong_mime_demo_is_absent_when_disabled() {
    let mut config = Config::with_assets_dir(site_dir());
    config.wrong_mime_demo = false;
    let server = Server::start_with(config).await;
    let response = server.get("/demo/wrong-mime/inspector.wasm", &[]).await;
    assert_eq!(response.status(), 404);
}
