//! Asset delivery against the real server on port 0 over the site that
//! `cargo xtask build` produced (seed tasks 1, 3 and 5). The client never
//! decompresses: every test sees the exact bytes and headers on the wire.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use server::{AppState, Config};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn site_dir() -> PathBuf {
    let site = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    assert!(
        site.join("manifest.json").is_file(),
        "no built site in {}: run `cargo xtask build` first",
        site.display()
    );
    site
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(site_dir().join("manifest.json")).unwrap()).unwrap()
}

/// URL path of a manifest entry, e.g. `asset_path("inspector.wasm")`.
fn asset_path(logical: &str) -> String {
    manifest()["assets"][logical]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("{logical} missing from the manifest"))
        .to_owned()
}

fn go_wasm() -> String {
    asset_path("inspector.wasm")
}

struct Server {
    addr: SocketAddr,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(Config::with_assets_dir(site_dir())).await
    }

    async fn start_with(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(config).expect("load the built site");
        tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        // reqwest without its gzip/brotli features never decompresses.
        let client = reqwest::Client::builder().build().unwrap();
        Self {
            addr,
            client,
            _stop: stop,
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, headers).await
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Sends `target` exactly as written (no client-side URL normalisation),
    /// returning the status code.
    async fn raw_status(&self, target: &str) -> u16 {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => {
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "gzip" => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        "" => out.extend_from_slice(bytes),
        other => panic!("unexpected content-encoding {other}"),
    }
    out
}

// ---- content types (task 1) ----

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

// ---- negotiation (task 5) ----

#[tokio::test]
async fn brotli_client_gets_br_with_vary_and_its_exact_length() {
    let server = Server::start().await;
    let response = server
        .get(
            &go_wasm(),
            &[("accept-encoding", "gzip, deflate, br, zstd")],
        )
        .await;
    let headers = response.headers().clone();
    assert_eq!(h(&headers, "content-encoding"), "br");
    assert_eq!(h(&headers, "vary"), "accept-encoding");
    assert_eq!(h(&headers, "content-type"), "application/wasm");
    let body = response.bytes().await.unwrap();
    assert_eq!(h(&headers, "content-length"), body.len().to_string());
    assert_eq!(
        body.len() as u64,
        manifest()["assets"]["inspector.wasm"]["brotli_size"]
            .as_u64()
            .unwrap()
    );
}

#[tokio::test]
async fn gzip_only_client_gets_gzip() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
}

#[tokio::test]
async fn client_without_accept_encoding_gets_identity_still_with_vary() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "");
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
    let body = response.bytes().await.unwrap();
    assert_eq!(
        body.len() as u64,
        manifest()["assets"]["inspector.wasm"]["size"]
            .as_u64()
            .unwrap()
    );
}

#[tokio::test]
async fn br_with_q0_is_never_sent() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "br;q=0, gzip")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "br;q=0")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "");
}

#[tokio::test]
async fn higher_q_wins_over_the_servers_preference() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "gzip;q=0.5, br;q=0.1")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn star_accepts_brotli() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[("accept-encoding", "*")]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "br");
}

#[tokio::test]
async fn identity_q0_is_honoured_with_a_compressed_variant() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "identity;q=0, gzip")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn nothing_acceptable_is_a_typed_406() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "identity;q=0, *;q=0")])
        .await;
    assert_eq!(response.status(), 406);
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_acceptable");
}

#[tokio::test]
async fn every_encoding_of_every_asset_decodes_to_the_manifest_sha256() {
    let server = Server::start().await;
    let manifest = manifest();
    let assets = manifest["assets"].as_object().unwrap();
    assert!(assets.len() >= 6, "manifest lists the app and the Go pair");
    for (logical, asset) in assets {
        let path = asset["path"].as_str().unwrap();
        for accept in ["br", "gzip", "identity"] {
            let response = server.get(path, &[("accept-encoding", accept)]).await;
            assert_eq!(response.status(), 200, "{logical} {accept}");
            let encoding = h(response.headers(), "content-encoding").to_owned();
            let raw = decode(&encoding, &response.bytes().await.unwrap());
            assert_eq!(
                hex::encode(Sha256::digest(&raw)),
                asset["sha256"].as_str().unwrap(),
                "{logical} sent as {encoding:?}"
            );
        }
    }
}

// ---- caching (task 3) ----

#[tokio::test]
async fn hashed_files_are_immutable_for_a_year() {
    let server = Server::start().await;
    for logical in [
        "inspector.wasm",
        "inspector.wasm_exec.js",
        "frontend_bg.wasm",
        "frontend.js",
    ] {
        let response = server.get(&asset_path(logical), &[]).await;
        assert_eq!(
            h(response.headers(), "cache-control"),
            IMMUTABLE,
            "{logical}"
        );
    }
}

#[tokio::test]
async fn html_and_manifest_must_revalidate() {
    let server = Server::start().await;
    for path in ["/", "/index.html", "/manifest.json"] {
        let response = server.get(path, &[]).await;
        assert_eq!(h(response.headers(), "cache-control"), "no-cache", "{path}");
        assert!(
            !h(response.headers(), "etag").is_empty(),
            "{path} has an ETag"
        );
    }
}

