//! The scheduler's one lock, and every operation that takes it, in the
//! order a call goes through them: step 1, ask for a slice
//! ([`FairScheduler::request`]); step 2, wait for it
//! ([`Request::granted`]); step 3, tick while it runs
//! ([`FairScheduler::ticked`]); step 4, leave (drop the [`Slice`], or the
//! [`Request`] of a call that ended while it waited). Each takes the lock
//! once, changes `State`, sends the slice's number to each waiter it
//! grants one to, and lets go before it returns: nothing here awaits, runs
//! a guest or runs the preempt hook under the lock. The rules it applies
//! are plain code over `State`'s parts, in the files beside this one.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::oneshot;

use super::STALL;
use super::activity::Activity;
use super::holders::{Held, Holders};
use super::queue::{Waiter, Waiting};
use super::vtime::VirtualTime;

/// Forces every running guest to its next epoch callback at once.
pub type Preempt = Box<dyn Fn() + Send + Sync>;

/// Slices granted by start-time fair queuing, under one lock.
pub struct FairScheduler {
    /// Slices that run at once (the executor's threads), beyond which only
    /// a request that comes first, or a holder blocked in the host, makes
    /// room.
    capacity: usize,
    state: Mutex<State>,
    /// Run after the lock is let go, when a request overtakes a holder.
    preempt: Option<Preempt>,
}

/// What the lock guards.
#[derive(Debug, Default)]
struct State {
    /// Numbers waiters and slices (never reused).
    seq: u64,
    /// Each tenant's virtual time, and the clock.
    vtime: VirtualTime,
    /// The calls waiting for a slice.
    waiting: Waiting,
    /// The slices held now. Each number has one owner that hands it on
    /// when dropped: a `Request`, a `Slice`, or a grant sent to a waiter.
    held: Holders,
}

