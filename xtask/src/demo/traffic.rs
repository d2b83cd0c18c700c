//! Steady traffic: client threads calling one plugin name as the tenant,
//! each call a distinct CSV input with a distinct `x-request-id`, counted
//! in running totals the demo reads before and after each phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::api::Api;

/// Pause between a client's calls: steady load that leaves the 2-core
/// machine room for the server's own work, so latency compares digests,
/// not a saturated host.
const THINK_TIME: Duration = Duration::from_millis(2);

/// Running totals since the traffic started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls answered or failed.
    pub calls: u64,
    /// Calls that did not answer 200 (or got no answer).
    pub failed: u64,
}

impl Tally {
    /// The calls between `earlier` and `self`.
    pub fn since(self, earlier: Tally) -> Tally {
        Tally {
            calls: self.calls - earlier.calls,
            failed: self.failed - earlier.failed,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    failed: AtomicU64,
}

/// Clients running until dropped.
#[derive(Debug)]
pub struct Traffic {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    clients: Vec<JoinHandle<()>>,
}

impl Traffic {
    /// Starts `clients` threads calling `POST /api/invoke/{plugin}`.
    pub fn start(api: &Api, plugin: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let clients = (0..clients)
            .map(|client| {
                let (api, plugin) = (api.clone(), plugin.to_owned());
                let (stop, counters) = (stop.clone(), counters.clone());
                std::thread::spawn(move || {
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        seq += 1;
                        let status =
                            api.invoke(&plugin, &request_id(client, seq), &input(client, seq));
                        counters.calls.fetch_add(1, Ordering::Relaxed);
                        if status != 200 {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        std::thread::sleep(THINK_TIME);
                    }
                })
            })
            .collect();
        Self {
            stop,
            counters,
            clients,
        }
    }

    /// The totals so far.
    pub fn tally(&self) -> Tally {
        let c = &self.counters;
        Tally {
            calls: c.calls.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients.drain(..) {
            let _ = client.join();
        }
    }
}

/// Unique per call across the whole demo, so the canary's routing hash
/// sees a new id every time (a repeated id would stick to one digest).
fn request_id(client: usize, seq: u64) -> String {
    format!("demo-c{client}-{seq}")
}

/// A small CSV, different for every call: which inputs hit the flaky
/// build's latent bug depends on their bytes only.
fn input(client: usize, seq: u64) -> String {
    let qty = (seq * 31 + client as u64 * 7) % 1000;
    format!("client,seq,item,qty\n{client},{seq},bolt-{seq},{qty}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_of_the_demo_has_its_own_input_and_request_id() {
        let mut ids = std::collections::HashSet::new();
        let mut inputs = std::collections::HashSet::new();
        for client in 0..8 {
            for seq in 1..=500 {
                assert!(ids.insert(request_id(client, seq)));
                assert!(inputs.insert(input(client, seq)));
            }
        }
    }

    #[test]
    fn a_tally_since_an_earlier_one_counts_the_calls_between() {
        let earlier = Tally {
            calls: 10,
            failed: 1,
        };
        let later = Tally {
            calls: 25,
            failed: 4,
        };
        assert_eq!(
            later.since(earlier),
            Tally {
                calls: 15,
                failed: 3
            }
        );
    }
}
