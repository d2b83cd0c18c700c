//! Fair CPU between tenants, in time slices: start-time fair queuing at
//! every epoch tick (ARCHITECTURE.md, "Fair CPU between tenants").
//!
//! `slices.rs` owns the one lock and reads top-down: the state it guards,
//! then ask, wait, tick, leave. The other files hold no lock: `vtime.rs`
//! charges tenants, `queue.rs` picks the next waiter, `holders.rs` says
//! when a slice goes beyond the capacity or back, `activity.rs` tells a
//! holder blocked in the host, `turn.rs` is one call's side.
//!
//! Invariants: nobody holds the lock while a guest runs, across an await,
//! or while the preempt hook runs; each slice held has one owner that
//! hands it on when dropped; slices beyond the capacity go only to a
//! request that comes first (one per running holder it overtakes) or in
//! place of holders blocked for [`STALL`]; a `Turn` takes its own locks
//! before the scheduler's, never after.

mod activity;
mod holders;
mod queue;
mod slices;
mod turn;
mod vtime;

pub use activity::Activity;
pub use slices::{FairScheduler, Preempt, Request, Slice};
pub(super) use turn::{Resume, Turn, yield_once};
pub use vtime::RETURN_CREDIT;

/// How long a holder may stay parked before it counts as blocked in the
/// host (four epoch ticks).
pub use super::limits::STALL;

#[cfg(test)]
mod tests;
