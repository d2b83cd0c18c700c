//! Seed task 7 on a real network: the three loading modes side by side on a
//! link a person picks. On loopback they are indistinguishable (the download
//! takes no time); on a slow link the buffered mode compiles only after the
//! last byte, while `instantiateStreaming` compiles as the bytes arrive.
//!
//! A page cannot throttle its own network, so the module comes from the
//! server's throttled lesson endpoint (`wire::network::THROTTLED_PREFIX`),
//! which sends the real asset answer paced to the profile.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::network::{DSL, NetworkProfile, PROFILES};

use crate::api::{GO_MODULE, Manifest, go_asset};
use crate::go_wasm::{LoadMode, ModeTiming, time_instantiate};

/// The modes in the order they run, baseline first.
const MODES: [(LoadMode, &str); 3] = [
    (LoadMode::StreamingOnly, "instantiateStreaming alone"),
    (
        LoadMode::StreamingWithProgress,
        "ours: instantiateStreaming + progress on a clone",
    ),
    (
        LoadMode::BufferedWithProgress,
        "seed's: buffer with progress, then instantiate",
    ),
];

#[derive(Debug, Clone, PartialEq)]
enum Run {
    Waiting,
    Running,
    Done(ModeTiming),
    Failed(String),
}

/// Profile picker, Run, and one row per mode: time, bytes, the link's floor.
#[component]
pub fn LoadingModes(manifest: Manifest) -> impl IntoView {
    let asset = go_asset(&manifest, GO_MODULE);
    let (profile, set_profile) = signal(DSL);
    let (runs, set_runs) = signal(Vec::<Run>::new());
    let (ran_on, set_ran_on) = signal(DSL);
    let running = move || {
        runs.get()
            .iter()
            .any(|r| matches!(r, Run::Waiting | Run::Running))
    };

    let run = move |_| {
        let Some(asset) = asset.clone() else {
            set_runs.set(vec![Run::Failed("the manifest lists no Go module".into())]);
            return;
        };
        let chosen = profile.get_untracked();
        set_ran_on.set(chosen);
        set_runs.set(vec![Run::Waiting; MODES.len()]);
        spawn_local(async move {
            let url = chosen.throttled_path(&asset.wasm_url);
            // One after the other: side by side in the table, not on the
            // link, so no mode shares the bandwidth or the cores.
            for (i, (mode, _)) in MODES.iter().enumerate() {
                set_runs.update(|r| r[i] = Run::Running);
                let outcome = match time_instantiate(&asset.shim_url, &url, *mode).await {
                    Ok(timing) => Run::Done(timing),
                    Err(e) => Run::Failed(e.to_string()),
                };
                set_runs.update(|r| r[i] = outcome);
            }
        });
    };

    let option = move |p: NetworkProfile| {
        view! { <option value=p.name selected=move || profile.get() == p>{p.label}</option> }
    };

    view! {
        <section id="loading-modes" class="panel">
            <h2>"The three loading modes on a slow link (task 7)"</h2>
            <p>"On loopback the modes take the same time: the download costs nothing. Pick a link: \
                the server sends the Go module as it always does (same type, encoding, ETag), \
                one round trip late and paced to the link's bandwidth. Each mode then fetches \
                and compiles it; the time runs from the fetch to a ready instance."</p>
            <label>"Network profile "
                <select id="throttle-profile"
                    prop:disabled=running
                    on:change=move |ev| {
                        if let Some(p) = NetworkProfile::by_name(&event_target_value(&ev)) {
                            set_profile.set(p);
                        }
                    }>
                    {PROFILES.map(option).to_vec()}
                </select>
            </label>
            " "
            <button id="run-modes" on:click=run prop:disabled=running>"Run the three modes"</button>
            {move || {
                let runs = runs.get();
                (!runs.is_empty()).then(|| view! { <ModeTable runs=runs profile=ran_on.get() /> })
            }}
        </section>
    }
}

#[component]
fn ModeTable(runs: Vec<Run>, profile: NetworkProfile) -> impl IntoView {
    let baseline = match runs.first() {
        Some(Run::Done(t)) => Some(t.ms),
        _ => None,
    };
    let rows = MODES
        .iter()
        .zip(runs)
        .map(|((mode, label), run)| mode_row(*mode, label, &run, profile, baseline))
        .collect::<Vec<_>>();
    view! {
        <table id="loading-modes-table" data-profile=profile.name>
            <thead><tr>
                <th>"mode"</th><th>"fetch → instance"</th><th>"bytes on the wire"</th>
                <th>"link floor"</th><th>"vs instantiateStreaming alone"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="tradeoff">"The floor is one round trip plus the bytes at the link's bandwidth: no mode \
            can beat it. Streaming compiles while the bytes arrive, so it ends soon after the floor; \
            the buffered mode starts compiling at the floor. `cargo xtask bench browser` measures the \
            same under DevTools throttling, with a warm second visit."</p>
    }
}

fn mode_row(
    mode: LoadMode,
    label: &'static str,
    run: &Run,
    profile: NetworkProfile,
    baseline: Option<f64>,
) -> impl IntoView + use<> {
    let cells = match run {
        Run::Waiting => (
            "waiting".to_owned(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Run::Running => (
            "running…".to_owned(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Run::Failed(message) => (message.clone(), String::new(), String::new(), String::new()),
        Run::Done(t) => {
            let bytes = t.wire_bytes.unwrap_or_default();
            (
                format!("{:.0} ms", t.ms),
                format!(
                    "{bytes} ({})",
                    t.content_encoding.as_deref().unwrap_or("identity")
                ),
                format!("{:.0} ms", profile.floor_ms(bytes)),
                baseline.map_or_else(String::new, |b| format!("{:.2}x", t.ms / b)),
            )
        }
    };
    let (ms, bytes, floor) = match run {
        Run::Done(t) => {
            let bytes = t.wire_bytes.unwrap_or_default();
            (
                format!("{:.1}", t.ms),
                bytes.to_string(),
                format!("{:.1}", profile.floor_ms(bytes)),
            )
        }
        _ => Default::default(),
    };
    let failed = matches!(run, Run::Failed(_));
    view! {
        <tr class="mode-row" class:error=failed data-mode=mode.id() data-ms=ms data-bytes=bytes
            data-floor-ms=floor>
            <td class="mode-label">{label}</td>
            <td class="time">{cells.0}</td>
            <td class="wire-bytes">{cells.1}</td>
            <td class="floor">{cells.2}</td>
            <td class="ratio">{cells.3}</td>
        </tr>
    }
}
