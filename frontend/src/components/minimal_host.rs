//! Seed task 4, run by the server: the host calls the `add` guest's export
//! with 2 and 3, and the `fsprobe` guest asks for files it was never
//! granted, through `/api/run` like any demo call.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::lessons::{AddLesson, GuestRun, run_add, run_guest};
use crate::components::short;

/// The two calls and what came back.
#[component]
pub fn MinimalHost() -> impl IntoView {
    let (add, set_add) = signal(None::<Result<AddLesson, String>>);
    let (probe, set_probe) = signal(None::<Result<GuestRun, String>>);
    let run = move |_| {
        spawn_local(async move {
            set_add.set(Some(run_add(2, 3).await));
            set_probe.set(Some(run_guest("fsprobe", "").await));
        });
    };
    view! {
        <section id="minimal-host" class="panel">
            <h2>"A minimal sandbox host (task 4)"</h2>
            <p class="tradeoff">
                "The server loaded the wasip1 guests once at start-up. A click makes it instantiate "
                "`add` and call its export add(2, 3), then run `fsprobe`, which tries to read, list and "
                "write files: the host preopened no directory, so every attempt must fail."
            </p>
            <button id="host-run" on:click=run>"Run add(2, 3) and the file probe"</button>
            {move || add.get().map(|r| match r {
                Ok(a) => view! {
                    <p id="host-add" data-sum=a.sum.to_string()>
                        {format!("add({}, {}) = {}", a.a, a.b, a.sum)}
                        <span class="task-where">{format!(
                            " (guest {}, {:.2} ms with a fresh instance)", short(&a.digest), a.duration_ms)}</span>
                    </p>
                }.into_any(),
                Err(e) => view! { <p id="host-add" class="error">{e}</p> }.into_any(),
            })}
            {move || probe.get().map(|r| match r {
                Ok(run) => probe_table("host-fsprobe", &run).into_any(),
                Err(e) => view! { <p id="host-fsprobe" class="error">{e}</p> }.into_any(),
            })}
        </section>
    }
}

/// What each attempt of a probe guest (`fsprobe`, `netprobe`) returned,
/// from its JSON (`""` for success).
pub(super) fn probe_table(id: &'static str, run: &GuestRun) -> impl IntoView + use<> {
    let attempts: BTreeMap<String, String> = serde_json::from_str(&run.body).unwrap_or_default();
    let status = run.status;
    view! {
        <table id=id class="report probe" data-status=status.to_string()>
            <thead><tr><th>{format!("{} (HTTP {status})", run.guest)}</th><th>"what the guest got"</th></tr></thead>
            <tbody>
                {attempts.into_iter().map(|(attempt, error)| {
                    let denied = !error.is_empty();
                    view! {
                        <tr class="attempt" data-denied=denied.to_string()>
                            <td>{attempt}</td>
                            <td>{if denied { error } else { "succeeded!".to_owned() }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
