//! One interleaved round: the closed-loop load rows, deadline lateness,
//! compute scaling, and a process sandbox's cost after an idle spell.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::hostile::PROBE_DEADLINE;
use crate::measure::{Sample, concurrent, lateness_ms, quantile_ms};
use crate::native::{self, Isolation, Outcome};
use crate::pool::Worker;
use crate::report::{LOADS, Lateness, Round};
use crate::variants::{CONCURRENCY, DEADLINE, Setup, Variant, wasm_call};
use crate::{CSV, ROUNDS};

/// Deadline samples per variant, per kind, per round.
const LATE_SAMPLES: usize = 10;
/// Sequential calls per variant and input size, per round.
const SCALING_CALLS: usize = 20;
/// The sleeping plugin's input in the lateness rows.
const SLEEP: &[u8] = b"200ms";

pub fn wasm_client(setup: &Setup) -> impl FnMut() -> Result<Duration, String> + '_ {
    let sandbox = setup.sandbox.as_ref().expect("sandbox");
    move || {
        let started = Instant::now();
        wasm_call(sandbox, "process", CSV)
            .map(|_| started.elapsed())
            .map_err(|e| e.to_string())
    }
}

/// One closed-loop load row of [`LOADS`].
fn load(setup: &Setup, row: usize, budget: Duration, recycles: &Mutex<Vec<Duration>>) -> Sample {
    match row {
        0 => concurrent(CONCURRENCY, budget, |_| wasm_client(setup)),
        1 | 2 => concurrent(CONCURRENCY, budget, |i| {
            let (isolation, slot) = match row {
                1 => (Isolation::Plain, None),
                _ => (Isolation::Bwrap, Some(&setup.call_slots[i])),
            };
            move || {
                let cmd = native::command(&setup.binary, isolation, slot, &[]);
                let f = native::run(cmd, slot, CSV, DEADLINE).map_err(|e| e.to_string())?;
                if f.status.success() && !f.timed_out {
                    Ok(f.elapsed)
                } else {
                    let status = native::status_text(f.status);
                    Err(format!("{status}: {}", native::first_line(&f.stderr)))
                }
            }
        }),
        _ => concurrent(CONCURRENCY, budget, |i| {
            let (recycle, slot, binary) = (row == 4, &setup.pool_slots[i], &setup.binary);
            let mut worker = Some(Worker::spawn(binary, "process", slot).expect("worker").0);
            move || {
                let w = match worker.as_mut() {
                    Some(w) => w,
                    None => worker.insert(
                        Worker::spawn(binary, "process", slot)
                            .map_err(|e| e.to_string())?
                            .0,
                    ),
                };
                let started = Instant::now();
                let result = w.call(CSV, DEADLINE);
                let latency = started.elapsed();
                match result {
                    Ok((0, _)) => {}
                    Ok((code, body)) => {
                        return Err(format!("status {code}: {}", String::from_utf8_lossy(&body)));
                    }
                    Err(lost) => {
                        worker = None;
                        return Err(format!("worker lost: {lost:?}"));
                    }
                }
                if recycle {
                    let started = Instant::now();
                    worker.take().expect("a worker").retire();
                    let fresh =
                        Worker::spawn(binary, "process", slot).map_err(|e| e.to_string())?;
                    worker = Some(fresh.0);
                    recycles.lock().expect("recycles").push(started.elapsed());
                }
                Ok(latency)
            }
        }),
    }
}

