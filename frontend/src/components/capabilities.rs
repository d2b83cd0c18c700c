//! Seed task 11: `env.log` is the guest's only capability. The file probe
//! and the network probe run in the sandbox and report what they got; the
//! `process` guest logs, and its lines come back tagged with the tenant the
//! server logged them under.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::minimal_host::probe_table;
use super::short;
use crate::api::lessons::{GuestRun, run_guest};

/// Input of the logging guest: two rows, so it logs "converted 2 rows".
const LOGGING_INPUT: &str = "name,qty\nbolt,4\nnut,10\n";

/// The three calls.
#[derive(Debug, Clone)]
struct Probes {
    files: Result<GuestRun, String>,
    network: Result<GuestRun, String>,
    logging: Result<GuestRun, String>,
    dialed: String,
}

/// Probes and log lines.
#[component]
pub fn Capabilities() -> impl IntoView {
    let (probes, set_probes) = signal(None::<Probes>);
    let run = move |_| {
        // A real listener the guest is asked to reach: this very server.
        let dialed = web_sys::window()
            .and_then(|w| w.location().host().ok())
            .unwrap_or_default();
        spawn_local(async move {
            let files = run_guest("fsprobe", "").await;
            let network = run_guest("netprobe", &dialed).await;
            let logging = run_guest("process", LOGGING_INPUT).await;
            set_probes.set(Some(Probes {
                files,
                network,
                logging,
                dialed,
            }));
        });
    };
    view! {
        <section id="capabilities" class="panel">
            <h2>"One host function as the only capability (task 11)"</h2>
            <p class="tradeoff">
                "The host links WASI preview 1 with nothing granted (no preopened directory, no socket) "
                "and one function of its own, env.log(ptr, len), which reads the line from guest memory "
                "and logs it tagged with the tenant, the guest and its digest."
            </p>
            <button id="cap-run" on:click=run>"Probe files and network, then log"</button>
            {move || probes.get().map(|p| view! {
                {show("cap-fs", p.files)}
                <p class="tradeoff">{format!(
                    "netprobe dialed {} (this server, listening) and tried to listen: Go's wasip1 port has \
                     no socket from the host and falls back to an in-process fake network, so nothing \
                     reaches the host.", p.dialed)}</p>
                {show("cap-net", p.network)}
                {log_view(p.logging)}
            })}
        </section>
    }
}

fn show(id: &'static str, run: Result<GuestRun, String>) -> AnyView {
    match run {
        Ok(run) => probe_table(id, &run).into_any(),
        Err(e) => view! { <p id=id class="error">{e}</p> }.into_any(),
    }
}

fn log_view(run: Result<GuestRun, String>) -> AnyView {
    let run = match run {
        Ok(run) => run,
        Err(e) => return view! { <p id="cap-log" class="error">{e}</p> }.into_any(),
    };
    let tag = format!(
        "tenant={} guest={} digest={}",
        run.tenant.clone().unwrap_or_else(|| "?".into()),
        run.guest,
        short(run.digest.as_deref().unwrap_or_default()),
    );
    let count = run.log_count.unwrap_or_default();
    view! {
        <h3>"What the guest logged through env.log"</h3>
        <pre id="cap-log" data-tenant=run.tenant.clone().unwrap_or_default() data-lines=count.to_string()>
            {run.log_lines.iter().map(|line| format!("[{tag}] {line}\n")).collect::<String>()}
        </pre>
        <p class="task-where">{format!(
            "HTTP {}: {count} line(s) logged, the output was {} bytes.", run.status, run.body.len())}</p>
    }
    .into_any()
}
