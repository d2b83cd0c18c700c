//! A rollout judged on the calls of every replica, not of one. Each
//! replica publishes its window of a running rollout to the `wip-windows`
//! KV bucket (key `<name>.<started_at_ms>.<replica>`) at most
//! [`WINDOW_PUBLISH_EVERY`](super::limits::WINDOW_PUBLISH_EVERY) after it
//! changes (`window_sync`), keeps the others' last windows here, and
//! judges on the sum with the same `rollout_rules::judge`. The decision is
//! committed by compare-and-set on the name's activation, so one replica
//! writes it and the others see it through the registry's watch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use super::rollout_record::StoredWindow;
use super::rollout_rules::Tally;

/// A running rollout: its name and when it started.
pub type WindowKey = (String, u64);

/// One replica's window: its stable side, then its candidate side.
pub type Sides = (Tally, Tally);

/// What the other replicas published, and what this one must publish.
#[derive(Debug)]
pub struct ClusterWindows {
    replica: String,
    others: Mutex<BTreeMap<WindowKey, Others>>,
    changed: Mutex<BTreeSet<WindowKey>>,
}

/// The other replicas' windows of one rollout, and their sum.
#[derive(Debug, Default)]
struct Others {
    by_replica: BTreeMap<String, Sides>,
    sum: Arc<Sides>,
}

impl Default for ClusterWindows {
    fn default() -> Self {
        Self::new()
    }
}

impl ClusterWindows {
    /// For this process: a random replica id, unique across restarts (a
    /// restarted replica's window starts over, so it must not replace the
    /// counts its previous life published).
    pub fn new() -> Self {
        Self {
            replica: crate::random::hex::<8>(),
            others: Mutex::default(),
            changed: Mutex::default(),
        }
    }

    /// This replica's id in the bucket's keys.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The bucket key of `replica`'s window of `key`.
    pub fn bucket_key(key: &WindowKey, replica: &str) -> String {
        format!("{}.{}.{replica}", key.0, key.1)
    }

    /// `(rollout, replica)` from a bucket key, if it is one.
    pub fn parse_bucket_key(bucket_key: &str) -> Option<(WindowKey, String)> {
        let mut parts = bucket_key.rsplitn(3, '.');
        let replica = parts.next()?;
        let started = parts.next()?.parse().ok()?;
        let name = parts.next()?;
        Some(((name.to_owned(), started), replica.to_owned()))
    }

    /// Notes that this replica's window of `key` changed.
    pub fn changed(&self, key: &WindowKey) {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        if !changed.contains(key) {
            changed.insert(key.clone());
        }
    }

