//! What a rollout leaves in its name's stored activation: the thresholds of
//! its plan while it runs, then its decision with the numbers it was
//! decided on. These are the registry's own records, written to
//! `active.json` and the NATS KV bucket; the HTTP bodies of `wire::rollout`
//! are converted from and to them here, so a change to a body cannot change
//! what a restart reads (`stored_format_tests` reads the records an earlier
//! build wrote).
//!
//! Each conversion takes its source apart field by field: a field added to
//! a `wire` type does not compile until someone decides what it stores.

use serde::{Deserialize, Serialize};

use crate::digest::PluginDigest;

/// A plan's regression limits (see [`wire::Thresholds`] for their meaning).
/// A record without one of them reads it as its [`Default`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredThresholds {
    /// Percentage points of traps over the stable rate.
    pub trap: f64,
    /// Percentage points of deadline cuts over the stable rate.
    pub deadline: f64,
    /// Percentage points of memory-cap hits over the stable rate.
    pub memory_limit: f64,
    /// Percentage points of guest refusals over the stable rate.
    pub guest_error: f64,
    /// Largest candidate p99 / stable p99.
    pub p99_ratio: f64,
    /// A candidate p99 under this many milliseconds is never a regression.
    pub p99_floor_ms: f64,
}

impl Default for StoredThresholds {
    /// The limits a stored plan missing a field was started with: the HTTP
    /// defaults when the record was written. Pinned here, not taken from
    /// `wire`, so that changing a request default does not change how an
    /// old record reads.
    fn default() -> Self {
        Self {
            trap: 1.0,
            deadline: 1.0,
            memory_limit: 1.0,
            guest_error: 5.0,
            p99_ratio: 2.0,
            p99_floor_ms: 5.0,
        }
    }
}

/// One side's numbers over a rollout's window, as a decision keeps them
/// (see [`wire::SideStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredSideStats {
    /// Calls that ran.
    pub calls: u64,
    /// Percent of `calls` that trapped.
    pub trap: f64,
    /// Percent cut at the deadline.
    pub deadline: f64,
    /// Percent that hit the memory cap.
    pub memory_limit: f64,
    /// Percent the guest refused.
    pub guest_error: f64,
    /// p99 latency in milliseconds (0 with no calls).
    pub p99_ms: f64,
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredDecisionKind {
    /// The numbers showed no regression: the candidate became active.
    Promoted,
    /// The numbers showed a regression: the stable digest stayed.
    RolledBack,
    /// An operator promoted it before the numbers decided.
    PromotedManually,
    /// An operator stopped it: the stable digest stayed.
    Aborted,
}

impl StoredDecisionKind {
    /// Whether the candidate became active.
    pub fn promotes(self) -> bool {
        matches!(self, Self::Promoted | Self::PromotedManually)
    }
}

/// A finished rollout, kept on its name's activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDecision {
    /// What happened.
    pub kind: StoredDecisionKind,
    /// When, Unix milliseconds.
    pub at_ms: u64,
    /// Milliseconds from the start of the rollout to the decision.
    pub after_ms: u64,
    /// The digest that was stable.
    pub stable: PluginDigest,
    /// The candidate.
    pub candidate: PluginDigest,
    /// The digest active after the decision.
    pub active: PluginDigest,
    /// The candidate's share while it ran.
    pub percent: u8,
    /// The limits it was held to.
    pub thresholds: StoredThresholds,
    /// The stable digest's numbers at the decision.
    pub stable_stats: StoredSideStats,
    /// The candidate's.
    pub candidate_stats: StoredSideStats,
    /// Each threshold the candidate broke (empty unless rolled back).
    pub reasons: Vec<String>,
}

/// One replica's counts of one side of a running rollout, as it publishes
/// them to the `wip-windows` bucket (`cluster_windows`): the outcome
/// counts, and the latency histogram as (microseconds, count) pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredTally {
    /// Calls that ran.
    pub calls: u64,
    /// Of which trapped.
    pub trap: u64,
    /// Cut at the deadline.
    pub deadline: u64,
    /// Hit the memory cap.
    pub memory_limit: u64,
    /// Refused by the guest.
    pub guest_error: u64,
    /// Each recorded latency bucket (its highest equivalent value, in µs)
    /// and how many calls fell in it.
    pub latency_us: Vec<(u64, u64)>,
}

