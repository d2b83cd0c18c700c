//! `cargo xtask bench sandbox` (run in release): per-call latency of the
//! `add` and `process` guests, side by side in one run:
//!
//! - naive: compile the module for every request;
//! - compile once, instantiate per request with the on-demand allocator;
//! - compile once (`InstancePre`) + pooling allocator + copy-on-write images.
//!
//! Also: the smallest memory cap a Go guest starts with, how late the
//! 50 ms deadline cuts a spinning and a sleeping guest, the p99 of
//! well-behaved calls while 16 sleepers are being cut, and what a restart
//! costs per plugin: compiling with Cranelift vs loading the registry's
//! precompiled artifact.
//!
//! Usage: `bench_sandbox <guests-dir> <seconds-per-config>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use server::sandbox::{GuestKey, Output, Sandbox, SandboxError, SandboxLimits, Scheduling};
use tokio::runtime::Runtime;

const CSV: &[u8] = b"name,qty,price\nbolt,4,0.10\nnut,10,0.05\nwasher,25,0.02\n";

fn limits(pooling: bool, memory_pages: u64) -> SandboxLimits {
    SandboxLimits {
        memory_pages,
        deadline: Duration::from_millis(50),
        slots: 32,
        max_input_bytes: 1 << 20,
        pooling,
        ..server::config::SANDBOX_DEFAULTS
    }
}

fn key(name: &str) -> GuestKey {
    GuestKey::Builtin(name.to_owned())
}

fn sandbox(dir: &Path, pooling: bool, pages: u64, guests: &[&str]) -> Sandbox {
    let s = Sandbox::new(limits(pooling, pages)).expect("engine");
    for g in guests {
        let bytes = std::fs::read(dir.join(format!("{g}.wasm"))).expect("guest file");
        s.load(key(g), &bytes).expect("guest loads");
    }
    s
}

/// One call under the server's limits. The bench thread only waits; the
/// guest runs on the sandbox's own threads, as in the server.
fn invoke(rt: &Runtime, s: &Sandbox, guest: &str, input: &[u8]) -> Result<Output, SandboxError> {
    let input = bytes::Bytes::copy_from_slice(input);
    rt.block_on(s.invoke(&key(guest), "bench", input, s.default_options()))
        .result
}

/// How late past `deadline` each of `n` calls of `guest` ends.
fn lateness(rt: &Runtime, s: &Sandbox, guest: &str, input: &[u8], n: usize) -> Histogram<u64> {
    let mut late = Histogram::<u64>::new(3).unwrap();
    for _ in 0..n {
        let t = Instant::now();
        let r = invoke(rt, s, guest, input);
        assert!(
            matches!(r, Err(SandboxError::Deadline { .. })),
            "{guest}: {r:?}"
        );
        late.record(
            t.elapsed()
                .saturating_sub(Duration::from_millis(50))
                .as_micros() as u64,
        )
        .unwrap();
    }
    late
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1e3
}

