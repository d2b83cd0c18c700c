//! The slices held now, and the rules that say when a request takes one
//! beyond the capacity and which holder hands its slice back. No lock:
//! the scheduler's state holds one.

use std::collections::HashMap;
use std::time::Instant;

use super::activity::Activity;
use super::vtime::VirtualTime;

/// A slice held by a call of `tenant`.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) tenant: String,
    /// Whether the call runs, or is blocked in the host.
    pub(super) activity: Activity,
}

/// Slices held now, by number.
#[derive(Debug, Default)]
pub(super) struct Holders(HashMap<u64, Held>);

impl Holders {
    pub(super) fn insert(&mut self, id: u64, held: Held) {
        self.0.insert(id, held);
    }

    /// Forgets slice `id`; whether it was held.
    pub(super) fn remove(&mut self, id: u64) -> bool {
        self.0.remove(&id).is_some()
    }

    pub(super) fn get(&self, id: u64) -> Option<&Held> {
        self.0.get(&id)
    }

    /// How many slices are held, blocked or not.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Holders that are not blocked.
    fn running(&self, now: Instant) -> impl Iterator<Item = &Held> {
        self.0.values().filter(move |h| !h.activity.blocked(now))
    }

    /// Slices whose holders are not blocked.
    pub(super) fn active(&self, now: Instant) -> usize {
        self.running(now).count()
    }

    /// Whether a waiter with `tag` comes before a tenant holding a slice.
    pub(super) fn overtakes_a_holder(&self, tag: f64, vtime: &VirtualTime) -> bool {
        self.0.values().any(|h| vtime.of(&h.tenant) > tag)
    }

    /// Whether a request at `tag` that no waiter comes before takes a
    /// slice beyond the capacity at once: one holder that comes after it,
    /// and is not already owed to an earlier such grant, hands its slice
    /// back at its next tick. (Waiting for that tick instead would add
    /// the holder's way to it, up to a millisecond or more when its
    /// thread is off the CPU or in host code, to every preempting call.)
    pub(super) fn takes_a_slice_at_once(
        &self,
        tag: f64,
        capacity: usize,
        now: Instant,
        vtime: &VirtualTime,
    ) -> bool {
        let overtaken = self
            .running(now)
            .filter(|h| vtime.of(&h.tenant) > tag)
            .count();
        self.active(now).saturating_sub(capacity) < overtaken
    }

    /// Whether `tenant`'s holder hands its slice back: more slices run
    /// than the capacity (a request took one at once), and no running
    /// holder comes after it.
    pub(super) fn gives_back(
        &self,
        tenant: &str,
        capacity: usize,
        now: Instant,
        vtime: &VirtualTime,
    ) -> bool {
        let mine = vtime.of(tenant);
        self.active(now) > capacity && self.running(now).all(|h| vtime.of(&h.tenant) <= mine)
    }
}

#[cfg(test)]
mod tests {
    use super::super::STALL;
    use super::*;

    fn hold(holders: &mut Holders, id: u64, tenant: &str, now: Instant) -> Activity {
        let activity = Activity::default();
        activity.parked_at(now);
        let held = Held {
            tenant: tenant.to_owned(),
            activity: activity.clone(),
        };
        holders.insert(id, held);
        activity
    }

    #[test]
    fn a_holder_parked_for_the_stall_is_not_active() {
        let now = Instant::now();
        let mut holders = Holders::default();
        let running = hold(&mut holders, 1, "a", now);
        running.polled();
        hold(&mut holders, 2, "b", now);
        assert_eq!(holders.active(now), 2, "just granted: parked, not blocked");
        // Twice the stall: the activity clock may start just after `now`.
        let later = now + STALL * 2;
        assert_eq!(holders.active(later), 1, "b is asleep in the host");
    }

    #[test]
    fn a_request_takes_one_slice_at_once_per_running_holder_it_overtakes() {
        let (now, mut vtime) = (Instant::now(), VirtualTime::default());
        vtime.charge("heavy", 100, 1);
        let mut holders = Holders::default();
        hold(&mut holders, 1, "heavy", now).polled();
        let tag = vtime.of("light");
        assert!(holders.overtakes_a_holder(tag, &vtime));
        assert!(holders.takes_a_slice_at_once(tag, 1, now, &vtime));
        hold(&mut holders, 2, "light", now).polled();
        assert!(
            !holders.takes_a_slice_at_once(tag, 1, now, &vtime),
            "owed already"
        );
        assert!(
            holders.gives_back("heavy", 1, now, &vtime),
            "heavy comes last"
        );
        assert!(!holders.gives_back("light", 1, now, &vtime));
    }

    #[test]
    fn nobody_gives_back_within_the_capacity_or_to_a_later_request() {
        let (now, mut vtime) = (Instant::now(), VirtualTime::default());
        vtime.charge("light", 1, 1);
        let mut holders = Holders::default();
        hold(&mut holders, 1, "light", now).polled();
        assert!(!holders.gives_back("light", 1, now, &vtime));
        vtime.charge("heavy", 100, 1);
        let tag = vtime.of("heavy");
        assert!(!holders.overtakes_a_holder(tag, &vtime));
        assert!(!holders.takes_a_slice_at_once(tag, 1, now, &vtime));
    }
}
