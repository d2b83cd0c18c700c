//! Closed-loop load at a fixed concurrency, percentiles, medians, RSS.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// One variant's load run.
#[derive(Debug, Clone)]
pub struct Sample {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub calls_per_s: f64,
    pub calls: u64,
    /// Calls that did not succeed, and the first reason.
    pub failures: u64,
    pub first_failure: Option<String>,
}

/// `threads` callers for `budget`, each calling in a closed loop with its
/// own client, made by `client(i)` on its thread before the clock starts
/// (a pool worker is spawned there). A call returns its latency.
pub fn concurrent<C>(threads: usize, budget: Duration, client: impl Fn(usize) -> C + Sync) -> Sample
where
    C: FnMut() -> Result<Duration, String>,
{
    let barrier = Barrier::new(threads);
    let per_thread: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, client) = (&barrier, &client);
                s.spawn(move || {
                    let mut call = client(i);
                    let mut hist = Histogram::<u64>::new(3).expect("histogram");
                    let (mut failures, mut first_failure) = (0, None);
                    barrier.wait();
                    let started = Instant::now();
                    while started.elapsed() < budget {
                        match call() {
                            Ok(latency) => hist.record(micros(latency)).expect("in range"),
                            Err(e) => {
                                failures += 1;
                                first_failure.get_or_insert(e);
                            }
                        }
                    }
                    (hist, started.elapsed(), failures, first_failure)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("load thread"))
            .collect()
    });
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let mut elapsed = Duration::ZERO;
    let (mut failures, mut first_failure) = (0, None);
    for (h, e, f, first) in per_thread {
        hist.add(&h).expect("same bounds");
        elapsed = elapsed.max(e);
        failures += f;
        first_failure = first_failure.or(first);
    }
    Sample {
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1e3,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1e3,
        calls_per_s: (hist.len() + failures) as f64 / elapsed.as_secs_f64(),
        calls: hist.len(),
        failures,
        first_failure,
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// Nearest-rank quantile `q` of `samples`, in milliseconds.
pub fn quantile_ms(samples: &[Duration], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

/// How far past `deadline` each of `elapsed` ended: (p50, p99) in ms.
pub fn lateness_ms(elapsed: &[Duration], deadline: Duration) -> (f64, f64) {
    let late: Vec<Duration> = elapsed.iter().map(|e| e.saturating_sub(deadline)).collect();
    (quantile_ms(&late, 0.5), quantile_ms(&late, 0.99))
}

/// Median of the rounds' values.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

/// The machine's 1-minute load average (other work sharing the cores).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// This process's resident set, in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs `work` while sampling this process's RSS every 2 ms; returns
/// `work`'s result and the largest RSS seen, in KiB.
pub fn with_peak_rss<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let stop = AtomicBool::new(false);
    let peak = AtomicU64::new(rss_kib());
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let result = work();
        stop.store(true, Ordering::Relaxed);
        result
    });
    (result, peak.load(Ordering::Relaxed))
}
