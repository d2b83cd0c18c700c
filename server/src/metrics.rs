//! Observability across the boundary (seed task 14): per (digest, tenant)
//! invocations by outcome and latency, exposed as Prometheus text at
//! `/metrics` and as percentiles at `/api/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

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
    stats: Mutex<BTreeMap<(String, String), Stat>>,
}

#[derive(Debug)]
struct Stat {
    latency_us: Histogram<u64>,
    outcomes: BTreeMap<Outcome, u64>,
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
            &["digest", "tenant", "outcome"],
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
        registry
            .register(Box::new(latency.clone()))
            .expect("registers once");
        Self {
            registry,
            invocations,
            latency,
            stats: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts one call.
    pub fn record(&self, digest: &str, tenant: &str, outcome: Outcome, duration: Duration) {
        self.invocations
            .with_label_values(&[digest, tenant, outcome.as_str()])
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
            });
        if ran {
            let _ = stat.latency_us.record(duration.as_micros() as u64);
        }
        *stat.outcomes.entry(outcome).or_default() += 1;
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
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_calls_are_counted_but_not_timed() {
        let metrics = Metrics::new();
        metrics.record("d", "t", Outcome::Ok, Duration::from_millis(40));
        for _ in 0..9 {
            metrics.record("d", "t", Outcome::Rejected, Duration::from_micros(3));
        }
        let row = &metrics.stats()[0];
        assert_eq!(row.invocations, 10);
        assert_eq!(row.outcomes["rejected"], 9);
        assert!(
            row.p50_ms >= 39.0,
            "p50 {} is the call that ran",
            row.p50_ms
        );
        let text = metrics.render();
        assert!(
            text.contains("wip_plugin_latency_seconds_count{digest=\"d\",tenant=\"t\"} 1"),
            "{text}"
        );
    }
}
