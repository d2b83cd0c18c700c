//! The Go inspector (`globalThis.wipInspector`, set up by the Go program
//! through `syscall/js`) and the bytes it is given to inspect.

use js_sys::Function;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use super::bytes::JsBytes;
use super::js::{describe, get};
use super::loader::{LoadError, fetch};

/// Runs the Go inspector (loaded by [`super::load_go_once`]) on `bytes`; returns its JSON.
pub fn inspect_wasm(bytes: &JsBytes) -> Result<String, String> {
    let inspector = get(&js_sys::global(), "wipInspector");
    let inspect = get(&inspector, "inspect");
    let inspect: &Function = inspect.dyn_ref().ok_or("the Go inspector is not loaded")?;
    let out = inspect
        .call1(&inspector, &bytes.joined())
        .map_err(|e| describe(&e))?;
    out.as_string()
        .ok_or_else(|| "the inspector returned no string".to_owned())
}

/// Fetches any URL's bytes (for inspecting another module).
pub async fn fetch_bytes(url: &str) -> Result<JsBytes, LoadError> {
    let response = fetch(url).await?;
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| LoadError::Fetch {
        url: url.into(),
        message: describe(&e),
    })?)
    .await
    .map_err(|e| LoadError::Fetch {
        url: url.into(),
        message: describe(&e),
    })?;
    Ok(JsBytes::from_buffer(&buffer))
}

/// Reads a user-chosen file.
pub async fn read_file(file: &web_sys::File) -> Result<JsBytes, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| describe(&e))?;
    Ok(JsBytes::from_buffer(&buffer))
}