impl std::fmt::Debug for FairScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FairScheduler")
            .field("capacity", &self.capacity)
            .field("state", &self.state)
            .field("preempt", &self.preempt.is_some())
            .finish()
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
            state: Mutex::new(State::default()),
            preempt,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("scheduler lock")
    }

    /// Step 1, ask for a slice for `tenant`, without waiting. Under the lock, a
    /// request that no waiter comes before is granted a free slice, or one
    /// beyond the capacity if it overtakes a running holder not yet owed to an
    /// earlier such grant; else it queues. Wakes nobody; once the lock is let
    /// go, runs the preempt hook if the request overtakes a holder (a call asks
    /// before its task first runs, so the thread its slice frees can pick the
    /// task up).
    pub fn request(self: &Arc<Self>, tenant: &str, activity: &Activity) -> Request {
        let (state, preempt) = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let tag = state.vtime.of(tenant);
            let now = Instant::now();
            let first = state.waiting.comes_first(tag, &state.vtime);
            if first && state.held.active(now) < self.capacity {
                let id = state.grant(tenant, activity, tag, now);
                (RequestState::Granted(id), false)
            } else if first
                && state
                    .held
                    .takes_a_slice_at_once(tag, self.capacity, now, &state.vtime)
            {
                let id = state.grant(tenant, activity, tag, now);
                (RequestState::Granted(id), true)
            } else {
                let (wake, woken) = oneshot::channel();
                let seq = state.next_seq();
                let preempt = state.held.overtakes_a_holder(tag, &state.vtime);
                let activity = activity.clone();
                let waiter = Waiter {
                    seq,
                    activity,
                    wake,
                };
                state.waiting.push(tenant, waiter);
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

    /// Asks for a slice for `tenant` and waits for it.
    pub async fn acquire(self: &Arc<Self>, tenant: &str) -> Slice {
        self.request(tenant, &Activity::default()).granted().await
    }
}

/// A request for a slice, made without waiting: granted at once, or
/// queued (and the preempt hook already run). Dropped while queued (its
/// call ended), it leaves the queue, or hands on the slice it was granted
/// meanwhile.
#[derive(Debug)]
pub struct Request {
    scheduler: Arc<FairScheduler>,
    state: RequestState,
}

#[derive(Debug)]
enum RequestState {
    Granted(u64),
    Queued {
        seq: u64,
        woken: oneshot::Receiver<u64>,
    },
    Done,
}

impl Request {
    /// Step 2, wait for the slice, without the lock; every [`STALL`] it waits,
    /// it takes the lock to lend slices of holders blocked in the host
    /// (`FairScheduler::lend`).
    pub async fn granted(mut self) -> Slice {
        let id = match &mut self.state {
            RequestState::Granted(id) => *id,
            RequestState::Queued { woken, .. } => loop {
                match tokio::time::timeout(STALL, &mut *woken).await {
                    Ok(Ok(id)) => break id,
                    Ok(Err(_)) => unreachable!("a queued waiter's sender lives in the queue"),
                    Err(_) => self.scheduler.lend(),
                }
            },
            RequestState::Done => unreachable!("granted() consumes the request"),
        };
        self.state = RequestState::Done;
        Slice {
            scheduler: Arc::clone(&self.scheduler),
            id,
        }
    }
}

impl FairScheduler {
    /// Step 2, while waiting (every [`STALL`] a request waits): under the lock,
    /// hands the slices of holders blocked in the host to the waiters, beyond
    /// the capacity, best first, and wakes each.
    fn lend(&self) {
        self.lock().fill(self.capacity);
    }

    /// Step 3, run (at each tick of `slice`'s holder): under the lock, marks it
    /// running (it is polled), charges its tenant `ticks` at `weight`, and
    /// keeps the slice (true) unless more slices run than the capacity and it
    /// comes last, or a waiter comes first. Then it hands the slice on at once
    /// and wakes the waiters granted one (false; dropping `slice` afterwards is
    /// a no-op).
    pub fn ticked(&self, slice: &Slice, ticks: u64, weight: u32) -> bool {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(held) = state.held.get(slice.id) else {
            return false;
        };
        held.activity.polled();
        let tenant = held.tenant.clone();
        state.vtime.charge(&tenant, ticks, weight);
        let now = Instant::now();
        let gives_back = state
            .held
            .gives_back(&tenant, self.capacity, now, &state.vtime);
        if !gives_back && !state.waiting.comes_before(&tenant, &state.vtime) {
            return true;
        }
        state.held.remove(slice.id);
        state.fill(self.capacity);
        false
    }

    /// Under the lock, charges `tenant` for `ticks` of CPU at `weight`.
    /// Wakes nobody: a holder looks at the queue at its next tick.
    pub fn charge(&self, tenant: &str, ticks: u64, weight: u32) {
        self.lock().vtime.charge(tenant, ticks, weight);
    }

    /// Step 4, leave (a slice's owner is dropped): under the lock, forgets
    /// slice `id` (if [`Self::ticked`] has not handed it on already), then
    /// hands free slices to the waiters, best first, and wakes each.
    fn release(&self, id: u64) {
        let mut state = self.lock();
        if state.held.remove(id) {
            state.fill(self.capacity);
        }
    }

    /// Step 4, leave while queued (the request of a call that ended): under the
    /// lock, takes its waiter out of the queue. Granted meanwhile (the grant
    /// was sent under the lock, so its number is here by now), it releases that
    /// slice, as [`Self::release`].
    fn withdraw(&self, seq: u64, mut woken: oneshot::Receiver<u64>) {
        let queued = self.lock().waiting.remove(seq);
        if queued {
            return;
        }
        if let Ok(id) = woken.try_recv() {
            self.release(id);
        }
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

impl Drop for Request {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, RequestState::Done) {
            RequestState::Done => {}
            RequestState::Granted(id) => self.scheduler.release(id),
            RequestState::Queued { seq, woken } => self.scheduler.withdraw(seq, woken),
        }
    }
}

/// The steps above share these; each runs under the lock.
impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records a slice granted to `tenant` at `tag`; its number. A call
    /// woken for its slice counts as parked until its task runs.
    fn grant(&mut self, tenant: &str, activity: &Activity, tag: f64, now: Instant) -> u64 {
        let id = self.next_seq();
        self.vtime.granted_at(tag);
        activity.parked_at(now);
        let held = Held {
            tenant: tenant.to_owned(),
            activity: activity.clone(),
        };
        self.held.insert(id, held);
        id
    }

    /// Hands free slices (fewer than `capacity` holders active) to the
    /// waiters, best first, and wakes each.
    fn fill(&mut self, capacity: usize) {
        let now = Instant::now();
        while self.held.active(now) < capacity {
            let Some((tenant, tag, waiter)) = self.waiting.pop_next(&self.vtime) else {
                return;
            };
            let id = self.grant(&tenant, &waiter.activity, tag, now);
            if waiter.wake.send(id).is_err() {
                self.held.remove(id); // its call ended while queued
            }
        }
    }
}

/// The tests' view of the state.
#[cfg(test)]
impl FairScheduler {
    /// Whether anyone waits for a slice.
    pub fn contended(&self) -> bool {
        !self.lock().waiting.is_empty()
    }

    /// Whether a waiter should run before `tenant`'s next slice (a holder
    /// asks in [`Self::ticked`]).
    pub fn preempts(&self, tenant: &str) -> bool {
        let state = self.lock();
        state.waiting.comes_before(tenant, &state.vtime)
    }

    /// How many slices are held, blocked or not.
    pub fn slices_held(&self) -> usize {
        self.lock().held.len()
    }
}
