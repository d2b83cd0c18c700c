//! Canary rollouts as pure functions, like [`super::activation`]: starting
//! one, routing a call, counting a side's outcomes, judging the candidate
//! against the stable digest, and concluding. The registry persists what
//! they return and swaps it in (`rollout_state`); see `docs/rollouts.md`
//! for the rules.

use sha2::{Digest as _, Sha256};
use wire::RolloutRequest;

use super::rollout_record::{StoredDecision, StoredDecisionKind, StoredSideStats};
pub use super::rollout_tally::{Side, Tally};
use super::types::{Activation, Names, PluginMeta, RegistryError};
pub use super::types::{Plan, new_salt};

pub use super::limits::{MAX_DECISIONS, MAX_MIN_CALLS};

/// Which side of a rollout a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The active digest.
    Stable,
    /// The digest on trial.
    Candidate,
}

impl Role {
    /// The label in headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stable => "stable",
            Self::Candidate => "candidate",
        }
    }
}

/// The table with a rollout of `candidate` started for `name`.
pub fn start(
    names: &Names,
    name: &str,
    candidate: &PluginMeta,
    request: &RolloutRequest,
    now_ms: u64,
    salt: &str,
) -> Result<(Names, Plan), RegistryError> {
    let current = names.get(name).ok_or_else(|| RegistryError::UnknownName {
        name: name.to_owned(),
    })?;
    if candidate.name != name {
        return Err(RegistryError::WrongName {
            digest: candidate.digest.to_string(),
            owner: candidate.name.clone(),
            name: name.to_owned(),
        });
    }
    if current.rollout.is_some() {
        return Err(RegistryError::RolloutInProgress {
            name: name.to_owned(),
        });
    }
    if current.active == candidate.digest {
        return Err(bad(format!("{} is already active", candidate.digest)));
    }
    check_request(request)?;
    let plan = Plan {
        candidate: candidate.digest.clone(),
        percent: request.percent,
        min_calls: request.min_calls,
        thresholds: request.thresholds.into(),
        started_at_ms: now_ms,
        salt: salt.to_owned(),
    };
    let mut next = names.clone();
    next.get_mut(name).expect("checked above").rollout = Some(plan.clone());
    Ok((next, plan))
}

fn bad(message: String) -> RegistryError {
    RegistryError::BadRollout { message }
}

fn check_request(request: &RolloutRequest) -> Result<(), RegistryError> {
    if !(1..=99).contains(&request.percent) {
        return Err(bad(format!("percent {} is not 1 to 99", request.percent)));
    }
    if !(1..=MAX_MIN_CALLS).contains(&request.min_calls) {
        return Err(bad(format!(
            "min_calls {} is not 1 to {MAX_MIN_CALLS}",
            request.min_calls
        )));
    }
    let t = request.thresholds;
    let limits = [
        ("trap", t.trap),
        ("deadline", t.deadline),
        ("memory_limit", t.memory_limit),
        ("guest_error", t.guest_error),
        ("p99_ratio", t.p99_ratio),
        ("p99_floor_ms", t.p99_floor_ms),
    ];
    for (name, value) in limits {
        if !value.is_finite() || value < 0.0 {
            return Err(bad(format!(
                "threshold {name} = {value} is not a finite number ≥ 0"
            )));
        }
    }
    Ok(())
}

/// The side a call with `request_id` goes to: the first `percent` of a
/// hash of (the plan's secret salt, name, candidate, request id), so a
/// retry lands on the same side, but without the salt no caller can tell
/// which side an id lands on. (A secret prefix to SHA-256: a caller sees
/// one bit of each hash, its side, never a digest to extend.)
pub fn route(name: &str, plan: &Plan, request_id: &str) -> Role {
    let hash = Sha256::new()
        .chain_update(plan.salt.as_bytes())
        .chain_update([0])
        .chain_update(name)
        .chain_update([0])
        .chain_update(plan.candidate.as_str())
        .chain_update([0])
        .chain_update(request_id)
        .finalize();
    let point = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % 10_000;
    if point < u64::from(plan.percent) * 100 {
        Role::Candidate
    } else {
        Role::Stable
    }
}

/// What the numbers say.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No threshold broken with enough calls on both sides.
    Promote,
    /// These thresholds were broken.
    RollBack(Vec<String>),
}

/// Judges the candidate, or `None` while there are too few calls to.
pub fn judge(plan: &Plan, stable: &Tally, candidate: &Tally) -> Option<Verdict> {
    judge_sides(plan, Side::of(stable), Side::of(candidate))
}

