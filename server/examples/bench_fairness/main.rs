//! `cargo xtask bench fairness` (run in release): well-behaved tenants and
//! heavy ones on loopback against the real server. Two well-behaved tenants
//! (small CSV inputs) beside one or three heavy tenants (large inputs, many
//! concurrent calls), under:
//!
//! - FIFO scheduling (whoever the executor polls) with per-tenant gates off,
//!   on, and on with the heavy tenant in the `background` CPU class;
//! - fair time slices (start-time fair queuing at every 1 ms epoch tick),
//!   equal weights, no gate on the heavy tenant, no background class;
//! - the same with three heavy tenants at once.
//!
//! The server runs on its own HTTP runtime (as `wip-server` does), apart
//! from the load generators' tasks.
//!
//! Three interleaved rounds; the table shows each phase's median round:
//! the well-behaved p50/p99 and their ratio to running alone (same round),
//! the heavy tenants' throughput and the host's total throughput.
//!
//! Usage: `bench_fairness <guests-dir> <seconds-per-phase> [rounds]
//! [phase...]`: at least [`ROUNDS`] rounds; phases by number (1 to 6 as
//! listed; "alone", the baseline, always runs), all by default.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use load::{Control, csv, load, paced};
use server::{AppState, Config};

mod load;

const ADMIN: &str = "bench-admin-token-0000-0123456789abcdef";
/// Calls per second each well-behaved tenant sends, on a fixed schedule:
/// together about a sixth of the host's CPU, well under the two tenants'
/// fair share beside one heavy tenant (two thirds).
const GOOD_RATE: u32 = 100;
const HEAVY_CLIENTS: usize = 8;
/// Load before each phase's measured seconds.
const WARM_UP: Duration = Duration::from_secs(1);

struct Server {
    url: String,
    _running: server::testing::RunningServer,
    /// The server's HTTP workers, as `wip-server` has its own: the load
    /// generators' tasks (up to 24 heavy clients) must not queue in front
    /// of the answers they measure on the same two workers.
    _runtime: HttpRuntime,
    _dir: tempfile::TempDir,
}

/// A runtime that may be dropped inside the bench's async context.
struct HttpRuntime(Option<tokio::runtime::Runtime>);

impl Drop for HttpRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// How a phase configures the server and its heavy tenants.
#[derive(Clone, Copy)]
struct Phase {
    label: &'static str,
    scheduler: &'static str,
    heavy_limit: &'static str,
    heavies: usize,
}

const UNGATED: &str = "max_concurrency = 64\nqueue_depth = 64";
const GATED: &str = "max_concurrency = 1\nqueue_depth = 0";
const GATED_BACKGROUND: &str = "max_concurrency = 1\nqueue_depth = 0\ncpu = \"background\"";

const PHASES: [Phase; 6] = [
    Phase {
        label: "well-behaved alone",
        scheduler: "fair",
        heavy_limit: UNGATED,
        heavies: 0,
    },
    Phase {
        label: "+ heavy, FIFO, gates off",
        scheduler: "fifo",
        heavy_limit: UNGATED,
        heavies: 1,
    },
    Phase {
        label: "+ heavy, FIFO, gates on",
        scheduler: "fifo",
        heavy_limit: GATED,
        heavies: 1,
    },
    Phase {
        label: "+ heavy, FIFO, gates + background",
        scheduler: "fifo",
        heavy_limit: GATED_BACKGROUND,
        heavies: 1,
    },
    Phase {
        label: "+ heavy, fair slices, equal weights",
        scheduler: "fair",
        heavy_limit: UNGATED,
        heavies: 1,
    },
    Phase {
        label: "+ 3 heavy, fair slices, equal weights",
        scheduler: "fair",
        heavy_limit: UNGATED,
        heavies: 3,
    },
];

const HEAVY: [&str; 3] = ["heavy1", "heavy2", "heavy3"];

