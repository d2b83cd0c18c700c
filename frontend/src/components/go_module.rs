//! Seed tasks 6 and 7: the Go module loads on the first click only, once,
//! with a spinner and a streamed progress bar, in the chosen mode; then the
//! Go inspector does its work in the page.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{GO_MODULE, Manifest, go_asset};
use crate::components::inspector_view::InspectorView;
use crate::go_wasm::{LoadMode, LoadedGo, load_go_once};
use crate::progress::Progress;

#[derive(Debug, Clone)]
enum LoadState {
    Idle,
    Loading,
    Ready(LoadedGo),
    Failed(String),
}

/// The mode named by `?mode=` in the page URL (the benchmark uses it), else ours.
fn initial_mode() -> LoadMode {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| {
            q.trim_start_matches('?')
                .split('&')
                .find_map(|kv| kv.strip_prefix("mode="))
                .and_then(LoadMode::from_id)
        })
        .unwrap_or(LoadMode::StreamingWithProgress)
}

/// Load button, mode choice, spinner, progress bar, timing, inspector.
#[component]
pub fn GoModulePanel(manifest: Manifest) -> impl IntoView {
    let asset = go_asset(&manifest, GO_MODULE);
    let (mode, set_mode) = signal(initial_mode());
    let (state, set_state) = signal(LoadState::Idle);
    let (progress, set_progress) = signal(None::<Progress>);
    let (log, set_log) = signal(Vec::<String>::new());

    let load = move |_| {
        let Some(asset) = asset.clone() else {
            set_state.set(LoadState::Failed("the manifest lists no Go module".into()));
            return;
        };
        if !matches!(state.get_untracked(), LoadState::Loading) {
            set_state.set(LoadState::Loading);
        }
        let chosen = mode.get_untracked();
        spawn_local(async move {
            let result = load_go_once(asset, chosen, move |p: Progress| {
                set_progress.set(Some(p));
                let point = p
                    .percent()
                    .map_or_else(|| p.received.to_string(), |v| v.to_string());
                set_log.update(|l| l.push(point));
            })
            .await;
            set_state.set(match result {
                Ok(go) => LoadState::Ready(go),
                Err(e) => LoadState::Failed(e.to_string()),
            });
        });
    };

    let loading = move || matches!(state.get(), LoadState::Loading);
    let ready = move || matches!(state.get(), LoadState::Ready(_));
    let mode_radio = move |m: LoadMode, label: &'static str| {
        view! {
            <label>
                <input type="radio" name="load-mode" value=m.id()
                    prop:checked=move || mode.get() == m
                    prop:disabled=move || loading() || ready()
                    on:change=move |_| set_mode.set(m) />
                {label}
            </label>
        }
    };

    view! {
        <section id="go-module" class="panel">
            <h2>"Go module on demand (tasks 6, 7)"</h2>
            <p>"Nothing of the Go module or its shim is downloaded until you click. "
               "Open DevTools → Network and watch."</p>
            <fieldset class="modes">
                <legend>"Loading mode"</legend>
                {mode_radio(LoadMode::StreamingWithProgress, "instantiateStreaming + progress on response.clone() (ours)")}
                {mode_radio(LoadMode::BufferedWithProgress, "read into a buffer, then WebAssembly.instantiate (the seed's)")}
                {mode_radio(LoadMode::StreamingOnly, "instantiateStreaming alone (no progress)")}
            </fieldset>
            <button id="load-go" on:click=load prop:disabled=loading>
                {move || if ready() { "Go module loaded" } else { "Load the Go inspector" }}
            </button>
            <Show when=loading>
                <span id="go-spinner" class="spinner" role="status" aria-label="loading"></span>
            </Show>
            <ProgressBar progress=progress log=log />
            <LoadOutcome state=state />
        </section>
    }
}

/// The load's outcome: the error, or the timing and the inspector.
#[component]
fn LoadOutcome(state: ReadSignal<LoadState>) -> impl IntoView {
    move || match state.get() {
        LoadState::Idle | LoadState::Loading => ().into_any(),
        LoadState::Failed(message) => view! {
            <p id="go-error" class="error">{message}" "
                <span>"(click again to retry)"</span></p>
        }
        .into_any(),
        LoadState::Ready(go) => {
            let ms = go.load_ms;
            view! {
                <p id="go-ready" data-mode=go.mode.id() data-load-ms=format!("{ms:.1}")>
                    {format!("Ready in {ms:.0} ms (shim + fetch + compile + Go start), mode: {}.", go.mode.id())}
                </p>
                <p class="tradeoff">
                    {format!(
                        "The seed's buffered mode gives exact progress but compiles only after the last byte, \
                         losing streaming compilation and the browser's compiled-code cache; ours keeps \
                         instantiateStreaming on the response and counts bytes on a clone, so progress costs \
                         one extra read of the stream. This load took {ms:.0} ms; `cargo xtask bench browser` \
                         compares the modes side by side."
                    )}
                </p>
                <InspectorView go=go />
            }.into_any()
        }
    }
}

/// The progress bar: determinate against the decoded total, else indeterminate.
#[component]
fn ProgressBar(
    progress: ReadSignal<Option<Progress>>,
    log: ReadSignal<Vec<String>>,
) -> impl IntoView {
    move || {
        progress.get().map(|p| {
            let percent = p.percent();
            let text = match p.total {
                Some(total) => format!(
                    "{} / {} bytes ({}%), {:.1} MB/s",
                    p.received,
                    total,
                    percent.unwrap_or(0),
                    p.mb_per_s()
                ),
                None => format!("{} bytes, {:.1} MB/s", p.received, p.mb_per_s()),
            };
            view! {
                <div class="progress">
                    <progress id="go-progress" max="100"
                        value=percent.map(|v| v.to_string())
                        data-history=move || log.get().join(",")></progress>
                    <span id="go-progress-text">{text}</span>
                </div>
            }
        })
    }
}
