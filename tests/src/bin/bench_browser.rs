//! `cargo xtask bench browser`: cold loads of the Go module in headless
//! Chromium (HTTP cache disabled), per loading mode, interleaved so machine
//! noise hits every mode alike. Prints the median click-to-ready per mode and
//! its ratio to `instantiateStreaming` alone.

use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::{EnableParams, SetCacheDisabledParams};
use e2e::browser::wait_for_text;
use e2e::{Chromium, TestServer};

const MODES: [(&str, &str); 3] = [
    ("streaming-only", "instantiateStreaming alone (no progress)"),
    (
        "streaming",
        "ours: instantiateStreaming + progress on clone",
    ),
    ("buffered", "seed's: buffer + progress, then instantiate"),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let loads: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10);
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];

    for round in 0..=loads {
        for (i, (mode, _)) in MODES.iter().enumerate() {
            // A fresh tab per load: a new Go runtime, no compiled-code reuse
            // through the page, and the HTTP cache disabled.
            let page = chromium.new_page().await?;
            page.execute(EnableParams::default()).await?;
            page.execute(SetCacheDisabledParams::new(true)).await?;
            page.goto(format!("{}/medium?mode={mode}", server.url()))
                .await?;
            wait_for_text(&page, "#load-go", Duration::from_secs(30)).await?;
            page.evaluate("document.querySelector('#load-go').click()")
                .await?;
            wait_for_text(&page, "#go-ready", Duration::from_secs(60)).await?;
            let ms: String = page
                .evaluate("document.querySelector('#go-ready').dataset.loadMs")
                .await?
                .into_value()?;
            page.close().await?;
            // Round 0 warms the server and Chromium's processes; not counted.
            if round > 0 {
                samples[i].push(ms.parse()?);
                println!("[bench] load {round}/{loads} {mode:<15} {ms:>8} ms");
            }
        }
    }
    chromium.close().await?;
    server.stop().await;

    let medians: Vec<f64> = samples.iter().map(|s| median(s)).collect();
    println!(
        "\nGo module cold loads in headless Chromium (cache disabled), {loads} per mode, click → Go ready:"
    );
    println!(
        "{:<48} {:>10} {:>10} {:>10} {:>16}",
        "mode", "median ms", "min ms", "max ms", "vs streaming-only"
    );
    for (((_, label), m), s) in MODES.iter().zip(&medians).zip(&samples) {
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.iter().copied().fold(0.0, f64::max);
        println!(
            "{label:<48} {m:>10.1} {min:>10.1} {max:>10.1} {:>15.3}x",
            m / medians[0]
        );
    }
    let ours = medians[1] / medians[0];
    println!(
        "target (ours <= 1.05x instantiateStreaming alone): {} ({ours:.3}x)",
        if ours <= 1.05 { "met" } else { "NOT met" }
    );
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
