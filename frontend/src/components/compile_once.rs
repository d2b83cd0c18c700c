//! Seed task 8, measured live: N calls the way every request on this
//! server runs (a fresh instance of the module compiled at start-up) next
//! to one naive call that compiles the module's bytes first.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::lessons::{COMPILE_ONCE_DEFAULT_CALLS, CompileOnceLesson, run_compile_once};
use crate::components::short;

/// The button and the two columns.
#[component]
pub fn CompileOnce() -> impl IntoView {
    let (calls, set_calls) = signal(COMPILE_ONCE_DEFAULT_CALLS);
    let (busy, set_busy) = signal(false);
    let (lesson, set_lesson) = signal(None::<Result<CompileOnceLesson, String>>);
    let run = move |_| {
        set_busy.set(true);
        let n = calls.get_untracked();
        spawn_local(async move {
            set_lesson.set(Some(run_compile_once(n).await));
            set_busy.set(false);
        });
    };
    view! {
        <section id="compile-once" class="panel">
            <h2>"Compile once, instantiate per request (task 8)"</h2>
            <p class="tradeoff">
                "The server compiled the `process` guest once, at start-up. A click makes it run N calls "
                "the way every /api/run call runs (a fresh instance of that compiled module each), then one "
                "naive call that compiles the module's bytes with Cranelift first, as a server without the "
                "compiled module would for every request. Same guest, same input, same limits."
            </p>
            <label>"Calls "<input id="co-calls" type="number" min="1" max="50" prop:value=move || calls.get().to_string()
                on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { set_calls.set(n) } /></label>
            " "
            <button id="co-run" on:click=run disabled=busy>
                {move || if busy.get() { "compiling…" } else { "Run N calls and one naive call" }}
            </button>
            {move || lesson.get().map(|r| match r {
                Ok(l) => result(&l).into_any(),
                Err(e) => view! { <p id="co-error" class="error">{e}</p> }.into_any(),
            })}
        </section>
    }
}

fn result(l: &CompileOnceLesson) -> impl IntoView + use<> {
    let calls = l.calls_ms.len();
    let fastest = l.calls_ms.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = l.calls_ms.iter().copied().fold(0.0, f64::max);
    view! {
        <table id="co-result" class="report"
            data-calls=calls.to_string()
            data-p50=format!("{:.3}", l.p50_ms)
            data-naive-compile=format!("{:.3}", l.naive.compile_ms)
            data-naive-total=format!("{:.3}", l.naive.total_ms)
            data-ratio=format!("{:.1}", l.ratio)>
            <thead><tr>
                <th>{format!("{} ({} KiB, {})", l.guest, l.module_bytes / 1024, short(&l.digest))}</th>
                <th>{format!("compile once ({calls} calls)")}</th>
                <th>"naive: compile per call (1 call)"</th>
            </tr></thead>
            <tbody>
                <tr><td>"compile"</td><td class="num">"0 (at start-up)"</td>
                    <td class="num">{format!("{:.1} ms", l.naive.compile_ms)}</td></tr>
                <tr><td>"instantiate + call"</td>
                    <td class="num">{format!("p50 {:.2} ms (min {fastest:.2}, max {slowest:.2})", l.p50_ms)}</td>
                    <td class="num">{format!("{:.2} ms", l.naive.call_ms)}</td></tr>
                <tr><td>"per call"</td><td class="num co-once">{format!("{:.2} ms", l.p50_ms)}</td>
                    <td class="num co-naive">{format!("{:.1} ms", l.naive.total_ms)}</td></tr>
            </tbody>
        </table>
        <p id="co-ratio">{format!(
            "The naive call took {:.0}× the compile-once median: every request would pay the compile.",
            l.ratio)}</p>
    }
}