/// One replica's window of a running rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredWindow {
    /// The stable digest's side.
    pub stable: StoredTally,
    /// The candidate's side.
    pub candidate: StoredTally,
}

impl From<wire::Thresholds> for StoredThresholds {
    fn from(thresholds: wire::Thresholds) -> Self {
        let wire::Thresholds {
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ratio,
            p99_floor_ms,
        } = thresholds;
        Self {
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ratio,
            p99_floor_ms,
        }
    }
}

impl From<StoredThresholds> for wire::Thresholds {
    fn from(thresholds: StoredThresholds) -> Self {
        let StoredThresholds {
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ratio,
            p99_floor_ms,
        } = thresholds;
        Self {
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ratio,
            p99_floor_ms,
        }
    }
}

impl From<wire::SideStats> for StoredSideStats {
    fn from(stats: wire::SideStats) -> Self {
        let wire::SideStats {
            calls,
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ms,
        } = stats;
        Self {
            calls,
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ms,
        }
    }
}

impl From<StoredSideStats> for wire::SideStats {
    fn from(stats: StoredSideStats) -> Self {
        let StoredSideStats {
            calls,
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ms,
        } = stats;
        Self {
            calls,
            trap,
            deadline,
            memory_limit,
            guest_error,
            p99_ms,
        }
    }
}

impl From<wire::DecisionKind> for StoredDecisionKind {
    fn from(kind: wire::DecisionKind) -> Self {
        match kind {
            wire::DecisionKind::Promoted => Self::Promoted,
            wire::DecisionKind::RolledBack => Self::RolledBack,
            wire::DecisionKind::PromotedManually => Self::PromotedManually,
            wire::DecisionKind::Aborted => Self::Aborted,
        }
    }
}

impl From<StoredDecisionKind> for wire::DecisionKind {
    fn from(kind: StoredDecisionKind) -> Self {
        match kind {
            StoredDecisionKind::Promoted => Self::Promoted,
            StoredDecisionKind::RolledBack => Self::RolledBack,
            StoredDecisionKind::PromotedManually => Self::PromotedManually,
            StoredDecisionKind::Aborted => Self::Aborted,
        }
    }
}

impl From<&StoredDecision> for wire::Decision {
    fn from(decision: &StoredDecision) -> Self {
        let StoredDecision {
            kind,
            at_ms,
            after_ms,
            stable,
            candidate,
            active,
            percent,
            thresholds,
            stable_stats,
            candidate_stats,
            reasons,
        } = decision;
        Self {
            kind: (*kind).into(),
            at_ms: *at_ms,
            after_ms: *after_ms,
            stable: stable.to_string(),
            candidate: candidate.to_string(),
            active: active.to_string(),
            percent: *percent,
            thresholds: (*thresholds).into(),
            stable_stats: (*stable_stats).into(),
            candidate_stats: (*candidate_stats).into(),
            reasons: reasons.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_kind_survives_the_trip_to_the_api_and_back() {
        for kind in wire::DecisionKind::ALL {
            let stored = StoredDecisionKind::from(kind);
            assert_eq!(wire::DecisionKind::from(stored), kind);
        }
    }

    #[test]
    fn a_stored_plan_missing_a_threshold_reads_the_default_of_its_day() {
        let stored: StoredThresholds = serde_json::from_str(r#"{"trap": 0.5}"#).unwrap();
        assert_eq!(
            stored,
            StoredThresholds {
                trap: 0.5,
                ..StoredThresholds::default()
            }
        );
        assert_eq!(stored.p99_floor_ms, 5.0);
    }

    #[test]
    fn thresholds_and_stats_cross_the_edge_unchanged() {
        let limits = wire::Thresholds {
            trap: 0.25,
            deadline: 2.0,
            memory_limit: 3.0,
            guest_error: 4.0,
            p99_ratio: 1.5,
            p99_floor_ms: 9.0,
        };
        assert_eq!(
            wire::Thresholds::from(StoredThresholds::from(limits)),
            limits
        );
        let stats = wire::SideStats {
            calls: 7,
            trap: 1.0,
            deadline: 2.0,
            memory_limit: 3.0,
            guest_error: 4.0,
            p99_ms: 5.5,
        };
        assert_eq!(wire::SideStats::from(StoredSideStats::from(stats)), stats);
    }
}
