//! `cargo xtask bench fairness` (run in release): three tenants on loopback
//! against the real server: two well-behaved (small CSV inputs) and one heavy
//! (large inputs, many concurrent calls). Same load with per-tenant gates
//! off (everyone may run as much as the pool allows, first come first
//! served), on (heavy tenant: one call at a time, no queue), and on with the
//! heavy tenant in the `background` CPU class (its calls run on nice-19
//! threads). Prints the well-behaved tenants' p50/p99 per phase and ratios
//! to running alone.
//!
//! Usage: `bench_fairness <guests-dir> <seconds-per-phase>`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use server::{AppState, Config};

const ADMIN: &str = "bench-admin-token-0000-0123456789abcdef";
const GOOD_CLIENTS: usize = 2;
const HEAVY_CLIENTS: usize = 8;

struct Server {
    url: String,
    _running: server::testing::RunningServer,
    _dir: tempfile::TempDir,
}

/// How the heavy tenant is configured.
#[derive(Clone, Copy)]
enum Heavy {
    Ungated,
    Gated,
    GatedBackground,
}

async fn start(heavy: Heavy) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let heavy_limit = match heavy {
        Heavy::Ungated => "max_concurrency = 64\nqueue_depth = 64",
        Heavy::Gated => "max_concurrency = 1\nqueue_depth = 0",
        Heavy::GatedBackground => "max_concurrency = 1\nqueue_depth = 0\ncpu = \"background\"",
    };
    let tenants = format!(
        "[[tenant]]\nid = \"good1\"\napi_key = \"good1-key-0123456789\"\nmax_concurrency = 4\n\n\
         [[tenant]]\nid = \"good2\"\napi_key = \"good2-key-0123456789\"\nmax_concurrency = 4\n\n\
         [[tenant]]\nid = \"heavy\"\napi_key = \"heavy-key-0123456789\"\n{heavy_limit}\n"
    );
    std::fs::write(dir.path().join("tenants.toml"), tenants).unwrap();
    let mut config = Config::with_assets_dir(dir.path().join("no-site"));
    config.guests_dir = dir.path().join("no-guests");
    config.data_dir = dir.path().join("registry");
    config.admin_token = Some(ADMIN.into());
    config.tenants_file = Some(dir.path().join("tenants.toml"));
    config.sandbox_slots = 64;
    config.sandbox_deadline_ms = 1000;
    let running = server::testing::spawn(AppState::new(config).unwrap())
        .await
        .unwrap();
    Server {
        url: running.url(),
        _running: running,
        _dir: dir,
    }
}

fn csv(rows: usize) -> Vec<u8> {
    let mut s = String::from("id,name,qty\n");
    for i in 0..rows {
        s.push_str(&format!("{i},item{i},{}\n", i % 17));
    }
    s.into_bytes()
}

/// Runs `clients` loops of `tenant` until `stop`; records latencies of 200s.
fn load(
    client: &reqwest::Client,
    url: &str,
    tenant: &'static str,
    clients: usize,
    body: Vec<u8>,
    stop: Arc<AtomicBool>,
    rejected: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<Histogram<u64>>> {
    (0..clients)
        .map(|_| {
            let (client, url, body, stop, rejected) = (
                client.clone(),
                format!("{url}/api/invoke/csv"),
                body.clone(),
                Arc::clone(&stop),
                Arc::clone(&rejected),
            );
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .bearer_auth(format!("{tenant}-key-0123456789"))
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = r.status();
                    let _ = r.bytes().await;
                    if status.is_success() {
                        hist.record(t.elapsed().as_micros() as u64).unwrap();
                    } else {
                        rejected.fetch_add(1, Ordering::Relaxed);
                        // A refused client backs off briefly instead of spinning.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                hist
            })
        })
        .collect()
}

