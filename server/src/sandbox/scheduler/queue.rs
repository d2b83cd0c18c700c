//! The calls waiting for a slice, and which goes next: the waiting tenant
//! with the smallest virtual time (start-time fair queuing). No lock: the
//! scheduler's state holds one.

use std::collections::{HashMap, VecDeque};

use tokio::sync::oneshot;

use super::activity::Activity;
use super::vtime::VirtualTime;

/// A call waiting for a slice.
#[derive(Debug)]
pub(super) struct Waiter {
    /// Its number, from the scheduler's sequence: the oldest call wins a tie.
    pub(super) seq: u64,
    pub(super) activity: Activity,
    /// Receives the number of the slice granted.
    pub(super) wake: oneshot::Sender<u64>,
}

/// Waiting calls per tenant, oldest first (no empty queues). A tenant's
/// next call is ordered by the tenant's virtual time when the slice is
/// handed out, never by a tag from when it queued: a tenant with many
/// calls queued must not jump ahead on old, small tags.
#[derive(Debug, Default)]
pub(super) struct Waiting(HashMap<String, VecDeque<Waiter>>);

impl Waiting {
    /// Queues `waiter` behind `tenant`'s other waiting calls.
    pub(super) fn push(&mut self, tenant: &str, waiter: Waiter) {
        self.0
            .entry(tenant.to_owned())
            .or_default()
            .push_back(waiter);
    }

    /// Whether nobody waits.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The waiting tenant that goes next and its virtual time: the
    /// smallest virtual time, ties to the oldest call.
    pub(super) fn next_tenant(&self, vtime: &VirtualTime) -> Option<(&str, f64)> {
        self.0
            .iter()
            .filter_map(|(tenant, queue)| Some((tenant, vtime.of(tenant), queue.front()?.seq)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
            .map(|(tenant, vtime, _)| (tenant.as_str(), vtime))
    }

    /// Whether a new request at `tag` comes before every waiter (a tie
    /// goes to the waiter, which is older).
    pub(super) fn comes_first(&self, tag: f64, vtime: &VirtualTime) -> bool {
        self.next_tenant(vtime).is_none_or(|(_, best)| tag < best)
    }

    /// Whether a waiter comes before `tenant`'s next slice: one has a
    /// smaller virtual time than `tenant` has now. (Handing the slice on
    /// and queueing again would give it to the best *other* waiter, even
    /// one that used far more CPU.)
    pub(super) fn comes_before(&self, tenant: &str, vtime: &VirtualTime) -> bool {
        let mine = vtime.of(tenant);
        self.next_tenant(vtime).is_some_and(|(_, best)| best < mine)
    }

    /// Takes the next waiter out of the queue, with its tenant and the
    /// tenant's virtual time (its start tag).
    pub(super) fn pop_next(&mut self, vtime: &VirtualTime) -> Option<(String, f64, Waiter)> {
        let (tenant, tag) = self.next_tenant(vtime).map(|(t, v)| (t.to_owned(), v))?;
        let queue = self.0.get_mut(&tenant).expect("a waiting tenant");
        let waiter = queue.pop_front().expect("no empty queues");
        if queue.is_empty() {
            self.0.remove(&tenant);
        }
        Some((tenant, tag, waiter))
    }

    /// Takes waiter `seq` out of the queue; whether it was there.
    pub(super) fn remove(&mut self, seq: u64) -> bool {
        let Some(tenant) = self
            .0
            .iter()
            .find(|(_, queue)| queue.iter().any(|w| w.seq == seq))
            .map(|(tenant, _)| tenant.clone())
        else {
            return false;
        };
        let queue = self.0.get_mut(&tenant).expect("found above");
        queue.retain(|w| w.seq != seq);
        if queue.is_empty() {
            self.0.remove(&tenant);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(seq: u64) -> Waiter {
        let (wake, _) = oneshot::channel();
        let activity = Activity::default();
        Waiter {
            seq,
            activity,
            wake,
        }
    }

    fn order(waiting: &mut Waiting, vtime: &VirtualTime) -> Vec<(String, u64)> {
        std::iter::from_fn(|| waiting.pop_next(vtime))
            .map(|(tenant, _, w)| (tenant, w.seq))
            .collect()
    }

    #[test]
    fn the_smallest_virtual_time_goes_first_and_a_tie_to_the_oldest_call() {
        let mut vtime = VirtualTime::default();
        vtime.charge("heavy", 30, 1);
        let mut waiting = Waiting::default();
        waiting.push("heavy", waiter(1));
        waiting.push("b", waiter(3));
        waiting.push("a", waiter(2));
        let order = order(&mut waiting, &vtime);
        let tenants: Vec<&str> = order.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tenants, ["a", "b", "heavy"]);
        assert!(waiting.is_empty(), "no empty queues");
    }

    #[test]
    fn a_tenants_calls_are_ordered_by_its_time_at_hand_out_not_when_they_queued() {
        let mut vtime = VirtualTime::default();
        let mut waiting = Waiting::default();
        waiting.push("heavy", waiter(1));
        waiting.push("heavy", waiter(2));
        waiting.push("light", waiter(3));
        vtime.charge("heavy", 100, 1);
        let order = order(&mut waiting, &vtime);
        assert_eq!(order[0], ("light".to_owned(), 3));
        assert_eq!(
            order[1..],
            [("heavy".to_owned(), 1), ("heavy".to_owned(), 2)]
        );
    }

    #[test]
    fn a_request_comes_first_only_before_a_strictly_later_waiter() {
        let mut vtime = VirtualTime::default();
        let mut waiting = Waiting::default();
        assert!(waiting.comes_first(0.0, &vtime), "nobody waits");
        waiting.push("a", waiter(1));
        let tag = vtime.of("a");
        assert!(
            !waiting.comes_first(tag, &vtime),
            "a tie goes to the waiter"
        );
        assert!(
            !waiting.comes_before("b", &vtime),
            "nor does the waiter preempt"
        );
        vtime.charge("b", 1, 1);
        assert!(waiting.comes_before("b", &vtime));
    }

    #[test]
    fn a_removed_waiter_leaves_no_empty_queue() {
        let mut waiting = Waiting::default();
        waiting.push("a", waiter(1));
        assert!(!waiting.remove(2));
        assert!(waiting.remove(1));
        assert!(waiting.is_empty());
    }
}
