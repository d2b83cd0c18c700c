//! `POST /api/lessons/fairness?seconds=N` and `GET /api/lessons/fairness`
//! (seed task 13): a live noisy-neighbour run on this server's sandbox.
//!
//! Two well-behaved tenants call the real `process` guest with a small CSV
//! at a fixed rate (open loop: latency counts from each call's scheduled
//! time, so a stall cannot hide) through the whole run. In three phases:
//! they run alone; a heavy tenant joins with large inputs from several
//! clients at once, its gate admitting all of them (gates off); then its
//! gate admits one call at a time with no queue (gates on). Each window
//! reports the well-behaved p50/p99 and the heavy tenant's calls.
//!
//! The tenants and their gates are the lesson's own (`lesson-*`, reserved,
//! never the configured tenants' gates); the calls go through the one
//! pipeline (`Admission::Gate`: the phase's gate) under the server's
//! limits (deadline, memory cap, pool slots, the normal guest threads),
//! counted in the metrics under route `lesson-fairness` and logged under
//! the request id that started the run. Starting one takes the admin
//! token; one run at a time (409 `already_running`), and a client that
//! started a run of T seconds waits T more after it ends (429
//! `rate_limited`), so no client keeps the load on more than half the
//! time; a run lasts at most
//! [`FAIRNESS_SECONDS`]' end and ends on its own, polled or not. So the
//! rest of the server keeps working during a run on 2 cores: guest threads
//! run below the HTTP workers' priority (`sandbox/executor.rs`), and the
//! heavy tenant takes at most half of the pool slots.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use hdrhistogram::Histogram;
use serde::Deserialize;
use wire::lessons::{
    FAIRNESS_DEFAULT_SECONDS, FAIRNESS_SECONDS, FairnessPhase, FairnessRun, FairnessWindow,
};

use super::client_waits::ClientWaits;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::{ClientIp, Query};
use crate::request_id::RequestId;
use crate::sandbox::{GuestKey, SandboxError};
use crate::state::AppState;

mod load;

/// The guest every call runs.
const GUEST: &str = "process";
/// Length of a reporting window.
const WINDOW: Duration = Duration::from_millis(500);
/// The well-behaved tenants.
const GOOD_TENANTS: [&str; 2] = ["lesson-good1", "lesson-good2"];
/// Calls per second each well-behaved tenant sends.
const GOOD_RATE: u32 = 50;
/// Rows of a well-behaved call's CSV.
const GOOD_ROWS: usize = 5;
/// A well-behaved tenant's gate: concurrency, queue, wait (the tenants
/// file's defaults).
const GOOD_GATE: (usize, usize, Duration) = (2, 16, Duration::from_secs(1));
/// The heavy tenant.
const HEAVY_TENANT: &str = "lesson-heavy";
/// Its clients, each calling again as soon as it has an answer.
const HEAVY_CLIENTS: u32 = 6;
/// Rows of a heavy call's CSV.
const HEAVY_ROWS: usize = 1500;
/// A refused heavy client waits this long before calling again.
const HEAVY_BACKOFF: Duration = Duration::from_millis(10);

/// Longest latency a window tells apart, µs (longer ones count as this).
const LATENCY_BOUND_US: u64 = 60_000_000;

/// The lesson's runs, one per router (per server): the current or last.
#[derive(Debug)]
struct Runs {
    current: Mutex<Option<Arc<Run>>>,
    /// A client that started a run of T seconds waits T more after it.
    waits: ClientWaits,
}

/// `POST` (admin) and `GET /api/lessons/fairness`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lessons/fairness", post(start).get(current))
        .layer(Extension(Arc::new(Runs {
            current: Mutex::new(None),
            waits: ClientWaits::new("a noisy-neighbour run"),
        })))
}

#[derive(Debug, Deserialize)]
struct Args {
    seconds: Option<u32>,
}

/// Checks `?seconds=` against [`FAIRNESS_SECONDS`].
fn seconds(args: &Args) -> Result<u32, ApiError> {
    super::bounded(
        "seconds",
        args.seconds,
        FAIRNESS_DEFAULT_SECONDS,
        FAIRNESS_SECONDS,
    )
}

