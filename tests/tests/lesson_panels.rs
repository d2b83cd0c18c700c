//! The lesson panels (seed tasks 3, 4, 5, 9, 10, 11, 15) and the tier
//! routes in a real headless Chromium against the real server: each panel
//! makes its real requests and the test reads the numbers it shows.
//! Screenshots go to `target/e2e/lesson-*.png`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chromiumoxide::Page;
use e2e::browser::{screenshot, wait_for_text};
use e2e::{Chromium, NetworkLog, TestServer};
#[path = "lesson_panels/loading_modes.rs"]
mod loading_modes;

#[path = "lesson_panels/compile_once.rs"]
mod compile_once;
#[path = "lesson_panels/noisy_neighbour.rs"]
mod noisy_neighbour;
#[path = "lesson_panels/shim_pairs.rs"]
mod shim_pairs;

const WAIT: Duration = Duration::from_secs(60);

/// The server over the built site and the built guests, with a deadline a
/// debug build under a busy machine meets for a healthy call; the hostile
/// guests still hit it (or the memory cap) and get their typed errors.
async fn server() -> TestServer {
    let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    TestServer::start_with(|config| {
        config.guests_dir = guests;
        config.sandbox_deadline_ms = 1000;
    })
    .await
}

async fn open(chromium: &Chromium, url: String, ready: &str) -> anyhow::Result<Page> {
    let page = chromium.new_page().await?;
    page.goto(url).await?;
    wait_for_text(&page, ready, WAIT).await?;
    Ok(page)
}

async fn click(page: &Page, selector: &str) -> anyhow::Result<()> {
    page.find_element(selector).await?.click().await?;
    Ok(())
}

/// Evaluates `js` (an expression giving a JSON string) until it gives a
/// value `done` accepts, or fails with the last value after [`WAIT`].
async fn poll_json(
    page: &Page,
    js: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text: String = page.evaluate(js).await?.into_value()?;
        let value: serde_json::Value = serde_json::from_str(&text)?;
        if done(&value) {
            return Ok(value);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Rows of `selector` as objects: `data-*` attributes and the text of each
/// cell by its first class.
fn rows_js(selector: &str) -> String {
    format!(
        "JSON.stringify([...document.querySelectorAll('{selector}')].map(r => {{
            const o = Object.assign({{}}, r.dataset);
            r.querySelectorAll('td[class]').forEach(td => o[td.className.split(' ')[0]] = td.innerText);
            return o;
        }}))"
    )
}

