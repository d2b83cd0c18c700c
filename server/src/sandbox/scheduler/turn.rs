//! One call's side of the scheduler: the slice it holds between ticks.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::activity::Activity;
use super::slices::{FairScheduler, Request, Slice};

/// One call's turns at the CPU: the slice it holds, handed on at every
/// tick when someone else waits.
#[derive(Debug)]
pub(crate) struct Turn {
    scheduler: Arc<FairScheduler>,
    tenant: String,
    weight: u32,
    /// Running, runnable or parked (see [`Turn::poll`]).
    activity: Activity,
    /// The first request, made when the call is handed to the executor.
    first: Mutex<Option<Request>>,
    slice: Mutex<Option<Slice>>,
}

/// What the epoch callback awaits before the guest runs on.
pub(crate) type Resume = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Turn {
    /// A call's turns; it asks for its first slice now, before its task
    /// runs, so a waiter that comes first preempts at once and the thread
    /// it frees picks the new task up.
    pub(crate) fn new(scheduler: Arc<FairScheduler>, tenant: &str, weight: u32) -> Arc<Self> {
        let activity = Activity::default();
        let first = scheduler.request(tenant, &activity);
        Arc::new(Self {
            scheduler,
            tenant: tenant.to_owned(),
            weight,
            activity,
            first: Mutex::new(Some(first)),
            slice: Mutex::new(None),
        })
    }

    /// Waits for a slice.
    pub(crate) async fn begin(&self) {
        let first = self.first.lock().expect("request lock").take();
        let request = first.unwrap_or_else(|| self.scheduler.request(&self.tenant, &self.activity));
        let slice = request.granted().await;
        *self.slice.lock().expect("slice lock") = Some(slice);
    }

    /// Polls the call's future, marking it running, runnable or parked
    /// (see [`Activity::poll`]).
    pub(crate) fn poll<F: Future + ?Sized>(
        &self,
        future: Pin<&mut F>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.activity.poll(future, cx)
    }

    /// Gives the slice to the next waiter.
    fn pause(&self) {
        self.slice.lock().expect("slice lock").take();
    }

    /// At a tick (`ticks` of CPU: 0 for a tick the scheduler forced):
    /// charges it, then keeps the slice (None: the guest runs on, on this
    /// thread) unless a waiter comes first or a call that came first took
    /// a slice beyond the capacity; else hands it on and queues for the
    /// next one (what the guest awaits before it runs on).
    pub(crate) fn tick(self: &Arc<Self>, ticks: u64) -> Option<Resume> {
        let kept = {
            let slice = self.slice.lock().expect("slice lock");
            slice
                .as_ref()
                .is_some_and(|slice| self.scheduler.ticked(slice, ticks, self.weight))
        };
        if kept {
            return None;
        }
        self.pause();
        let turn = Arc::clone(self);
        Some(Box::pin(async move { turn.begin().await }))
    }
}

/// Pending once, woken at once: hands the thread back to the executor
/// (which then polls the call's deadline) and resumes at its next turn.
/// (`tokio::task::yield_now` defers its wake-up to the worker's park,
/// which a guest running on a wasmtime fiber may never reach.)
pub(crate) async fn yield_once() {
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
