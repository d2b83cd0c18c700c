//! Load on the cluster while it is hurt, and waiting for it to recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::invoke;

/// Callers invoking `csv` back to back until [`Load::finish`], counting
/// the calls and keeping what failed.
pub struct Load {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `per_base` callers on each of `bases`.
    pub fn start(http: &reqwest::Client, bases: &[String], per_base: usize) -> Self {
        let (stop, calls) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks = bases
            .iter()
            .flat_map(|base| std::iter::repeat_n(base, per_base))
            .map(|base| {
                let (http, base) = (http.clone(), base.clone());
                let (stop, calls, failed) =
                    (Arc::clone(&stop), Arc::clone(&calls), Arc::clone(&failed));
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        if let Err(e) = invoke(&http, &base, "csv").await {
                            failed.lock().unwrap().push(e);
                        }
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self {
            stop,
            calls,
            failed,
            tasks,
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Stops the callers; the calls made and what failed.
    pub async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let failed = self.failed.lock().unwrap().clone();
        (self.calls.load(Ordering::Relaxed), failed)
    }
}

/// Polls `probe` every 50 ms until it answers or `within` passes.
pub async fn wait_for<T, F, Fut>(within: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = probe().await {
            return Some(t);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
