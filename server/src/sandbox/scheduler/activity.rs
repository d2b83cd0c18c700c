//! Whether a call holding a slice runs, or is blocked in the host.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use super::STALL;

/// Whether a call is running or runnable, or parked (its future pending
/// and not woken), and since when: written by the call at every poll and
/// by its waker, read by the scheduler to tell a blocked holder. A call
/// that yielded at a tick is woken at once, so it never looks blocked
/// while it waits for a busy thread.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<AtomicU64>);

/// A call's waker that marks the call runnable before waking it.
struct Marking {
    activity: Activity,
    inner: std::task::Waker,
    woken: AtomicBool,
}

impl std::task::Wake for Marking {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.activity.polled();
        self.inner.wake_by_ref();
    }
}

/// Where [`Activity`] counts its microseconds from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn micros(at: Instant) -> u64 {
    (at.saturating_duration_since(*EPOCH).as_micros() as u64).max(1)
}

impl Activity {
    /// The call is being polled, or was woken (it runs, or is about to).
    pub fn polled(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// Polls `future` on behalf of its call: marks the call running, and
    /// parked if it returns pending without having been woken meanwhile;
    /// its waker marks it runnable again.
    pub fn poll<F: std::future::Future + ?Sized>(
        &self,
        future: std::pin::Pin<&mut F>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let waker = Arc::new(Marking {
            activity: self.clone(),
            inner: cx.waker().clone(),
            woken: AtomicBool::new(false),
        });
        self.polled();
        let poll = future.poll(&mut std::task::Context::from_waker(
            &Arc::clone(&waker).into(),
        ));
        if poll.is_pending() {
            self.parked_at(Instant::now());
            // Woken while it was polled (a yield), or since: runnable.
            if waker.woken.load(Ordering::SeqCst) {
                self.polled();
            }
        }
        poll
    }

    pub(super) fn parked_at(&self, at: Instant) {
        self.0.store(micros(at), Ordering::Relaxed);
    }

    /// Parked for [`STALL`] or more at `now`.
    pub(super) fn blocked(&self, now: Instant) -> bool {
        let since = self.0.load(Ordering::Relaxed);
        since != 0 && micros(now).saturating_sub(since) >= STALL.as_micros() as u64
    }
}
