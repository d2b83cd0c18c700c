//! The one way handlers run guest code and registry validation: on a
//! blocking thread, never on an async worker (guest code is CPU-bound, and
//! wasmtime-wasi's synchronous preview-1 bindings start their own runtime).
//! Tenants in the `background` CPU class run on [`BackgroundPool`] threads
//! with the lowest scheduling priority instead, so the kernel gives their
//! guests only the CPU time normal tenants leave idle.

use std::sync::{Arc, Mutex, mpsc};

use crate::error::ApiError;

/// Runs `work` on tokio's blocking pool; a panic in it becomes a typed 500.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal {
            message: format!("sandbox worker failed: {e}"),
        })
}

/// The request body, or the typed error for one that could not be read
/// (over the body limit → 413 `invalid_input`, like an over-long input).
pub fn body_or_typed_error(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::Sandbox(crate::sandbox::SandboxError::InvalidInput {
                reason: "request body over the server's body limit".into(),
            })
        }
        _ => ApiError::BadRequest {
            reason: rejection.body_text(),
        },
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads at the lowest CPU priority (nice 19) that run guest calls of
/// `background` tenants. The nice value is per thread on Linux, set once
/// when each thread starts, so it never leaks into tokio's shared pool.
#[derive(Debug)]
pub struct BackgroundPool {
    jobs: mpsc::Sender<Job>,
}

/// Nice value of the pool's threads (the lowest priority).
pub const BACKGROUND_NICE: i32 = 19;

impl BackgroundPool {
    /// Starts `threads` (at least one) low-priority workers.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("wip-background-{i}"))
                .spawn(move || worker(&queue))
                .expect("spawning a background worker");
        }
        Self { jobs }
    }

    /// Runs `work` on a low-priority thread; a panic in it becomes a typed 500.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
        let failed = |message: &str| ApiError::Internal {
            message: format!("background worker failed: {message}"),
        };
        self.jobs.send(job).map_err(|_| failed("pool stopped"))?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(failed("the call panicked")),
            Err(_) => Err(failed("the worker went away")),
        }
    }
}

fn worker(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_this_threads_priority();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the pool was dropped
        }
    }
}

/// Sets the calling thread's nice value to [`BACKGROUND_NICE`] (on Linux
/// `setpriority(PRIO_PROCESS, 0, …)` affects only the calling thread).
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, BACKGROUND_NICE) {
        tracing::warn!(error = %e, "could not lower a background worker's priority");
    }
}

/// The calling thread's nice value (Linux), for tests and diagnostics.
pub fn current_thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    return rustix::process::getpriority_process(None).ok();
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_runs_at_the_lowest_priority_and_tokio_threads_keep_theirs() {
        let pool = BackgroundPool::new(2);
        let nice = pool.run(current_thread_nice).await.unwrap();
        assert_eq!(nice, Some(BACKGROUND_NICE));
        let normal = run_blocking(current_thread_nice).await.unwrap();
        assert_ne!(normal, Some(BACKGROUND_NICE), "tokio's pool is untouched");
    }

    #[tokio::test]
    async fn a_panic_in_background_work_is_a_typed_error_and_the_pool_survives() {
        let pool = BackgroundPool::new(1);
        let err = pool
            .run(|| -> u32 { panic!("guest host bug") })
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Internal { .. }), "{err:?}");
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
