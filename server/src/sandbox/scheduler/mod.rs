//! Fair CPU between tenants, in time slices (seed task 13, done properly).
//!
//! A guest call holds a *slice* while it runs; at every epoch tick it is
//! charged for the tick and keeps its slice unless a waiter comes first.
//! At most `capacity` slices run at once (the executor's threads). A free
//! slice goes to the waiting request with the smallest virtual start time,
//! start-time fair queuing: each tenant's virtual time advances by
//! `ticks / weight` as it is charged, so a tenant that used more CPU waits
//! longer between its slices, and a well-behaved tenant's request overtakes
//! a heavy one's at the heavy one's next tick. A tenant with nothing queued
//! is not in the queue: its share goes to the others. A returning tenant
//! starts at most [`RETURN_CREDIT`] ticks behind the current virtual time,
//! so a short call runs through, but idleness cannot be saved up.
//!
//! A holder only looks at the queue at its ticks, so a request that comes
//! first would wait up to a tick for its slice, or longer while the
//! holder's thread is off the CPU or in host code. A request that no
//! waiter comes before, and that comes before a running tenant, therefore
//! takes a slice beyond the capacity *at once* (one per holder it
//! overtakes), and *preempts*: the scheduler's preempt hook forces an
//! epoch tick (wasmtime's `increment_epoch`), every running guest reaches
//! its epoch callback within a loop iteration, and while more slices run
//! than the capacity, the running holder that comes last hands its slice
//! back (in the same lock as its check, so one grant beyond the capacity
//! costs one holder its slice, not every holder's). A waiter that comes
//! first once the slices are full is handed a slice the same way. CPU
//! accounting counts only the ticker's own ticks, so forced ticks cost
//! nobody CPU time.
//!
//! A guest blocked in a host call (a sleep) runs no wasm and so never
//! ticks: it would keep its slice while its thread is free. Each holder
//! therefore has an [`Activity`]: its call marks it *running* while it is
//! polled (wasm or host code, such as instantiation), *runnable* once its
//! waker fires (a call that yielded at a tick and waits for a busy
//! thread), and *parked* while its future is pending and not woken. A
//! holder parked for [`STALL`] counts as blocked, and its slice is lent to
//! a waiter beyond the capacity. A holder that computes, or runs host code
//! however long, is never lent out, so waiters of the same tenant (which
//! never come first) wait their turn instead of taking slices beyond the
//! capacity.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

mod activity;
mod request;
mod turn;

pub use activity::Activity;
pub use request::Request;
use request::RequestState;
pub(super) use turn::{Resume, Turn, yield_once};

/// How long a holder may stay parked before it counts as blocked in the
/// host (four epoch ticks).
pub use super::limits::STALL;

/// How far behind the clock a tenant may be when it returns (in ticks):
/// a tenant that was idle, or new, runs its first few ticks before a
/// tenant that never paused, as a kernel's sleeper credit does, so a short
/// call is not interleaved with a heavy one's ticks. It is bounded, so
/// idleness cannot be saved up: a tenant that comes and goes gains at most
/// this much per return.
pub const RETURN_CREDIT: f64 = 10.0;

/// Forces every running guest to its next epoch callback at once.
pub type Preempt = Box<dyn Fn() + Send + Sync>;

/// Slices granted by [`FairScheduler`].
pub struct FairScheduler {
    capacity: usize,
    inner: Mutex<Inner>,
    preempt: Option<Preempt>,
}

impl std::fmt::Debug for FairScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FairScheduler")
            .field("capacity", &self.capacity)
            .field("inner", &self.inner)
            .field("preempt", &self.preempt.is_some())
            .finish()
    }
}

#[derive(Debug)]
struct Inner {
    /// Numbers waiters and slices (never reused).
    seq: u64,
    /// Virtual time: the largest start tag of a slice granted.
    clock: f64,
    /// Waiting calls per tenant, oldest first (no empty queues). A
    /// tenant's next call is ordered by the tenant's virtual time when the
    /// slice is handed out, never by a tag from when it queued: a tenant
    /// with many calls queued must not jump ahead on old, small tags.
    waiting: HashMap<String, VecDeque<Waiter>>,
    /// Virtual time per tenant.
    tenants: HashMap<String, f64>,
    /// Slices held now, by number.
    held: HashMap<u64, Held>,
}

#[derive(Debug)]
struct Held {
    tenant: String,
    activity: Activity,
}

#[derive(Debug)]
struct Waiter {
    seq: u64,
    activity: Activity,
    /// Receives the number of the slice granted.
    wake: oneshot::Sender<u64>,
}

