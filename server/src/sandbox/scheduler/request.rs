//! A request for a slice: made at once, waited for later.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{FairScheduler, STALL, Slice};

/// A request for a slice, made without waiting: granted at once, or
/// queued (and the preempt hook already run). Dropped while queued (its
/// call ended), it leaves the queue, or hands on the slice it was granted
/// meanwhile.
#[derive(Debug)]
pub struct Request {
    pub(super) scheduler: Arc<FairScheduler>,
    pub(super) state: RequestState,
}

#[derive(Debug)]
pub(super) enum RequestState {
    Granted(u64),
    Queued {
        seq: u64,
        woken: oneshot::Receiver<u64>,
    },
    Done,
}

impl Request {
    /// Waits for the slice.
    pub async fn granted(mut self) -> Slice {
        let id = match &mut self.state {
            RequestState::Granted(id) => *id,
            RequestState::Queued { woken, .. } => loop {
                match tokio::time::timeout(STALL, &mut *woken).await {
                    Ok(Ok(id)) => break id,
                    Ok(Err(_)) => unreachable!("a queued waiter's sender lives in the queue"),
                    // Holders blocked in the host lend their slices.
                    Err(_) => self.scheduler.lock().fill(self.scheduler.capacity),
                }
            },
            RequestState::Done => unreachable!("granted() consumes the request"),
        };
        self.state = RequestState::Done;
        self.scheduler.slice(id)
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, RequestState::Done) {
            RequestState::Done => {}
            RequestState::Granted(id) => self.scheduler.release(id),
            RequestState::Queued { seq, mut woken } => {
                let mut inner = self.scheduler.lock();
                if !inner.remove(seq) {
                    drop(inner);
                    // Granted under the lock, so the number is here by now.
                    if let Ok(id) = woken.try_recv() {
                        self.scheduler.release(id);
                    }
                }
            }
        }
    }
}
