//! Task 13's panel on `/hard`: a short noisy-neighbour run started with
//! the demo's admin token (pre-filled from `/api/demo`), the phases and
//! windows read from the page.

use super::*;

/// A demo server (so the page gets the admin token from `/api/demo`) over
/// the built guests, its registry in a temp dir.
async fn demo_server(data: &tempfile::TempDir) -> TestServer {
    let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    let registry = data.path().join("registry");
    TestServer::start_with(|config| {
        config.guests_dir = guests;
        config.data_dir = registry;
        config.demo = true;
        config.sandbox_deadline_ms = 1000;
    })
    .await
}

fn count(row: &serde_json::Value, name: &str) -> u64 {
    let text = field(row, name);
    text.parse()
        .unwrap_or_else(|_| panic!("{name} is not a count: {text:?} in {row}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_neighbour_run_shows_three_phases_with_calls_and_the_gate_refusing_the_heavy_tenant()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = demo_server(&data).await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/hard", server.url()), "#nn-start").await?;
    poll_json(
        &page,
        "JSON.stringify(document.querySelector('#nn-admin').value.length)",
        |v| v.as_u64().is_some_and(|n| n > 0),
    )
    .await?;
    // A short run: 3 s, two windows per phase.
    page.evaluate(
        "(() => { const i = document.querySelector('#nn-seconds'); i.value = '3'; \
         i.dispatchEvent(new Event('input', {bubbles: true})); })()",
    )
    .await?;
    click(&page, "#nn-start").await?;
    // Each phase row: its data-* and each cell's text by its last class
    // (the first is the shared `num`).
    let js = "JSON.stringify({running: document.querySelector('#nn-phases')?.dataset.running, \
         error: document.querySelector('#nn-error')?.innerText, \
         chart: Object.assign({}, document.querySelector('#nn-chart')?.dataset), \
         rows: [...document.querySelectorAll('#nn-phases tr.nn-phase')].map(r => { \
             const o = Object.assign({}, r.dataset); \
             r.querySelectorAll('td').forEach(td => o[td.classList[td.classList.length - 1]] = td.innerText); \
             return o; })})";
    let shown = poll_json(&page, js, |v| {
        v["running"] == "false" || v["error"].is_string()
    })
    .await?;
    assert!(shown["error"].is_null(), "{shown}");
    assert_eq!(shown["chart"]["windows"], "6", "{shown}");
    assert_eq!(shown["chart"]["slots"], "6", "{shown}");
    let rows = shown["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{shown}");
    let flags: Vec<_> = rows
        .iter()
        .map(|r| (field(r, "heavy"), field(r, "gated"), field(r, "windows")))
        .collect();
    assert_eq!(
        flags,
        [
            ("false", "false", "2"),
            ("true", "false", "2"),
            ("true", "true", "2")
        ]
    );
    for row in rows {
        assert!(count(row, "good-calls") > 0, "{row}");
        let p99: f64 = field(row, "p99-worst").parse()?;
        assert!(p99 > 0.0, "{row}");
    }
    assert_eq!(count(&rows[0], "heavy-calls"), 0, "{shown}");
    assert!(count(&rows[1], "heavy-calls") > 0, "{shown}");
    assert_eq!(count(&rows[1], "heavy-refused"), 0, "gates off: {shown}");
    assert!(count(&rows[2], "heavy-refused") > 0, "gates on: {shown}");
    println!("noisy-neighbour run as the page shows it: {shown}");
    page.find_element("#fairness")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-noisy-neighbour").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
