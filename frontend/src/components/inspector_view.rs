//! What the Go inspector found in a module: the Go module itself, this
//! app's own wasm, or a file the user picks.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;

use crate::api::{Manifest, app_wasm_url};
use crate::go_wasm::{JsBytes, LoadedGo, fetch_bytes, inspect_wasm, read_file};
use crate::inspection::{Inspection, ModuleReport};

/// Runs the inspector and renders its result.
#[component]
pub fn InspectorView(go: LoadedGo) -> impl IntoView {
    let manifest = use_context::<Manifest>();
    let (subject, set_subject) = signal(String::from("the Go module itself"));
    let (result, set_result) = signal(None::<Result<Inspection, String>>);

    let run = move |name: String, bytes: JsBytes| {
        set_subject.set(name);
        set_result.set(Some(
            inspect_wasm(&bytes).and_then(|json| Inspection::parse(&json)),
        ));
    };
    // The module's own bytes were kept by the loader: no second request.
    if go.bytes.is_empty() {
        set_result.set(Some(Err(
            "this loading mode keeps no bytes; pick a source below".into(),
        )));
    } else {
        run("the Go module itself".into(), go.bytes.clone());
    }

    let inspect_app = move |_| {
        let Some(url) = manifest.as_ref().and_then(app_wasm_url).map(str::to_owned) else {
            set_result.set(Some(Err("the manifest lists no app wasm".into())));
            return;
        };
        spawn_local(async move {
            match fetch_bytes(&url).await {
                Ok(bytes) => run("this Leptos app's wasm".into(), bytes),
                Err(e) => set_result.set(Some(Err(e.to_string()))),
            }
        });
    };
    let inspect_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        spawn_local(async move {
            match read_file(&file).await {
                Ok(bytes) => run(file.name(), bytes),
                Err(e) => set_result.set(Some(Err(e))),
            }
        });
    };
    let inspect_go = {
        let bytes = go.bytes.clone();
        move |_| run("the Go module itself".into(), bytes.clone())
    };

    view! {
        <div id="inspector" class="inspector">
            <h3>"Wasm inspector (Go, running in this page)"</h3>
            <div class="sources">
                <button id="inspect-go" on:click=inspect_go>"Inspect the Go module"</button>
                <button id="inspect-app" on:click=inspect_app>"Inspect this app's wasm"</button>
                <label>"…or a file: "<input id="inspect-file" type="file" on:change=inspect_file /></label>
            </div>
            <p class="subject">"Subject: "{subject}</p>
            {move || match result.get() {
                None => ().into_any(),
                Some(Err(message)) => view! { <p id="inspect-error" class="error">{message}</p> }.into_any(),
                Some(Ok(Inspection::Rejected { code, message })) => view! {
                    <p id="inspect-error" class="error" data-code=code.clone()>{format!("{code}: {message}")}</p>
                }.into_any(),
                Some(Ok(Inspection::Module(report))) => view! { <ReportTable report=*report /> }.into_any(),
            }}
        </div>
    }
}

/// The inspection as tables.
#[component]
pub fn ReportTable(report: ModuleReport) -> impl IntoView {
    let ratio = if report.size == 0 {
        0.0
    } else {
        report.gzip_size as f64 / report.size as f64 * 100.0
    };
    let customs = report
        .custom_sections
        .iter()
        .map(|c| format!("{} ({} B)", c.name, c.size))
        .collect::<Vec<_>>()
        .join(", ");
    let funcs =
        |kind: &str, items: &[(String, String)]| items.iter().filter(|(_, k)| k == kind).count();
    let imports: Vec<(String, String)> = report
        .imports
        .iter()
        .map(|i| (format!("{}.{}", i.module, i.name), i.kind.clone()))
        .collect();
    let exports: Vec<(String, String)> = report
        .exports
        .iter()
        .map(|e| (e.name.clone(), e.kind.clone()))
        .collect();
    view! {
        <table id="inspect-summary" class="report">
            <tbody>
                <tr><th>"size"</th><td class="num">{report.size}" B"</td></tr>
                <tr><th>"gzip -9 (computed by Go in the browser)"</th>
                    <td class="num">{report.gzip_size}" B ("{format!("{ratio:.1}")}"%)"</td></tr>
                <tr><th>"imports"</th><td>{report.imports.len()}" ("{funcs("func", &imports)}" functions)"</td></tr>
                <tr><th>"exports"</th><td>{exports.iter().map(|(n, k)| format!("{n} ({k})")).collect::<Vec<_>>().join(", ")}</td></tr>
                <tr><th>"custom sections"</th><td>{customs}</td></tr>
            </tbody>
        </table>
        <table id="inspect-sections" class="report">
            <thead><tr><th>"section"</th><th>"id"</th><th class="num">"bytes"</th></tr></thead>
            <tbody>
                {report.sections.into_iter().map(|s| view! {
                    <tr class="section"><td>{s.name}</td><td>{s.id}</td><td class="num">{s.size}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
