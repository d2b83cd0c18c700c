//! Seed task 13, live: the server drives a heavy tenant beside two
//! well-behaved ones, first with its gate off, then on, while the panel
//! charts the well-behaved p99 per window with the phases marked. Starting
//! a run takes the admin token (pre-filled from `/api/demo` on a demo
//! server).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::chart::{HEIGHT, WIDTH, polyline_points, scale, x_of};
use crate::api::fetch_demo;
use crate::api::lessons::{
    FAIRNESS_DEFAULT_SECONDS, FairnessRun, FairnessWindow, fetch_fairness, start_fairness,
};

/// How often a running run is read.
const POLL: Duration = Duration::from_millis(500);

/// The form, the chart and the per-phase table.
#[component]
pub fn NoisyNeighbour() -> impl IntoView {
    let (admin_token, set_admin_token) = signal(String::new());
    let (seconds, set_seconds) = signal(FAIRNESS_DEFAULT_SECONDS);
    let (run, set_run) = signal(None::<FairnessRun>);
    let (error, set_error) = signal(None::<String>);
    let (polling, set_polling) = signal(false);

    spawn_local(async move {
        if let Ok(demo) = fetch_demo().await {
            set_admin_token.set(demo.admin_token);
        }
    });
    set_interval(
        move || {
            if polling.get_untracked() {
                spawn_local(async move {
                    if let Ok(r) = fetch_fairness().await {
                        set_polling.set(r.running);
                        set_run.set(Some(r));
                    }
                });
            }
        },
        POLL,
    );
    let start = move |_| {
        let (s, token) = (seconds.get_untracked(), admin_token.get_untracked());
        spawn_local(async move {
            match start_fairness(s, &token).await {
                Ok(r) => {
                    set_error.set(None);
                    set_run.set(Some(r));
                }
                // Another run (maybe another tab's): show it instead.
                Err(e) => set_error.set(Some(e)),
            }
            set_polling.set(true);
        });
    };

    view! {
        <section id="fairness" class="panel">
            <h2>"Multi-tenant fairness: a live noisy neighbour (task 13)"</h2>
            <p class="tradeoff">
                "The server calls the real `process` guest as two well-behaved tenants, each at a fixed rate "
                "with a small CSV, for the whole run. After the first phase a heavy tenant joins with large "
                "CSVs from several clients at once: first its gate admits them all (gates off), then one "
                "call at a time with no queue (gates on). The chart is the well-behaved p99 per window, "
                "measured from each call's scheduled time. The tenants and gates are the run's own; the "
                "sandbox, its deadline and memory cap are the server's."
            </p>
            <label>"Admin token "<input id="nn-admin" type="password" prop:value=admin_token
                on:input=move |ev| set_admin_token.set(event_target_value(&ev)) /></label>
            " "
            <label>"Seconds "<input id="nn-seconds" type="number" min="2" max="20"
                prop:value=move || seconds.get().to_string()
                on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { set_seconds.set(n) } /></label>
            " "
            <button id="nn-start" on:click=start disabled=polling>
                {move || if polling.get() { "running…" } else { "Start a noisy-neighbour run" }}
            </button>
            {move || error.get().map(|e| view! { <p id="nn-error" class="error">{e}</p> })}
            {move || run.get().map(|r| view! { <RunChart run=r.clone() /> <PhaseTable run=r /> })}
        </section>
    }
}

/// The well-behaved p99 per window, the phases as shaded bands.
#[component]
fn RunChart(run: FairnessRun) -> impl IntoView {
    let slots = run.phases.iter().map(|p| p.windows as usize).sum::<usize>();
    let p99: Vec<f64> = run.windows.iter().map(|w| w.good_p99_ms).collect();
    let max = scale(&p99);
    let band_width = |windows: u32| f64::from(windows) * WIDTH / slots.max(1) as f64;
    let bands = run.phases.iter().enumerate().map(|(i, p)| {
        let x = x_of(p.first_window as usize, slots + 1);
        view! {
            <g class="nn-band" data-phase=i.to_string()>
                <rect x=format!("{x:.1}") y="0" width=format!("{:.1}", band_width(p.windows)) height=HEIGHT.to_string()
                    fill="currentColor" fill-opacity=format!("{:.2}", 0.04 * i as f64) />
                <text x=format!("{:.1}", x + 4.0) y="12" font-size="10" fill="currentColor">{p.label.clone()}</text>
            </g>
        }
    }).collect_view();
    // A point at the start of its window, like the bands' edges.
    let points = polyline_points(&p99, slots + 1, max);
    let caption = format!(
        "well-behaved p99 per {} ms window (top of the chart: {max:.1} ms), {} of {slots} windows",
        run.window_ms,
        run.windows.len()
    );
    view! {
        <figure class="chart">
            <svg id="nn-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") width=WIDTH.to_string() height=HEIGHT.to_string()
                role="img" data-windows=run.windows.len().to_string() data-slots=slots.to_string()>
                {bands}
                <polyline points=points fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// Each phase in numbers: the well-behaved calls and p99 (worst and
/// median window), the heavy tenant's calls.
#[component]
fn PhaseTable(run: FairnessRun) -> impl IntoView {
    let status = if run.running { "running" } else { "over" };
    let rows = run.phases.iter().enumerate().map(|(i, phase)| {
        let windows: Vec<&FairnessWindow> = run.windows.iter().filter(|w| w.phase as usize == i).collect();
        let sum = |f: fn(&FairnessWindow) -> u64| windows.iter().map(|w| f(w)).sum::<u64>();
        let mut p99: Vec<f64> = windows.iter().map(|w| w.good_p99_ms).collect();
        p99.sort_by(f64::total_cmp);
        let worst = p99.last().copied().unwrap_or(0.0);
        let median = p99.get(p99.len() / 2).copied().unwrap_or(0.0);
        view! {
            <tr class="nn-phase" data-phase=i.to_string() data-heavy=phase.heavy.to_string() data-gated=phase.gated.to_string()
                data-windows=windows.len().to_string()>
                <td class="label">{phase.label.clone()}</td>
                <td class="num good-calls">{sum(|w| w.good_calls)}</td>
                <td class="num good-failed">{sum(|w| w.good_failed)}</td>
                <td class="num p99-median">{format!("{median:.2}")}</td>
                <td class="num p99-worst">{format!("{worst:.2}")}</td>
                <td class="num heavy-calls">{sum(|w| w.heavy_calls)}</td>
                <td class="num heavy-failed">{sum(|w| w.heavy_failed)}</td>
                <td class="num heavy-refused">{sum(|w| w.heavy_refused)}</td>
            </tr>
        }
    }).collect_view();
    view! {
        <table id="nn-phases" class="report" data-running=run.running.to_string()>
            <caption>{format!(
                "{status}: {} s, {} well-behaved tenants x {} calls/s ({} rows), heavy tenant {} clients ({} rows)",
                run.seconds, run.good_tenants, run.good_rate, run.good_rows, run.heavy_clients, run.heavy_rows)}</caption>
            <thead><tr><th>"phase"</th><th>"well-behaved calls"</th><th>"failed"</th>
                <th>"p99 ms (median window)"</th><th>"p99 ms (worst window)"</th>
                <th>"heavy calls"</th><th>"heavy failed"</th><th>"heavy refused by its gate"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
