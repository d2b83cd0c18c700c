//! Loading the Go module: the shim, the streamed fetch, compilation in one of
//! three [`LoadMode`]s, and the Go runtime's start, once per page.

use std::rc::Rc;

use futures::FutureExt as _;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, WebAssembly};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::bytes::JsBytes;
use super::js::{describe, get, header_u64, mark, measure, now};
use crate::once::OnceGuard;
use crate::progress::{Progress, decoded_total};

/// How the module is downloaded and compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadMode {
    /// Ours: `instantiateStreaming` on the real response (streaming compile,
    /// code cache) while progress is counted on `response.clone()`.
    StreamingWithProgress,
    /// The seed's: read the body into a buffer, then `WebAssembly.instantiate`.
    BufferedWithProgress,
    /// `instantiateStreaming` alone, no progress (the benchmark's baseline).
    StreamingOnly,
}

impl LoadMode {
    /// Stable identifier (used in the page and by the benchmark).
    pub fn id(self) -> &'static str {
        match self {
            Self::StreamingWithProgress => "streaming",
            Self::BufferedWithProgress => "buffered",
            Self::StreamingOnly => "streaming-only",
        }
    }

    /// Parses [`Self::id`].
    pub fn from_id(id: &str) -> Option<Self> {
        [
            Self::StreamingWithProgress,
            Self::BufferedWithProgress,
            Self::StreamingOnly,
        ]
        .into_iter()
        .find(|m| m.id() == id)
    }
}

/// Where the Go module and its shim are (from the manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAsset {
    /// Hashed URL of the `.wasm`.
    pub wasm_url: String,
    /// Hashed URL of the matching `wasm_exec.js`.
    pub shim_url: String,
    /// Decoded size of the `.wasm` (the progress total).
    pub decoded_size: Option<u64>,
}

/// A running Go module.
#[derive(Debug, Clone)]
pub struct LoadedGo {
    /// The module's bytes (kept so the inspector can look at its own module
    /// without a second request).
    pub bytes: JsBytes,
    /// How it was loaded.
    pub mode: LoadMode,
    /// Load start (shim injection, fetch, compile, Go runtime start) →
    /// the program said it is ready, in milliseconds.
    pub load_ms: f64,
}

/// Why loading failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The network request failed.
    #[error("fetching {url} failed: {message}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// The browser's message.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Http {
        /// What was fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// `wasm_exec.js` could not be loaded or defined no `Go` class.
    #[error("the Go shim could not be loaded: {0}")]
    Shim(String),
    /// Compiling or instantiating the module failed.
    #[error("WebAssembly rejected the module: {0}")]
    Instantiate(String),
    /// The Go program exited before it said it was ready.
    #[error("the Go program exited before it was ready")]
    ExitedEarly,
}

thread_local! {
    static GO: Rc<OnceGuard<LoadedGo, LoadError>> = Rc::default();
}

/// Loads and starts the Go module once per page: concurrent and later calls
/// share the first load; after a failure the next call retries.
/// `on_progress` of the call that starts the load receives its progress.
pub async fn load_go_once(
    asset: GoAsset,
    mode: LoadMode,
    on_progress: impl Fn(Progress) + 'static,
) -> Result<LoadedGo, LoadError> {
    let on_progress: Rc<dyn Fn(Progress)> = Rc::new(on_progress);
    let guard = GO.with(Rc::clone);
    guard
        .get_or_start(move || load_go(asset, mode, on_progress))
        .await
}

