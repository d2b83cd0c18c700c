use std::time::Duration;

use super::*;
use crate::outcome::Outcome;
use crate::registry::rollout_record::StoredThresholds;
use crate::registry::types::fixtures::{digest, meta};
use wire::Thresholds;

/// A fixed salt, so a test's routing is repeatable.
const SALT: &str = "00112233445566778899aabbccddeeff";

fn request(percent: u8, min_calls: u64) -> RolloutRequest {
    RolloutRequest {
        candidate: digest('b').to_string(),
        percent,
        min_calls,
        thresholds: Thresholds::default(),
    }
}

/// `csv` active on `a`, a rollout of `b` started at 1000.
pub(in crate::registry) fn started(min_calls: u64) -> (Names, Plan) {
    let names = Names::from([("csv".to_owned(), Activation::new(digest('a')))]);
    start(
        &names,
        "csv",
        &meta("csv", 'b'),
        &request(10, min_calls),
        1000,
        SALT,
    )
    .unwrap()
}

pub(in crate::registry) fn tally(
    calls: u64,
    failing: Outcome,
    failures: u64,
    latency_ms: u64,
) -> Tally {
    let mut tally = Tally::default();
    for i in 0..calls {
        let outcome = if i < failures { failing } else { Outcome::Ok };
        tally.record(outcome, Duration::from_millis(latency_ms));
    }
    tally
}

pub(in crate::registry) fn healthy(calls: u64) -> Tally {
    tally(calls, Outcome::Ok, 0, 2)
}

fn evidence() -> Evidence {
    Evidence {
        stable: StoredSideStats::default(),
        candidate: StoredSideStats::default(),
        reasons: Vec::new(),
    }
}

#[test]
fn nothing_is_decided_before_both_sides_have_min_calls() {
    let (_, plan) = started(100);
    assert_eq!(judge(&plan, &healthy(99), &healthy(500)), None);
    assert_eq!(judge(&plan, &healthy(500), &healthy(99)), None);
    assert_eq!(
        judge(&plan, &healthy(100), &healthy(100)),
        Some(Verdict::Promote)
    );
}

#[test]
fn each_rate_threshold_rolls_the_candidate_back() {
    let (_, plan) = started(100);
    for failing in [
        Outcome::Trap,
        Outcome::Deadline,
        Outcome::MemoryLimit,
        Outcome::GuestError,
    ] {
        // guest_error allows 5 points, the others 1: 6% breaks every one.
        let verdict = judge(&plan, &healthy(100), &tally(100, failing, 6, 2));
        let Some(Verdict::RollBack(reasons)) = verdict else {
            panic!("{failing:?}: {verdict:?}");
        };
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(reasons[0].starts_with(failing.as_str()), "{reasons:?}");
    }
}

#[test]
fn a_rate_is_judged_against_the_stable_digest_not_against_zero() {
    let (_, plan) = started(100);
    // Both sides refuse 10% of inputs: the inputs, not the candidate.
    let stable = tally(100, Outcome::GuestError, 10, 2);
    let candidate = tally(100, Outcome::GuestError, 12, 2);
    assert_eq!(judge(&plan, &stable, &candidate), Some(Verdict::Promote));
}

#[test]
fn a_candidate_whose_failures_alone_break_the_limit_is_rolled_back_early() {
    let (_, plan) = started(100);
    // 2 traps in 20 calls: 2% of min_calls whatever the other 80 do.
    let verdict = judge(&plan, &healthy(100), &tally(20, Outcome::Trap, 2, 2));
    assert!(matches!(verdict, Some(Verdict::RollBack(_))), "{verdict:?}");
    // 1 trap in 20 could still end at 1%: wait.
    assert_eq!(
        judge(&plan, &healthy(100), &tally(20, Outcome::Trap, 1, 2)),
        None
    );
}

#[test]
fn a_slower_p99_rolls_back_only_above_the_ratio_and_the_floor() {
    let (_, plan) = started(100);
    let slow = judge(
        &plan,
        &tally(100, Outcome::Ok, 0, 10),
        &tally(100, Outcome::Ok, 0, 30),
    );
    let Some(Verdict::RollBack(reasons)) = slow else {
        panic!("{slow:?}");
    };
    assert!(reasons[0].starts_with("p99"), "{reasons:?}");
    // 3x slower but under the 5 ms floor: noise, not a regression.
    assert_eq!(
        judge(
            &plan,
            &tally(100, Outcome::Ok, 0, 1),
            &tally(100, Outcome::Ok, 0, 3)
        ),
        Some(Verdict::Promote)
    );
}

