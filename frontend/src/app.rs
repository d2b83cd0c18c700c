//! The root component: the app shell.

use leptos::prelude::*;

use crate::components::task_list::TaskList;

/// The whole page: header, what the app demonstrates, and the task catalogue.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <header class="shell-header">
            <h1 id="app-title">"Wasm in Production"</h1>
            <p class="tagline">
                "A reference implementation in Rust: Go WebAssembly delivered to the browser the way a CDN origin should, "
                "and untrusted Go guests run on the server in a wasmtime sandbox."
            </p>
        </header>
        <main>
            <TaskList/>
        </main>
        <footer class="shell-footer">
            <p>"Open DevTools → Network: nothing below is downloaded until you ask for it."</p>
        </footer>
    }
}
