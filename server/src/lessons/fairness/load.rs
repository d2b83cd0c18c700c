//! The load of a noisy-neighbour run: the well-behaved tenants on a fixed
//! schedule, the heavy tenant's clients, each phase's gate.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use super::{
    GOOD_GATE, GOOD_RATE, GOOD_ROWS, GOOD_TENANTS, GUEST, HEAVY_BACKOFF, HEAVY_ROWS, HEAVY_TENANT,
    Run, WINDOW,
};
use crate::pipeline::{Admission, Call, Pipeline, Route};
use crate::sandbox::{GuestKey, GuestRef, Work};
use crate::tenants::{TenantGate, TenantId};

/// A CSV of `rows` rows.
fn csv(rows: usize) -> Bytes {
    let mut s = String::from("id,name,qty\n");
    for i in 0..rows {
        s.push_str(&format!("{i},item{i},{}\n", i % 17));
    }
    Bytes::from(s)
}

/// One call of the lesson's load: through the pipeline under the lesson's
/// synthetic `tenant`, admitted by the lesson's own `gate` (route
/// `lesson-fairness`). Whether it answered.
async fn call(
    pipeline: &Pipeline,
    run: &Run,
    tenant: &TenantId,
    gate: &TenantGate,
    input: Bytes,
) -> Result<(), Refused> {
    let key = GuestKey::Builtin(GUEST.to_owned());
    let called = pipeline
        .call(Call {
            route: Route::LessonFairness,
            request_id: &run.request_id,
            tenant,
            requested: GUEST,
            guest: GuestRef::Installed(&key),
            digest: &run.digest,
            work: Work::Process(input),
            admission: Admission::Gate(gate),
            options: None,
        })
        .await;
    match called.outcome {
        crate::outcome::Outcome::Rejected => Err(Refused::AtTheGate),
        _ if called.result.is_err() => Err(Refused::Failed),
        _ => Ok(()),
    }
}

/// Why a call of the load did not answer.
enum Refused {
    /// Its gate was full.
    AtTheGate,
    /// It ran and failed (deadline, busy pool, ...).
    Failed,
}

/// Runs the load until the run's end, then marks it done.
pub(super) async fn drive(pipeline: Pipeline, run: Arc<Run>) {
    let mut clients = JoinSet::new();
    for tenant in GOOD_TENANTS {
        let (pipeline, run) = (pipeline.clone(), Arc::clone(&run));
        clients.spawn(well_behaved(pipeline, run, tenant));
    }
    let gates = Arc::new(HeavyGates {
        off: TenantGate::new(run.plan.heavy_clients as usize, 0, Duration::ZERO),
        on: TenantGate::new(1, 0, Duration::ZERO),
    });
    for _ in 0..run.plan.heavy_clients {
        let (pipeline, run, gates) = (pipeline.clone(), Arc::clone(&run), Arc::clone(&gates));
        clients.spawn(heavy(pipeline, run, gates));
    }
    while clients.join_next().await.is_some() {}
    run.done.store(true, Ordering::SeqCst);
    tracing::info!(seconds = run.plan.seconds, "noisy-neighbour run over");
}

/// One well-behaved tenant: [`GOOD_RATE`] calls a second on a fixed
/// schedule, whatever the answers take.
async fn well_behaved(pipeline: Pipeline, run: Arc<Run>, tenant: &'static str) {
    let tenant = TenantId::parse(tenant).expect("a valid id");
    let gate = Arc::new(TenantGate::new(GOOD_GATE.0, GOOD_GATE.1, GOOD_GATE.2));
    let input = csv(GOOD_ROWS);
    let mut schedule =
        tokio::time::interval_at(run.started.into(), Duration::from_secs(1) / GOOD_RATE);
    schedule.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = JoinSet::new();
    loop {
        let due = schedule.tick().await.into_std();
        let Some(window) = run.window_of(due) else {
            break;
        };
        let (pipeline, run, gate, tenant, input) = (
            pipeline.clone(),
            Arc::clone(&run),
            Arc::clone(&gate),
            tenant.clone(),
            input.clone(),
        );
        calls.spawn(async move {
            let ok = call(&pipeline, &run, &tenant, &gate, input).await.is_ok();
            let took = due.elapsed().as_micros() as u64;
            run.record(Some(window), |w| {
                w.good.saturating_record(took);
                w.good_failed += u64::from(!ok);
            });
        });
    }
    while calls.join_next().await.is_some() {}
}

/// The heavy tenant's gate in each heavy phase.
struct HeavyGates {
    off: TenantGate,
    on: TenantGate,
}

/// One client of the heavy tenant: from the first heavy phase to the end,
/// a large call as soon as the previous one answered.
async fn heavy(pipeline: Pipeline, run: Arc<Run>, gates: Arc<HeavyGates>) {
    let first = run
        .plan
        .phases
        .iter()
        .find(|p| p.heavy)
        .map_or(0, |p| p.first_window);
    tokio::time::sleep_until((run.started + WINDOW * first).into()).await;
    let input = csv(HEAVY_ROWS);
    let tenant = TenantId::parse(HEAVY_TENANT).expect("a valid id");
    loop {
        let now = Instant::now();
        let Some(phase) = run.phase_of(now) else {
            break;
        };
        let gate = if phase.gated { &gates.on } else { &gates.off };
        match call(&pipeline, &run, &tenant, gate, input.clone()).await {
            Err(Refused::AtTheGate) => {
                run.record(run.window_of(now), |w| w.heavy_refused += 1);
                tokio::time::sleep(HEAVY_BACKOFF).await;
            }
            answered => {
                let failed = answered.is_err();
                run.record(run.window_of(Instant::now()), |w| {
                    w.heavy_calls += 1;
                    w.heavy_failed += u64::from(failed);
                });
            }
        }
    }
}
