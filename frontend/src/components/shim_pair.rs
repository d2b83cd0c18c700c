//! Seed task 9: every Go module / `wasm_exec.js` pair the build produced,
//! one per pinned Go version, side by side as the manifest records them:
//! the toolchain, its GOROOT's shim hash, and the two content-hashed files,
//! with whether the served shim is that GOROOT's.

use leptos::prelude::*;

use crate::api::{Manifest, ManifestAsset};
use wire::GoPair;

fn row(role: &'static str, asset: Option<&ManifestAsset>) -> impl IntoView + use<> {
    match asset {
        Some(a) => view! {
            <tr class="pair-file" data-role=role>
                <td>{role}</td>
                <td class="path"><code>{a.path.clone()}</code></td>
                <td class="sha256"><code class="sha">{a.sha256.clone()}</code></td>
                <td class="bytes num">{a.size}</td>
            </tr>
        }
        .into_any(),
        None => view! {
            <tr class="pair-file missing" data-role=role><td>{role}</td><td colspan="3">"not in the manifest"</td></tr>
        }
        .into_any(),
    }
}

/// One pair: its Go version, its GOROOT's shim hash, its two files.
fn pair_card(manifest: &Manifest, pair: &GoPair) -> impl IntoView + use<> {
    let matches = manifest.serves_goroot_shim(pair);
    let role = if pair.loaded_by_app {
        " (loaded by this app)"
    } else {
        " (built beside it, not loaded)"
    };
    view! {
        <article class="go-pair" data-go=pair.go_version.clone()
            data-loaded=pair.loaded_by_app.to_string() data-shim-matches=matches.to_string()>
            <h3><span class="pair-go">{pair.go_version.clone()}</span>{role}</h3>
            <p>
                "GOROOT wasm_exec.js sha256 "
                <code class="sha goroot-shim">{pair.goroot_shim_sha256.clone()}</code>
                <span class="shim-verdict">
                    {if matches { " — the served shim is these bytes" } else { " — the served shim differs!" }}
                </span>
            </p>
            <table class="report pair-table">
                <thead><tr><th>""</th><th>"served as"</th><th>"sha256"</th><th>"bytes"</th></tr></thead>
                <tbody>
                    {row("module", manifest.pair_module(pair))}
                    {row("shim", manifest.pair_shim(pair))}
                </tbody>
            </table>
        </article>
    }
}

/// The pairs the build pinned together.
#[component]
pub fn ShimPair(manifest: Manifest) -> impl IntoView {
    let shims: Vec<&str> = manifest
        .go_pairs
        .iter()
        .map(|p| p.goroot_shim_sha256.as_str())
        .collect();
    let distinct = shims
        .iter()
        .enumerate()
        .all(|(i, a)| !shims[i + 1..].contains(a));
    let summary = match (shims.len(), distinct) {
        (0, _) => "This manifest records no pairs: rebuild with `cargo xtask build`.".to_owned(),
        (n, true) => {
            format!("{n} pairs, no two with the same shim: the shim follows the toolchain.")
        }
        (n, false) => format!("{n} pairs, but some share a shim."),
    };
    let cards: Vec<_> = manifest
        .go_pairs
        .iter()
        .map(|pair| pair_card(&manifest, pair))
        .collect();
    view! {
        <section id="shim-pair" class="panel">
            <h2>"The shim pinned to its module (task 9)"</h2>
            <p id="pair-summary">{summary}</p>
            <div id="go-pairs" class="go-pairs">{cards}</div>
            <p class="tradeoff">
                "Both names of a pair carry one hash, taken over module and shim, so a new Go version "
                "renames both and no cache can pair an old shim with a new module. `cargo xtask build` "
                "builds a pair with every pinned Go and fails if a served shim is not its GOROOT's or two "
                "pairs share one; `--go` picks the pair the app loads."
            </p>
        </section>
    }
}
