//! The app's side of the server's JSON: fetches of `manifest.json` (where
//! the hashed files are; nothing in the app hard-codes a hashed name),
//! `/api/assets` (the size report), the registry (`/api/plugins`, activate,
//! rollback), a plugin's status with its canary rollout (`/api/plugins/{name}`),
//! `/api/invoke`, `/api/stats` and a demo server's credentials (`/api/demo`).
//! Every body is a [`wire`] type, shared with the server and xtask; error
//! answers are read as [`wire::ErrorBody`].

use serde::Deserialize;

pub use wire::manifest::{APP_WASM, Manifest, ManifestAsset};
pub use wire::{
    ActivateRequest, Activation, Decision, DecisionKind, DemoKeys, DemoTenant, ErrorBody,
    PluginInfo, PluginList, PluginStatus, Rollout, SideStats, SizeReport, SizeRow, StatRow,
};

use crate::go_wasm::GoAsset;

/// The lesson panels' calls: `/api/run` with its headers, `/api/lessons/…`,
/// plain GETs as the page saw them.
pub mod lessons;

/// The Go browser program, as the manifest names its pair.
pub const GO_MODULE: &str = wire::manifest::GO_BROWSER_PROGRAM;

/// Parses `manifest.json`.
pub fn parse_manifest(json: &str) -> Result<Manifest, String> {
    serde_json::from_str(json).map_err(|e| format!("invalid manifest: {e}"))
}

/// Where the manifest says Go program `program`'s module and shim are.
pub fn go_asset(manifest: &Manifest, program: &str) -> Option<GoAsset> {
    let wasm = manifest.asset(&wire::manifest::go_wasm_name(program))?;
    let shim = manifest.asset(&wire::manifest::go_shim_name(program))?;
    Some(GoAsset {
        wasm_url: wasm.path.clone(),
        shim_url: shim.path.clone(),
        decoded_size: Some(wasm.size),
    })
}

/// URL of the Leptos app's own wasm.
pub fn app_wasm_url(manifest: &Manifest) -> Option<&str> {
    manifest.path_of(APP_WASM)
}

/// What a failed answer says: the server's error code and message when the
/// body is an [`ErrorBody`], else the status alone.
pub fn failure_message(url: &str, status: u16, body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => {
            format!("{url}: HTTP {status} {}: {}", error.code, error.message)
        }
        Err(_) => format!("{url}: HTTP {status}"),
    }
}

async fn get_json<T: for<'de> Deserialize<'de>>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.ok() {
        let body = response.text().await.unwrap_or_default();
        return Err(failure_message(url, response.status(), &body));
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
    request: &ActivateRequest,
) -> Result<Reply, String> {
    send(
        gloo_net::http::Request::put(&format!("/api/plugins/{name}/active"))
            .header("authorization", &format!("Bearer {admin_token}"))
            .json(request),
    )
    .await
}

/// Fetches `/api/plugins`.
pub async fn fetch_plugins() -> Result<PluginList, String> {
    get_json("/api/plugins").await
}

/// Fetches `/api/plugins/{name}`: the name's activation, its rollout in
/// progress with live numbers, and its past decisions.
pub async fn fetch_plugin_status(name: &str) -> Result<PluginStatus, String> {
    get_json(&format!("/api/plugins/{name}")).await
}

/// Whether `target` (what the dashboard invokes) is a plugin name that
/// can have a status: not a digest (a call by digest is never routed), and
/// only characters that stand in a URL path segment as they are.
pub fn is_plugin_name(target: &str) -> bool {
    let digest = target.len() == 64 && target.bytes().all(|b| b.is_ascii_hexdigit());
    let plain = target
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    !target.is_empty() && plain && !digest && target != "." && target != ".."
}

/// Fetches `/api/stats`.
pub async fn fetch_stats() -> Result<Vec<StatRow>, String> {
    get_json("/api/stats").await
}

/// Fetches the credentials a demo server generated (`cargo xtask run`); a
/// server with production credentials answers 404 and the page leaves its
/// fields empty.
pub async fn fetch_demo() -> Result<DemoKeys, String> {
    get_json(wire::demo::DEMO_PATH).await
}