async fn phase(server: &Server, with_heavy: bool, seconds: u64) -> (Histogram<u64>, u64, u64) {
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let rejected_good = Arc::new(AtomicU64::new(0));
    let rejected_heavy = Arc::new(AtomicU64::new(0));
    let mut good = load(
        &client,
        &server.url,
        "good1",
        GOOD_CLIENTS,
        csv(5),
        Arc::clone(&stop),
        Arc::clone(&rejected_good),
    );
    good.extend(load(
        &client,
        &server.url,
        "good2",
        GOOD_CLIENTS,
        csv(5),
        Arc::clone(&stop),
        Arc::clone(&rejected_good),
    ));
    let heavy = if with_heavy {
        load(
            &client,
            &server.url,
            "heavy",
            HEAVY_CLIENTS,
            csv(3000),
            Arc::clone(&stop),
            Arc::clone(&rejected_heavy),
        )
    } else {
        Vec::new()
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut merged = Histogram::<u64>::new(3).unwrap();
    for h in good {
        merged.add(h.await.unwrap()).unwrap();
    }
    let mut heavy_ok = 0;
    for h in heavy {
        heavy_ok += h.await.unwrap().len();
    }
    (merged, heavy_ok, rejected_heavy.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let guests = PathBuf::from(args.next().unwrap_or_else(|| "target/guests".into()));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let module =
        std::fs::read(guests.join("process.wasm")).expect("process.wasm (run `cargo xtask build`)");

    let mut rows = Vec::new();
    for (label, heavy, with_heavy) in [
        ("well-behaved alone", Heavy::Gated, false),
        ("+ heavy, gates off", Heavy::Ungated, true),
        ("+ heavy, gates on", Heavy::Gated, true),
        (
            "+ heavy, gates on + background",
            Heavy::GatedBackground,
            true,
        ),
    ] {
        let server = start(heavy).await;
        let r = reqwest::Client::new()
            .post(format!("{}/api/plugins?name=csv&version=1", server.url))
            .bearer_auth(ADMIN)
            .body(module.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "upload failed: {}", r.status());
        let (hist, heavy_ok, heavy_rejected) = phase(&server, with_heavy, seconds).await;
        println!(
            "[bench] {label}: {} well-behaved calls, heavy ok {heavy_ok}, heavy 429 {heavy_rejected}",
            hist.len()
        );
        rows.push((label, hist, heavy_ok, heavy_rejected));
    }

    let alone_p50 = rows[0].1.value_at_quantile(0.5) as f64;
    let alone_p99 = rows[0].1.value_at_quantile(0.99) as f64;
    println!(
        "\nwell-behaved tenants (2 x {GOOD_CLIENTS} clients, 5-row CSV) vs a heavy tenant ({HEAVY_CLIENTS} clients, 3000-row CSV), {seconds}s per phase:"
    );
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
        "phase", "calls", "p50 ms", "p99 ms", "p50/alone", "p99/alone", "heavy ok", "heavy 429"
    );
    for (label, hist, heavy_ok, heavy_rejected) in &rows {
        let (p50, p99) = (
            hist.value_at_quantile(0.5) as f64,
            hist.value_at_quantile(0.99) as f64,
        );
        println!(
            "{label:<30} {:>9} {:>9.2} {:>9.2} {:>10.2}x {:>10.2}x {heavy_ok:>9} {heavy_rejected:>9}",
            hist.len(),
            p50 / 1e3,
            p99 / 1e3,
            p50 / alone_p50,
            p99 / alone_p99
        );
    }
    let gated = rows[2].1.value_at_quantile(0.99) as f64 / alone_p99;
    let background = rows[3].1.value_at_quantile(0.99) as f64 / alone_p99;
    println!(
        "target (well-behaved p99 with gated neighbour <= 1.25x alone): gates only {} ({gated:.2}x); \
         gates + background CPU class {} ({background:.2}x)",
        verdict(gated),
        verdict(background)
    );
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= 1.25 { "met" } else { "NOT met" }
}