/// The three phases of a run of `seconds`: the two heavy phases equally
/// long, the rest (at least one window) alone first.
fn phases(seconds: u32) -> Vec<FairnessPhase> {
    let windows = (Duration::from_secs(seconds.into()).as_millis() / WINDOW.as_millis()) as u32;
    let heavy = (windows - (windows / 5).max(1)) / 2;
    let alone = windows - 2 * heavy;
    let spec = [
        ("well-behaved alone", false, false, alone),
        ("+ heavy tenant, gates off", true, false, heavy),
        ("+ heavy tenant, gates on", true, true, heavy),
    ];
    let mut first_window = 0;
    spec.into_iter()
        .map(|(label, heavy, gated, windows)| {
            let phase = FairnessPhase {
                label: label.to_owned(),
                heavy,
                gated,
                first_window,
                windows,
            };
            first_window += windows;
            phase
        })
        .collect()
}

async fn start(
    _: Admin,
    State(state): State<AppState>,
    Extension(runs): Extension<Arc<Runs>>,
    client: ClientIp,
    request_id: RequestId,
    Query(args): Query<Args>,
) -> Result<(StatusCode, Json<FairnessRun>), ApiError> {
    let seconds = seconds(&args)?;
    let sandbox = state.sandbox();
    let Some(guest) = sandbox.guest_info(&GuestKey::Builtin(GUEST.to_owned())) else {
        return Err(SandboxError::UnknownGuest {
            name: GUEST.to_owned(),
        }
        .into());
    };
    let run = {
        let mut current = runs.current.lock().expect("runs lock");
        if let Some(run) = current.as_ref().filter(|run| !run.is_done()) {
            return Err(ApiError::AlreadyRunning {
                what: "a noisy-neighbour run".into(),
                retry_after_secs: run.remaining().as_secs() + 1,
            });
        }
        runs.waits.check(client)?;
        runs.waits
            .charge(client, Instant::now(), Duration::from_secs(seconds.into()));
        // Half the pool at most, so tenants' own calls still find slots.
        let heavy_clients = HEAVY_CLIENTS.min(sandbox.limits().slots / 2).max(1);
        let mut run = Run::new(seconds, heavy_clients, sandbox.limits().deadline);
        run.request_id = request_id.to_string();
        run.digest = guest.digest;
        let run = Arc::new(run);
        *current = Some(Arc::clone(&run));
        run
    };
    tracing::info!(seconds, "noisy-neighbour run started");
    tokio::spawn(load::drive(state.pipeline().clone(), Arc::clone(&run)));
    Ok((StatusCode::ACCEPTED, Json(run.snapshot())))
}

async fn current(Extension(runs): Extension<Arc<Runs>>) -> Result<Json<FairnessRun>, ApiError> {
    let run = runs.current.lock().expect("runs lock").clone();
    run.map(|run| Json(run.snapshot()))
        .ok_or_else(|| ApiError::NotFound {
            path: "/api/lessons/fairness: no run yet (POST starts one)".into(),
        })
}

/// What one window has seen so far.
#[derive(Debug)]
struct Window {
    /// Well-behaved latencies from the scheduled time, µs.
    good: Histogram<u64>,
    good_failed: u64,
    heavy_calls: u64,
    heavy_failed: u64,
    heavy_refused: u64,
}

/// One run: its plan, its windows, whether it is over.
#[derive(Debug)]
struct Run {
    plan: FairnessRun,
    started: Instant,
    /// How long after a window ends its last calls may still end (the
    /// deadline, plus a well-behaved call's wait at its gate).
    settle: Duration,
    windows: Mutex<Vec<Window>>,
    done: AtomicBool,
    /// The request that started it: every call of its load is logged under it.
    request_id: String,
    /// The digest of [`GUEST`], the calls' metrics label.
    digest: String,
}

impl Run {
    fn new(seconds: u32, heavy_clients: u32, deadline: Duration) -> Self {
        let phases = phases(seconds);
        let count = phases.iter().map(|p| p.windows).sum::<u32>();
        let windows = (0..count)
            .map(|_| Window {
                // Bounded: `saturating_record` clamps to the bound instead
                // of growing an auto-resizing histogram.
                good: Histogram::new_with_bounds(1, LATENCY_BOUND_US, 3).expect("valid bounds"),
                good_failed: 0,
                heavy_calls: 0,
                heavy_failed: 0,
                heavy_refused: 0,
            })
            .collect();
        Self {
            plan: FairnessRun {
                running: true,
                seconds,
                window_ms: WINDOW.as_millis() as u32,
                good_tenants: GOOD_TENANTS.len() as u32,
                good_rate: GOOD_RATE,
                good_rows: GOOD_ROWS as u32,
                heavy_clients,
                heavy_rows: HEAVY_ROWS as u32,
                phases,
                windows: Vec::new(),
            },
            started: Instant::now(),
            settle: deadline + GOOD_GATE.2,
            windows: Mutex::new(windows),
            done: AtomicBool::new(false),
            request_id: String::new(),
            digest: String::new(),
        }
    }

    fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    fn end(&self) -> Instant {
        self.started + WINDOW * self.plan.phases.iter().map(|p| p.windows).sum::<u32>()
    }

    fn remaining(&self) -> Duration {
        self.end().saturating_duration_since(Instant::now()) + self.settle
    }

    /// The window `at` falls in, if the run covers it.
    fn window_of(&self, at: Instant) -> Option<usize> {
        let index =
            (at.saturating_duration_since(self.started).as_micros() / WINDOW.as_micros()) as usize;
        (at < self.end()).then_some(index)
    }

    /// The phase `at` falls in.
    fn phase_of(&self, at: Instant) -> Option<&FairnessPhase> {
        let phase = self.phase_index(self.window_of(at)? as u32)?;
        self.plan.phases.get(phase)
    }

    /// The index of the phase window `window` belongs to.
    fn phase_index(&self, window: u32) -> Option<usize> {
        self.plan
            .phases
            .iter()
            .position(|p| (p.first_window..p.first_window + p.windows).contains(&window))
    }

    fn record(&self, window: Option<usize>, update: impl FnOnce(&mut Window)) {
        let mut windows = self.windows.lock().expect("windows lock");
        if let Some(window) = window.and_then(|i| windows.get_mut(i)) {
            update(window);
        }
    }

    /// The plan with every window that is over and settled (all of them
    /// once the run has ended).
    fn snapshot(&self) -> FairnessRun {
        let done = self.is_done();
        let settled = Instant::now()
            .saturating_duration_since(self.started)
            .saturating_sub(self.settle);
        let windows = self.windows.lock().expect("windows lock");
        let over = if done {
            windows.len()
        } else {
            ((settled.as_micros() / WINDOW.as_micros()) as usize).min(windows.len())
        };
        let windows = windows[..over]
            .iter()
            .enumerate()
            .map(|(i, w)| FairnessWindow {
                index: i as u32,
                phase: self.phase_index(i as u32).unwrap_or_default() as u32,
                good_calls: w.good.len(),
                good_failed: w.good_failed,
                good_p50_ms: w.good.value_at_quantile(0.5) as f64 / 1e3,
                good_p99_ms: w.good.value_at_quantile(0.99) as f64 / 1e3,
                heavy_calls: w.heavy_calls,
                heavy_failed: w.heavy_failed,
                heavy_refused: w.heavy_refused,
            })
            .collect();
        FairnessRun {
            running: !done,
            windows,
            ..self.plan.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_alone_then_gates_off_then_gates_on_in_whole_windows() {
        let p = phases(10);
        let spans: Vec<_> = p.iter().map(|p| (p.first_window, p.windows)).collect();
        assert_eq!(spans, [(0, 4), (4, 8), (12, 8)]);
        assert_eq!(
            p.iter().map(|p| (p.heavy, p.gated)).collect::<Vec<_>>(),
            [(false, false), (true, false), (true, true)]
        );
        let short: Vec<_> = phases(2).iter().map(|p| p.windows).collect();
        assert_eq!(short, [2, 1, 1]);
        let three: Vec<_> = phases(3).iter().map(|p| p.windows).collect();
        assert_eq!(three, [2, 2, 2]);
    }

    #[test]
    fn seconds_default_to_ten_and_stay_within_bounds() {
        assert_eq!(seconds(&Args { seconds: None }).unwrap(), 10);
        for absurd in [0, 1, 21, u32::MAX] {
            let err = seconds(&Args {
                seconds: Some(absurd),
            })
            .unwrap_err();
            assert_eq!(err.code(), "bad_request", "{absurd}");
        }
    }

    #[test]
    fn a_window_shows_once_its_late_calls_have_settled() {
        let run = Run::new(2, 1, Duration::from_millis(50));
        assert!(run.snapshot().windows.is_empty());
        assert_eq!(run.window_of(run.started), Some(0));
        assert_eq!(run.window_of(run.started + WINDOW), Some(1));
        assert_eq!(run.window_of(run.end()), None);
        run.record(Some(0), |w| w.good.saturating_record(2_000));
        run.done.store(true, Ordering::SeqCst);
        let snapshot = run.snapshot();
        assert!(!snapshot.running);
        assert_eq!(snapshot.windows.len(), 4);
        assert_eq!(snapshot.windows[0].good_calls, 1);
        let p99 = snapshot.windows[0].good_p99_ms;
        assert!(
            (1.99..=2.01).contains(&p99),
            "a 2 ms call is a 2 ms p99: {p99}"
        );
        assert_eq!(snapshot.windows[3].phase, 2);
    }
}
