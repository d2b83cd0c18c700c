//! Admission for one tenant: at most `max_concurrency` calls run, at most
//! `queue_depth` wait (each at most `queue_wait_ms`); everything beyond is
//! refused with 429 at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Refusal;

/// A tenant's gate.
#[derive(Debug)]
pub struct TenantGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue_depth: usize,
    wait: Duration,
}

impl TenantGate {
    /// `max_concurrency` must be within tokio's semaphore limit (the
    /// tenants file's range check sees to that).
    pub fn new(max_concurrency: usize, queue_depth: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrency)),
            waiting: AtomicUsize::new(0),
            queue_depth,
            wait,
        }
    }

    /// A running slot, or 429 when the queue is full or the wait times out.
    pub async fn admit(&self, tenant: &str) -> Result<OwnedSemaphorePermit, Refusal> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let too_many = || Refusal::Full {
            tenant: tenant.to_owned(),
            retry_after_secs: self.wait.as_secs().max(1),
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue_depth {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(too_many());
        }
        let waited =
            tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(too_many()),
        }
    }
}
