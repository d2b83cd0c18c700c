//! Task 9's panel on `/medium`: the module/shim pair of every pinned Go
//! side by side, checked against the manifest and against the shim bytes
//! the page itself fetches.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_go_pairs_are_listed_with_different_shims_each_hashing_to_the_manifests()
-> anyhow::Result<()> {
    let server = server().await;
    let chromium = Chromium::launch().await?;
    let page = open(
        &chromium,
        format!("{}/medium", server.url()),
        "#go-pairs .pair-go",
    )
    .await?;
    // Each pair as the panel shows it, the sha256 of the shim bytes the page
    // itself fetched, and the manifest the page was built from.
    let seen: serde_json::Value = page
        .evaluate_function(
            "async () => {
                const hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, '0')).join('');
                const manifest = await (await fetch('/manifest.json')).json();
                const pairs = [];
                for (const card of document.querySelectorAll('#go-pairs .go-pair')) {
                    const file = role => {
                        const r = card.querySelector(`tr.pair-file[data-role=\"${role}\"]`);
                        return { path: r.querySelector('td.path').innerText,
                                 sha256: r.querySelector('td.sha256').innerText,
                                 bytes: Number(r.querySelector('td.bytes').innerText) };
                    };
                    const shim = file('shim');
                    const body = await (await fetch(shim.path)).arrayBuffer();
                    pairs.push({ go: card.dataset.go, loaded: card.dataset.loaded,
                                 matches: card.dataset.shimMatches,
                                 goroot_shim: card.querySelector('.goroot-shim').innerText,
                                 module: file('module'), shim,
                                 fetched_shim_sha256: hex(await crypto.subtle.digest('SHA-256', body)),
                                 fetched_shim_bytes: body.byteLength });
                }
                return JSON.stringify({ manifest, pairs });
            }",
        )
        .await?
        .into_value::<String>()
        .map(|t| serde_json::from_str(&t))??;
    let (manifest, pairs) = (&seen["manifest"], seen["pairs"].as_array().unwrap());
    let recorded = manifest["go_pairs"].as_array().unwrap();
    assert!(pairs.len() >= 2, "a pair per pinned Go: {seen}");
    assert_eq!(pairs.len(), recorded.len(), "every recorded pair is listed");
    let loaded: Vec<_> = pairs.iter().filter(|p| p["loaded"] == "true").collect();
    assert_eq!(loaded.len(), 1, "the app loads one pair: {seen}");
    for (i, pair) in pairs.iter().enumerate() {
        for other in &pairs[i + 1..] {
            assert_ne!(pair["go"], other["go"], "one pair per Go version");
            assert_ne!(
                pair["goroot_shim"], other["goroot_shim"],
                "the shim follows the toolchain"
            );
        }
    }
    let tag = |path: &str| path.split('.').nth(1).unwrap_or_default().to_owned();
    for (pair, record) in pairs.iter().zip(recorded) {
        assert!(field(pair, "go").starts_with("go1."), "{pair}");
        assert_eq!(pair["go"], record["go_version"]);
        let (module, shim) = (&pair["module"], &pair["shim"]);
        let module_path = field(module, "path");
        let shim_path = field(shim, "path");
        assert!(module_path.starts_with("/go/inspector.") && module_path.ends_with(".wasm"));
        assert!(shim_path.starts_with("/go/wasm_exec.") && shim_path.ends_with(".js"));
        assert_eq!(tag(module_path), tag(shim_path), "one hash names the pair");
        let manifest_module = &manifest["assets"][field(record, "module")];
        let manifest_shim = &manifest["assets"][field(record, "shim")];
        assert_eq!(module["path"], manifest_module["path"]);
        assert_eq!(module["sha256"], manifest_module["sha256"]);
        assert_eq!(module["bytes"], manifest_module["size"]);
        assert_eq!(shim["path"], manifest_shim["path"]);
        // The bytes the browser got are the manifest's shim, which is the GOROOT's.
        assert_eq!(
            pair["fetched_shim_sha256"], manifest_shim["sha256"],
            "{pair}"
        );
        assert_eq!(pair["fetched_shim_bytes"], manifest_shim["size"]);
        assert_eq!(shim["sha256"], manifest_shim["sha256"]);
        assert_eq!(pair["goroot_shim"], record["goroot_shim_sha256"]);
        assert_eq!(pair["fetched_shim_sha256"], record["goroot_shim_sha256"]);
        assert_eq!(pair["matches"], "true", "the panel says it matches: {pair}");
    }
    page.find_element("#shim-pair")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "lesson-shim-pair").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
