//! Observability across the boundary (seed task 14): per (digest, tenant)
//! invocations by outcome and latency, exposed as Prometheus text at
//! `/metrics` and as percentiles at `/api/stats`; [`rollout_metrics`]: the
//! rollout series.

pub mod rollout_metrics;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Metrics of every plugin invocation.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    invocations: IntCounterVec,
    latency: HistogramVec,
    cpu: prometheus::CounterVec,
    stats: Mutex<BTreeMap<(String, String), Stat>>,
    started: Instant,
    cores: f64,
    rollouts: rollout_metrics::RolloutMetrics,
}

#[derive(Debug)]
struct Stat {
    latency_us: Histogram<u64>,
    outcomes: BTreeMap<Outcome, u64>,
    cpu: Duration,
    recent: CpuWindow,
}

/// CPU time per second over the last minute, in a ring of 60 buckets.
#[derive(Debug)]
struct CpuWindow {
    /// (second since start, CPU time in that second).
    buckets: [(u64, Duration); 60],
}

impl Default for CpuWindow {
    fn default() -> Self {
        Self {
            buckets: [(0, Duration::ZERO); 60],
        }
    }
}

impl CpuWindow {
    fn add(&mut self, second: u64, cpu: Duration) {
        let bucket = &mut self.buckets[(second % 60) as usize];
        if bucket.0 != second {
            *bucket = (second, Duration::ZERO);
        }
        bucket.1 += cpu;
    }

    /// CPU time in the 60 seconds up to `now`.
    fn last_minute(&self, now: u64) -> Duration {
        self.buckets
            .iter()
            .filter(|(second, _)| now.saturating_sub(*second) < 60)
            .map(|(_, cpu)| *cpu)
            .sum()
    }
}

pub use wire::StatRow;

use crate::outcome::Outcome;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Self {
        let registry = Registry::new();
        let invocations = IntCounterVec::new(
            Opts::new(
                "wip_plugin_invocations_total",
                "Plugin invocations by outcome",
            ),
            // `route`: how the call came (`run`, `invoke`, a lesson,
            // `upload-smoke`; `pipeline::Route`), so lessons are visible.
            &["route", "digest", "tenant", "outcome"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "wip_plugin_latency_seconds",
                "Latency of plugin calls that ran (admission rejections are counted, not timed)",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["digest", "tenant"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(invocations.clone()))
            .expect("registers once");
        let cpu = prometheus::CounterVec::new(
            Opts::new(
                "wip_cpu_seconds_total",
                "CPU time guests ran wasm, in epoch ticks of 1 ms (sleeps excluded)",
            ),
            &["digest", "tenant"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("registers once");
        registry
            .register(Box::new(cpu.clone()))
            .expect("registers once");
        Self {
            rollouts: rollout_metrics::RolloutMetrics::register(&registry),
            registry,
            invocations,
            latency,
            cpu,
            stats: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            cores: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
        }
    }

    /// Counts one call that came by `route` and used `cpu` (time running wasm).
    pub fn record(
        &self,
        route: &str,
        digest: &str,
        tenant: &str,
        outcome: Outcome,
        duration: Duration,
        cpu: Duration,
    ) {
        self.invocations
            .with_label_values(&[route, digest, tenant, outcome.as_str()])
            .inc();
        // A 429 answered in microseconds is not a fast call: timing it would
        // drag the percentiles of exactly the tenant that is over its limit.
        let ran = outcome.ran();
        if ran {
            self.latency
                .with_label_values(&[digest, tenant])
                .observe(duration.as_secs_f64());
        }
        let mut stats = self.stats.lock().expect("stats lock");
        let stat = stats
            .entry((digest.to_owned(), tenant.to_owned()))
            .or_insert_with(|| Stat {
                latency_us: Histogram::new(3).expect("valid histogram"),
                outcomes: BTreeMap::new(),
                cpu: Duration::ZERO,
                recent: CpuWindow::default(),
            });
        if !cpu.is_zero() {
            self.cpu
                .with_label_values(&[digest, tenant])
                .inc_by(cpu.as_secs_f64());
            stat.cpu += cpu;
            stat.recent.add(self.started.elapsed().as_secs(), cpu);
        }
        if ran {
            let _ = stat.latency_us.record(duration.as_micros() as u64);
        }
        *stat.outcomes.entry(outcome).or_default() += 1;
    }

    /// The rollout series.
    pub fn rollouts(&self) -> &rollout_metrics::RolloutMetrics {
        &self.rollouts
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("Prometheus text is UTF-8")
    }

    /// Percentiles and rates per (digest, tenant).
    pub fn stats(&self) -> Vec<StatRow> {
        let stats = self.stats.lock().expect("stats lock");
        let now = self.started.elapsed().as_secs();
        // The host's CPU over the last minute: every core, or the time
        // since start when that is shorter.
        let window = self
            .started
            .elapsed()
            .min(Duration::from_secs(60))
            .as_secs_f64()
            * self.cores;
        stats
            .iter()
            .map(|((digest, tenant), s)| {
                let total: u64 = s.outcomes.values().sum();
                let rate = |o: Outcome| {
                    s.outcomes.get(&o).copied().unwrap_or(0) as f64 / total.max(1) as f64
                };
                StatRow {
                    digest: digest.clone(),
                    tenant: tenant.clone(),
                    invocations: total,
                    outcomes: s
                        .outcomes
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), *v))
                        .collect(),
                    p50_ms: s.latency_us.value_at_quantile(0.5) as f64 / 1e3,
                    p99_ms: s.latency_us.value_at_quantile(0.99) as f64 / 1e3,
                    deadline_rate: rate(Outcome::Deadline),
                    memory_cap_rate: rate(Outcome::MemoryLimit),
                    cpu_seconds: s.cpu.as_secs_f64(),
                    cpu_share_1m: s.recent.last_minute(now).as_secs_f64() / window.max(1e-9),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_window_forgets_seconds_older_than_a_minute() {
        let mut window = CpuWindow::default();
        window.add(0, Duration::from_millis(5));
        window.add(59, Duration::from_millis(7));
        assert_eq!(window.last_minute(59), Duration::from_millis(12));
        window.add(60, Duration::from_millis(1)); // reuses second 0's bucket
        assert_eq!(window.last_minute(60), Duration::from_millis(8));
        assert_eq!(window.last_minute(200), Duration::ZERO);
    }

    #[test]
    fn rejected_calls_are_counted_but_not_timed() {
        let metrics = Metrics::new();
        metrics.record(
            "invoke",
            "d",
            "t",
            Outcome::Ok,
            Duration::from_millis(40),
            Duration::from_millis(30),
        );
        for _ in 0..9 {
            metrics.record(
                "invoke",
                "d",
                "t",
                Outcome::Rejected,
                Duration::from_micros(3),
                Duration::ZERO,
            );
        }
        let row = &metrics.stats()[0];
        assert_eq!(row.invocations, 10);
        assert_eq!(row.outcomes["rejected"], 9);
        assert!(
            row.p50_ms >= 39.0,
            "p50 {} is the call that ran",
            row.p50_ms
        );
        assert!(
            (row.cpu_seconds - 0.030).abs() < 1e-9,
            "{}",
            row.cpu_seconds
        );
        assert!(row.cpu_share_1m > 0.0);
        let text = metrics.render();
        assert!(
            text.contains("wip_cpu_seconds_total{digest=\"d\",tenant=\"t\"} 0.03"),
            "{text}"
        );
        assert!(
            text.contains("wip_plugin_latency_seconds_count{digest=\"d\",tenant=\"t\"} 1"),
            "{text}"
        );
    }
}