impl Inner {
    /// `tenant`'s virtual time: its own, but at most [`RETURN_CREDIT`]
    /// behind the clock.
    fn vtime(&self, tenant: &str) -> f64 {
        let floor = self.clock - RETURN_CREDIT;
        self.tenants
            .get(tenant)
            .copied()
            .unwrap_or(floor)
            .max(floor)
    }

    /// Holders that are not blocked.
    fn running(&self, now: Instant) -> impl Iterator<Item = &Held> {
        self.held.values().filter(move |h| !h.activity.blocked(now))
    }

    /// Slices whose holders are not blocked.
    fn active(&self, now: Instant) -> usize {
        self.running(now).count()
    }

    /// Records a slice granted to `tenant` at `tag`; its number. A call
    /// woken for its slice counts as parked until its task runs.
    fn grant(&mut self, tenant: &str, activity: &Activity, tag: f64, now: Instant) -> u64 {
        self.seq += 1;
        self.clock = self.clock.max(tag);
        activity.parked_at(now);
        let held = Held {
            tenant: tenant.to_owned(),
            activity: activity.clone(),
        };
        self.held.insert(self.seq, held);
        self.seq
    }

    /// The waiting tenant that goes next: the smallest virtual time, ties
    /// to the oldest call.
    fn next_tenant(&self) -> Option<(&str, f64)> {
        self.waiting
            .iter()
            .filter_map(|(tenant, queue)| Some((tenant, self.vtime(tenant), queue.front()?.seq)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
            .map(|(tenant, vtime, _)| (tenant.as_str(), vtime))
    }

    /// Takes the next waiter out of the queue.
    fn pop_next(&mut self) -> Option<(String, f64, Waiter)> {
        let (tenant, vtime) = self.next_tenant().map(|(t, v)| (t.to_owned(), v))?;
        let queue = self.waiting.get_mut(&tenant).expect("a waiting tenant");
        let waiter = queue.pop_front().expect("no empty queues");
        if queue.is_empty() {
            self.waiting.remove(&tenant);
        }
        Some((tenant, vtime, waiter))
    }

    /// Takes waiter `seq` out of the queue; whether it was there.
    fn remove(&mut self, seq: u64) -> bool {
        let Some(tenant) = self
            .waiting
            .iter()
            .find(|(_, queue)| queue.iter().any(|w| w.seq == seq))
            .map(|(tenant, _)| tenant.clone())
        else {
            return false;
        };
        let queue = self.waiting.get_mut(&tenant).expect("found above");
        queue.retain(|w| w.seq != seq);
        if queue.is_empty() {
            self.waiting.remove(&tenant);
        }
        true
    }

    /// Hands free slices (fewer than `capacity` active) to the waiters,
    /// best first.
    fn fill(&mut self, capacity: usize) {
        let now = Instant::now();
        while self.active(now) < capacity {
            let Some((tenant, tag, waiter)) = self.pop_next() else {
                return;
            };
            let id = self.grant(&tenant, &waiter.activity, tag, now);
            if waiter.wake.send(id).is_err() {
                self.held.remove(&id); // its call ended while queued
            }
        }
    }

    /// Whether a waiter with `tag` comes before a tenant holding a slice.
    fn overtakes_a_holder(&self, tag: f64) -> bool {
        self.held.values().any(|h| self.vtime(&h.tenant) > tag)
    }

    /// Whether a request at `tag` that no waiter comes before takes a
    /// slice beyond the capacity at once: one holder that comes after it,
    /// and is not already owed to an earlier such grant, hands its slice
    /// back at its next tick. (Waiting for that tick instead would add
    /// the holder's way to it, up to a millisecond or more when its
    /// thread is off the CPU or in host code, to every preempting call.)
    fn takes_a_slice_at_once(&self, tag: f64, capacity: usize, now: Instant) -> bool {
        let overtaken = self
            .running(now)
            .filter(|h| self.vtime(&h.tenant) > tag)
            .count();
        self.active(now).saturating_sub(capacity) < overtaken
    }

    /// Whether `tenant`'s holder hands its slice back: more slices run
    /// than the capacity (a request took one at once), and no running
    /// holder comes after it.
    fn gives_back(&self, tenant: &str, capacity: usize, now: Instant) -> bool {
        let mine = self.vtime(tenant);
        self.active(now) > capacity && self.running(now).all(|h| self.vtime(&h.tenant) <= mine)
    }

    /// Whether a waiter comes before `tenant`'s next slice: one has a
    /// smaller virtual start time than `tenant` would get now. (Handing the
    /// slice on and queueing again would give it to the best *other*
    /// waiter, even one that used far more CPU.)
    fn preempts(&self, tenant: &str) -> bool {
        let mine = self.vtime(tenant);
        self.next_tenant().is_some_and(|(_, best)| best < mine)
    }

    fn charge(&mut self, tenant: &str, ticks: u64, weight: u32) {
        let vtime = self.vtime(tenant) + ticks as f64 / f64::from(weight.max(1));
        self.tenants.insert(tenant.to_owned(), vtime);
    }
}

/// A running slice; dropping it hands the slice to the next waiter.
#[derive(Debug)]
pub struct Slice {
    scheduler: Arc<FairScheduler>,
    id: u64,
}

impl Drop for Slice {
    fn drop(&mut self) {
        self.scheduler.release(self.id);
    }
}

impl FairScheduler {
    /// `capacity` slices at once (at least one); no preemption between ticks.
    pub fn new(capacity: usize) -> Arc<Self> {
        Self::build(capacity, None)
    }

    /// `capacity` slices at once; `preempt` forces the running guests to
    /// their epoch callbacks when a waiter comes before one of them.
    pub fn with_preempt(capacity: usize, preempt: Preempt) -> Arc<Self> {
        Self::build(capacity, Some(preempt))
    }

    fn build(capacity: usize, preempt: Option<Preempt>) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                seq: 0,
                clock: 0.0,
                waiting: HashMap::new(),
                tenants: HashMap::new(),
                held: HashMap::new(),
            }),
            preempt,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("scheduler lock")
    }

    /// Waits for a slice for `tenant`.
    pub async fn acquire(self: &Arc<Self>, tenant: &str) -> Slice {
        self.request(tenant, &Activity::default()).granted().await
    }

    /// Asks for a slice for `tenant` without waiting: a free one is
    /// granted at once; else the request queues and, if it comes before a
    /// running tenant, preempts it now (a call asks before its task first
    /// runs, so the thread its slice frees can pick the task up).
    pub fn request(self: &Arc<Self>, tenant: &str, activity: &Activity) -> Request {
        let (state, preempt) = {
            let mut inner = self.lock();
            let tag = inner.vtime(tenant);
            let now = Instant::now();
            let first = inner.next_tenant().is_none_or(|(_, best)| tag < best);
            if first && inner.active(now) < self.capacity {
                let id = inner.grant(tenant, activity, tag, now);
                (RequestState::Granted(id), false)
            } else if first && inner.takes_a_slice_at_once(tag, self.capacity, now) {
                let id = inner.grant(tenant, activity, tag, now);
                (RequestState::Granted(id), true)
            } else {
                let (wake, woken) = oneshot::channel();
                inner.seq += 1;
                let seq = inner.seq;
                let preempt = inner.overtakes_a_holder(tag);
                inner
                    .waiting
                    .entry(tenant.to_owned())
                    .or_default()
                    .push_back(Waiter {
                        seq,
                        activity: activity.clone(),
                        wake,
                    });
                (RequestState::Queued { seq, woken }, preempt)
            }
        };
        if let (true, Some(preempt)) = (preempt, &self.preempt) {
            preempt();
        }
        Request {
            scheduler: Arc::clone(self),
            state,
        }
    }

    fn slice(self: &Arc<Self>, id: u64) -> Slice {
        Slice {
            scheduler: Arc::clone(self),
            id,
        }
    }

    /// Charges `tenant` for `ticks` of CPU at `weight`.
    pub fn charge(&self, tenant: &str, ticks: u64, weight: u32) {
        self.lock().charge(tenant, ticks, weight);
    }

    /// At a tick of `slice`'s holder: charges its tenant `ticks` at
    /// `weight` (it runs: it is polled); then keeps the slice (true) unless a
    /// waiter comes first, when the slice is handed on at once (false;
    /// dropping `slice` afterwards is a no-op).
    pub fn ticked(&self, slice: &Slice, ticks: u64, weight: u32) -> bool {
        let mut inner = self.lock();
        let Some(held) = inner.held.get_mut(&slice.id) else {
            return false;
        };
        held.activity.polled();
        let tenant = held.tenant.clone();
        inner.charge(&tenant, ticks, weight);
        if !inner.gives_back(&tenant, self.capacity, Instant::now()) && !inner.preempts(&tenant) {
            return true;
        }
        inner.held.remove(&slice.id);
        inner.fill(self.capacity);
        false
    }

    /// Whether anyone waits for a slice (the tests' view of the queue).
    #[cfg(test)]
    pub fn contended(&self) -> bool {
        !self.lock().waiting.is_empty()
    }

    /// Whether a waiter should run before `tenant`'s next slice (the
    /// tests' view; a holder asks in [`Self::ticked`]).
    #[cfg(test)]
    pub fn preempts(&self, tenant: &str) -> bool {
        self.lock().preempts(tenant)
    }

    fn release(&self, id: u64) {
        let mut inner = self.lock();
        if inner.held.remove(&id).is_some() {
            inner.fill(self.capacity);
        }
    }
}

#[cfg(test)]
mod tests;
