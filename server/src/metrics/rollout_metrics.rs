//! Rollout metrics (see `docs/rollouts.md`): each side's share and calls
//! while a rollout runs, and decisions by kind.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use wire::Decision;

use crate::outcome::Outcome;

/// The rollout series of `/metrics`.
#[derive(Debug)]
pub struct RolloutMetrics {
    share: IntGaugeVec,
    calls: IntCounterVec,
    decisions: IntCounterVec,
}

impl RolloutMetrics {
    pub(super) fn register(registry: &Registry) -> Self {
        let share = IntGaugeVec::new(
            Opts::new(
                "wip_rollout_share_percent",
                "Share of a plugin's calls each side of a running rollout receives",
            ),
            &["plugin", "digest", "role"],
        )
        .expect("valid metric");
        let calls = IntCounterVec::new(
            Opts::new(
                "wip_rollout_calls_total",
                "Calls a rollout routed, by side and outcome",
            ),
            &["plugin", "digest", "role", "outcome"],
        )
        .expect("valid metric");
        let decisions = IntCounterVec::new(
            Opts::new(
                "wip_rollout_decisions_total",
                "Rollout decisions: promoted, rolled_back, promoted_manually, aborted",
            ),
            &["plugin", "decision"],
        )
        .expect("valid metric");
        for metric in [
            Box::new(share.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(calls.clone()),
            Box::new(decisions.clone()),
        ] {
            registry.register(metric).expect("registers once");
        }
        Self {
            share,
            calls,
            decisions,
        }
    }

    /// Counts a call a rollout sent to `digest` as `role`.
    pub fn call(&self, plugin: &str, digest: &str, role: &str, outcome: Outcome) {
        self.calls
            .with_label_values(&[plugin, digest, role, outcome.as_str()])
            .inc();
    }

    /// `digest`, as `role` of a running rollout, receives `share` percent.
    pub fn share(&self, plugin: &str, digest: &str, role: &str, share: u8) {
        self.share
            .with_label_values(&[plugin, digest, role])
            .set(i64::from(share));
    }

    /// A rollout of `plugin` started: its decision series exist from now
    /// on at 0, so `increase()` sees even its first decision.
    pub fn started(&self, plugin: &str) {
        for kind in wire::DecisionKind::ALL {
            self.decisions.with_label_values(&[plugin, kind.as_str()]);
        }
    }

    /// Counts a decision; the ended rollout's share series go away.
    pub fn decided(&self, plugin: &str, decision: &Decision) {
        self.decisions
            .with_label_values(&[plugin, decision.kind.as_str()])
            .inc();
        let _ = self
            .share
            .remove_label_values(&[plugin, &decision.stable, "stable"]);
        let _ = self
            .share
            .remove_label_values(&[plugin, &decision.candidate, "candidate"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_counts_once_and_removes_the_share_series() {
        let registry = Registry::new();
        let metrics = RolloutMetrics::register(&registry);
        metrics.call("csv", "aa", "stable", Outcome::Ok);
        metrics.share("csv", "aa", "stable", 90);
        metrics.call("csv", "bb", "candidate", Outcome::Trap);
        metrics.share("csv", "bb", "candidate", 10);
        let text = |r: &Registry| {
            let mut out = Vec::new();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &r.gather(), &mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        let before = text(&registry);
        assert!(
            before.contains(
                r#"wip_rollout_share_percent{digest="bb",plugin="csv",role="candidate"} 10"#
            ),
            "{before}"
        );
        assert!(
            before.contains(
                r#"wip_rollout_calls_total{digest="bb",outcome="trap",plugin="csv",role="candidate"} 1"#
            ),
            "{before}"
        );
        metrics.started("csv");
        assert!(
            text(&registry)
                .contains(r#"wip_rollout_decisions_total{decision="rolled_back",plugin="csv"} 0"#),
            "a started rollout's decisions are exported at 0"
        );
        let decision: Decision = serde_json::from_value(serde_json::json!({
            "kind": "rolled_back", "at_ms": 2, "after_ms": 1, "stable": "aa",
            "candidate": "bb", "active": "aa", "percent": 10,
            "thresholds": wire::Thresholds::default(),
            "stable_stats": wire::SideStats::default(),
            "candidate_stats": wire::SideStats::default(), "reasons": ["trap"]
        }))
        .unwrap();
        metrics.decided("csv", &decision);
        let after = text(&registry);
        assert!(!after.contains("wip_rollout_share_percent{"), "{after}");
        assert!(
            after.contains(r#"wip_rollout_decisions_total{decision="rolled_back",plugin="csv"} 1"#),
            "{after}"
        );
    }
}