#[test]
fn rejected_calls_never_reached_a_digest_and_are_not_counted() {
    let mut tally = Tally::default();
    tally.record(Outcome::Rejected, Duration::from_micros(3));
    tally.record(Outcome::Trap, Duration::from_millis(1));
    assert_eq!((tally.stats().calls, tally.stats().trap), (1, 100.0));
}

/// The pre-salt routing (SHA-256 of name, candidate, request id): what a
/// caller could compute on its own.
fn unsalted_route(plan: &Plan, request_id: &str) -> Role {
    let hash = Sha256::new()
        .chain_update("csv")
        .chain_update([0])
        .chain_update(plan.candidate.as_str())
        .chain_update([0])
        .chain_update(request_id)
        .finalize();
    let point = u64::from_be_bytes(hash[..8].try_into().unwrap()) % 10_000;
    if point < u64::from(plan.percent) * 100 {
        Role::Candidate
    } else {
        Role::Stable
    }
}

#[test]
fn a_caller_cannot_choose_its_side_without_the_salt() {
    let (_, mut plan) = started(100);
    plan.salt = new_salt();
    // The attacker's best guess without the salt: 10,000 ids that the
    // name, candidate and id alone would send to the candidate.
    let chosen: Vec<String> = (0u64..)
        .map(|i| format!("pick-{i}"))
        .filter(|id| unsalted_route(&plan, id) == Role::Candidate)
        .take(10_000)
        .collect();
    let landed = chosen
        .iter()
        .filter(|id| route("csv", &plan, id) == Role::Candidate)
        .count() as f64;
    // Chi-square of candidate vs stable against the 10% share, 1 degree
    // of freedom: 10.83 is p = 0.001.
    let (n, p) = (10_000.0, 0.10);
    let expected = [n * p, n * (1.0 - p)];
    let observed = [landed, n - landed];
    let chi2: f64 = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum();
    assert!(
        chi2 < 10.83,
        "{landed} of 10000 chosen ids on the candidate at a 10% share (chi-square {chi2:.1})"
    );
    // And with another salt the same id may land elsewhere: the salt is the key.
    let mut other = plan.clone();
    other.salt = new_salt();
    let moved = chosen
        .iter()
        .filter(|id| route("csv", &plan, id) != route("csv", &other, id))
        .count();
    assert!(
        moved > 1000,
        "{moved} of 10000 ids changed side with the salt"
    );
}

#[test]
fn routing_is_deterministic_per_request_id_and_near_the_share() {
    let (_, plan) = started(100);
    let roles: Vec<Role> = (0..10_000)
        .map(|i| route("csv", &plan, &format!("req-{i}")))
        .collect();
    let again: Vec<Role> = (0..10_000)
        .map(|i| route("csv", &plan, &format!("req-{i}")))
        .collect();
    assert_eq!(roles, again);
    let candidates = roles.iter().filter(|r| **r == Role::Candidate).count();
    assert!(
        (850..=1150).contains(&candidates),
        "{candidates} of 10000 at 10%"
    );
}

#[test]
fn promotion_activates_the_candidate_and_keeps_the_stable_for_rollback() {
    let (names, plan) = started(100);
    let (names, decision) = conclude(
        &names,
        "csv",
        Some(plan.started_at_ms),
        StoredDecisionKind::Promoted,
        evidence(),
        1500,
    )
    .unwrap();
    let csv = &names["csv"];
    assert_eq!(
        (csv.active.clone(), csv.history.clone()),
        (digest('b'), vec![digest('a')])
    );
    assert!(csv.rollout.is_none());
    assert_eq!(csv.decisions, vec![decision.clone()]);
    assert_eq!(
        (decision.after_ms, decision.active.clone()),
        (500, digest('b'))
    );
    let (_, back) = crate::registry::activation::rollback(&names, "csv").unwrap();
    assert_eq!(back.active, digest('a'));
}

#[test]
fn rollback_and_abort_keep_the_stable_digest_and_record_why() {
    for kind in [StoredDecisionKind::RolledBack, StoredDecisionKind::Aborted] {
        let (names, _) = started(100);
        let mut proof = evidence();
        proof.reasons = vec!["trap: 10.00% vs 0.00% (limit +1.00 points)".into()];
        let (names, decision) = conclude(&names, "csv", None, kind, proof, 2000).unwrap();
        assert_eq!(names["csv"].active, digest('a'));
        assert!(names["csv"].history.is_empty());
        assert_eq!(decision.kind, kind);
        assert_eq!(decision.reasons.len(), 1);
        assert!(matches!(
            conclude(&names, "csv", None, kind, evidence(), 2001),
            Err(RegistryError::NoRollout { .. })
        ));
    }
}

