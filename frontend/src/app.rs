//! The root component: the app shell, and the panels once the manifest is in.

use leptos::prelude::*;

use crate::api::fetch_manifest;
use crate::components::go_module::GoModulePanel;
use crate::components::sandbox_dashboard::SandboxDashboard;
use crate::components::size_table::SizeTable;
use crate::components::task_list::TaskList;
use crate::components::wrong_mime::WrongMimeDemo;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let manifest = LocalResource::new(fetch_manifest);
    view! {
        <header class="shell-header">
            <h1 id="app-title">"Wasm in Production"</h1>
            <p class="tagline">
                "A reference implementation in Rust: Go WebAssembly delivered to the browser the way a CDN origin should, "
                "and untrusted Go guests run on the server in a wasmtime sandbox."
            </p>
        </header>
        <main>
            {move || match manifest.get() {
                None => view! { <p id="manifest-loading">"loading manifest…"</p> }.into_any(),
                Some(Err(e)) => view! { <p id="manifest-error" class="error">{e}</p> }.into_any(),
                Some(Ok(m)) => {
                    provide_context(m.clone());
                    view! {
                        <p class="go-version">{format!("Go module built by {}", m.go.version)}</p>
                        <GoModulePanel manifest=m.clone() />
                        <WrongMimeDemo manifest=m />
                    }.into_any()
                }
            }}
            <SizeTable />
            <SandboxDashboard />
            <TaskList/>
        </main>
        <footer class="shell-footer">
            <p>"Open DevTools → Network: the Go module is not downloaded until you ask for it."</p>
        </footer>
    }
}
