//! A once-guard for async work: concurrent callers share one in-flight
//! future; a success is kept forever; a failure is forgotten so the next
//! call starts over (a failed download can be retried).

use std::cell::RefCell;
use std::future::Future;

use futures::FutureExt as _;
use futures::future::{LocalBoxFuture, Shared};

type SharedResult<T, E> = Shared<LocalBoxFuture<'static, Result<T, E>>>;

/// Shares one `Result`-producing future among all callers.
pub struct OnceGuard<T: Clone + 'static, E: Clone + 'static> {
    slot: RefCell<Option<SharedResult<T, E>>>,
}

impl<T: Clone + 'static, E: Clone + 'static> std::fmt::Debug for OnceGuard<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnceGuard")
            .field("started", &self.slot.borrow().is_some())
            .finish()
    }
}

impl<T: Clone + 'static, E: Clone + 'static> Default for OnceGuard<T, E> {
    fn default() -> Self {
        Self {
            slot: RefCell::new(None),
        }
    }
}

impl<T: Clone + 'static, E: Clone + 'static> OnceGuard<T, E> {
    /// Awaits the shared future, starting it with `start` only if no call
    /// has started it yet (or the last attempt failed).
    pub async fn get_or_start<F>(&self, start: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let shared = {
            let mut slot = self.slot.borrow_mut();
            match slot.as_ref() {
                Some(existing) => existing.clone(),
                None => {
                    let fresh = start().boxed_local().shared();
                    *slot = Some(fresh.clone());
                    fresh
                }
            }
        };
        let result = shared.clone().await;
        if result.is_err() {
            let mut slot = self.slot.borrow_mut();
            // Only forget *this* attempt: a retry may already be running.
            if slot.as_ref().is_some_and(|s| s.ptr_eq(&shared)) {
                *slot = None;
            }
        }
        result
    }

    /// Whether a call has started (and not failed).
    pub fn is_started(&self) -> bool {
        self.slot.borrow().is_some()
    }
}