async fn start(phase: Phase) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut tenants = String::from(
        "[[tenant]]\nid = \"good1\"\napi_key = \"good1-key-0123456789\"\nmax_concurrency = 4\n\n\
         [[tenant]]\nid = \"good2\"\napi_key = \"good2-key-0123456789\"\nmax_concurrency = 4\n",
    );
    for heavy in HEAVY {
        let limit = phase.heavy_limit;
        tenants.push_str(&format!(
            "\n[[tenant]]\nid = \"{heavy}\"\napi_key = \"{heavy}-key-0123456789\"\n{limit}\n"
        ));
    }
    std::fs::write(dir.path().join("tenants.toml"), tenants).unwrap();
    let mut config = Config::with_assets_dir(dir.path().join("no-site"));
    config.guests_dir = dir.path().join("no-guests");
    config.data_dir = dir.path().join("registry");
    config.admin_token = Some(ADMIN.into());
    config.tenants_file = Some(dir.path().join("tenants.toml"));
    config.sandbox_slots = 64;
    config.sandbox_deadline_ms = 1000;
    config.cpu_scheduler = phase.scheduler.into();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = AppState::new(config).unwrap();
    let running = runtime
        .spawn(server::testing::spawn(state))
        .await
        .unwrap()
        .unwrap();
    Server {
        url: running.url(),
        _running: running,
        _runtime: HttpRuntime(Some(runtime)),
        _dir: dir,
    }
}

/// One run of a phase: the well-behaved latencies, heavy calls done,
/// heavy calls refused.
struct Run {
    good: Histogram<u64>,
    heavy_ok: u64,
    heavy_rejected: u64,
}

async fn run_phase(server: &Server, heavies: usize, seconds: u64) -> Run {
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    // Fresh pool slots, connections and caches make a new server's first
    // calls slower: each phase warms up before it is measured.
    let measured_from = Instant::now() + WARM_UP;
    let control = |rejected: &Arc<AtomicU64>| Control {
        stop: Arc::clone(&stop),
        rejected: Arc::clone(rejected),
        measured_from,
    };
    let (rejected_good, rejected_heavy) = (Arc::default(), Arc::default());
    let (good_control, heavy_control) = (control(&rejected_good), control(&rejected_heavy));
    let mut good = Vec::new();
    for tenant in ["good1", "good2"] {
        good.push(paced(
            &client,
            &server.url,
            tenant,
            GOOD_RATE,
            csv(5),
            &good_control,
        ));
    }
    let mut heavy = Vec::new();
    for tenant in &HEAVY[..heavies] {
        heavy.extend(load(
            &client,
            &server.url,
            tenant,
            HEAVY_CLIENTS,
            csv(3000),
            &heavy_control,
        ));
    }
    tokio::time::sleep(WARM_UP + Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut merged = Histogram::<u64>::new(3).unwrap();
    for h in good {
        merged.add(h.await.unwrap()).unwrap();
    }
    let mut heavy_ok = 0;
    for h in heavy {
        heavy_ok += h.await.unwrap().len();
    }
    Run {
        good: merged,
        heavy_ok,
        heavy_rejected: rejected_heavy.load(Ordering::Relaxed),
    }
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

const ROUNDS: usize = 3;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let guests = PathBuf::from(args.next().unwrap_or_else(|| "target/guests".into()));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ROUNDS)
        .max(ROUNDS);
    let picked: Vec<usize> = args.filter_map(|s| s.parse::<usize>().ok()).collect();
    let runs_phase = |i: usize| i == 0 || picked.is_empty() || picked.contains(&(i + 1));
    let module =
        std::fs::read(guests.join("process.wasm")).expect("process.wasm (run `cargo xtask build`)");

    // runs[phase][round]
    let mut runs: Vec<Vec<Run>> = PHASES.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for (i, phase) in PHASES.iter().enumerate().filter(|(i, _)| runs_phase(*i)) {
            runs[i].push(run_round(*phase, &module, seconds, round).await);
        }
    }

    print_results(&runs, runs_phase, seconds, rounds);
}