async fn load_go(
    asset: GoAsset,
    mode: LoadMode,
    on_progress: Rc<dyn Fn(Progress)>,
) -> Result<LoadedGo, LoadError> {
    let started = now();
    mark("wip:go:start");
    ensure_shim(&asset.shim_url).await?;
    let go = new_go()?;
    let imports: Object = Reflect::get(&go, &"importObject".into())
        .map_err(|e| LoadError::Shim(describe(&e)))?
        .unchecked_into();

    let response = fetch(&asset.wasm_url).await?;
    let total = decoded_total(
        asset.decoded_size,
        header_u64(&response, "content-length"),
        response
            .headers()
            .get("content-encoding")
            .ok()
            .flatten()
            .as_deref(),
    );
    // One UI update per whole percent (or per 256 KiB when the total is
    // unknown), not per network chunk: re-rendering on every chunk costs
    // more main-thread time than the download itself.
    let last_step = std::cell::Cell::new(None::<u64>);
    let report = move |received: u64| {
        let progress = Progress {
            received,
            total,
            elapsed_ms: now() - started,
        };
        let step = match progress.percent() {
            Some(p) => u64::from(p),
            None => received / (256 * 1024),
        };
        if last_step.replace(Some(step)) != Some(step) {
            on_progress(progress);
        }
    };

    let (instance, bytes) = instantiate_response(response, mode, &imports, &report).await?;

    run_until_ready(&go, &instance).await?;
    mark("wip:go:ready");
    measure("wip:go:load", "wip:go:start", "wip:go:ready");
    Ok(LoadedGo {
        bytes,
        mode,
        load_ms: now() - started,
    })
}

/// Compiles and instantiates the module of `response` in `mode`, counting
/// received bytes through `report` in the modes that read the body. Returns
/// the instance and the bytes read (none in [`LoadMode::StreamingOnly`]).
pub(super) async fn instantiate_response(
    response: web_sys::Response,
    mode: LoadMode,
    imports: &Object,
    report: &dyn Fn(u64),
) -> Result<(JsValue, JsBytes), LoadError> {
    match mode {
        LoadMode::BufferedWithProgress => {
            let bytes = read_body(&response, report).await?;
            let result = JsFuture::from(instantiate_buffer(&bytes.joined(), imports)?)
                .await
                .map_err(|e| LoadError::Instantiate(describe(&e)))?;
            Ok((get(&result, "instance"), bytes))
        }
        LoadMode::StreamingWithProgress => {
            let counted = response
                .clone()
                .map_err(|e| LoadError::Instantiate(describe(&e)))?;
            let compile = JsFuture::from(WebAssembly::instantiate_streaming(
                &Promise::resolve(&response),
                imports,
            ));
            let (compiled, bytes) = futures::join!(compile, read_body(&counted, report));
            let result = compiled.map_err(|e| LoadError::Instantiate(describe(&e)))?;
            Ok((get(&result, "instance"), bytes?))
        }
        LoadMode::StreamingOnly => {
            let result = JsFuture::from(WebAssembly::instantiate_streaming(
                &Promise::resolve(&response),
                imports,
            ))
            .await
            .map_err(|e| LoadError::Instantiate(describe(&e)))?;
            Ok((get(&result, "instance"), JsBytes::default()))
        }
    }
}

/// Starts `go.run(instance)` and waits for the program to call
/// `globalThis.__goReady()`; fails if the program exits first.
async fn run_until_ready(go: &JsValue, instance: &JsValue) -> Result<(), LoadError> {
    let global = js_sys::global();
    let ready = Promise::new(&mut |resolve, _reject| {
        let _ = Reflect::set(&global, &"__goReady".into(), &resolve);
    });
    let run: Function = get(go, "run").unchecked_into();
    let exited = run
        .call1(go, instance)
        .map_err(|e| LoadError::Instantiate(describe(&e)))?;
    let exited: Promise = exited.unchecked_into();
    futures::select! {
        _ = JsFuture::from(ready).fuse() => Ok(()),
        _ = JsFuture::from(exited).fuse() => Err(LoadError::ExitedEarly),
    }
}

