//! Asset delivery against the real server on port 0 over the site that
//! `cargo xtask build` produced (seed tasks 1, 2, 3 and 5). The client never
//! decompresses: every test sees the exact bytes and headers on the wire.
//!
//! One test binary (linking the server once), one module per concern; this
//! file holds the fixtures they share.

mod caching;
mod content_types;
mod hardening;
mod negotiation;
mod ranges;
mod size_report;

use std::io::Read as _;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use server::testing::RunningServer;
use server::{AppState, Config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wire::{ErrorBody, Manifest, ManifestAsset};

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

/// The built site's `manifest.json`.
fn manifest() -> Manifest {
    serde_json::from_slice(&std::fs::read(site_dir().join("manifest.json")).unwrap()).unwrap()
}

/// The manifest entry with this logical name, e.g. `asset("inspector.wasm")`.
fn asset(logical: &str) -> ManifestAsset {
    manifest()
        .asset(logical)
        .unwrap_or_else(|| panic!("{logical} missing from the manifest"))
        .clone()
}

/// URL path of a manifest entry, e.g. `asset_path("inspector.wasm")`.
fn asset_path(logical: &str) -> String {
    asset(logical).path
}

/// The Go module's manifest entry.
fn go_module() -> ManifestAsset {
    asset("inspector.wasm")
}

/// URL path of the Go module.
fn go_wasm() -> String {
    go_module().path
}

/// The server over the built site, with a client that never decompresses.
struct Server {
    running: RunningServer,
    client: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(Config::with_assets_dir(site_dir())).await
    }

    async fn start_with(config: Config) -> Self {
        let state = AppState::new(config).expect("load the built site");
        let running = server::testing::spawn(state).await.expect("bind port 0");
        // reqwest without its gzip/brotli features never decompresses.
        let client = reqwest::Client::builder().build().unwrap();
        Self { running, client }
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
            .request(method, format!("{}{path}", self.running.url()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Sends `target` exactly as written (no client-side URL normalisation),
    /// returning the status code.
    async fn raw_status(&self, target: &str) -> u16 {
        let mut stream = tokio::net::TcpStream::connect(self.running.addr())
            .await
            .unwrap();
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

/// A header's value, or `""` when absent.
fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// The `code` of an error response's JSON body.
async fn error_code(response: reqwest::Response) -> String {
    let body: ErrorBody = response.json().await.expect("an error body");
    body.error.code
}

/// The identity bytes of a body sent with `encoding` (`""` for identity).
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
