//! Seed task 7 on a slow link: the loading-modes panel fetches the Go module
//! through the server's throttled endpoint in each mode, and no mode can
//! beat the link (one round trip plus the bytes at its bandwidth).

use super::*;
use wire::network::DSL;

/// The inspector module's sizes as built: raw, gzip and brotli bytes.
fn built_sizes() -> anyhow::Result<Vec<u64>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site/manifest.json");
    let manifest: wire::Manifest = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let wasm = manifest
        .asset(&wire::manifest::go_wasm_name("inspector"))
        .ok_or_else(|| anyhow::anyhow!("no Go module in the manifest"))?;
    Ok([Some(wasm.size), wasm.gzip_size, wasm.brotli_size]
        .into_iter()
        .flatten()
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_loading_mode_on_a_throttled_link_takes_at_least_the_links_floor()
-> anyhow::Result<()> {
    let sizes = built_sizes()?;
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(&chromium, format!("{}/medium", server.url()), "#run-modes").await?;
    let network = NetworkLog::attach(&page).await?;
    let chosen: String = page
        .evaluate(format!(
            "(() => {{ const s = document.querySelector('#throttle-profile');
                s.value = '{}'; s.dispatchEvent(new Event('change'));
                return s.value; }})()",
            DSL.name
        ))
        .await?
        .into_value()?;
    assert_eq!(chosen, DSL.name);
    click(&page, "#run-modes").await?;

    let pending = |row: &serde_json::Value| matches!(field(row, "time"), "waiting" | "running…");
    let rows = poll_json(&page, &rows_js("#loading-modes-table tr.mode-row"), |v| {
        v.as_array()
            .is_some_and(|rows| rows.len() == 3 && !rows.iter().any(pending))
    })
    .await?;
    let profile: String = page
        .evaluate("document.querySelector('#loading-modes-table').dataset.profile")
        .await?
        .into_value()?;
    assert_eq!(profile, DSL.name);

    let mut modes = Vec::new();
    for row in rows.as_array().expect("rows") {
        let mode = field(row, "mode");
        let ms: f64 = field(row, "ms")
            .parse()
            .map_err(|_| anyhow::anyhow!("{row}"))?;
        let bytes: u64 = field(row, "bytes").parse()?;
        assert!(
            sizes.contains(&bytes),
            "{mode}: {bytes} bytes is no built size {sizes:?}"
        );
        // The bytes at 5 Mbit/s plus one round trip: about 1.6 s for the
        // brotli module, where loopback takes about 130 ms.
        let floor = DSL.floor_ms(bytes);
        assert!(
            ms >= floor,
            "{mode}: {ms} ms beat the link's floor of {floor} ms"
        );
        let shown: f64 = field(row, "floorMs").parse()?;
        assert!(
            (shown - floor).abs() < 0.1,
            "{mode}: page floor {shown}, {floor}"
        );
        modes.push(mode.to_owned());
    }
    modes.sort();
    assert_eq!(modes, ["buffered", "streaming", "streaming-only"]);

    // Three real fetches (no cache), each the asset responder's answer.
    let fetched =
        network.matching(|p| p.starts_with(&format!("{}/", wire::network::THROTTLED_PREFIX)));
    assert_eq!(fetched.len(), 3, "{fetched:?}");
    for response in &fetched {
        assert_eq!(response.status, 200);
        assert_eq!(response.mime_type, "application/wasm");
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert!(response.header("etag").is_some());
    }
    screenshot(&page, "lesson-loading-modes").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
