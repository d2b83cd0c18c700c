//! `cargo xtask bench isolation` (run in release): the `process` plugin
//! (the same Go CSV -> JSON code) run four ways, side by side and
//! interleaved in one run, on a fixed concurrency of 2:
//!
//! - (a) a Wasm instance per call (the project's sandbox);
//! - (b) a native process per call (fork/exec, stdin/stdout);
//! - (c) the same under bubblewrap with a cgroup memory cap, killed at the deadline;
//! - (d) a pre-forked pool of bubblewrap'd workers per tenant, warm and
//!   recycled after every call.
//!
//! Per variant: p50/p99, calls/s, memory per concurrent call, how late a
//! spinning and a sleeping plugin is stopped after the 50 ms deadline, how
//! cost scales with input size (and where processes overtake Wasm), and
//! what each hostile plugin (alloc bomb, loop, sleep, file read, socket)
//! is stopped by and how the caller learns of it. Prints a markdown report
//! and writes it to the given path.
//!
//! Usage: `bench_isolation <guests-dir> <native-binary> <seconds-per-row> <report.md>`,
//! or `bench_isolation --check <native-binary>` (see `check.rs`).

mod cgroup;
mod check;
mod hostile;
mod measure;
mod native;
mod pool;
mod report;
mod rounds;
mod variants;

use std::path::{Path, PathBuf};
use std::time::Duration;

use server::sandbox::{Sandbox, SandboxLimits};

use hostile::{CASES, Listener, PROBE_DEADLINE};
use measure::concurrent;
use native::{Isolation, Outcome};
use pool::Worker;
use report::{Memory, Results};
use rounds::{run_round, wasm_client};
use variants::{CONCURRENCY, DEADLINE, Setup, Variant, WASM_PAGES, wasm_call};

const CSV: &[u8] = b"name,qty,price\nbolt,4,0.10\nnut,10,0.05\nwasher,25,0.02\n";
const SMALL_ROWS: usize = 3;
/// Large enough to show per-row cost, small enough for Wasm's 50 ms and 256 pages.
const LARGE_ROWS: usize = 2000;
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--check") {
        let binary = args
            .get(1)
            .expect("usage: bench_isolation --check <native-binary>");
        check::run(PathBuf::from(binary));
    }
    let [guests, binary, seconds, out] = args.as_slice() else {
        panic!("usage: bench_isolation <guests-dir> <native-binary> <seconds> <report.md>");
    };
    let seconds: u64 = seconds.parse().expect("seconds is a number");
    let sandbox = Sandbox::new(SandboxLimits {
        memory_pages: WASM_PAGES,
        deadline: DEADLINE,
        slots: 4,
        max_input_bytes: 1 << 20,
        pooling: true,
        ..server::config::SANDBOX_DEFAULTS
    })
    .expect("wasmtime engine");
    sandbox.load_dir(Path::new(guests)).expect("guests load");
    let setup = Setup::new(binary.into(), Some(sandbox))
        .unwrap_or_else(|e| panic!("cannot cap native memory with a cgroup: {e}"));

    let load_before = measure::load_average();
    same_output(&setup);
    let large = large_csv(LARGE_ROWS);
    let memory = memory(&setup);
    let budget = Duration::from_secs(seconds);
    let rounds = (1..=ROUNDS)
        .map(|round| run_round(&setup, round, budget, &large))
        .collect();
    println!("[bench] hostile plugins");
    let hostile = hostile_matrix(&setup);
    println!("[bench] smallest RLIMIT_AS the native binary starts under");
    let smallest_rlimit_as_mib = native::smallest_address_space(&setup.binary, CSV);
    let md = report::render(&Results {
        seconds,
        rounds,
        memory,
        hostile,
        smallest_rlimit_as_mib,
        small_rows: SMALL_ROWS,
        large_rows: LARGE_ROWS,
        load: (load_before, measure::load_average()),
    });
    println!("\n{md}");
    if let Some(dir) = Path::new(out).parent() {
        std::fs::create_dir_all(dir).expect("report directory");
    }
    std::fs::write(out, md).expect("write the report");
    println!("[bench] written to {out}");
}

/// The four variants run the same logic: same bytes out for the same CSV.
fn same_output(setup: &Setup) {
    let outputs: Vec<Outcome> = Variant::ALL
        .iter()
        .map(|&v| setup.call(v, "process", CSV, PROBE_DEADLINE).outcome)
        .collect();
    let text = |o: &Outcome| match o {
        Outcome::Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    };
    let Outcome::Ok(first) = &outputs[0] else {
        panic!("wasm process failed: {}", text(&outputs[0]));
    };
    assert!(
        outputs.iter().all(|o| *o == outputs[0]),
        "the variants disagree: {:?}",
        outputs.iter().map(text).collect::<Vec<_>>()
    );
    println!(
        "[bench] all four variants return the same {} bytes for the CSV",
        first.len()
    );
}

fn large_csv(rows: usize) -> Vec<u8> {
    let mut csv = String::from("id,name,qty,price\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "{i},item-{i},{},{}.{:02}\n",
            i % 100,
            i / 100,
            i % 100
        ));
    }
    csv.into_bytes()
}

/// Memory per concurrent call of each variant.
fn memory(setup: &Setup) -> Memory {
    let sandbox = setup.sandbox.as_ref().expect("sandbox");
    let wasm_peak_pages = wasm_call(sandbox, "process", CSV)
        .expect("process runs")
        .peak_memory_pages;
    let before = measure::rss_kib();
    let (_, peak) = measure::with_peak_rss(|| {
        concurrent(CONCURRENCY, Duration::from_secs(1), |_| wasm_client(setup))
    });
    let charged = |mut call: Box<dyn FnMut() -> Option<u64> + '_>| {
        measure::median((0..10).map(|_| call().unwrap_or(0) as f64 / (1 << 20) as f64))
    };
    let plain = charged(Box::new(|| {
        setup
            .native(
                Isolation::Plain,
                Some(&setup.accounting),
                "process",
                CSV,
                PROBE_DEADLINE,
            )
            .peak_bytes
    }));
    let bwrap = charged(Box::new(|| {
        setup
            .native(
                Isolation::Bwrap,
                Some(&setup.call_slots[0]),
                "process",
                CSV,
                PROBE_DEADLINE,
            )
            .peak_bytes
    }));
    let slot = &setup.pool_slots[0];
    slot.reset_peak();
    let (mut worker, _) = Worker::spawn(&setup.binary, "process", slot).expect("worker");
    for _ in 0..10 {
        worker.call(CSV, DEADLINE).expect("worker answers");
    }
    let pool = slot.peak() as f64 / (1 << 20) as f64;
    Memory {
        wasm_peak_pages,
        wasm_rss_growth_kib: peak.saturating_sub(before) as f64 / CONCURRENCY as f64,
        native_mib: [plain, bwrap, pool],
    }
}

/// The hostile cases through every variant.
fn hostile_matrix(setup: &Setup) -> Vec<Vec<String>> {
    let listener = Listener::open().expect("loopback listener");
    CASES
        .iter()
        .map(|&case| {
            Variant::ALL
                .iter()
                .map(|&v| hostile::cell(setup, v, case, &listener))
                .collect()
        })
        .collect()
}
