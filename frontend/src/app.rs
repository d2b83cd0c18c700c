//! The root component: the app shell, the manifest (fetched once for every
//! page), and one route per tier with stable URLs ([`wire::routes`]).

use leptos::prelude::*;
use leptos_router::StaticSegment;
use leptos_router::components::{A, Route, Router, Routes};

use crate::api::fetch_manifest;
use crate::pages::{EasyPage, HardPage, ManifestResource, MediumPage, MemoPage, Overview};
use wire::routes;

/// The pages in the navigation, in order.
const NAV: [(&str, &str); 5] = [
    (routes::HOME, "Overview"),
    (routes::EASY, "Easy · 1–4"),
    (routes::MEDIUM, "Medium · 5–9"),
    (routes::HARD, "Hard · 10–14"),
    (routes::MEMO, "Memo · 15"),
];

/// A route's path segment (`/easy` → `easy`).
fn segment(path: &'static str) -> StaticSegment<&'static str> {
    StaticSegment(path.trim_start_matches('/'))
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let manifest: ManifestResource = LocalResource::new(fetch_manifest);
    provide_context(manifest);
    view! {
        <Router>
            <header class="shell-header">
                <h1 id="app-title">"Wasm in Production"</h1>
                <p class="tagline">
                    "A reference implementation in Rust: Go WebAssembly delivered to the browser the way a CDN origin should, "
                    "and untrusted Go guests run on the server in a wasmtime sandbox."
                </p>
                <nav id="nav" class="tiers">
                    {NAV.into_iter().map(|(path, label)| view! { <A href=path exact=true>{label}</A> }).collect_view()}
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <p id="no-page">"No such page."</p> <Overview /> }>
                    <Route path=segment(routes::HOME) view=Overview />
                    <Route path=segment(routes::EASY) view=EasyPage />
                    <Route path=segment(routes::MEDIUM) view=MediumPage />
                    <Route path=segment(routes::HARD) view=HardPage />
                    <Route path=segment(routes::MEMO) view=MemoPage />
                </Routes>
            </main>
            <footer class="shell-footer">
                <p>"Open DevTools → Network: the Go module is not downloaded until you ask for it."</p>
            </footer>
        </Router>
    }
}
