//! One guest call: a fresh `Store` and instance, a memory cap, and a
//! wall-clock deadline that covers start-up, input, processing and output,
//! including time the guest spends blocked in a host call (a sleep).
//!
//! The store yields to the executor at every epoch tick
//! ([`wasmtime::Store::epoch_deadline_async_yield_and_update`]) and WASI's
//! preview-1 calls are the async ones, so the call is a future that is
//! pending both while the guest computes (between ticks) and while it
//! sleeps. `tokio::time::timeout_at` drops that future at the deadline:
//! wasmtime unwinds the guest's stack, the store and its pool slot are
//! dropped at once, and the thread moves on to other calls.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Engine, Store};

use super::abi::{self, Entry, Failure, Returned};
use super::error::{self, Observed};
use super::host::{CallTags, HostState};
use super::{CallLimits, Guest, Output, SandboxError};

/// Runs `entry` in a fresh instance of `guest`; returns its typed outcome
/// and what the call used (logs, peak memory, duration) either way.
pub(super) async fn run(
    engine: &Engine,
    guest: Arc<Guest>,
    tenant: String,
    entry: Entry,
    limits: CallLimits,
) -> (Result<Returned, SandboxError>, Output) {
    let started = Instant::now();
    let tags = CallTags {
        tenant,
        guest: guest.info.name.clone(),
        digest: guest.info.digest.clone(),
    };
    let mut store = Store::new(engine, HostState::new(tags, limits.memory_pages));
    store.limiter(|state| &mut state.limits);
    // Hand the thread back at every tick: the deadline below is checked at
    // each yield, and other calls get their turn on the executor's threads.
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);

    let deadline = tokio::time::Instant::from_std(started + limits.deadline);
    let result = tokio::time::timeout_at(deadline, abi::run(&mut store, &guest.pre, entry))
        .await
        .unwrap_or(Err(Failure::Deadline));

    let state = store.data();
    let observed = Observed {
        memory_cap_hit: state.limits.was_hit(),
        cap_pages: limits.memory_pages,
        deadline_ms: limits.deadline.as_millis() as u64,
    };
    let output = Output {
        bytes: Vec::new(),
        logs: state.logs.clone(),
        logs_dropped: state.logs_dropped,
        peak_memory_pages: state.limits.peak_pages(),
        duration: started.elapsed(),
    };
    let result = result.map_err(|failure| match failure {
        // The cap is the root cause whatever the guest did after a refused
        // grow (Go prints "out of memory" and exits, or keeps retrying).
        _ if observed.memory_cap_hit => SandboxError::MemoryLimit {
            cap_pages: observed.cap_pages,
        },
        Failure::Deadline => SandboxError::Deadline {
            deadline_ms: observed.deadline_ms,
        },
        Failure::Wasm(e) => error::classify(&e, observed, &state.stderr_text()),
        Failure::Abi(reason) => SandboxError::AbiViolation { reason },
        Failure::Guest(code, message) => SandboxError::GuestError { code, message },
    });
    (result, output)
    // `store` (and with it the instance and its pool slot) drops here,
    // whatever happened.
}
