//! Canary rollouts (seed tasks 12 and 14 together): the HTTP bodies of
//!
//! - `PUT /api/plugins/{name}/rollout` (admin): a [`RolloutRequest`], answered
//!   with the [`Rollout`] it started;
//! - `POST /api/plugins/{name}/rollout/promote` and `DELETE
//!   /api/plugins/{name}/rollout` (admin): a manual decision, answered with
//!   its [`Decision`];
//! - `GET /api/plugins/{name}`: a [`PluginStatus`], the name's active digest,
//!   its rollout in progress with live numbers, and its past decisions.
//!
//! These are HTTP bodies only: the server stores its own records of a
//! rollout (`server/src/registry/rollout_record.rs`), converted from and to
//! these, so a change here never changes what a restart reads.

use serde::{Deserialize, Serialize};

use crate::Activation;

/// Start a canary: `percent` of the name's calls go to `candidate` until
/// both sides have `min_calls` calls, then the server compares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    /// Digest of the candidate: a module stored under this name.
    pub candidate: String,
    /// Share of calls routed to the candidate, 1 to 99.
    pub percent: u8,
    /// Calls each side needs before the server decides (1 to 1,000,000).
    #[serde(default = "default_min_calls")]
    pub min_calls: u64,
    /// How much worse than the stable digest the candidate may be (an
    /// object: an array is refused, not read by position).
    #[serde(default, deserialize_with = "crate::object::object")]
    pub thresholds: Thresholds,
}

fn default_min_calls() -> u64 {
    100
}

/// Regressions that roll a candidate back. A rate threshold is how many
/// percentage points the candidate's rate of that outcome may exceed the
/// stable digest's over the same window (`0.5` = half a point); the
/// latency threshold is the largest candidate p99 / stable p99 ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Traps, exits and ABI violations.
    pub trap: f64,
    /// Calls cut at their deadline.
    pub deadline: f64,
    /// Calls that hit their memory cap.
    pub memory_limit: f64,
    /// Inputs the guest refused through the ABI's error channel.
    pub guest_error: f64,
    /// Candidate p99 / stable p99.
    pub p99_ratio: f64,
    /// A candidate p99 under this many milliseconds is never a latency
    /// regression: p99s that small are scheduler noise, not the plugin.
    pub p99_floor_ms: f64,
}

impl Default for Thresholds {
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

/// One side's numbers over the rollout's window: calls that ran (calls a
/// tenant gate rejected never reached a digest and are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SideStats {
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

/// A rollout in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// The digest serving the other calls.
    pub stable: String,
    /// The digest on trial.
    pub candidate: String,
    /// Share of calls routed to the candidate.
    pub percent: u8,
    /// Calls each side needs before a decision.
    pub min_calls: u64,
    /// The regression limits.
    pub thresholds: Thresholds,
    /// When it started, Unix milliseconds.
    pub started_at_ms: u64,
    /// The stable digest's numbers since the start (or the last restart).
    pub stable_stats: SideStats,
    /// The candidate's.
    pub candidate_stats: SideStats,
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The server found no regression: the candidate is now active.
    Promoted,
    /// The server found a regression: the stable digest stays active.
    RolledBack,
    /// An operator promoted it before the server decided.
    PromotedManually,
    /// An operator stopped it: the stable digest stays active.
    Aborted,
}

impl DecisionKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Promoted,
        Self::RolledBack,
        Self::PromotedManually,
        Self::Aborted,
    ];

    /// The label in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promoted => "promoted",
            Self::RolledBack => "rolled_back",
            Self::PromotedManually => "promoted_manually",
            Self::Aborted => "aborted",
        }
    }
}

/// A finished rollout and the numbers it was decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What happened.
    pub kind: DecisionKind,
    /// When, Unix milliseconds.
    pub at_ms: u64,
    /// Milliseconds from the start of the rollout to the decision.
    pub after_ms: u64,
    /// The digest that was stable.
    pub stable: String,
    /// The candidate.
    pub candidate: String,
    /// The digest active after the decision.
    pub active: String,
    /// Its share while it ran.
    pub percent: u8,
    /// The limits it was held to.
    pub thresholds: Thresholds,
    /// The stable digest's numbers at the decision.
    pub stable_stats: SideStats,
    /// The candidate's.
    pub candidate_stats: SideStats,
    /// Each threshold the candidate broke (empty unless rolled back), e.g.
    /// `"trap: 10.00% vs 0.00% (limit +1.00 points)"`.
    pub reasons: Vec<String>,
}

/// `GET /api/plugins/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginStatus {
    /// The name.
    pub name: String,
    /// Its active digest and history.
    pub activation: Activation,
    /// The rollout in progress, if any.
    pub rollout: Option<Rollout>,
    /// Past rollout decisions, oldest first (the last 50).
    pub decisions: Vec<Decision>,
}