pub fn run_round(setup: &Setup, round: usize, budget: Duration, large: &[u8]) -> Round {
    let recycles = Mutex::new(Vec::new());
    let load: Vec<Sample> = (0..LOADS.len())
        .map(|row| {
            let s = load(setup, row, budget, &recycles);
            let failed = s
                .first_failure
                .as_ref()
                .map(|e| format!("  {} failed, first: {e}", s.failures))
                .unwrap_or_default();
            println!(
                "[bench] round {round}/{ROUNDS} {:<42} p50 {:>7.3} ms  p99 {:>7.3} ms  {:>6.0} calls/s ({} calls){failed}",
                LOADS[row], s.p50_ms, s.p99_ms, s.calls_per_s, s.calls
            );
            s
        })
        .collect();
    let recycle_ms = quantile_ms(&recycles.into_inner().expect("recycles"), 0.5);
    let spin: Vec<Lateness> = Variant::ALL
        .iter()
        .map(|&v| lateness(setup, v, "spin", b""))
        .collect();
    let sleep: Vec<Lateness> = Variant::ALL
        .iter()
        .map(|&v| lateness(setup, v, "sleep", SLEEP))
        .collect();
    for (i, v) in Variant::ALL.iter().enumerate() {
        println!(
            "[bench] round {round}/{ROUNDS} {:<42} late spin p50 {:.2} p99 {:.2} ms, sleep p50 {:.2} p99 {:.2} ms ({}/{} sleeps stopped)",
            v.label(),
            spin[i].p50,
            spin[i].p99,
            sleep[i].p50,
            sleep[i].p99,
            sleep[i].stopped,
            sleep[i].samples
        );
    }
    let (scaling, scaling_failed) = scaling(setup, large);
    let bwrap_after_idle_ms = bwrap_after_idle(setup);
    Round {
        load,
        recycle_ms,
        spin,
        sleep,
        scaling,
        scaling_failed,
        bwrap_after_idle_ms,
    }
}

/// How late after the deadline `handler` (spin or sleep) is stopped.
fn lateness(setup: &Setup, variant: Variant, handler: &str, input: &[u8]) -> Lateness {
    let ends: Vec<_> = (0..LATE_SAMPLES)
        .map(|_| match variant {
            Variant::Native => setup.native(Isolation::Plain, None, handler, input, DEADLINE),
            other => setup.call(other, handler, input, DEADLINE),
        })
        .collect();
    let elapsed: Vec<Duration> = ends.iter().map(|e| e.elapsed).collect();
    let (p50, p99) = lateness_ms(&elapsed, DEADLINE);
    Lateness {
        p50,
        p99,
        stopped: ends
            .iter()
            .filter(|e| e.outcome == Outcome::Deadline)
            .count(),
        samples: ends.len(),
    }
}

/// p50 ms per variant of back-to-back `process` calls alternating the small
/// and the large input (the pool answers from one warm worker), and how
/// many calls failed. Native calls get [`PROBE_DEADLINE`]: this measures
/// compute, not the deadline. Back to back on purpose: a cgroup join after
/// an idle spell costs more (see [`bwrap_after_idle`]).
fn scaling(setup: &Setup, large: &[u8]) -> (Vec<(f64, f64)>, usize) {
    let (mut worker, _) =
        Worker::spawn(&setup.binary, "process", &setup.pool_slots[0]).expect("worker");
    let mut times = vec![[Vec::new(), Vec::new()]; Variant::ALL.len()];
    let mut failed = 0;
    for (v, &variant) in Variant::ALL.iter().enumerate() {
        for _ in 0..SCALING_CALLS {
            for (size, input) in [CSV, large].into_iter().enumerate() {
                let (ok, elapsed) = match variant {
                    Variant::Pool => {
                        let started = Instant::now();
                        let answer = worker.call(input, PROBE_DEADLINE);
                        (matches!(answer, Ok((0, _))), started.elapsed())
                    }
                    Variant::Native => {
                        let e =
                            setup.native(Isolation::Plain, None, "process", input, PROBE_DEADLINE);
                        (matches!(e.outcome, Outcome::Ok(_)), e.elapsed)
                    }
                    other => {
                        let e = setup.call(other, "process", input, PROBE_DEADLINE);
                        (matches!(e.outcome, Outcome::Ok(_)), e.elapsed)
                    }
                };
                failed += usize::from(!ok);
                times[v][size].push(elapsed);
            }
        }
    }
    let p50s = times
        .iter()
        .map(|[small, large]| (quantile_ms(small, 0.5), quantile_ms(large, 0.5)))
        .collect();
    (p50s, failed)
}

/// p50 ms of a (c) call on the small input after 50 ms in which this bench
/// moved no process into a cgroup (nothing else runs meanwhile).
fn bwrap_after_idle(setup: &Setup) -> f64 {
    let times: Vec<Duration> = (0..LATE_SAMPLES)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            setup
                .call(Variant::Bwrap, "process", CSV, PROBE_DEADLINE)
                .elapsed
        })
        .collect();
    quantile_ms(&times, 0.5)
}
