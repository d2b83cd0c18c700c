//! What a rollout counts of each side's calls: a [`Tally`] per side of
//! this replica's window, and a [`Side`] as the judge sees it, summed with
//! the other replicas' windows when the registry is shared. A replica
//! publishes its tallies as [`StoredTally`] records.

use hdrhistogram::Histogram;

use super::rollout_record::{StoredSideStats, StoredTally};
use crate::outcome::Outcome;

/// One side's outcomes since the rollout started (or the server restarted).
#[derive(Debug, Clone)]
pub struct Tally {
    pub(super) calls: u64,
    pub(super) trap: u64,
    pub(super) deadline: u64,
    pub(super) memory_limit: u64,
    pub(super) guest_error: u64,
    latency_us: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            calls: 0,
            trap: 0,
            deadline: 0,
            memory_limit: 0,
            guest_error: 0,
            // 1 µs to an hour: saturating_record clamps to the bounds.
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }
}

impl Tally {
    /// Counts a call that ran; a call a gate rejected never reached a digest.
    pub fn record(&mut self, outcome: Outcome, latency: std::time::Duration) {
        let counter = match outcome {
            Outcome::Rejected => return,
            Outcome::Trap => Some(&mut self.trap),
            Outcome::Deadline => Some(&mut self.deadline),
            Outcome::MemoryLimit => Some(&mut self.memory_limit),
            Outcome::GuestError => Some(&mut self.guest_error),
            Outcome::Ok | Outcome::CpuBudget => None,
        };
        if let Some(counter) = counter {
            *counter += 1;
        }
        self.calls += 1;
        self.latency_us
            .saturating_record(latency.as_micros().try_into().unwrap_or(u64::MAX));
    }

    /// Adds `other`'s calls to these (another replica's window).
    /// Saturating: a window read from the bucket is another process's
    /// word, and absurd counts must not take this one down.
    pub fn add(&mut self, other: &Tally) {
        self.calls = self.calls.saturating_add(other.calls);
        self.trap = self.trap.saturating_add(other.trap);
        self.deadline = self.deadline.saturating_add(other.deadline);
        self.memory_limit = self.memory_limit.saturating_add(other.memory_limit);
        self.guest_error = self.guest_error.saturating_add(other.guest_error);
        merge(&mut self.latency_us, &other.latency_us);
    }

    /// Rates in percent of the calls, and the p99.
    pub fn stats(&self) -> StoredSideStats {
        let percent = |n: u64| {
            if self.calls == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.calls as f64
            }
        };
        StoredSideStats {
            calls: self.calls,
            trap: percent(self.trap),
            deadline: percent(self.deadline),
            memory_limit: percent(self.memory_limit),
            guest_error: percent(self.guest_error),
            p99_ms: self.latency_us.value_at_quantile(0.99) as f64 / 1e3,
        }
    }
}

/// Adds `other`'s latencies to `into`. Both have the bounds every replica
/// uses, and `From<StoredTally>` clamps what it reads to them, so this
/// cannot fail; if it did, the p99 would leave `other` out.
fn merge(into: &mut Histogram<u64>, other: &Histogram<u64>) {
    if let Err(e) = into.add(other) {
        tracing::warn!(error = %e, "rollout latencies not merged");
    }
}

impl From<&Tally> for StoredTally {
    fn from(tally: &Tally) -> Self {
        Self {
            calls: tally.calls,
            trap: tally.trap,
            deadline: tally.deadline,
            memory_limit: tally.memory_limit,
            guest_error: tally.guest_error,
            latency_us: tally
                .latency_us
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }
}

impl From<StoredTally> for Tally {
    fn from(stored: StoredTally) -> Self {
        let mut tally = Self {
            calls: stored.calls,
            trap: stored.trap,
            deadline: stored.deadline,
            memory_limit: stored.memory_limit,
            guest_error: stored.guest_error,
            ..Self::default()
        };
        // Another process's word: a bucket's count is capped, so that the
        // sums a p99 takes over every bucket cannot overflow.
        for (latency_us, count) in stored.latency_us {
            let count = count.min(u64::from(u32::MAX));
            tally.latency_us.saturating_record_n(latency_us, count);
        }
        tally
    }
}

/// One side of a rollout as it is judged: this replica's window, plus the
/// sum of the other replicas' (none on a single server). Counts add up;
/// the histograms are merged only for a p99, which the judge asks for
/// once both sides have their calls.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    own: &'a Tally,
    others: Option<&'a Tally>,
}

