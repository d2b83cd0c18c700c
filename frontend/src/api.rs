//! The server's JSON documents the app reads: `manifest.json` (where the
//! hashed files are; nothing in the app hard-codes a hashed name) and
//! `/api/assets` (the size report of seed task 2).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::go_wasm::GoAsset;

/// `manifest.json`, as written by `cargo xtask build`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Manifest {
    /// The toolchain behind the Go module.
    pub go: GoInfo,
    /// Logical name → served file.
    pub assets: BTreeMap<String, ManifestAsset>,
}

/// The Go toolchain of the build.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GoInfo {
    /// `go1.27.3`.
    pub version: String,
    /// sha256 of its `wasm_exec.js`.
    pub shim_sha256: String,
}

/// One served file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ManifestAsset {
    /// URL path.
    pub path: String,
    /// Raw size in bytes.
    pub size: u64,
    /// Brotli size, if a variant is served.
    pub brotli_size: Option<u64>,
    /// Gzip size, if a variant is served.
    pub gzip_size: Option<u64>,
}

/// Logical name of the Go browser module in the manifest.
pub const GO_MODULE: &str = "inspector";

impl Manifest {
    /// Parses the manifest's JSON.
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("invalid manifest: {e}"))
    }

    /// The Go module `program` and its shim.
    pub fn go_asset(&self, program: &str) -> Option<GoAsset> {
        let wasm = self.assets.get(&format!("{program}.wasm"))?;
        let shim = self.assets.get(&format!("{program}.wasm_exec.js"))?;
        Some(GoAsset {
            wasm_url: wasm.path.clone(),
            shim_url: shim.path.clone(),
            decoded_size: Some(wasm.size),
        })
    }

    /// URL of the Leptos app's own wasm.
    pub fn app_wasm_url(&self) -> Option<&str> {
        self.assets.get("frontend_bg.wasm").map(|a| a.path.as_str())
    }
}

pub use wire::{SizeReport, SizeRow, StatRow};

async fn get_json<T: for<'de> Deserialize<'de>>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

/// Fetches `/manifest.json`.
pub async fn fetch_manifest() -> Result<Manifest, String> {
    get_json("/manifest.json").await
}

/// Fetches `/api/assets`.
pub async fn fetch_size_report() -> Result<SizeReport, String> {
    get_json("/api/assets").await
}

/// The answer of an HTTP call the dashboard shows as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body text (the guest's output, or a JSON error).
    pub body: String,
    /// `x-guest-digest`, when a plugin ran.
    pub digest: Option<String>,
}

async fn send(request: Result<gloo_net::http::Request, gloo_net::Error>) -> Result<Reply, String> {
    let response = request
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Reply {
        status: response.status(),
        digest: response.headers().get("x-guest-digest"),
        body: response.text().await.map_err(|e| e.to_string())?,
    })
}

/// `POST /api/invoke/{target}` with a tenant key.
pub async fn invoke_plugin(target: &str, api_key: &str, input: &str) -> Result<Reply, String> {
    send(
        gloo_net::http::Request::post(&format!("/api/invoke/{target}"))
            .header("authorization", &format!("Bearer {api_key}"))
            .body(input.to_owned()),
    )
    .await
}

/// `PUT /api/plugins/{name}/active` with the admin token.
pub async fn set_active(
    name: &str,
    admin_token: &str,
    body: serde_json::Value,
) -> Result<Reply, String> {
    send(
        gloo_net::http::Request::put(&format!("/api/plugins/{name}/active"))
            .header("authorization", &format!("Bearer {admin_token}"))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// `GET /api/plugins`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginList {
    /// Stored modules.
    pub plugins: Vec<PluginMeta>,
    /// Name → activation.
    pub active: BTreeMap<String, Activation>,
}

/// A stored module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginMeta {
    /// sha256.
    pub digest: String,
    /// Plugin name.
    pub name: String,
    /// Version label.
    pub version: String,
    /// Bytes.
    pub size: u64,
}

/// A name's active digest and history.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Activation {
    /// Serving now.
    pub active: String,
    /// Previously active.
    pub history: Vec<String>,
}

/// Fetches `/api/plugins`.
pub async fn fetch_plugins() -> Result<PluginList, String> {
    get_json("/api/plugins").await
}

/// Fetches `/api/stats`.
pub async fn fetch_stats() -> Result<Vec<StatRow>, String> {
    get_json("/api/stats").await
}
