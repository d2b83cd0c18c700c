//! Every piece of JavaScript interop behind a safe Rust API, so components
//! never see a `JsValue`:
//!
//! - [`loader`]: the Go shim (`wasm_exec.js`), the streamed `fetch`,
//!   `WebAssembly.instantiateStreaming`/`instantiate`, the Go runtime's start
//!   and readiness, performance marks; the wrong-MIME probe of seed task 1
//! - [`compare`]: one loading mode timed from fetch to instance, for the
//!   modes side by side
//! - [`inspector`]: the Go inspector's `syscall/js` entry point and the bytes
//!   it inspects (another URL, a chosen file)
//! - [`bytes`]: [`JsBytes`], module bytes that stay in JavaScript
//! - `js`: the small `Reflect`/`performance` helpers the others share

pub mod bytes;
pub mod compare;
pub mod inspector;
mod js;
pub mod loader;

pub use bytes::JsBytes;
pub use compare::{ModeTiming, time_instantiate};
pub use inspector::{fetch_bytes, inspect_wasm, read_file};
pub use loader::{GoAsset, LoadError, LoadMode, LoadedGo, load_go_once, try_instantiate_streaming};
