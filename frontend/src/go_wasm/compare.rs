//! The loading modes side by side (seed task 7 on a slow link): the module
//! fetched and instantiated in one [`LoadMode`], timed, through the very
//! code [`super::loader`] loads the Go program with. Nothing is cached
//! between runs and the Go program is not started: the timing ends when the
//! instance exists, which is where the modes differ.

use js_sys::Object;
use wasm_bindgen::JsCast as _;

use super::js::{get, header_u64, now};
use super::loader::{LoadError, LoadMode, ensure_shim, fetch, instantiate_response, new_go};

/// One mode's run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeTiming {
    /// The mode.
    pub mode: LoadMode,
    /// Fetch start → instance ready, in milliseconds.
    pub ms: f64,
    /// `Content-Length`: the body's bytes as sent (encoded).
    pub wire_bytes: Option<u64>,
    /// `Content-Encoding`, when the body was encoded.
    pub content_encoding: Option<String>,
}

/// Fetches `wasm_url` and compiles + instantiates it in `mode` with the Go
/// shim's imports (from `shim_url`, injected once per page), and times it.
pub async fn time_instantiate(
    shim_url: &str,
    wasm_url: &str,
    mode: LoadMode,
) -> Result<ModeTiming, LoadError> {
    ensure_shim(shim_url).await?;
    let imports: Object = get(&new_go()?, "importObject").unchecked_into();
    let started = now();
    let response = fetch(wasm_url).await?;
    let wire_bytes = header_u64(&response, "content-length");
    let content_encoding = response.headers().get("content-encoding").ok().flatten();
    instantiate_response(response, mode, &imports, &|_| {}).await?;
    Ok(ModeTiming {
        mode,
        ms: now() - started,
        wire_bytes,
        content_encoding,
    })
}
