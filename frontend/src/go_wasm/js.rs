//! `Reflect` and `performance` helpers shared by the loader and the inspector.

use js_sys::Reflect;
use wasm_bindgen::{JsCast as _, JsValue};

pub(super) fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub(super) fn header_u64(response: &web_sys::Response, name: &str) -> Option<u64> {
    response.headers().get(name).ok().flatten()?.parse().ok()
}

/// A JS error's message (`TypeError: …`), or its string form.
pub(super) fn describe(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", e.name(), e.message());
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

fn performance() -> Option<web_sys::Performance> {
    web_sys::window()?.performance()
}

/// `performance.now()` in milliseconds.
pub(super) fn now() -> f64 {
    performance().map(|p| p.now()).unwrap_or_default()
}

pub(super) fn mark(name: &str) {
    if let Some(p) = performance() {
        let _ = p.mark(name);
    }
}

pub(super) fn measure(name: &str, start: &str, end: &str) {
    if let Some(p) = performance() {
        let _ = p.measure_with_start_mark_and_end_mark(name, start, end);
    }
}
