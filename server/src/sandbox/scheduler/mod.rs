//! Fair CPU between tenants, in time slices (seed task 13, done properly).
//!
//! A guest call holds a *slice* while it runs; at every epoch tick it
//! gives its slice back and asks for the next one. At most `capacity`
//! slices run at once (the executor's threads). A free slice goes to the
//! waiting request with the smallest virtual start time, start-time fair
//! queuing: each tenant's virtual time advances by `ticks / weight` as it
//! is charged, so a tenant that used more CPU waits longer between its
//! slices, and a well-behaved tenant's request overtakes a heavy one's at
//! the heavy one's next tick. A tenant with nothing queued is not in the
//! queue: its share goes to the others. A returning tenant starts at the
//! current virtual time, so idleness earns no credit.
//!
//! A holder only looks at the queue at its ticks, so a waiter that comes
//! first would wait up to a tick for its slice. A waiter that comes before
//! some running tenant therefore *preempts* at once: the scheduler's
//! preempt hook forces an epoch tick (wasmtime's `increment_epoch`), every
//! running guest reaches its epoch callback within a loop iteration, and
//! the one that should yield hands its slice on. CPU accounting counts only
//! the ticker's own ticks, so forced ticks cost nobody CPU time.
//!
//! A guest blocked in a host call (a sleep) runs no wasm and so never
//! ticks: it would keep its slice. A waiter that has seen no slice change
//! hands for [`STALL`] therefore takes one beyond the capacity: spinning
//! holders hand theirs on at every tick when someone waits, so a silent
//! scheduler means the holders are all blocked.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long slices may go without changing hands, while someone waits,
/// before the holders count as blocked (four epoch ticks: a loaded host
/// delays ticks by a tick or two).
pub const STALL: Duration = Duration::from_millis(4);

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
    running: usize,
    seq: u64,
    /// When a slice last changed hands (granted or passed on).
    handoff: Instant,
    /// Virtual time: the start tag of the slice last granted.
    clock: f64,
    /// Waiting calls per tenant, oldest first (no empty queues). A
    /// tenant's next call is ordered by the tenant's virtual time when the
    /// slice is handed out, never by a tag from when it queued: a tenant
    /// with many calls queued must not jump ahead on old, small tags.
    waiting: HashMap<String, VecDeque<Waiter>>,
    tenants: HashMap<String, f64>,
    /// Slices each tenant holds now.
    holders: HashMap<String, usize>,
}

impl Inner {
    fn vtime(&self, tenant: &str) -> f64 {
        self.tenants
            .get(tenant)
            .copied()
            .unwrap_or(self.clock)
            .max(self.clock)
    }

    fn hold(&mut self, tenant: &str) {
        *self.holders.entry(tenant.to_owned()).or_default() += 1;
    }

