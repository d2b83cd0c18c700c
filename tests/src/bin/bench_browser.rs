//! `cargo xtask bench browser`: loads of the Go module in headless Chromium
//! per loading mode, under each network profile of `wire::network` (emulated
//! through the DevTools protocol's `Network.emulateNetworkConditionsByRule`), as a
//! cold load (HTTP cache disabled) and as a warm second visit (HTTP cache on,
//! same browser profile: V8's compiled-wasm cache can serve a streaming
//! compile). Loads are interleaved per round so machine noise hits every
//! mode alike. Prints the median click-to-ready per mode with its ratio to
//! `instantiateStreaming` alone, and writes `target/bench/browser.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::network::{
    EmulateNetworkConditionsByRuleParams, EnableParams, NetworkConditions, SetCacheDisabledParams,
};
use e2e::browser::wait_for_text;
use e2e::{Chromium, TestServer};
use serde_json::json;
use wire::network::{NetworkProfile, PROFILES};

const MODES: [(&str, &str); 3] = [
    ("streaming-only", "instantiateStreaming alone (no progress)"),
    (
        "streaming",
        "ours: instantiateStreaming + progress on clone",
    ),
    ("buffered", "seed's: buffer + progress, then instantiate"),
];

/// A first visit with the HTTP cache off, or a later one with it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Visit {
    Cold,
    Warm,
}

impl Visit {
    fn id(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Warm => "warm",
        }
    }
}

type Samples = BTreeMap<(usize, Visit, usize), Vec<f64>>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let loads: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10);
    let server = TestServer::start().await;
    let chromium = Chromium::launch().await?;
    let started = Instant::now();
    let mut samples = Samples::new();

    for round in 0..=loads {
        for (p, profile) in PROFILES.iter().enumerate() {
            for (m, (mode, _)) in MODES.iter().enumerate() {
                for visit in [Visit::Cold, Visit::Warm] {
                    let ms = load(&chromium, &server, *profile, mode, visit).await?;
                    // Round 0 warms the server and Chromium's processes and
                    // fills the HTTP cache for the warm visits; not counted.
                    if round > 0 {
                        samples.entry((p, visit, m)).or_default().push(ms);
                        println!(
                            "[bench] round {round}/{loads} {:<9} {:<5} {mode:<15} {ms:>8.1} ms",
                            profile.name,
                            visit.id()
                        );
                    }
                }
            }
        }
    }
    chromium.close().await?;
    server.stop().await;

    print_table(&samples, loads);
    let path = write_json(&samples, loads)?;
    println!(
        "\n{} loads in {:.0} s; JSON: {}",
        samples.values().map(Vec::len).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// One visit of `/medium?mode=…` in a fresh tab: the page loads at full
/// speed, then the profile is emulated and the click → Go-ready time read.
async fn load(
    chromium: &Chromium,
    server: &TestServer,
    profile: NetworkProfile,
    mode: &str,
    visit: Visit,
) -> anyhow::Result<f64> {
    // A fresh tab per load: a new Go runtime, no compiled module reused
    // through the page.
    let page = chromium.new_page().await?;
    page.execute(EnableParams::default()).await?;
    page.execute(SetCacheDisabledParams::new(visit == Visit::Cold))
        .await?;
    page.goto(format!("{}/medium?mode={mode}", server.url()))
        .await?;
    wait_for_text(&page, "#load-go", Duration::from_secs(30)).await?;
    if profile.download_kbps.is_some() {
        // One global rule (empty URL pattern): every request of the tab.
        let rule = NetworkConditions::new(
            "",
            f64::from(profile.rtt_ms),
            profile.download_bytes_per_s(),
            profile.upload_bytes_per_s(),
        );
        page.execute(EmulateNetworkConditionsByRuleParams::new(false, vec![rule]))
            .await?;
    }
    page.evaluate("document.querySelector('#load-go').click()")
        .await?;
    wait_for_text(&page, "#go-ready", Duration::from_secs(120)).await?;
    let ms: String = page
        .evaluate("document.querySelector('#go-ready').dataset.loadMs")
        .await?
        .into_value()?;
    page.close().await?;
    Ok(ms.parse()?)
}

struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

fn summary(values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        median: sorted[sorted.len() / 2],
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    }
}

fn median_of(samples: &Samples, p: usize, visit: Visit, m: usize) -> f64 {
    summary(&samples[&(p, visit, m)]).median
}

fn print_table(samples: &Samples, loads: usize) {
    println!(
        "\nGo module loads in headless Chromium, {loads} per mode, profile and visit, click → Go ready \
         (cold: HTTP cache disabled; warm: a later visit, HTTP cache on):"
    );
    println!(
        "{:<10} {:<5} {:<48} {:>10} {:>9} {:>9} {:>17}",
        "profile", "visit", "mode", "median ms", "min ms", "max ms", "vs streaming-only"
    );
    for (p, profile) in PROFILES.iter().enumerate() {
        for visit in [Visit::Cold, Visit::Warm] {
            let baseline = median_of(samples, p, visit, 0);
            for (m, (_, label)) in MODES.iter().enumerate() {
                let s = summary(&samples[&(p, visit, m)]);
                println!(
                    "{:<10} {:<5} {label:<48} {:>10.1} {:>9.1} {:>9.1} {:>16.3}x",
                    profile.name,
                    visit.id(),
                    s.median,
                    s.min,
                    s.max,
                    s.median / baseline
                );
            }
        }
    }
    println!(
        "\nstreaming's gain over buffered (cold, median): {}",
        PROFILES
            .iter()
            .enumerate()
            .map(|(p, profile)| format!(
                "{} {:+.0} ms",
                profile.name,
                median_of(samples, p, Visit::Cold, 2) - median_of(samples, p, Visit::Cold, 1)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let ours = median_of(samples, 0, Visit::Cold, 1) / median_of(samples, 0, Visit::Cold, 0);
    println!(
        "target (ours <= 1.05x instantiateStreaming alone, loopback cold): {} ({ours:.3}x)",
        if ours <= 1.05 { "met" } else { "NOT met" }
    );
}

/// `target/bench/browser.json`: every sample, and the medians and ratios
/// the table prints, per profile, visit and mode.
fn write_json(samples: &Samples, loads: usize) -> anyhow::Result<PathBuf> {
    let mut profiles = Vec::new();
    for (p, profile) in PROFILES.iter().enumerate() {
        let mut visits = serde_json::Map::new();
        for visit in [Visit::Cold, Visit::Warm] {
            let baseline = median_of(samples, p, visit, 0);
            let mut modes = serde_json::Map::new();
            for (m, (mode, label)) in MODES.iter().enumerate() {
                let values = &samples[&(p, visit, m)];
                let s = summary(values);
                modes.insert(
                    (*mode).to_owned(),
                    json!({
                        "label": label,
                        "median_ms": s.median,
                        "min_ms": s.min,
                        "max_ms": s.max,
                        "vs_streaming_only": s.median / baseline,
                        "samples_ms": values,
                    }),
                );
            }
            visits.insert(visit.id().to_owned(), modes.into());
        }
        profiles.push(json!({ "profile": profile, "visits": visits }));
    }
    let report = json!({
        "loads_per_cell": loads,
        "measures": "click → Go ready (shim, fetch, compile, instantiate, Go start), ms",
        "profiles": profiles,
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("browser.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    Ok(path)
}