/// One round of `phase`: a fresh server with `module` uploaded, under
/// load for `seconds`; prints the round's line.
async fn run_round(phase: Phase, module: &[u8], seconds: u64, round: usize) -> Run {
    let server = start(phase).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/plugins?name=csv&version=1", server.url))
        .bearer_auth(ADMIN)
        .body(module.to_vec())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "upload failed: {}", r.status());
    let run = run_phase(&server, phase.heavies, seconds).await;
    // Inside the server (admission to answer) vs at the client: what
    // the scheduler adds vs what the HTTP path and the OS add.
    let stats: Vec<wire::StatRow> = reqwest::get(format!("{}/api/stats", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inside = stats
        .iter()
        .filter(|row| row.tenant.starts_with("good"))
        .map(|row| format!("{} {:.2}", row.tenant, row.p99_ms))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "[bench] round {} {}: {} well-behaved calls, p99 {:.2} ms (in the server: {inside}), heavy ok {}, heavy 429 {}",
        round + 1,
        phase.label,
        run.good.len(),
        run.good.value_at_quantile(0.99) as f64 / 1e3,
        run.heavy_ok,
        run.heavy_rejected
    );
    run
}

/// The table of every phase that ran (the median of its rounds, against
/// phase 1 alone) and the verdict on the fairness target.
fn print_results(
    runs: &[Vec<Run>],
    runs_phase: impl Fn(usize) -> bool,
    seconds: u64,
    rounds: usize,
) {
    let secs = seconds as f64;
    println!(
        "\nwell-behaved tenants (2 x {GOOD_RATE} calls/s on a fixed schedule, 5-row CSV, latency from the scheduled time) vs heavy tenants ({HEAVY_CLIENTS} clients each, 3000-row CSV), {seconds}s per phase, median of {rounds} interleaved rounds:"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>10} {:>10} {:>11} {:>11} {:>9}",
        "phase",
        "p50 ms",
        "p99 ms",
        "p50/alone",
        "p99/alone",
        "heavy ok/s",
        "total ok/s",
        "heavy 429"
    );
    let mut fair_ratio = None;
    for (i, phase) in PHASES.iter().enumerate().filter(|(i, _)| runs_phase(*i)) {
        let q = |r: &Run, q: f64| r.good.value_at_quantile(q) as f64;
        let ratio = |q_: f64| {
            median(
                runs[i]
                    .iter()
                    .zip(&runs[0])
                    .map(|(r, alone)| q(r, q_) / q(alone, q_))
                    .collect(),
            )
        };
        let p50 = median(runs[i].iter().map(|r| q(r, 0.5) / 1e3).collect());
        let p99 = median(runs[i].iter().map(|r| q(r, 0.99) / 1e3).collect());
        let heavy = median(runs[i].iter().map(|r| r.heavy_ok as f64 / secs).collect());
        let total = median(
            runs[i]
                .iter()
                .map(|r| (r.heavy_ok + r.good.len()) as f64 / secs)
                .collect(),
        );
        let refused = median(runs[i].iter().map(|r| r.heavy_rejected as f64).collect());
        println!(
            "{:<40} {p50:>8.2} {p99:>8.2} {:>9.2}x {:>9.2}x {heavy:>11.1} {total:>11.1} {refused:>9.0}",
            phase.label,
            ratio(0.5),
            ratio(0.99),
        );
        if i == 4 {
            fair_ratio = Some(ratio(0.99));
        }
    }
    let verdict = match fair_ratio {
        Some(r) if r <= 1.15 => format!("met ({r:.2}x)"),
        Some(r) => format!("NOT met ({r:.2}x)"),
        None => "not measured (phase 5 did not run)".into(),
    };
    println!(
        "target (well-behaved p99 <= 1.15x alone, heavy tenant at an equal weight, no background class): {verdict}"
    );
}