    fn unhold(&mut self, tenant: &str) {
        if let Some(n) = self.holders.get_mut(tenant) {
            *n -= 1;
            if *n == 0 {
                self.holders.remove(tenant);
            }
        }
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

    /// Takes waiter `seq` out of the queue; its tenant, if it was there.
    fn remove(&mut self, seq: u64) -> Option<String> {
        let tenant = self
            .waiting
            .iter()
            .find(|(_, queue)| queue.iter().any(|w| w.seq == seq))
            .map(|(tenant, _)| tenant.clone())?;
        let queue = self.waiting.get_mut(&tenant).expect("found above");
        queue.retain(|w| w.seq != seq);
        if queue.is_empty() {
            self.waiting.remove(&tenant);
        }
        Some(tenant)
    }

    /// Whether a waiter with `tag` comes before a tenant holding a slice.
    fn overtakes_a_holder(&self, tag: f64) -> bool {
        self.holders.keys().any(|holder| self.vtime(holder) > tag)
    }
}

#[derive(Debug)]
struct Waiter {
    seq: u64,
    wake: oneshot::Sender<()>,
}

/// A running slice; dropping it hands the slice to the next waiter.
#[derive(Debug)]
pub struct Slice {
    scheduler: Arc<FairScheduler>,
    tenant: String,
}

impl Drop for Slice {
    fn drop(&mut self) {
        self.scheduler.release(&self.tenant);
    }
}

/// A queued request; dropped before its grant arrived (its call ended), it
/// leaves the queue, or hands on the slice it was granted meanwhile.
struct Waiting<'a> {
    scheduler: &'a FairScheduler,
    seq: u64,
    tenant: &'a str,
    granted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.granted {
            return;
        }
        let mut inner = self.scheduler.inner.lock().expect("scheduler lock");
        if inner.remove(self.seq).is_none() {
            drop(inner);
            self.scheduler.release(self.tenant);
        }
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
                running: 0,
                seq: 0,
                handoff: Instant::now(),
                clock: 0.0,
                waiting: HashMap::new(),
                tenants: HashMap::new(),
                holders: HashMap::new(),
            }),
            preempt,
        })
    }

    /// Waits for a slice for `tenant`.
    pub async fn acquire(self: &Arc<Self>, tenant: &str) -> Slice {
        let (wait, preempt) = {
            let mut inner = self.inner.lock().expect("scheduler lock");
            let tag = inner.vtime(tenant);
            if inner.running < self.capacity && inner.waiting.is_empty() {
                inner.running += 1;
                inner.clock = tag;
                inner.handoff = Instant::now();
                inner.hold(tenant);
                (None, false)
            } else {
                let (wake, woken) = oneshot::channel();
                inner.seq += 1;
                let seq = inner.seq;
                let preempt = inner.overtakes_a_holder(tag);
                inner
                    .waiting
                    .entry(tenant.to_owned())
                    .or_default()
                    .push_back(Waiter { seq, wake });
                (Some((seq, woken)), preempt)
            }
        };
        if let (true, Some(preempt)) = (preempt, &self.preempt) {
            preempt();
        }
        if let Some((seq, mut woken)) = wait {
            // The releaser counts us as running before waking us. If we are
            // dropped while waiting (the call's deadline), the guard takes
            // us out of the queue, or passes on a slice granted meanwhile.
            let mut waiting = Waiting {
                scheduler: self,
                seq,
                tenant,
                granted: false,
            };
            loop {
                match tokio::time::timeout(STALL, &mut woken).await {
                    Ok(_) => break,
                    Err(_) if self.take_stalled(seq) => break,
                    Err(_) => continue,
                }
            }
            waiting.granted = true;
        }
        Slice {
            scheduler: Arc::clone(self),
            tenant: tenant.to_owned(),
        }
    }

    /// Takes a slice beyond the capacity for waiter `seq` when none has
    /// changed hands for [`STALL`] (every holder is blocked in the host).
    fn take_stalled(&self, seq: u64) -> bool {
        let mut inner = self.inner.lock().expect("scheduler lock");
        if inner.handoff.elapsed() < STALL {
            return false;
        }
        let Some(tenant) = inner.remove(seq) else {
            return false; // granted meanwhile: the wake-up is on its way
        };
        let tag = inner.vtime(&tenant);
        inner.running += 1;
        inner.hold(&tenant);
        inner.clock = inner.clock.max(tag);
        inner.handoff = Instant::now();
        true
    }

    /// Charges `tenant` for `ticks` of CPU at `weight`.
    pub fn charge(&self, tenant: &str, ticks: u64, weight: u32) {
        let mut inner = self.inner.lock().expect("scheduler lock");
        let clock = inner.clock;
        let vtime = inner.tenants.entry(tenant.to_owned()).or_insert(clock);
        *vtime = vtime.max(clock) + ticks as f64 / f64::from(weight.max(1));
    }

    /// Whether anyone waits for a slice (the tests' view of the queue).
    #[cfg(test)]
    pub fn contended(&self) -> bool {
        !self
            .inner
            .lock()
            .expect("scheduler lock")
            .waiting
            .is_empty()
    }

    /// Whether a waiter should run before `tenant`'s next slice: one has a
    /// smaller virtual start time than `tenant` would get now. (Handing the
    /// slice on and queueing again would give it to the best *other*
    /// waiter, even one that used far more CPU.)
    pub fn preempts(&self, tenant: &str) -> bool {
        let inner = self.inner.lock().expect("scheduler lock");
        let mine = inner.vtime(tenant);
        inner.next_tenant().is_some_and(|(_, best)| best < mine)
    }

    fn release(&self, tenant: &str) {
        let mut inner = self.inner.lock().expect("scheduler lock");
        inner.unhold(tenant);
        while let Some((next, tag, waiter)) = inner.pop_next() {
            if waiter.wake.send(()).is_ok() {
                inner.clock = inner.clock.max(tag);
                inner.handoff = Instant::now();
                inner.hold(&next);
                return; // the slice passes on: `running` is unchanged
            }
        }
        inner.running -= 1;
    }
}

/// One call's turns at the CPU: the slice it holds, handed on at every
/// tick when someone else waits.
#[derive(Debug)]
pub(super) struct Turn {
    scheduler: Arc<FairScheduler>,
    tenant: String,
    weight: u32,
    slice: Mutex<Option<Slice>>,
}

/// What the epoch callback awaits before the guest runs on.
pub(super) type Resume = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Turn {
    pub(super) fn new(scheduler: Arc<FairScheduler>, tenant: &str, weight: u32) -> Arc<Self> {
        Arc::new(Self {
            scheduler,
            tenant: tenant.to_owned(),
            weight,
            slice: Mutex::new(None),
        })
    }

    /// Waits for a slice.
    pub(super) async fn begin(&self) {
        let slice = self.scheduler.acquire(&self.tenant).await;
        *self.slice.lock().expect("slice lock") = Some(slice);
    }

    /// Gives the slice to the next waiter.
    fn pause(&self) {
        self.slice.lock().expect("slice lock").take();
    }

    /// At a tick: charges it, then keeps the slice unless a waiter comes
    /// first, else hands it on and queues for the next one.
    pub(super) fn tick(self: &Arc<Self>) -> Resume {
        self.scheduler.charge(&self.tenant, 1, self.weight);
        let held = self.slice.lock().expect("slice lock").is_some();
        if held && !self.scheduler.preempts(&self.tenant) {
            return Box::pin(yield_once());
        }
        self.pause();
        let turn = Arc::clone(self);
        Box::pin(async move { turn.begin().await })
    }
}

/// Pending once, woken at once: hands the thread back to the executor
/// (which then polls the call's deadline) and resumes at its next turn.
/// (`tokio::task::yield_now` defers its wake-up to the worker's park,
/// which a guest running on a wasmtime fiber may never reach.)
pub(super) async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests;
