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
use crate::sandbox::{CallOptions, GuestKey, Sandbox};
use crate::tenants::TenantGate;

/// A CSV of `rows` rows.
fn csv(rows: usize) -> Bytes {
    let mut s = String::from("id,name,qty\n");
    for i in 0..rows {
        s.push_str(&format!("{i},item{i},{}\n", i % 17));
    }
    Bytes::from(s)
}

/// Runs the load until the run's end, then marks it done.
pub(super) async fn drive(sandbox: Arc<Sandbox>, run: Arc<Run>) {
    let options = sandbox.default_options();
    let mut clients = JoinSet::new();
    for tenant in GOOD_TENANTS {
        let (sandbox, run) = (Arc::clone(&sandbox), Arc::clone(&run));
        clients.spawn(well_behaved(sandbox, run, tenant, options));
    }
    let gates = Arc::new(HeavyGates {
        off: TenantGate::new(run.plan.heavy_clients as usize, 0, Duration::ZERO),
        on: TenantGate::new(1, 0, Duration::ZERO),
    });
    for _ in 0..run.plan.heavy_clients {
        let (sandbox, run, gates) = (Arc::clone(&sandbox), Arc::clone(&run), Arc::clone(&gates));
        clients.spawn(heavy(sandbox, run, gates, options));
    }
    while clients.join_next().await.is_some() {}
    run.done.store(true, Ordering::SeqCst);
    tracing::info!(seconds = run.plan.seconds, "noisy-neighbour run over");
}

/// One well-behaved tenant: [`GOOD_RATE`] calls a second on a fixed
/// schedule, whatever the answers take.
async fn well_behaved(
    sandbox: Arc<Sandbox>,
    run: Arc<Run>,
    tenant: &'static str,
    options: CallOptions,
) {
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
        let (sandbox, run, gate, input) = (
            Arc::clone(&sandbox),
            Arc::clone(&run),
            Arc::clone(&gate),
            input.clone(),
        );
        calls.spawn(async move {
            let ok = match gate.admit(tenant).await {
                Ok(permit) => {
                    let key = GuestKey::Builtin(GUEST.to_owned());
                    let call = sandbox.invoke(&key, tenant, input, options).await;
                    drop(permit);
                    call.result.is_ok()
                }
                Err(_) => false,
            };
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
async fn heavy(sandbox: Arc<Sandbox>, run: Arc<Run>, gates: Arc<HeavyGates>, options: CallOptions) {
    let first = run
        .plan
        .phases
        .iter()
        .find(|p| p.heavy)
        .map_or(0, |p| p.first_window);
    tokio::time::sleep_until((run.started + WINDOW * first).into()).await;
    let input = csv(HEAVY_ROWS);
    let key = GuestKey::Builtin(GUEST.to_owned());
    loop {
        let now = Instant::now();
        let Some(phase) = run.phase_of(now) else {
            break;
        };
        let gate = if phase.gated { &gates.on } else { &gates.off };
        match gate.admit(HEAVY_TENANT).await {
            Ok(permit) => {
                let call = sandbox
                    .invoke(&key, HEAVY_TENANT, input.clone(), options)
                    .await;
                drop(permit);
                let failed = call.result.is_err();
                run.record(run.window_of(Instant::now()), |w| {
                    w.heavy_calls += 1;
                    w.heavy_failed += u64::from(failed);
                });
            }
            Err(_) => {
                run.record(run.window_of(now), |w| w.heavy_refused += 1);
                tokio::time::sleep(HEAVY_BACKOFF).await;
            }
        }
    }
}
