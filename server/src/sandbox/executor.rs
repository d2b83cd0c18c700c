//! The threads that run guest code: two tokio runtimes owned by the
//! sandbox, never the HTTP server's workers. Guest calls are async (they
//! yield to the executor at every epoch tick and whenever a WASI call would
//! block), so a handful of threads serve many calls, and a call that sleeps
//! in the host holds no thread at all.
//!
//! The `background` runtime's threads run at the lowest scheduling priority
//! (nice 19, per thread on Linux, set once as each thread starts), so the
//! kernel gives its guests only the CPU time normal calls leave idle.

use std::future::Future;

use serde::Deserialize;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::oneshot;
use tokio::task::JoinError;

/// Nice value of the background runtime's threads (the lowest priority).
pub const BACKGROUND_NICE: i32 = 19;

/// Nice value of the normal guest threads: below the HTTP workers, so the
/// short, latency-bound work of answering requests (parsing, auth, writing
/// responses) is never queued behind guest slices at the kernel; guests
/// still get every cycle the request path leaves.
pub const GUEST_NICE: i32 = 10;

/// Which threads run a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuClass {
    /// The sandbox's normal-priority threads.
    #[default]
    Normal,
    /// Threads at nice 19: batch work and known-heavy plugins, whose latency
    /// depends on everybody else's load.
    Background,
}

/// The two runtimes. Dropping them never blocks (a sandbox may be dropped
/// inside an async context, e.g. at the end of a `#[tokio::test]`).
pub(super) struct Executor {
    normal: Option<Runtime>,
    background: Option<Runtime>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").finish_non_exhaustive()
    }
}

impl Executor {
    /// `normal` and `background` workers (at least one each).
    pub(super) fn new(normal: usize, background: usize) -> std::io::Result<Self> {
        let build = |name: &str, threads: usize| {
            let mut builder = Builder::new_multi_thread();
            builder
                .worker_threads(threads.max(1))
                .thread_name(name)
                .enable_all();
            builder
        };
        Ok(Self {
            normal: Some(
                build("wip-guest", normal)
                    .on_thread_start(|| set_this_threads_nice(GUEST_NICE))
                    .build()?,
            ),
            background: Some(
                build("wip-guest-bg", background)
                    .on_thread_start(|| set_this_threads_nice(BACKGROUND_NICE))
                    .build()?,
            ),
        })
    }

    fn handle(&self, cpu: CpuClass) -> &Handle {
        let runtime = match cpu {
            CpuClass::Normal => &self.normal,
            CpuClass::Background => &self.background,
        };
        runtime.as_ref().expect("runtime lives until drop").handle()
    }

    /// Runs `call` on the threads of `cpu` and hands its output to the
    /// awaiting task (`Err`: the call panicked).
    ///
    /// Having handed it over, the guest thread yields its core once
    /// (`sched_yield`): the task it has just woken, the request waiting for
    /// this output, then runs before the next guest slice on that core
    /// instead of queueing behind it (Linux's EEVDF lets a running thread
    /// finish its protected slice whatever its nice value, and may notice
    /// only at the next tick, 4 ms at HZ=250). Beside a heavy tenant, the
    /// wait from a small call's end to its request running again fell from
    /// 3.8 to 2.2 ms at p99.
    pub(super) async fn run<F>(&self, cpu: CpuClass, call: F) -> Result<F::Output, JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (handed, output) = oneshot::channel();
        let task = self.handle(cpu).spawn(async move {
            if handed.send(call.await).is_ok() {
                std::thread::yield_now();
            }
        });
        match output.await {
            Ok(output) => Ok(output),
            // Nothing was handed over: the call panicked.
            Err(_) => Err(task
                .await
                .expect_err("a call that returns hands its output over")),
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        for runtime in [self.normal.take(), self.background.take()]
            .into_iter()
            .flatten()
        {
            runtime.shutdown_background();
        }
    }
}

/// Sets the calling thread's nice value (on Linux `setpriority(PRIO_PROCESS,
/// 0, …)` affects only the calling thread).
pub(super) fn set_this_threads_nice(nice: i32) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, nice) {
        tracing::warn!(error = %e, nice, "could not lower a guest thread's priority");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
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
    async fn background_calls_run_at_the_lowest_priority_and_normal_ones_below_http() {
        let executor = Executor::new(1, 1).unwrap();
        let nice = |cpu| executor.run(cpu, async { current_thread_nice() });
        assert_eq!(
            nice(CpuClass::Background).await.unwrap(),
            Some(BACKGROUND_NICE)
        );
        assert_eq!(nice(CpuClass::Normal).await.unwrap(), Some(GUEST_NICE));
        // Dropped here, inside an async context, without panicking.
    }

    #[tokio::test]
    async fn a_call_that_panics_is_handed_back_as_an_error() {
        let executor = Executor::new(1, 1).unwrap();
        let failed = executor
            .run(CpuClass::Normal, async { panic!("host bug") })
            .await;
        assert!(failed.unwrap_err().is_panic());
        // The thread survives it.
        assert_eq!(
            executor.run(CpuClass::Normal, async { 7 }).await.unwrap(),
            7
        );
    }
}
