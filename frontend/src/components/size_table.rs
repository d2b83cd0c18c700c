//! Seed task 2: the size report from `/api/assets`.

use leptos::prelude::*;

use crate::api::{SizeRow, fetch_size_report};

fn row(r: SizeRow) -> impl IntoView {
    view! {
        <tr>
            <td>{r.name}</td>
            <td class="num">{r.raw}</td>
            <td class="num">{r.gzip9}</td>
            <td class="num">{r.zopfli.map_or_else(|| "—".to_owned(), |n| n.to_string())}</td>
            <td class="num">{r.brotli}</td>
            <td class="num">{format!("{:.1}%", r.gzip_ratio * 100.0)}</td>
            <td class="num">{format!("{:.1}%", r.brotli_ratio * 100.0)}</td>
        </tr>
    }
}

/// The size table.
#[component]
pub fn SizeTable() -> impl IntoView {
    let report = LocalResource::new(fetch_size_report);
    view! {
        <section id="sizes" class="panel">
            <h2>"What the bytes cost (task 2)"</h2>
            {move || match report.get() {
                None => view! { <p>"loading /api/assets…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(report)) => {
                    let floor = report.floor.clone();
                    view! {
                        <table id="size-table" class="report">
                            <thead><tr><th>"artifact"</th><th>"raw"</th><th>"gzip -9"</th><th>"zopfli"</th>
                                <th>"brotli 11"</th><th>"gz"</th><th>"br"</th></tr></thead>
                            <tbody>
                                {report.artifacts.into_iter().map(row).collect_view()}
                                <tr><th colspan="7">{format!("variants of the Go module ({})", report.go_version)}</th></tr>
                                {report.variants.into_iter().map(row).collect_view()}
                                {row(report.floor)}
                            </tbody>
                        </table>
                        <p id="size-floor">{format!(
                            "Size floor of any Go js/wasm binary: {} bytes raw, {} brotli: the runtime is baked in.",
                            floor.raw, floor.brotli)}</p>
                    }.into_any()
                }
            }}
        </section>
    }
}