#[tokio::test]
async fn a_missing_hashed_name_is_a_404_never_cached_forever() {
    let server = Server::start().await;
    let response = server.get("/go/inspector.00000000.wasm", &[]).await;
    assert_eq!(response.status(), 404);
    assert!(!h(response.headers(), "cache-control").contains("immutable"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn etags_are_strong_and_differ_per_encoding() {
    let server = Server::start().await;
    let mut etags = Vec::new();
    for accept in ["br", "gzip", "identity"] {
        let response = server.get(&go_wasm(), &[("accept-encoding", accept)]).await;
        let etag = h(response.headers(), "etag").to_owned();
        assert!(etag.starts_with('"'), "strong ETag: {etag}");
        etags.push(etag);
    }
    etags.dedup();
    assert_eq!(etags.len(), 3, "{etags:?}");
}

#[tokio::test]
async fn matching_if_none_match_gives_304_per_encoding_with_vary() {
    let server = Server::start().await;
    for accept in ["br", "gzip", "identity"] {
        let first = server.get(&go_wasm(), &[("accept-encoding", accept)]).await;
        let etag = h(first.headers(), "etag").to_owned();
        let second = server
            .get(
                &go_wasm(),
                &[("accept-encoding", accept), ("if-none-match", &etag)],
            )
            .await;
        assert_eq!(second.status(), 304, "{accept}");
        assert_eq!(h(second.headers(), "etag"), etag);
        assert_eq!(h(second.headers(), "vary"), "accept-encoding");
        assert!(second.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn another_encodings_etag_does_not_validate() {
    let server = Server::start().await;
    let br = server.get(&go_wasm(), &[("accept-encoding", "br")]).await;
    let br_etag = h(br.headers(), "etag").to_owned();
    let gzip = server
        .get(
            &go_wasm(),
            &[("accept-encoding", "gzip"), ("if-none-match", &br_etag)],
        )
        .await;
    assert_eq!(gzip.status(), 200);
    assert_eq!(h(gzip.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn html_revalidates_with_304() {
    let server = Server::start().await;
    let first = server.get("/", &[("accept-encoding", "br")]).await;
    let etag = h(first.headers(), "etag").to_owned();
    let second = server
        .get("/", &[("accept-encoding", "br"), ("if-none-match", &etag)])
        .await;
    assert_eq!(second.status(), 304);
    assert_eq!(h(second.headers(), "cache-control"), "no-cache");
}

// ---- HEAD and Range ----

#[tokio::test]
async fn head_sends_the_get_headers_without_a_body() {
    let server = Server::start().await;
    let get = server.get(&go_wasm(), &[("accept-encoding", "br")]).await;
    let head = server
        .request(
            reqwest::Method::HEAD,
            &go_wasm(),
            &[("accept-encoding", "br")],
        )
        .await;
    assert_eq!(head.status(), 200);
    for name in [
        "content-type",
        "content-encoding",
        "content-length",
        "etag",
        "vary",
        "cache-control",
    ] {
        assert_eq!(h(head.headers(), name), h(get.headers(), name), "{name}");
    }
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn range_on_identity_returns_the_exact_slice() {
    let server = Server::start().await;
    let size = manifest()["assets"]["inspector.wasm"]["size"]
        .as_u64()
        .unwrap();
    let response = server.get(&go_wasm(), &[("range", "bytes=0-7")]).await;
    assert_eq!(response.status(), 206);
    assert_eq!(
        h(response.headers(), "content-range"),
        format!("bytes 0-7/{size}")
    );
    assert_eq!(&response.bytes().await.unwrap()[..], b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn range_is_ignored_on_compressed_responses() {
    let server = Server::start().await;
    let response = server
        .get(
            &go_wasm(),
            &[("range", "bytes=0-7"), ("accept-encoding", "br")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-encoding"), "br");
}

#[tokio::test]
async fn range_past_the_end_is_a_typed_416() {
    let server = Server::start().await;
    let size = manifest()["assets"]["inspector.wasm"]["size"]
        .as_u64()
        .unwrap();
    let response = server
        .get(&go_wasm(), &[("range", &format!("bytes={size}-"))])
        .await;
    assert_eq!(response.status(), 416);
    assert_eq!(
        h(response.headers(), "content-range"),
        format!("bytes */{size}")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "range_not_satisfiable");
}

// ---- robustness ----

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
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
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

// ---- headers of the document ----

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

#[tokio::test]
async fn api_assets_serves_the_size_report() {
    let server = Server::start().await;
    let response = server.get("/api/assets", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-type"), "application/json");
    let report: serde_json::Value = response.json().await.unwrap();
    assert!(
        report["floor"]["raw"].as_u64().unwrap() > 1_000_000,
        "Go runtime floor"
    );
    assert!(report["variants"].as_array().unwrap().len() >= 3);
    let go = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"].as_str().unwrap().starts_with("inspector.wasm "))
        .expect("the Go module is in the report");
    assert!(go["brotli"].as_u64().unwrap() < go["raw"].as_u64().unwrap());
}
