//! The fairness bench's load: well-behaved tenants on a fixed schedule,
//! heavy tenants in closed loops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub fn csv(rows: usize) -> Vec<u8> {
    let mut s = String::from("id,name,qty\n");
    for i in 0..rows {
        s.push_str(&format!("{i},item{i},{}\n", i % 17));
    }
    s.into_bytes()
}

/// One call of `tenant` with `body`, its answer read whole; whether it succeeded.
async fn call(client: &reqwest::Client, url: &str, tenant: &str, body: Vec<u8>) -> bool {
    let answer = client
        .post(url)
        .bearer_auth(format!("{tenant}-key-0123456789"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let _ = answer.bytes().await;
    status.is_success()
}

/// What a phase's load loops share: when to stop, the refusals they
/// count, and when measuring starts (after the warm-up).
#[derive(Clone)]
pub struct Control {
    pub stop: Arc<AtomicBool>,
    pub rejected: Arc<AtomicU64>,
    pub measured_from: Instant,
}

impl Control {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Counts the answer to a call sent at `sent`: its latency into `hist`
    /// if it succeeded, a refusal if not; nothing during the warm-up.
    fn count(&self, hist: &mut Histogram<u64>, sent: Instant, ok: bool, took: Duration) {
        if sent < self.measured_from {
        } else if ok {
            hist.record(took.as_micros() as u64).unwrap();
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs `clients` loops of `tenant` until `stop`; records latencies of 200s.
pub fn load(
    client: &reqwest::Client,
    url: &str,
    tenant: &'static str,
    clients: usize,
    body: Vec<u8>,
    phase: &Control,
) -> Vec<tokio::task::JoinHandle<Histogram<u64>>> {
    let url = format!("{url}/api/invoke/csv");
    (0..clients)
        .map(|_| {
            let (client, url, body, phase) =
                (client.clone(), url.clone(), body.clone(), phase.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).unwrap();
                while !phase.stopped() {
                    let sent = Instant::now();
                    let ok = call(&client, &url, tenant, body.clone()).await;
                    phase.count(&mut hist, sent, ok, sent.elapsed());
                    if !ok {
                        // A refused client backs off briefly instead of spinning.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                hist
            })
        })
        .collect()
}

/// Sends `rate` calls per second of `tenant` on a fixed schedule until
/// `stop`, whatever the answers take (open loop: a well-behaved tenant's
/// demand does not shrink because the server is slow). Latency counts
/// from each call's scheduled time, so a stalled sender cannot hide a
/// stall (no coordinated omission).
pub fn paced(
    client: &reqwest::Client,
    url: &str,
    tenant: &'static str,
    rate: u32,
    body: Vec<u8>,
    phase: &Control,
) -> tokio::task::JoinHandle<Histogram<u64>> {
    let (client, url, phase) = (
        client.clone(),
        format!("{url}/api/invoke/csv"),
        phase.clone(),
    );
    tokio::spawn(async move {
        let hist = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new(3).unwrap()));
        let mut schedule = tokio::time::interval(Duration::from_secs(1) / rate);
        schedule.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut calls = Vec::new();
        while !phase.stopped() {
            let due = schedule.tick().await.into_std();
            let (client, url, body, hist, phase) = (
                client.clone(),
                url.clone(),
                body.clone(),
                Arc::clone(&hist),
                phase.clone(),
            );
            calls.push(tokio::spawn(async move {
                let ok = call(&client, &url, tenant, body).await;
                phase.count(&mut hist.lock().unwrap(), due, ok, due.elapsed());
            }));
        }
        for call in calls {
            call.await.unwrap();
        }
        Arc::try_unwrap(hist).unwrap().into_inner().unwrap()
    })
}