    /// The windows that changed since the last call, to publish.
    pub fn take_changed(&self) -> BTreeSet<WindowKey> {
        std::mem::take(&mut *self.changed.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Takes `replica`'s window of `key` (its latest counts replace its
    /// earlier ones; this replica's own are ignored).
    pub fn take(&self, key: WindowKey, replica: &str, sides: Sides) {
        if replica == self.replica {
            return;
        }
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = others.entry(key).or_default();
        entry.by_replica.insert(replica.to_owned(), sides);
        entry.sum = Arc::new(sum(entry.by_replica.values()));
    }

    /// Forgets `replica`'s window of `key` (its key expired or was purged).
    pub fn forget(&self, key: &WindowKey, replica: &str) {
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = others.get_mut(key) {
            entry.by_replica.remove(replica);
            entry.sum = Arc::new(sum(entry.by_replica.values()));
        }
    }

    /// The sum of the other replicas' windows of `key`, if any published
    /// one. Cheap: the sum is kept, not recomputed (or allocated) per call.
    pub fn others(&self, key: &WindowKey) -> Option<Arc<Sides>> {
        let others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        others.get(key).map(|o| Arc::clone(&o.sum))
    }

    /// Drops what belongs to rollouts that are not running any more.
    pub fn retain(&self, running: impl Fn(&WindowKey) -> bool) {
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        others.retain(|key, _| running(key));
    }
}

impl From<StoredWindow> for Sides {
    fn from(window: StoredWindow) -> Self {
        (window.stable.into(), window.candidate.into())
    }
}

fn sum<'a>(windows: impl Iterator<Item = &'a Sides>) -> Sides {
    let mut total = Sides::default();
    for (stable, candidate) in windows {
        total.0.add(stable);
        total.1.add(candidate);
    }
    total
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::Outcome;

    fn sides(stable_calls: u64, candidate_traps: u64) -> Sides {
        let mut sides = Sides::default();
        for _ in 0..stable_calls {
            sides.0.record(Outcome::Ok, Duration::from_millis(2));
        }
        for _ in 0..candidate_traps {
            sides.1.record(Outcome::Trap, Duration::from_millis(3));
        }
        sides
    }

    #[test]
    fn the_others_sum_is_each_replicas_latest_window_and_never_this_ones() {
        let windows = ClusterWindows::new();
        let key = ("csv".to_owned(), 42);
        windows.take(key.clone(), "a", sides(10, 1));
        windows.take(key.clone(), "b", sides(5, 2));
        // A newer window of `a` replaces its older one.
        windows.take(key.clone(), "a", sides(20, 1));
        // This replica's own, read back from the bucket, is not counted.
        let own = windows.replica().to_owned();
        windows.take(key.clone(), &own, sides(1000, 0));
        let sum = windows.others(&key).unwrap();
        assert_eq!(sum.0.stats().calls, 25);
        assert_eq!(sum.1.stats().calls, 3);
        assert_eq!(sum.1.stats().trap, 100.0);
        windows.forget(&key, "b");
        assert_eq!(windows.others(&key).unwrap().0.stats().calls, 20);
        windows.retain(|_| false);
        assert!(windows.others(&key).is_none());
    }

    #[test]
    fn bucket_keys_round_trip_and_other_keys_are_not_windows() {
        let key = ("csv-v2_x".to_owned(), 1_765_000_000_000);
        let bucket_key = ClusterWindows::bucket_key(&key, "0123abcd");
        assert_eq!(bucket_key, "csv-v2_x.1765000000000.0123abcd");
        assert_eq!(
            ClusterWindows::parse_bucket_key(&bucket_key),
            Some((key, "0123abcd".to_owned()))
        );
        assert_eq!(ClusterWindows::parse_bucket_key("csv.notanumber.r"), None);
        assert_eq!(ClusterWindows::parse_bucket_key("csv"), None);
    }

    #[test]
    fn an_absurd_window_from_the_bucket_saturates_instead_of_panicking() {
        let windows = ClusterWindows::new();
        let key = ("csv".to_owned(), 1);
        let absurd = crate::registry::rollout_record::StoredTally {
            calls: u64::MAX,
            trap: u64::MAX,
            deadline: 0,
            memory_limit: 0,
            guest_error: 0,
            latency_us: vec![(u64::MAX, u64::MAX), (1, 1)],
        };
        let window = StoredWindow {
            stable: absurd.clone(),
            candidate: absurd,
        };
        windows.take(key.clone(), "a", window.clone().into());
        windows.take(key.clone(), "b", window.into());
        let sum = windows.others(&key).unwrap();
        assert_eq!(sum.0.stats().calls, u64::MAX);
        let own = sides(10, 1);
        let side = crate::registry::rollout_rules::Side::summed(&own.1, &sum.1);
        assert_eq!(side.stats().calls, u64::MAX);
    }

    #[test]
    fn changed_windows_are_taken_once() {
        let windows = ClusterWindows::new();
        let key = ("csv".to_owned(), 1);
        windows.changed(&key);
        windows.changed(&key);
        assert_eq!(windows.take_changed().len(), 1);
        assert!(windows.take_changed().is_empty());
    }
}
