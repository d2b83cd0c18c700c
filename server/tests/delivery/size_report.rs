//! `/api/assets`: the size report `cargo xtask build` wrote (seed task 2).

use wire::SizeReport;

use crate::{Server, h};

#[tokio::test]
async fn api_assets_serves_the_size_report() {
    let server = Server::start().await;
    let response = server.get("/api/assets", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-type"), "application/json");
    let report: SizeReport = response.json().await.unwrap();
    assert!(report.floor.raw > 1_000_000, "Go runtime floor");
    assert!(report.variants.len() >= 3);
    let go = report
        .artifacts
        .iter()
        .find(|row| row.name.starts_with("inspector.wasm "))
        .expect("the Go module is in the report");
    assert!(go.brotli < go.raw);
    // zopfli only where it pays: on what is served.
    assert!(report.artifacts.iter().all(|row| row.zopfli.is_some()));
    for row in &report.variants {
        assert_eq!(
            row.zopfli.is_some(),
            row.name.ends_with("(served)"),
            "{}",
            row.name
        );
        assert!(row.gzip9 < row.raw && row.brotli < row.gzip9, "{row:?}");
    }
    assert_eq!(report.floor.zopfli, None);
}
