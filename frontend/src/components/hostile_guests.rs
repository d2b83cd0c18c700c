//! Seed task 10: hostile guests against the real sandbox. Each button runs
//! one through `/api/run` and shows the typed error, the status and the
//! wall time; then a `process` call proves the host is still serving.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::lessons::{GuestRun, run_guest};

/// Each hostile guest, the input it gets, and what it does.
const HOSTILE: [(&str, &str, &str); 6] = [
    ("bomb", "", "allocates 1 MiB after 1 MiB, forever"),
    ("spin", "", "loops forever without a single call"),
    (
        "sleeper",
        "30s",
        "sleeps 30 s in a host call (WASI poll_oneoff)",
    ),
    ("trap", "nil", "dereferences a nil pointer"),
    ("exit", "", "calls os.Exit(3) mid-call"),
    ("stack", "", "recurses without bound"),
];

/// The healthy call made after each hostile one.
const CHECK_GUEST: &str = "process";
const CHECK_INPUT: &str = "name,qty\nbolt,4\n";

/// One hostile call and the health check after it.
#[derive(Debug, Clone)]
struct Attempt {
    hostile: Result<GuestRun, String>,
    after: Result<GuestRun, String>,
}

/// A row per hostile guest, and "run all".
#[component]
pub fn HostileGuests() -> impl IntoView {
    let results: Vec<(RwSignal<Option<Attempt>>, RwSignal<bool>)> = HOSTILE
        .iter()
        .map(|_| (RwSignal::new(None), RwSignal::new(false)))
        .collect();
    let run_one = move |slot: (RwSignal<Option<Attempt>>, RwSignal<bool>), guest, input| async move {
        let (result, busy) = slot;
        busy.set(true);
        let hostile = run_guest(guest, input).await;
        let after = run_guest(CHECK_GUEST, CHECK_INPUT).await;
        result.set(Some(Attempt { hostile, after }));
        busy.set(false);
    };
    let all = results.clone();
    let run_all = move |_| {
        let all = all.clone();
        spawn_local(async move {
            for (slot, (guest, input, _)) in all.into_iter().zip(HOSTILE) {
                run_one(slot, guest, input).await;
            }
        });
    };
    let rows = results
        .into_iter()
        .zip(HOSTILE)
        .map(|(slot, (guest, input, what))| {
            let (result, busy) = slot;
            view! {
                <tr class="hostile" data-guest=guest>
                    <td><button class="hostile-run" disabled=move || busy.get()
                        on:click=move |_| spawn_local(run_one(slot, guest, input))>{guest}</button></td>
                    <td>{what}</td>
                    {move || cells(result.get())}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section id="hostile" class="panel">
            <h2>"Hostile guests: memory cap and interruptible deadline (task 10)"</h2>
            <p class="tradeoff">
                "Each guest runs in a fresh instance capped at the server's memory pages and deadline "
                "(256 pages = 16 MiB and 50 ms by default). Whatever it does, the call ends with a typed error "
                "and the next call, a healthy `process`, is served."
            </p>
            <button id="hostile-all" on:click=run_all>"Run all six"</button>
            <table id="hostile-table" class="report">
                <thead><tr><th>"guest"</th><th>"what it does"</th><th>"HTTP"</th><th>"error code"</th>
                    <th>"wall ms"</th><th>"host after"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

fn cells(attempt: Option<Attempt>) -> impl IntoView {
    let Some(Attempt { hostile, after }) = attempt else {
        return view! { <td class="status"></td><td class="code"></td><td class="wall"></td><td class="after"></td> }
            .into_any();
    };
    let after = match after {
        Ok(r) => format!("{CHECK_GUEST}: HTTP {} in {:.1} ms", r.status, r.wall_ms),
        Err(e) => format!("unreachable: {e}"),
    };
    match hostile {
        Ok(r) => view! {
            <td class="status num">{r.status}</td>
            <td class="code" title=r.body><code>{r.code.unwrap_or_else(|| "(none)".into())}</code></td>
            <td class="wall num">{format!("{:.1}", r.wall_ms)}</td>
            <td class="after">{after}</td>
        }
        .into_any(),
        Err(e) => view! {
            <td class="status error" colspan="3">{e}</td>
            <td class="after">{after}</td>
        }
        .into_any(),
    }
}