/// Which of a tally's counts.
type Count = fn(&Tally) -> u64;

/// [`judge`] on sides that may sum several replicas' windows.
pub fn judge_sides(plan: &Plan, stable: Side<'_>, candidate: Side<'_>) -> Option<Verdict> {
    if stable.calls() < plan.min_calls {
        return None;
    }
    let t = &plan.thresholds;
    let rate = |side: &Side<'_>, of: Count| side.percent(side.count(of));
    // Each failure kind: the candidate's count, the stable rate, the limit.
    let kinds: [(&str, Count, f64); 4] = [
        ("trap", |t| t.trap, t.trap),
        ("deadline", |t| t.deadline, t.deadline),
        ("memory_limit", |t| t.memory_limit, t.memory_limit),
        ("guest_error", |t| t.guest_error, t.guest_error),
    ];
    let candidate_calls = candidate.calls();
    let decided = candidate_calls >= plan.min_calls;
    // Before min_calls, a rate over at least min_calls calls: failures alone
    // that already break the limit cannot be saved by more successes.
    let denominator = candidate_calls.max(plan.min_calls) as f64;
    let mut reasons = Vec::new();
    for (kind, of, limit) in kinds {
        let (failures, stable_rate) = (candidate.count(of), rate(&stable, of));
        let rate = 100.0 * failures as f64 / denominator;
        if rate > stable_rate + limit {
            let observed = if decided {
                format!("{rate:.2}%")
            } else {
                format!(
                    "{failures} in the first {candidate_calls} calls, at least {rate:.2}% of {}",
                    plan.min_calls
                )
            };
            reasons.push(format!(
                "{kind}: {observed} vs {stable_rate:.2}% (limit +{limit:.2} points)"
            ));
        }
    }
    if decided {
        let (c, s) = (candidate.p99_ms(), stable.p99_ms());
        if c > t.p99_floor_ms && c > s * t.p99_ratio {
            reasons.push(format!(
                "p99: {c:.2} ms vs {s:.2} ms (limit {:.2}x)",
                t.p99_ratio
            ));
        }
    }
    match (reasons.is_empty(), decided) {
        (false, _) => Some(Verdict::RollBack(reasons)),
        (true, true) => Some(Verdict::Promote),
        (true, false) => None,
    }
}

/// What a conclusion records beside the kind.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The stable side's numbers.
    pub stable: StoredSideStats,
    /// The candidate's.
    pub candidate: StoredSideStats,
    /// Broken thresholds.
    pub reasons: Vec<String>,
}

/// The table with `name`'s rollout (the one started at `started_at_ms`)
/// ended as `kind`: promoting activates the candidate, anything else keeps
/// the stable digest; the decision goes onto the name's record.
pub fn conclude(
    names: &Names,
    name: &str,
    started_at_ms: Option<u64>,
    kind: StoredDecisionKind,
    evidence: Evidence,
    now_ms: u64,
) -> Result<(Names, StoredDecision), RegistryError> {
    let no_rollout = || RegistryError::NoRollout {
        name: name.to_owned(),
    };
    let current = names.get(name).ok_or_else(|| RegistryError::UnknownName {
        name: name.to_owned(),
    })?;
    let plan = current.rollout.as_ref().ok_or_else(no_rollout)?;
    if started_at_ms.is_some_and(|at| at != plan.started_at_ms) {
        return Err(no_rollout());
    }
    let mut next_activation = Activation {
        active: current.active.clone(),
        history: current.history.clone(),
        rollout: None,
        decisions: current.decisions.clone(),
    };
    if kind.promotes() {
        next_activation.history.push(current.active.clone());
        next_activation.active = plan.candidate.clone();
    }
    let decision = StoredDecision {
        kind,
        at_ms: now_ms,
        after_ms: now_ms.saturating_sub(plan.started_at_ms),
        stable: current.active.clone(),
        candidate: plan.candidate.clone(),
        active: next_activation.active.clone(),
        percent: plan.percent,
        thresholds: plan.thresholds,
        stable_stats: evidence.stable,
        candidate_stats: evidence.candidate,
        reasons: evidence.reasons,
    };
    next_activation.decisions.push(decision.clone());
    let excess = next_activation
        .decisions
        .len()
        .saturating_sub(MAX_DECISIONS);
    next_activation.decisions.drain(..excess);
    let mut next = names.clone();
    next.insert(name.to_owned(), next_activation);
    Ok((next, decision))
}

#[cfg(test)]
#[path = "rollout_rules_tests.rs"]
pub(super) mod tests;
