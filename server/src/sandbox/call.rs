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

use wasmtime::{Engine, Store, UpdateDeadline};

use super::Work;
use super::abi::{self, Failure, Returned};
use super::engine::{EPOCH_TICK, Ticks};
use super::error::{self, CpuBudgetExceeded, Observed};
use super::host::HostState;
use super::scheduler::{Resume, Turn};
use super::{CallOptions, Guest, Output, SandboxError};

/// Runs `entry` in a fresh instance of `guest` with `host` (the caller's
/// tags, the memory cap and the sandbox's bounds) as its store data;
/// returns its typed outcome and what the call used (logs, peak memory,
/// duration) either way.
pub(super) async fn run(
    engine: &Engine,
    ticks: &Ticks,
    guest: Arc<Guest>,
    host: HostState,
    entry: Work,
    options: CallOptions,
    turn: Option<Arc<Turn>>,
) -> (Result<Returned, SandboxError>, Output) {
    let started = Instant::now();
    let mut store = Store::new(engine, host);
    store.limiter(|state| &mut state.limits);
    let deadline_at = started + options.limits.deadline;
    meter_epochs(&mut store, ticks, options.cpu_budget, deadline_at);
    store.data_mut().turn = turn.clone();
    let result = run_until(&mut store, &guest, entry, turn.as_ref(), deadline_at).await;
    outcome(&store, result, &options, started)
    // `store` (and with it the instance and its pool slot) drops here,
    // whatever happened.
}

/// What happens at every epoch tick of `store`'s call: count it, enforce
/// the CPU budget, and yield (handing the slice on when another call waits
/// for one). The deadline is checked at each yield.
fn meter_epochs(
    store: &mut Store<HostState>,
    ticks: &Ticks,
    cpu_budget: Option<std::time::Duration>,
    deadline_at: Instant,
) {
    let budget_ticks = cpu_budget.map(|b| b.as_micros().div_ceil(EPOCH_TICK.as_micros()) as u64);
    store.set_epoch_deadline(1);
    // Marks every entry point async (a tick may yield); the callback below
    // replaces its behaviour.
    store.epoch_deadline_async_yield_and_update(1);
    let (ticks, mut counted) = (ticks.clone(), ticks.now());
    store.epoch_deadline_callback(move |mut ctx| {
        let state = ctx.data_mut();
        // A tick the ticker made since the last callback is a tick of CPU;
        // an epoch the scheduler forced to preempt at once is not.
        let now = ticks.now();
        let ran = u64::from(now != counted);
        counted = now;
        state.cpu_ticks += ran;
        if budget_ticks.is_some_and(|budget| state.cpu_ticks > budget) {
            return Err(wasmtime::Error::new(CpuBudgetExceeded));
        }
        let resume: Option<Resume> = state.turn.as_ref().and_then(|turn| turn.tick(ran));
        Ok(match resume {
            // It handed its slice on: it waits for the next one.
            Some(resume) => UpdateDeadline::YieldCustom(1, resume),
            // Fair slices: at most as many calls run wasm as the executor
            // has threads, so a call that keeps its slice runs on where it
            // is; a yield would only let an idle thread steal the call (a
            // wake-up that costs up to a millisecond on an idle CPU).
            None if state.turn.is_some() && Instant::now() < deadline_at => {
                UpdateDeadline::Continue(1)
            }
            // FIFO: a yield at every tick, so the executor interleaves the
            // calls its threads run; either way, past its deadline, so the
            // timeout sees it.
            None => UpdateDeadline::YieldCustom(1, Box::pin(super::scheduler::yield_once())),
        })
    });
}

/// Runs `entry` in the store until it returns or `deadline_at` passes,
/// taking its turns from the fair scheduler when it has one.
async fn run_until(
    store: &mut Store<HostState>,
    guest: &Guest,
    entry: Work,
    turn: Option<&Arc<Turn>>,
    deadline_at: Instant,
) -> Result<Returned, Failure> {
    let deadline = tokio::time::Instant::from_std(deadline_at);
    let call = async {
        if let Some(turn) = turn {
            turn.begin().await;
        }
        abi::run(store, &guest.pre, entry).await
    };
    // The scheduler tells a holder blocked in the host (a sleep) from one
    // that runs, wasm or host code, or waits for a thread after a tick.
    let mut call = std::pin::pin!(call);
    let call = std::future::poll_fn(|cx| match turn {
        Some(turn) => turn.poll(call.as_mut(), cx),
        None => call.as_mut().poll(cx),
    });
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or(Err(Failure::Deadline))
}

/// The call's typed outcome and what it used, read from its store.
fn outcome(
    store: &Store<HostState>,
    result: Result<Returned, Failure>,
    options: &CallOptions,
    started: Instant,
) -> (Result<Returned, SandboxError>, Output) {
    let limits = options.limits;
    let state = store.data();
    let observed = Observed {
        memory_cap_hit: state.limits.was_hit(),
        cap_pages: limits.memory_pages,
        deadline_ms: limits.deadline.as_millis() as u64,
        cpu_budget_ms: options.cpu_budget.map_or(0, |b| b.as_millis() as u64),
    };
    let output = Output {
        bytes: Vec::new(),
        returned: None,
        logs: state.logs.clone(),
        logs_dropped: state.logs_dropped,
        peak_memory_pages: state.limits.peak_pages(),
        cpu_ticks: state.cpu_ticks,
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
}
