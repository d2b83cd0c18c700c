//! Seed tasks 3 and 5: the headers the hashed Go module and the HTML entry
//! point are served with, per `Accept-Encoding`, and their revalidation.
//!
//! A page may not set `Accept-Encoding` (a forbidden header): its own GETs
//! carry whatever the browser sends. So the panel shows two things: the
//! page's real GETs (and a real `If-None-Match` → 304), and the server's
//! own GETs with br, gzip and identity (`/api/lessons/delivery`), which run
//! the same responder every request goes through.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::lessons::{BrowserGet, DeliveryLesson, browser_get, fetch_delivery_lesson};
use crate::api::{GO_MODULE, Manifest};

/// The page's GET of a URL and its revalidation.
#[derive(Debug, Clone)]
struct PageProbe {
    url: String,
    first: Result<BrowserGet, String>,
    again: Option<Result<BrowserGet, String>>,
}

async fn page_probe(url: String) -> PageProbe {
    let first = browser_get(&url, None).await;
    let etag = first.as_ref().ok().and_then(|g| g.etag.clone());
    let again = match etag {
        Some(etag) => Some(browser_get(&url, Some(&etag)).await),
        None => None,
    };
    PageProbe { url, first, again }
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

/// The inspector.
#[component]
pub fn HeaderInspector(manifest: Manifest) -> impl IntoView {
    let module = manifest
        .path_of(&wire::manifest::go_wasm_name(GO_MODULE))
        .map(str::to_owned);
    let (page, set_page) = signal(Vec::<PageProbe>::new());
    let (server, set_server) = signal(None::<Result<DeliveryLesson, String>>);
    let run = move |_| {
        let urls: Vec<String> = module.iter().cloned().chain(["/".to_owned()]).collect();
        spawn_local(async move {
            let mut probes = Vec::new();
            for url in urls {
                probes.push(page_probe(url).await);
            }
            set_page.set(probes);
            set_server.set(Some(fetch_delivery_lesson().await));
        });
    };
    view! {
        <section id="headers" class="panel">
            <h2>"Headers: immutable hashed files, revalidated HTML, negotiated encodings (tasks 3 and 5)"</h2>
            <button id="hdr-run" on:click=run>"Inspect the headers"</button>
            <h3>"This page's own requests"</h3>
            <p class="tradeoff">
                "fetch() from this page: the browser chose Accept-Encoding and decoded the body. The second "
                "request sends If-None-Match with the ETag it got; a conditional request skips the HTTP cache, "
                "so the server's 304 reaches the page."
            </p>
            <table id="hdr-page" class="report">
                <thead><tr><th>"GET"</th><th>"status"</th><th>"Content-Encoding"</th><th>"Vary"</th>
                    <th>"Cache-Control"</th><th>"ETag"</th><th>"wire bytes"</th><th>"decoded"</th><th>"If-None-Match"</th></tr></thead>
                <tbody>{move || page.get().into_iter().map(page_row).collect_view()}</tbody>
            </table>
            <h3>"The server's responder, one Accept-Encoding at a time"</h3>
            <p class="tradeoff">
                "Pages may not set Accept-Encoding, so GET /api/lessons/delivery has the server run its asset "
                "responder on an in-memory request per encoding, then again with If-None-Match."
            </p>
            {move || server.get().map(|r| match r {
                Ok(lesson) => view! {
                    <table id="hdr-server" class="report">
                        <thead><tr><th>"path"</th><th>"Accept-Encoding"</th><th>"status"</th><th>"Content-Encoding"</th>
                            <th>"Vary"</th><th>"Cache-Control"</th><th>"ETag"</th><th>"bytes"</th><th>"If-None-Match"</th></tr></thead>
                        <tbody>
                            {lesson.probes.into_iter().map(|p| {
                                let (path, encoding) = (p.path.clone(), p.accept_encoding.clone());
                                view! {
                                <tr class="hdr-probe" data-path=path data-encoding=encoding>
                                    <td><code>{p.path}</code></td>
                                    <td>{p.accept_encoding}</td>
                                    <td class="status num">{p.status}</td>
                                    <td class="content-encoding">{opt(p.content_encoding)}</td>
                                    <td class="vary">{opt(p.vary)}</td>
                                    <td class="cache-control">{opt(p.cache_control)}</td>
                                    <td><code>{opt(p.etag)}</code></td>
                                    <td class="bytes num">{p.bytes}</td>
                                    <td class="revalidation">{format!("{} ({} bytes)", p.revalidation_status, p.revalidation_bytes)}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <p id="hdr-server" class="error">{e}</p> }.into_any(),
            })}
        </section>
    }
}

fn page_row(probe: PageProbe) -> impl IntoView {
    let again = match probe.again {
        None => "no ETag to send".to_owned(),
        Some(Ok(g)) => format!("{} ({} bytes)", g.status, g.decoded_bytes),
        Some(Err(e)) => e,
    };
    let url = probe.url.clone();
    match probe.first {
        Ok(g) => view! {
            <tr class="hdr-page" data-url=url>
                <td><code>{probe.url}</code></td>
                <td class="status num">{g.status}</td>
                <td class="content-encoding">{opt(g.content_encoding)}</td>
                <td class="vary">{opt(g.vary)}</td>
                <td class="cache-control">{opt(g.cache_control)}</td>
                <td><code>{opt(g.etag)}</code></td>
                <td class="num">{g.content_length.map_or_else(|| "—".into(), |n| n.to_string())}</td>
                <td class="num">{g.decoded_bytes}</td>
                <td class="revalidation">{again}</td>
            </tr>
        }
        .into_any(),
        Err(e) => view! {
            <tr class="hdr-page" data-url=url><td><code>{probe.url}</code></td><td class="error" colspan="8">{e}</td></tr>
        }
        .into_any(),
    }
}
