//! `cargo xtask bench sandbox` (run in release): per-call latency of the
//! `add` and `process` guests, side by side in one run:
//!
//! - naive: compile the module for every request;
//! - compile once, instantiate per request with the on-demand allocator;
//! - compile once (`InstancePre`) + pooling allocator + copy-on-write images.
//!
//! Also: the smallest memory cap a Go guest starts with, how late the
//! 50 ms deadline fires, and what a restart costs per plugin: compiling
//! with Cranelift vs loading the registry's precompiled artifact.
//!
//! Usage: `bench_sandbox <guests-dir> <seconds-per-config>`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use server::sandbox::{Sandbox, SandboxError, SandboxLimits};

const CSV: &[u8] = b"name,qty,price\nbolt,4,0.10\nnut,10,0.05\nwasher,25,0.02\n";

fn limits(pooling: bool, memory_pages: u64) -> SandboxLimits {
    SandboxLimits {
        memory_pages,
        deadline: Duration::from_millis(50),
        slots: 4,
        max_input_bytes: 1 << 20,
        pooling,
    }
}

fn sandbox(dir: &std::path::Path, pooling: bool, pages: u64, guests: &[&str]) -> Sandbox {
    let s = Sandbox::new(limits(pooling, pages)).expect("engine");
    for g in guests {
        let bytes = std::fs::read(dir.join(format!("{g}.wasm"))).expect("guest file");
        s.load(g, &bytes).expect("guest loads");
    }
    s
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

    let pooled = sandbox(&dir, true, 256, &["add", "process", "spin"]);
    let on_demand = sandbox(&dir, false, 256, &["add", "process"]);
    let mut rows = Vec::new();
    for guest in ["add", "process"] {
        let bytes = std::fs::read(dir.join(format!("{guest}.wasm"))).unwrap();
        let once = |s: &Sandbox| match guest {
            "add" => assert_eq!(s.call_add("add", 2, 3), Ok(5)),
            _ => assert!(s.invoke("process", "bench", CSV).is_ok()),
        };
        // Naive: a fresh compile per request (capped: each takes ~a second).
        rows.push(measure(
            guest,
            "naive (compile per request)",
            budget,
            20,
            || {
                let s = Sandbox::new(limits(false, 256)).unwrap();
                s.load(guest, &bytes).unwrap();
                once(&s);
            },
        ));
        rows.push(measure(
            guest,
            "compile once + on-demand alloc",
            budget,
            u64::MAX,
            || once(&on_demand),
        ));
        rows.push(measure(
            guest,
            "InstancePre + pooling + CoW",
            budget,
            u64::MAX,
            || once(&pooled),
        ));
    }

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

    // Smallest cap (pages) at which `process` still starts and answers.
    let (mut lo, mut hi) = (1u64, 256u64);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let s = sandbox(&dir, false, mid, &["process"]);
        match s.invoke("process", "bench", CSV) {
            Ok(_) => hi = mid,
            Err(SandboxError::MemoryLimit { .. }) => lo = mid + 1,
            Err(other) => panic!("unexpected {other:?} at {mid} pages"),
        }
    }
    let peak = pooled
        .invoke("process", "bench", CSV)
        .unwrap()
        .peak_memory_pages;
    println!(
        "\nsmallest memory cap a Go guest (process) runs with: {lo} pages ({} KiB); peak used under the 256-page cap: {peak} pages",
        lo * 64
    );

    // Deadline precision: how late does the 50 ms interrupt land?
    let mut late = Histogram::<u64>::new(3).unwrap();
    for _ in 0..40 {
        let t = Instant::now();
        let r = pooled.invoke("spin", "bench", b"");
        assert!(matches!(r, Err(SandboxError::Deadline { .. })));
        late.record(
            t.elapsed()
                .saturating_sub(Duration::from_millis(50))
                .as_micros() as u64,
        )
        .unwrap();
    }
    println!(
        "deadline 50 ms, 40 spins: lateness p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= 10 ms)",
        late.value_at_quantile(0.5) as f64 / 1e3,
        late.value_at_quantile(0.99) as f64 / 1e3,
        late.max() as f64 / 1e3
    );

    // Restart cost per plugin: compile vs verified precompiled artifact,
    // interleaved so noise hits both alike.
    let bytes = std::fs::read(dir.join("process.wasm")).unwrap();
    let code = pooled.precompiled("process").expect("artifact");
    let sha = server::sandbox::artifact::digest(&code);
    let (mut compile, mut load) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        pooled.load("restart", &bytes).unwrap();
        compile.push(t.elapsed());
        let t = Instant::now();
        pooled
            .load_precompiled("restart", "bench", bytes.len(), &code, &sha)
            .unwrap();
        load.push(t.elapsed());
        assert!(pooled.invoke("restart", "bench", CSV).is_ok());
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
