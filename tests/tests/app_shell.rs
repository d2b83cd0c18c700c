//! The walking skeleton, end to end: the real server serves the built site to
//! a real headless Chromium, the Leptos app renders, and the page's network
//! requests are recorded.

use std::time::Duration;

use e2e::browser::{screenshot, wait_for_text};
use e2e::{Chromium, NetworkLog, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_shell_renders_in_chromium_with_typed_wasm_responses() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    let network = NetworkLog::attach(&page).await?;

    page.goto(format!("{}/", server.url())).await?;
    let title = wait_for_text(&page, "#app-title", Duration::from_secs(15)).await?;
    assert_eq!(title, "Wasm in Production");
    let tasks = page.find_elements("li.task").await?;
    assert_eq!(tasks.len(), 15, "the shell lists all 15 seed tasks");

    let shot = screenshot(&page, "app-shell").await?;
    assert!(
        std::fs::metadata(&shot)?.len() > 0,
        "screenshot written to {}",
        shot.display()
    );

    let responses = network.responses();
    let document = responses
        .iter()
        .find(|r| r.path() == "/")
        .expect("the document request was recorded");
    assert_eq!(document.status, 200);
    assert_eq!(document.mime_type, "text/html");

    let app_wasm = network.matching(|p| p.starts_with("/frontend-") && p.ends_with("_bg.wasm"));
    assert_eq!(
        app_wasm.len(),
        1,
        "exactly one request for the Leptos app's wasm: {responses:#?}"
    );
    assert_eq!(app_wasm[0].status, 200);
    assert_eq!(app_wasm[0].header("content-type"), Some("application/wasm"));

    let go_requests = network.matching(|p| p.starts_with("/go/"));
    assert!(
        go_requests.is_empty(),
        "the Go module must not load with the page: {go_requests:#?}"
    );

    chromium.close().await?;
    server.stop().await;
    Ok(())
}
