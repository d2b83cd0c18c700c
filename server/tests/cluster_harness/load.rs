//! Load on the cluster while it is hurt, and waiting for it to recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{KEY, invoke};
use crate::flaky_inputs::traps_in_flaky;

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

/// Callers sending `name` only inputs `process_flaky` traps on (tagged
/// `tag`, so rounds differ) until [`FailingLoad::finish`]: a flaky
/// candidate fails every call it gets, whatever the rollout's salt.
pub struct FailingLoad {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FailingLoad {
    /// `callers` callers through `base`.
    pub fn start(
        http: &reqwest::Client,
        base: &str,
        name: &str,
        callers: usize,
        tag: &str,
    ) -> Self {
        let (stop, sent) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let tasks = (0..callers)
            .map(|caller| {
                let (http, url) = (http.clone(), format!("{base}/api/invoke/{name}"));
                let (stop, sent, tag) = (Arc::clone(&stop), Arc::clone(&sent), tag.to_owned());
                tokio::spawn(async move {
                    let inputs = (0u32..)
                        .map(|i| format!("id,tag,caller\n{i},{tag},{caller}\n"))
                        .filter(|input| traps_in_flaky(input.as_bytes()));
                    for input in inputs {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let _ = http.post(&url).bearer_auth(KEY).body(input).send().await;
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self { stop, sent, tasks }
    }

    /// Stops the callers; how many calls they sent.
    pub async fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.sent.load(Ordering::Relaxed)
    }
}