/// p50/p99 of `process` calls for `budget`, while `sleepers` tasks keep
/// starting 30 s sleeps that the 50 ms deadline cuts.
fn well_behaved_beside_sleepers(
    rt: &Runtime,
    s: &Arc<Sandbox>,
    sleepers: usize,
    budget: Duration,
) -> (Histogram<u64>, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let tasks: Vec<_> = (0..sleepers)
        .map(|_| {
            let (s, stop, cut) = (Arc::clone(s), Arc::clone(&stop), Arc::clone(&cut));
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let input = bytes::Bytes::from_static(b"30s");
                    let call = s
                        .invoke(&key("sleeper"), "sleepy", input, s.default_options())
                        .await;
                    assert!(matches!(call.result, Err(SandboxError::Deadline { .. })));
                    cut.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let row = measure("process", "", budget, u64::MAX, || {
        assert!(invoke(rt, s, "process", CSV).is_ok());
    });
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    (row.hist, cut.load(Ordering::Relaxed))
}

struct Row {
    guest: &'static str,
    config: &'static str,
    calls: u64,
    hist: Histogram<u64>,
    elapsed: Duration,
}

fn measure(
    guest: &'static str,
    config: &'static str,
    budget: Duration,
    max_calls: u64,
    mut call: impl FnMut(),
) -> Row {
    let mut hist = Histogram::<u64>::new(3).unwrap();
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < budget && calls < max_calls {
        let t = Instant::now();
        call();
        hist.record(t.elapsed().as_micros() as u64).unwrap();
        calls += 1;
    }
    Row {
        guest,
        config,
        calls,
        hist,
        elapsed: started.elapsed(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/guests".into()));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let budget = Duration::from_secs(seconds);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt = &rt;
    let pooled = Arc::new(sandbox(
        &dir,
        true,
        256,
        &["add", "process", "spin", "sleeper"],
    ));
    let rows = latency_rows(rt, &dir, &pooled, budget);
    print_latency(&rows, seconds);
    fair_scheduler_overhead(rt, &dir, &pooled, budget);
    smallest_memory_cap(rt, &dir, &pooled);
    deadline_precision(rt, &pooled);
    well_behaved_p99_under_sleepers(rt, &pooled, budget);
    restart_cost(rt, &dir, &pooled);
}

/// One well-behaved call of `guest` (`add` or `process`) in `s`.
fn call_once(rt: &Runtime, s: &Sandbox, guest: &str) {
    match guest {
        "add" => assert_eq!(rt.block_on(s.call_add("add", 2, 3)), Ok(5)),
        _ => assert!(invoke(rt, s, "process", CSV).is_ok()),
    }
}

/// Three rows per guest: naive, compile once, and the pooled `InstancePre`.
fn latency_rows(rt: &Runtime, dir: &Path, pooled: &Sandbox, budget: Duration) -> Vec<Row> {
    let on_demand = sandbox(dir, false, 256, &["add", "process"]);
    let mut rows = Vec::new();
    for guest in ["add", "process"] {
        let bytes = std::fs::read(dir.join(format!("{guest}.wasm"))).unwrap();
        // Naive: a fresh compile per request (capped: each takes ~a second).
        rows.push(measure(
            guest,
            "naive (compile per request)",
            budget,
            20,
            || {
                let s = Sandbox::new(limits(false, 256)).unwrap();
                s.load(key(guest), &bytes).unwrap();
                call_once(rt, &s, guest);
            },
        ));
        rows.push(measure(
            guest,
            "compile once + on-demand alloc",
            budget,
            u64::MAX,
            || call_once(rt, &on_demand, guest),
        ));
        rows.push(measure(
            guest,
            "InstancePre + pooling + CoW",
            budget,
            u64::MAX,
            || call_once(rt, pooled, guest),
        ));
    }
    rows
}

/// The latency table, each configuration against its guest's naive p50.
fn print_latency(rows: &[Row], seconds: u64) {
    println!(
        "\nper-call latency (fresh Store + instance per call, Go runtime start included), {seconds}s per row:"
    );
    println!(
        "{:<8} {:<34} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "guest", "configuration", "calls", "p50 ms", "p99 ms", "calls/s", "vs naive p50"
    );
    for chunk in rows.chunks(3) {
        let naive_p50 = chunk[0].hist.value_at_quantile(0.5) as f64;
        for r in chunk {
            let p50 = r.hist.value_at_quantile(0.5) as f64;
            println!(
                "{:<8} {:<34} {:>8} {:>10.3} {:>10.3} {:>10.1} {:>11.1}x",
                r.guest,
                r.config,
                r.calls,
                p50 / 1e3,
                r.hist.value_at_quantile(0.99) as f64 / 1e3,
                r.calls as f64 / r.elapsed.as_secs_f64(),
                naive_p50 / p50
            );
        }
    }
}

/// What fair time slicing costs a lone tenant: the same calls with the
/// scheduler on and off, interleaved rounds, median p50.
fn fair_scheduler_overhead(rt: &Runtime, dir: &Path, pooled: &Sandbox, budget: Duration) {
    let fair = Sandbox::with_scheduling(limits(true, 256), Scheduling::Fair).expect("engine");
    for g in ["add", "process"] {
        fair.load(
            key(g),
            &std::fs::read(dir.join(format!("{g}.wasm"))).unwrap(),
        )
        .unwrap();
    }
    println!("\nfair scheduler overhead, lone tenant (median p50 of 5 interleaved rounds):");
    for guest in ["add", "process"] {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        let round = (budget / 3).max(Duration::from_millis(500));
        for _ in 0..5 {
            for (s, out) in [(&fair, &mut on), (pooled, &mut off)] {
                let row = measure(guest, "", round, u64::MAX, || call_once(rt, s, guest));
                out.push(ms(&row.hist, 0.5));
            }
        }
        on.sort_by(f64::total_cmp);
        off.sort_by(f64::total_cmp);
        let (on, off) = (on[2], off[2]);
        println!(
            "  {guest:<8} fair {on:.3} ms, fifo {off:.3} ms: {:+.1}% (target <= +5%)",
            (on / off - 1.0) * 100.0
        );
    }
}

/// Smallest cap (pages) at which `process` still starts and answers.
fn smallest_memory_cap(rt: &Runtime, dir: &Path, pooled: &Sandbox) {
    let (mut lo, mut hi) = (1u64, 256u64);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let s = Sandbox::new(limits(false, mid)).expect("engine");
        let bytes = std::fs::read(dir.join("process.wasm")).expect("guest file");
        if let Err(e) = s.load(key("process"), &bytes) {
            // Refused by the preflight: it declares more memory than `mid`.
            assert!(
                matches!(e, server::sandbox::LoadError::Preflight { .. }),
                "{e}"
            );
            lo = mid + 1;
            continue;
        }
        match invoke(rt, &s, "process", CSV) {
            Ok(_) => hi = mid,
            Err(SandboxError::MemoryLimit { .. }) => lo = mid + 1,
            Err(other) => panic!("unexpected {other:?} at {mid} pages"),
        }
    }
    let peak = invoke(rt, pooled, "process", CSV)
        .unwrap()
        .peak_memory_pages;
    println!(
        "\nsmallest memory cap a Go guest (process) runs with: {lo} pages ({} KiB); peak used under the 256-page cap: {peak} pages",
        lo * 64
    );
}

/// How late the 50 ms deadline cuts a guest running wasm (spin) and one
/// blocked in a host call (sleeper).
fn deadline_precision(rt: &Runtime, pooled: &Sandbox) {
    println!("\ndeadline 50 ms, 40 calls each (target p99 <= 10 ms late):");
    for (guest, input) in [("spin", &b""[..]), ("sleeper", &b"30s"[..])] {
        let late = lateness(rt, pooled, guest, input, 40);
        println!(
            "  {guest:<8} lateness p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(&late, 0.5),
            ms(&late, 0.99),
            late.max() as f64 / 1e3
        );
    }
}

/// Sleepers must not take the pool: well-behaved calls alone vs beside
/// 16 sleepers being cut, interleaved rounds.
fn well_behaved_p99_under_sleepers(rt: &Runtime, pooled: &Arc<Sandbox>, budget: Duration) {
    let round = budget.min(Duration::from_secs(3));
    let (mut alone, mut beside, mut cut) = (Vec::new(), Vec::new(), 0);
    for _ in 0..3 {
        alone.push(well_behaved_beside_sleepers(rt, pooled, 0, round).0);
        let (h, n) = well_behaved_beside_sleepers(rt, pooled, 16, round);
        beside.push(h);
        cut += n;
    }
    let median = |hs: &[Histogram<u64>], q: f64| {
        let mut v: Vec<f64> = hs.iter().map(|h| ms(h, q)).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\nprocess calls, median of 3 rounds of {}s: alone p50 {:.3} ms p99 {:.3} ms; beside 16 sleepers ({cut} cut) p50 {:.3} ms p99 {:.3} ms ({:.2}x p99)",
        round.as_secs(),
        median(&alone, 0.5),
        median(&alone, 0.99),
        median(&beside, 0.5),
        median(&beside, 0.99),
        median(&beside, 0.99) / median(&alone, 0.99)
    );
}

/// Restart cost per plugin: compile vs verified precompiled artifact,
/// interleaved so noise hits both alike.
fn restart_cost(rt: &Runtime, dir: &Path, pooled: &Sandbox) {
    let bytes = std::fs::read(dir.join("process.wasm")).unwrap();
    let code = pooled.precompiled(&key("process")).expect("artifact");
    let sha = server::sandbox::artifact::digest(&code);
    let (mut compile, mut load) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        pooled.load(key("restart"), &bytes).unwrap();
        compile.push(t.elapsed());
        let t = Instant::now();
        pooled
            .load_precompiled(key("restart"), "bench", bytes.len(), &code, &sha)
            .unwrap();
        load.push(t.elapsed());
        assert!(invoke(rt, pooled, "restart", CSV).is_ok());
    }
    compile.sort();
    load.sort();
    let (c, l) = (compile[2].as_secs_f64() * 1e3, load[2].as_secs_f64() * 1e3);
    println!(
        "\nrestart, per plugin (process, {} KiB wasm, {} KiB artifact), median of 5:",
        bytes.len() / 1024,
        code.len() / 1024
    );
    println!("  compile with Cranelift           {c:>9.1} ms");
    println!(
        "  load verified precompiled code   {l:>9.1} ms   ({:.0}x faster)",
        c / l
    );
}
