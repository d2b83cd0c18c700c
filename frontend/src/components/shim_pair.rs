//! Seed task 9: the Go module and the `wasm_exec.js` it was built with, as
//! the build's manifest records them: one Go toolchain, one shim hash, both
//! files content-hashed.

use leptos::prelude::*;

use crate::api::{GO_MODULE, Manifest, ManifestAsset};

fn row(role: &'static str, asset: Option<&ManifestAsset>) -> impl IntoView + use<> {
    match asset {
        Some(a) => view! {
            <tr class="pair-file" data-role=role>
                <td>{role}</td>
                <td><code>{a.path.clone()}</code></td>
                <td><code class="sha">{a.sha256.clone()}</code></td>
                <td class="num">{a.size}</td>
            </tr>
        }
        .into_any(),
        None => view! {
            <tr class="pair-file missing" data-role=role><td>{role}</td><td colspan="3">"not in the manifest"</td></tr>
        }
        .into_any(),
    }
}

/// The pair the build pinned together.
#[component]
pub fn ShimPair(manifest: Manifest) -> impl IntoView {
    let wasm = manifest
        .asset(&wire::manifest::go_wasm_name(GO_MODULE))
        .cloned();
    let shim = manifest
        .asset(&wire::manifest::go_shim_name(GO_MODULE))
        .cloned();
    let shim_matches = shim
        .as_ref()
        .is_some_and(|s| s.sha256 == manifest.go.shim_sha256);
    view! {
        <section id="shim-pair" class="panel">
            <h2>"The shim pinned to its module (task 9)"</h2>
            <p>
                "Built by " <strong id="pair-go">{manifest.go.version.clone()}</strong>
                ". Its GOROOT's wasm_exec.js hashes to "
                <code id="pair-goroot-shim">{manifest.go.shim_sha256.clone()}</code>
                {if shim_matches { " — the very bytes served below." } else { " — the served shim differs!" }}
            </p>
            <table id="pair-table" class="report">
                <thead><tr><th>""</th><th>"served as"</th><th>"sha256"</th><th>"bytes"</th></tr></thead>
                <tbody>
                    {row("module", wasm.as_ref())}
                    {row("shim", shim.as_ref())}
                </tbody>
            </table>
            <p class="tradeoff">
                "Both names carry one hash, taken over the pair, so a new Go version renames both and no "
                "cache can pair an old shim with a new module. This build made one pair; "
                "`cargo xtask build --go 1.21.13` builds the other pinned Go, whose shim hash differs."
            </p>
        </section>
    }
}