impl<'a> Side<'a> {
    /// This replica's window alone.
    pub fn of(own: &'a Tally) -> Self {
        Self { own, others: None }
    }

    /// This replica's window and the others' sum.
    pub fn summed(own: &'a Tally, others: &'a Tally) -> Self {
        Self::with(own, Some(others))
    }

    /// This replica's window, and the others' sum if there is one.
    pub fn with(own: &'a Tally, others: Option<&'a Tally>) -> Self {
        Self { own, others }
    }

    pub(super) fn count(&self, of: impl Fn(&Tally) -> u64) -> u64 {
        of(self.own).saturating_add(self.others.map_or(0, of))
    }

    pub(super) fn calls(&self) -> u64 {
        self.count(|t| t.calls)
    }

    pub(super) fn percent(&self, n: u64) -> f64 {
        match self.calls() {
            0 => 0.0,
            calls => 100.0 * n as f64 / calls as f64,
        }
    }

    pub(super) fn p99_ms(&self) -> f64 {
        let p99 = |h: &Histogram<u64>| h.value_at_quantile(0.99) as f64 / 1e3;
        match self.others {
            Some(others) if others.calls > 0 => {
                let mut merged = self.own.latency_us.clone();
                merge(&mut merged, &others.latency_us);
                p99(&merged)
            }
            _ => p99(&self.own.latency_us),
        }
    }

    /// Rates in percent of the calls, and the p99.
    pub fn stats(&self) -> StoredSideStats {
        StoredSideStats {
            calls: self.calls(),
            trap: self.percent(self.count(|t| t.trap)),
            deadline: self.percent(self.count(|t| t.deadline)),
            memory_limit: self.percent(self.count(|t| t.memory_limit)),
            guest_error: self.percent(self.count(|t| t.guest_error)),
            p99_ms: self.p99_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use crate::registry::rollout_rules::tests::{healthy, started, tally};
    use crate::registry::rollout_rules::{Verdict, judge, judge_sides};

    #[test]
    fn a_published_window_reads_back_with_its_counts_and_its_p99() {
        let mut tally = tally(200, Outcome::Deadline, 7, 3);
        tally.record(Outcome::Ok, Duration::from_millis(40));
        tally.record(Outcome::Ok, Duration::from_millis(41));
        tally.record(Outcome::Ok, Duration::from_millis(42));
        let stored = StoredTally::from(&tally);
        let json = serde_json::to_string(&stored).unwrap();
        let back = Tally::from(serde_json::from_str::<StoredTally>(&json).unwrap());
        assert_eq!(back.stats(), tally.stats());
        // Summing it into an empty side changes nothing either.
        let mut sum = Tally::default();
        sum.add(&back);
        assert_eq!(sum.stats(), tally.stats());
    }

    #[test]
    fn a_rollout_is_judged_on_the_sum_of_every_replicas_calls() {
        let (_, plan) = started(100);
        let (stable, candidate) = (healthy(60), healthy(60));
        let (stable_others, candidate_others) = (healthy(50), tally(50, Outcome::Trap, 1, 2));
        // Alone, this replica has too few calls to decide.
        assert_eq!(judge(&plan, &stable, &candidate), None);
        // With the others' 50 per side, both have 110: 1 trap in 110 is under
        // the 1-point limit, and the merged p99s are alike.
        let verdict = judge_sides(
            &plan,
            Side::summed(&stable, &stable_others),
            Side::summed(&candidate, &candidate_others),
        );
        assert_eq!(verdict, Some(Verdict::Promote));
        let stats = Side::summed(&candidate, &candidate_others).stats();
        assert_eq!(stats.calls, 110);
        assert!((stats.trap - 100.0 / 110.0).abs() < 1e-9, "{stats:?}");
        // Two more traps elsewhere break it: 3 in 110 calls.
        let worse = tally(50, Outcome::Trap, 3, 2);
        assert!(matches!(
            judge_sides(
                &plan,
                Side::summed(&stable, &stable_others),
                Side::summed(&candidate, &worse),
            ),
            Some(Verdict::RollBack(_))
        ));
    }
}
