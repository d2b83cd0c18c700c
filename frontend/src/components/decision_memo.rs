//! Seed task 15: the decision memo (`docs/decision-memo.md`), rendered to
//! HTML by `frontend/build.rs` when the app is built, so the page shows the
//! memo of this very build with the numbers it cites.

use leptos::prelude::*;

/// The memo's HTML: the repository's own Markdown, no user input.
const MEMO_HTML: &str = include_str!(concat!(env!("OUT_DIR"), "/decision-memo.html"));

/// The memo as an article.
#[component]
pub fn DecisionMemo() -> impl IntoView {
    view! {
        <section id="memo" class="panel">
            <p class="tradeoff">
                "Task 15, rendered from docs/decision-memo.md when this app was built. "
                "Its numbers come from `cargo xtask bench isolation` on this project's 2-core machine."
            </p>
            <article id="memo-text" class="memo" inner_html=MEMO_HTML></article>
        </section>
    }
}
