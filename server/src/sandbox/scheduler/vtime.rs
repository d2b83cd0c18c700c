//! Virtual time: what each tenant was charged, in ticks divided by its
//! weight, against a clock that follows the slices granted. No lock: the
//! scheduler's state holds one.

use std::collections::HashMap;

/// How far behind the clock a tenant may be when it returns (in ticks):
/// a tenant that was idle, or new, runs its first few ticks before a
/// tenant that never paused, as a kernel's sleeper credit does, so a short
/// call is not interleaved with a heavy one's ticks. It is bounded, so
/// idleness cannot be saved up: a tenant that comes and goes gains at most
/// this much per return.
pub const RETURN_CREDIT: f64 = 10.0;

/// Each tenant's virtual time, and the clock.
#[derive(Debug, Default)]
pub(super) struct VirtualTime {
    /// The largest start tag of a slice granted.
    clock: f64,
    /// Virtual time per tenant charged so far.
    tenants: HashMap<String, f64>,
}

impl VirtualTime {
    /// `tenant`'s virtual time: its own, but at most [`RETURN_CREDIT`]
    /// behind the clock.
    pub(super) fn of(&self, tenant: &str) -> f64 {
        let floor = self.clock - RETURN_CREDIT;
        self.tenants
            .get(tenant)
            .copied()
            .unwrap_or(floor)
            .max(floor)
    }

    /// A slice was granted at `tag`: the clock moves up to it.
    pub(super) fn granted_at(&mut self, tag: f64) {
        self.clock = self.clock.max(tag);
    }

    /// Charges `tenant` for `ticks` of CPU at `weight` (0 counts as 1).
    pub(super) fn charge(&mut self, tenant: &str, ticks: u64, weight: u32) {
        let vtime = self.of(tenant) + ticks as f64 / f64::from(weight.max(1));
        self.tenants.insert(tenant.to_owned(), vtime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_tenant_starts_its_return_credit_behind_the_clock() {
        let mut vtime = VirtualTime::default();
        vtime.granted_at(100.0);
        assert_eq!(vtime.of("new"), 100.0 - RETURN_CREDIT);
        vtime.granted_at(50.0);
        assert_eq!(
            vtime.of("new"),
            100.0 - RETURN_CREDIT,
            "the clock never goes back"
        );
    }

    #[test]
    fn a_tick_costs_one_over_the_weight_and_a_zero_weight_counts_as_one() {
        let mut vtime = VirtualTime::default();
        vtime.charge("gold", 30, 4);
        vtime.charge("zero", 3, 0);
        assert_eq!(vtime.of("gold"), 7.5 - RETURN_CREDIT);
        assert_eq!(vtime.of("zero"), 3.0 - RETURN_CREDIT);
    }

    #[test]
    fn a_tenant_that_was_away_gains_at_most_its_return_credit() {
        let mut vtime = VirtualTime::default();
        vtime.charge("away", 1, 1);
        vtime.granted_at(1_000.0);
        assert_eq!(vtime.of("away"), 1_000.0 - RETURN_CREDIT);
        vtime.charge("away", 2, 1);
        assert_eq!(
            vtime.of("away"),
            1_002.0 - RETURN_CREDIT,
            "charged from the floor"
        );
    }
}