/// Injects `<script src=shim>` unless a `Go` class already exists.
pub(super) async fn ensure_shim(url: &str) -> Result<(), LoadError> {
    if get(&js_sys::global(), "Go").is_function() {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| LoadError::Shim("no document".into()))?;
    let script: web_sys::HtmlScriptElement = document
        .create_element("script")
        .map_err(|e| LoadError::Shim(describe(&e)))?
        .unchecked_into();
    script.set_src(url);
    let loaded = Promise::new(&mut |resolve, reject| {
        script.set_onload(Some(&resolve));
        script.set_onerror(Some(&reject));
    });
    document
        .head()
        .ok_or_else(|| LoadError::Shim("no <head>".into()))?
        .append_child(&script)
        .map_err(|e| LoadError::Shim(describe(&e)))?;
    JsFuture::from(loaded)
        .await
        .map_err(|_| LoadError::Shim(format!("{url} did not load")))?;
    if get(&js_sys::global(), "Go").is_function() {
        Ok(())
    } else {
        Err(LoadError::Shim(format!("{url} defined no Go class")))
    }
}

pub(super) fn new_go() -> Result<JsValue, LoadError> {
    let class: Function = get(&js_sys::global(), "Go").unchecked_into();
    Reflect::construct(&class, &Array::new()).map_err(|e| LoadError::Shim(describe(&e)))
}

pub(super) async fn fetch(url: &str) -> Result<web_sys::Response, LoadError> {
    let window = web_sys::window().ok_or_else(|| LoadError::Fetch {
        url: url.into(),
        message: "no window".into(),
    })?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| LoadError::Fetch {
            url: url.into(),
            message: describe(&e),
        })?
        .unchecked_into();
    if !response.ok() {
        return Err(LoadError::Http {
            url: url.into(),
            status: response.status(),
        });
    }
    Ok(response)
}

/// `WebAssembly.instantiate(bytes, imports)` on a JS-side buffer (js-sys
/// only offers it for a Rust slice, which would copy the module twice).
fn instantiate_buffer(bytes: &Uint8Array, imports: &Object) -> Result<Promise, LoadError> {
    let webassembly = get(&js_sys::global(), "WebAssembly");
    let instantiate: Function = get(&webassembly, "instantiate").unchecked_into();
    instantiate
        .call2(&webassembly, bytes, imports)
        .map(JsValue::unchecked_into)
        .map_err(|e| LoadError::Instantiate(describe(&e)))
}

/// Reads a body chunk by chunk, reporting decoded bytes received. The chunks
/// stay in JavaScript.
async fn read_body(
    response: &web_sys::Response,
    report: &dyn Fn(u64),
) -> Result<JsBytes, LoadError> {
    let fail = |e: JsValue| LoadError::Fetch {
        url: response.url(),
        message: describe(&e),
    };
    let body = response.body().ok_or_else(|| fail("empty body".into()))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = JsBytes::default();
    report(0);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(fail)?;
        if get(&chunk, "done").as_bool().unwrap_or(true) {
            break;
        }
        bytes.push(&get(&chunk, "value").unchecked_into());
        report(bytes.len());
    }
    Ok(bytes)
}

/// Seed task 1: `WebAssembly.instantiateStreaming(fetch(url), goImports)`.
/// `Ok` with a summary when the browser accepts the response, `Err` with the
/// browser's own message when it rejects it (e.g. a wrong MIME type).
pub async fn try_instantiate_streaming(url: &str, shim_url: &str) -> Result<String, String> {
    ensure_shim(shim_url).await.map_err(|e| e.to_string())?;
    let go = new_go().map_err(|e| e.to_string())?;
    let imports: Object = get(&go, "importObject").unchecked_into();
    let window = web_sys::window().ok_or("no window")?;
    let result = JsFuture::from(WebAssembly::instantiate_streaming(
        &window.fetch_with_str(url),
        &imports,
    ))
    .await
    .map_err(|e| describe(&e))?;
    let module = get(&result, "module");
    let exports = WebAssembly::Module::exports(&module.unchecked_into());
    Ok(format!(
        "instantiated: {} exports, content-type accepted",
        exports.length()
    ))
}
