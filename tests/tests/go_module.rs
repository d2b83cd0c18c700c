//! Seed tasks 1, 6 and 7 in a real headless Chromium against the real
//! server: lazy loading, once-only, streamed progress, caching on reload,
//! and the wrong-MIME demo. Screenshots of each state go to `target/e2e/`.

use std::time::Duration;

use e2e::browser::{screenshot, wait_for_text};
use e2e::{Chromium, NetworkLog, TestServer};

const WAIT: Duration = Duration::from_secs(30);

fn is_go_wasm(path: &str) -> bool {
    path.starts_with("/go/") && path.ends_with(".wasm")
}

fn is_go_shim(path: &str) -> bool {
    path.starts_with("/go/wasm_exec.") && path.ends_with(".js")
}

/// Clicks the load button twice in the same task, before the page can re-render.
const DOUBLE_CLICK: &str = "(() => { const b = document.querySelector('#load-go'); b.click(); b.click(); return true; })()";

async fn open(page: &chromiumoxide::Page, url: &str) -> anyhow::Result<()> {
    page.goto(url).await?;
    wait_for_text(page, "#load-go", WAIT).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_load_requests_nothing_of_the_go_module() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    let network = NetworkLog::attach(&page).await?;

    open(&page, &format!("{}/medium", server.url())).await?;
    wait_for_text(&page, "#shim-pair", WAIT).await?;
    screenshot(&page, "go-module-1-initial").await?;

    assert!(network.matching(|p| p == "/manifest.json").len() == 1);
    assert!(
        network.matching(is_go_wasm).is_empty(),
        "no Go .wasm on page load"
    );
    assert!(
        network.matching(is_go_shim).is_empty(),
        "no wasm_exec.js on page load"
    );
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_quick_clicks_load_module_and_shim_once_with_monotone_progress() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    let network = NetworkLog::attach(&page).await?;
    open(&page, &format!("{}/medium", server.url())).await?;

    page.evaluate(DOUBLE_CLICK).await?;
    let ready = wait_for_text(&page, "#go-ready", WAIT).await?;
    assert!(ready.contains("Ready in"), "{ready}");
    wait_for_text(&page, "#inspect-sections", WAIT).await?;
    screenshot(&page, "go-module-2-loaded").await?;

    let wasm = network.matching(is_go_wasm);
    let shim = network.matching(is_go_shim);
    assert_eq!(wasm.len(), 1, "one .wasm request for two clicks: {wasm:#?}");
    assert_eq!(shim.len(), 1, "one shim request for two clicks: {shim:#?}");
    assert_eq!(wasm[0].header("content-type"), Some("application/wasm"));
    assert_eq!(wasm[0].header("content-encoding"), Some("br"));
    assert_eq!(
        wasm[0].header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let history: String = page
        .evaluate("document.querySelector('#go-progress').dataset.history")
        .await?
        .into_value()?;
    let points: Vec<u64> = history.split(',').map(|p| p.parse().unwrap()).collect();
    assert!(points.len() >= 3, "several progress events: {history}");
    assert!(
        points.windows(2).all(|w| w[0] <= w[1]),
        "monotone: {history}"
    );
    assert_eq!(points.last(), Some(&100), "ends at exactly 100%: {history}");

    let sections = page.find_elements("#inspect-sections tr.section").await?;
    assert!(sections.len() >= 5, "the Go module's sections are listed");
    let summary = wait_for_text(&page, "#inspect-summary", WAIT).await?;
    assert!(summary.contains("gzip -9"), "{summary}");
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_takes_the_module_from_cache_while_html_revalidates() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    let network = NetworkLog::attach(&page).await?;
    open(&page, &format!("{}/medium", server.url())).await?;
    page.evaluate(DOUBLE_CLICK).await?;
    wait_for_text(&page, "#go-ready", WAIT).await?;
    let before = network.responses().len();

    page.goto(format!("{}/medium", server.url())).await?;
    wait_for_text(&page, "#load-go", WAIT).await?;
    page.evaluate(DOUBLE_CLICK).await?;
    wait_for_text(&page, "#go-ready", WAIT).await?;
    screenshot(&page, "go-module-3-reloaded-from-cache").await?;

    let after: Vec<_> = network.responses().into_iter().skip(before).collect();
    let document = after
        .iter()
        .find(|r| r.path() == "/medium")
        .expect("the document was requested again");
    assert_eq!(
        network.wire_status(document),
        Some(304),
        "index.html (the page /medium) revalidates (the server answered 304): {document:#?}"
    );
    let wasm: Vec<_> = after.iter().filter(|r| is_go_wasm(r.path())).collect();
    assert_eq!(wasm.len(), 1, "{wasm:#?}");
    assert!(
        wasm[0].from_disk_cache,
        "the hashed .wasm comes from the browser cache: {:#?}",
        wasm[0]
    );
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_mime_demo_shows_the_browsers_rejection() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    page.goto(format!("{}/easy", server.url())).await?;
    wait_for_text(&page, "#mime-wrong", WAIT).await?;

    page.find_element("#mime-wrong").await?.click().await?;
    let wrong = wait_for_text(&page, "#mime-wrong-result", WAIT).await?;
    page.find_element("#mime-right").await?.click().await?;
    let right = wait_for_text(&page, "#mime-right-result", WAIT).await?;
    screenshot(&page, "go-module-4-wrong-mime").await?;

    assert!(
        wrong.contains("MIME type"),
        "the browser names the MIME type: {wrong}"
    );
    assert!(wrong.starts_with('✘'), "{wrong}");
    assert!(right.starts_with('✔'), "{right}");
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