fn field<'a>(row: &'a serde_json::Value, name: &str) -> &'a str {
    row[name].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tier_has_a_stable_url_that_deep_links_to_its_panels() -> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    for (path, panel) in [
        ("/easy", "#headers"),
        ("/medium", "#shim-pair"),
        ("/hard", "#hostile"),
        ("/memo", "#memo-text"),
    ] {
        let page = chromium.new_page().await?;
        let network = NetworkLog::attach(&page).await?;
        page.goto(format!("{}{path}", server.url())).await?;
        wait_for_text(&page, panel, WAIT).await?;
        let document = network
            .matching(|p| p == path)
            .into_iter()
            .next()
            .expect("the deep link was requested");
        assert_eq!(document.status, 200, "{path}");
        assert_eq!(document.mime_type, "text/html", "{path}");
        assert_eq!(document.header("cache-control"), Some("no-cache"), "{path}");
        page.close().await?;
    }

    // The navigation moves between pages without reloading the document.
    let page = open(&chromium, format!("{}/", server.url()), "#nav").await?;
    let tasks = page.find_elements("li.task").await?;
    assert_eq!(tasks.len(), 15);
    click(&page, "#nav a[href='/hard']").await?;
    wait_for_text(&page, "#capabilities", WAIT).await?;
    let url: String = page.evaluate("location.pathname").await?.into_value()?;
    assert_eq!(url, "/hard");
    let current = wait_for_text(&page, "#nav a[aria-current='page']", WAIT).await?;
    assert!(current.starts_with("Hard"), "{current}");
    screenshot(&page, "lesson-routes-hard").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_inspector_shows_each_encoding_and_a_304_revalidation() -> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/easy", server.url()), "#hdr-run").await?;
    click(&page, "#hdr-run").await?;
    let rows = poll_json(&page, &rows_js("#hdr-server tr.hdr-probe"), |v| {
        v.as_array().is_some_and(|a| a.len() == 6)
    })
    .await?;
    let rows = rows.as_array().unwrap();
    let module: Vec<_> = rows
        .iter()
        .filter(|r| field(r, "path").starts_with("/go/inspector."))
        .collect();
    assert_eq!(module.len(), 3, "{rows:#?}");
    let mut bytes = HashMap::new();
    for row in &module {
        let encoding = field(row, "encoding");
        assert_eq!(field(row, "status"), "200", "{row}");
        let expected = if encoding == "identity" {
            "—"
        } else {
            encoding
        };
        assert_eq!(field(row, "content-encoding"), expected, "{row}");
        assert_eq!(field(row, "vary"), "accept-encoding", "{row}");
        assert_eq!(
            field(row, "cache-control"),
            "public, max-age=31536000, immutable",
            "{row}"
        );
        assert!(
            field(row, "revalidation").starts_with("304 (0 bytes)"),
            "{row}"
        );
        bytes.insert(encoding.to_owned(), field(row, "bytes").parse::<u64>()?);
    }
    assert!(
        bytes["br"] < bytes["gzip"] && bytes["gzip"] < bytes["identity"],
        "{bytes:?}"
    );
    for row in rows.iter().filter(|r| field(r, "path") == "/") {
        assert_eq!(field(row, "cache-control"), "no-cache", "{row}");
        assert!(field(row, "revalidation").starts_with("304"), "{row}");
    }

    // The page's own GETs: the browser's Accept-Encoding, a real 304.
    let page_rows = poll_json(&page, &rows_js("#hdr-page tr.hdr-page"), |v| {
        v.as_array().is_some_and(|a| a.len() == 2)
    })
    .await?;
    let page_rows = page_rows.as_array().unwrap();
    let module = &page_rows[0];
    assert!(
        field(module, "url").starts_with("/go/inspector."),
        "{module}"
    );
    assert_eq!(field(module, "status"), "200", "{module}");
    assert!(
        ["br", "gzip"].contains(&field(module, "content-encoding")),
        "{module}"
    );
    assert_eq!(field(module, "revalidation"), "304 (0 bytes)", "{module}");
    assert_eq!(field(&page_rows[1], "cache-control"), "no-cache");
    page.find_element("#headers")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-headers").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimal_host_adds_2_and_3_and_every_file_attempt_fails() -> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/easy", server.url()), "#host-run").await?;
    click(&page, "#host-run").await?;
    let add = wait_for_text(&page, "#host-add", WAIT).await?;
    assert!(add.starts_with("add(2, 3) = 5"), "{add}");
    let attempts = poll_json(&page, &rows_js("#host-fsprobe tr.attempt"), |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await?;
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{attempts:#?}");
    for attempt in attempts {
        assert_eq!(field(attempt, "denied"), "true", "{attempt}");
    }
    let status: String = page
        .evaluate("document.querySelector('#host-fsprobe').dataset.status")
        .await?
        .into_value()?;
    assert_eq!(status, "200");
    page.find_element("#minimal-host")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-minimal-host").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_end_in_typed_errors_and_the_host_stays_up() -> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/hard", server.url()), "#hostile-all").await?;
    click(&page, "#hostile-all").await?;
    let rows = poll_json(&page, &rows_js("#hostile-table tr.hostile"), |v| {
        v.as_array()
            .is_some_and(|a| a.len() == 6 && a.iter().all(|r| !field(r, "after").is_empty()))
    })
    .await?;
    let by_guest: HashMap<&str, &serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (field(r, "guest"), r))
        .collect();
    for (guest, status, code) in [
        ("bomb", "507", "memory_limit"),
        ("spin", "504", "deadline"),
        ("sleeper", "504", "deadline"),
        ("trap", "502", "trap"),
        ("exit", "502", "exit"),
        ("stack", "502", "trap"),
    ] {
        let row = by_guest[guest];
        assert_eq!(field(row, "status"), status, "{guest}: {row}");
        assert_eq!(field(row, "code"), code, "{guest}: {row}");
        assert!(
            field(row, "after").starts_with("process: HTTP 200"),
            "the host serves the next call: {row}"
        );
    }
    // The sleeper asked for 30 s and was cut at the 1 s deadline.
    let slept: f64 = field(by_guest["sleeper"], "wall").parse()?;
    assert!((900.0..10_000.0).contains(&slept), "{slept} ms");
    page.find_element("#hostile")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-hostile-guests").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_show_denied_probes_and_log_lines_tagged_with_the_tenant() -> anyhow::Result<()>
{
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/hard", server.url()), "#cap-run").await?;
    click(&page, "#cap-run").await?;
    let log = wait_for_text(&page, "#cap-log", WAIT).await?;
    assert!(
        log.contains("[tenant=demo guest=process digest=") && log.contains("] converted 2 rows"),
        "{log}"
    );
    let files = poll_json(&page, &rows_js("#cap-fs tr.attempt"), |_| true).await?;
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 4, "{files:#?}");
    assert!(
        files.iter().all(|r| field(r, "denied") == "true"),
        "{files:#?}"
    );
    let net: String = page
        .evaluate("document.querySelector('#cap-net').innerText")
        .await?
        .into_value()?;
    let dial = net
        .lines()
        .find(|l| l.starts_with("dial tcp"))
        .unwrap_or_default();
    assert!(
        !dial.is_empty() && !dial.contains("succeeded"),
        "the dial to this server must fail: {net}"
    );
    page.find_element("#capabilities")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-capabilities").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memo_shows_the_decision_memo_with_its_tables() -> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/memo", server.url()), "#memo-text h1").await?;
    let title = wait_for_text(&page, "#memo-text h1", WAIT).await?;
    assert!(title.starts_with("Decision memo"), "{title}");
    let tables = page.find_elements("#memo-text table").await?;
    assert!(!tables.is_empty(), "the memo's tables are rendered");
    screenshot(&page, "lesson-memo").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
