//! Task 8's panel on `/medium`: N compile-once calls and one naive
//! compile-per-call, run by the server, the numbers read from the page.

use super::*;

fn number(value: &serde_json::Value, name: &str) -> f64 {
    value[name]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_once_panel_shows_the_naive_call_slower_than_the_compile_once_median()
-> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/medium", server.url()), "#co-run").await?;
    click(&page, "#co-run").await?;
    let shown = poll_json(
        &page,
        "JSON.stringify(Object.assign({}, document.querySelector('#co-result')?.dataset, \
         {error: document.querySelector('#co-error')?.innerText}))",
        |v| v.get("p50").is_some() || v.get("error").is_some_and(|e| !e.is_null()),
    )
    .await?;
    assert!(shown.get("p50").is_some(), "the lesson failed: {shown}");
    assert_eq!(shown["calls"], "20", "{shown}");
    let (p50, compile, total, ratio) = (
        number(&shown, "p50"),
        number(&shown, "naiveCompile"),
        number(&shown, "naiveTotal"),
        number(&shown, "ratio"),
    );
    assert!(p50 > 0.0, "{shown}");
    assert!(
        compile > p50 && total > compile,
        "the naive call's compile alone outweighs a compile-once call: {shown}"
    );
    assert!(ratio > 1.0, "{shown}");
    let text = wait_for_text(&page, "#co-ratio", WAIT).await?;
    assert!(text.contains("compile-once median"), "{text}");
    page.find_element("#compile-once")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-compile-once").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
