//! Seed task 1: the MIME type is load-bearing. The same module bytes,
//! served once as `application/wasm` and once as `text/plain`, through
//! `WebAssembly.instantiateStreaming`.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{GO_MODULE, Manifest, go_asset};
use crate::go_wasm::try_instantiate_streaming;

/// Two buttons and what the browser said.
#[component]
pub fn WrongMimeDemo(manifest: Manifest) -> impl IntoView {
    let asset = go_asset(&manifest, GO_MODULE);
    let (right, set_right) = signal(None::<Result<String, String>>);
    let (wrong, set_wrong) = signal(None::<Result<String, String>>);
    let attempt =
        move |url: String, shim: String, set: WriteSignal<Option<Result<String, String>>>| {
            spawn_local(async move { set.set(Some(try_instantiate_streaming(&url, &shim).await)) });
        };
    let (a1, a2) = (asset.clone(), asset);
    let show = |r: Option<Result<String, String>>| match r {
        None => String::new(),
        Some(Ok(s)) => format!("✔ {s}"),
        Some(Err(e)) => format!("✘ {e}"),
    };
    view! {
        <section id="mime-demo" class="panel">
            <h2>"The MIME type is load-bearing (task 1)"</h2>
            <div class="mime-row">
                <button id="mime-right" on:click=move |_| if let Some(a) = a1.clone() {
                    attempt(a.wasm_url, a.shim_url, set_right)
                }>"instantiateStreaming(application/wasm)"</button>
                <output id="mime-right-result">{move || show(right.get())}</output>
            </div>
            <div class="mime-row">
                <button id="mime-wrong" on:click=move |_| if let Some(a) = a2.clone() {
                    attempt(format!("/demo/wrong-mime/{GO_MODULE}.wasm"), a.shim_url, set_wrong)
                }>"instantiateStreaming(text/plain)"</button>
                <output id="mime-wrong-result">{move || show(wrong.get())}</output>
            </div>
        </section>
    }
}