#[test]
fn a_decision_for_an_earlier_rollout_does_not_end_a_later_one() {
    let (names, plan) = started(100);
    let stale = conclude(
        &names,
        "csv",
        Some(plan.started_at_ms - 1),
        StoredDecisionKind::Promoted,
        evidence(),
        1200,
    );
    assert!(matches!(stale, Err(RegistryError::NoRollout { .. })));
}

#[test]
fn a_second_rollout_or_an_activation_waits_for_the_first_to_end() {
    let (names, _) = started(100);
    let mut other = meta("csv", 'c');
    other.digest = digest('c');
    let second = RolloutRequest {
        candidate: digest('c').to_string(),
        ..request(10, 100)
    };
    assert!(matches!(
        start(&names, "csv", &other, &second, 1100, SALT),
        Err(RegistryError::RolloutInProgress { .. })
    ));
    assert!(matches!(
        crate::registry::activation::activate(&names, "csv", &other),
        Err(RegistryError::RolloutInProgress { .. })
    ));
    assert!(matches!(
        crate::registry::activation::rollback(&names, "csv"),
        Err(RegistryError::RolloutInProgress { .. })
    ));
}

#[test]
fn a_restart_resumes_the_rollout_from_the_stored_table() {
    let (names, plan) = started(100);
    let stored = serde_json::to_vec(&names).unwrap();
    let reloaded: Names = serde_json::from_slice(&stored).unwrap();
    assert_eq!(reloaded["csv"].rollout.as_ref(), Some(&plan));
    assert_eq!(
        route("csv", &plan, "req-7"),
        route("csv", reloaded["csv"].rollout.as_ref().unwrap(), "req-7")
    );
    // A table written before rollouts existed still loads.
    let old = format!(r#"{{"csv":{{"active":"{}","history":[]}}}}"#, digest('a'));
    let old: Names = serde_json::from_str(&old).unwrap();
    assert!(old["csv"].rollout.is_none() && old["csv"].decisions.is_empty());
}

#[test]
fn out_of_range_requests_and_foreign_or_active_candidates_are_refused() {
    let names = Names::from([("csv".to_owned(), Activation::new(digest('a')))]);
    let b = meta("csv", 'b');
    for bad in [
        request(0, 100),
        request(100, 100),
        request(10, 0),
        request(10, MAX_MIN_CALLS + 1),
    ] {
        assert!(
            matches!(
                start(&names, "csv", &b, &bad, 1, SALT),
                Err(RegistryError::BadRollout { .. })
            ),
            "{bad:?}"
        );
    }
    let mut nan = request(10, 100);
    nan.thresholds.p99_ratio = f64::NAN;
    assert!(matches!(
        start(&names, "csv", &b, &nan, 1, SALT),
        Err(RegistryError::BadRollout { .. })
    ));
    assert!(matches!(
        start(
            &names,
            "csv",
            &meta("json", 'b'),
            &request(10, 100),
            1,
            SALT
        ),
        Err(RegistryError::WrongName { .. })
    ));
    assert!(matches!(
        start(&names, "csv", &meta("csv", 'a'), &request(10, 100), 1, SALT),
        Err(RegistryError::BadRollout { .. })
    ));
    assert!(matches!(
        start(&names, "json", &b, &request(10, 100), 1, SALT),
        Err(RegistryError::UnknownName { .. })
    ));
}

#[test]
fn only_the_last_decisions_are_kept() {
    let (mut names, _) = started(100);
    for i in 0..(MAX_DECISIONS as u64 + 5) {
        names.get_mut("csv").unwrap().rollout = Some(Plan {
            candidate: digest('b'),
            percent: 10,
            min_calls: 1,
            thresholds: StoredThresholds::default(),
            started_at_ms: i,
            salt: SALT.into(),
        });
        names = conclude(
            &names,
            "csv",
            None,
            StoredDecisionKind::Aborted,
            evidence(),
            i + 1,
        )
        .unwrap()
        .0;
    }
    let decisions = &names["csv"].decisions;
    assert_eq!(decisions.len(), MAX_DECISIONS);
    assert_eq!(decisions.last().unwrap().at_ms, MAX_DECISIONS as u64 + 5);
}
