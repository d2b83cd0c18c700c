//! The compile-once attack of the pipeline issue, shared by
//! `cargo xtask bench lessons` and the test on real sockets
//! (`server/tests/lessons_live.rs`): a tenant calling its plugin, and
//! anonymous clients asking for naive compiles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The tenant's API key (its tenants-file entry is [`tenants_toml`]).
pub const ACME: &str = "acme-key-0123456789";

/// A tenants file with `acme`.
pub fn tenants_toml() -> String {
    format!("[[tenant]]\nid = \"acme\"\napi_key = \"{ACME}\"\nmax_concurrency = 4\n")
}

/// What the tenant saw: sorted latencies (ms), and its 504s.
#[derive(Debug, Default)]
pub struct TenantCalls {
    pub latencies_ms: Vec<f64>,
    pub deadline: usize,
}

impl TenantCalls {
    /// The `q` quantile (ms).
    pub fn quantile(&self, q: f64) -> f64 {
        let sorted = &self.latencies_ms;
        sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
    }
}

/// `acme` calls its plugin `csv` back to back (5 ms apart) for `seconds`.
pub async fn tenant(client: &reqwest::Client, url: &str, seconds: u64) -> TenantCalls {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut calls = TenantCalls::default();
    while Instant::now() < end {
        let started = Instant::now();
        let answer = client
            .post(format!("{url}/api/invoke/csv"))
            .bearer_auth(ACME)
            .body("name,qty\nbolt,4\nnut,10\n")
            .send()
            .await
            .unwrap();
        let status = answer.status();
        answer.bytes().await.unwrap();
        calls
            .latencies_ms
            .push(started.elapsed().as_secs_f64() * 1e3);
        calls.deadline += usize::from(status == 504);
        assert!(
            status == 200 || status == 504,
            "the tenant's call: {status}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    calls.latencies_ms.sort_by(f64::total_cmp);
    calls
}

/// The attackers: two clients asking for the lesson back to back and one
/// that hangs up after 0.4 s, until [`Attack::stop`].
pub struct Attack {
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<Answers>>,
}

/// What one attacker got.
#[derive(Debug, Default)]
pub struct Answers {
    /// Answers by status (0: it hung up).
    pub by_status: BTreeMap<u16, u32>,
    /// The server's `naive.compile_ms` of each 200.
    pub compile_ms: Vec<f64>,
}

impl Attack {
    /// Starts them against `url`.
    pub fn start(url: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = [None, None, Some(Duration::from_millis(400))]
            .into_iter()
            .map(|hang_up| tokio::spawn(attacker(url.to_owned(), hang_up, Arc::clone(&stop))))
            .collect();
        Self { stop, clients }
    }

    /// Stops them (each ends the request it is in); their answers.
    pub async fn stop(self) -> Vec<Answers> {
        self.stop.store(true, Ordering::SeqCst);
        let mut answers = Vec::new();
        for client in self.clients {
            answers.push(client.await.unwrap());
        }
        answers
    }
}

/// How many naive compiles answered 200, over all attackers.
pub fn compiles(answers: &[Answers]) -> u32 {
    answers
        .iter()
        .map(|a| a.by_status.get(&200).copied().unwrap_or(0))
        .sum()
}

/// The compile times the 200s reported, over all attackers (ms).
pub fn compile_ms(answers: &[Answers]) -> Vec<f64> {
    answers
        .iter()
        .flat_map(|a| a.compile_ms.iter().copied())
        .collect()
}

async fn attacker(url: String, hang_up: Option<Duration>, stop: Arc<AtomicBool>) -> Answers {
    let mut client = reqwest::Client::builder();
    if let Some(after) = hang_up {
        client = client.timeout(after);
    }
    let client = client.build().unwrap();
    let mut answers = Answers::default();
    while !stop.load(Ordering::SeqCst) {
        let answer = client
            .post(format!("{url}/api/lessons/compile-once?calls=1"))
            .send()
            .await;
        let status = answer.as_ref().map_or(0, |a| a.status().as_u16());
        if let (Ok(answer), 200) = (answer, status)
            && let Ok(lesson) = answer.json::<serde_json::Value>().await
            && let Some(ms) = lesson["naive"]["compile_ms"].as_f64()
        {
            answers.compile_ms.push(ms);
        }
        *answers.by_status.entry(status).or_default() += 1;
        // Ask again at once, but not in a busy loop of 409s: the load
        // under test is the compiles, not an HTTP flood.
        if status != 200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    answers
}
