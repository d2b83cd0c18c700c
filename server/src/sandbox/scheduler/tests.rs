//! The scheduler's rules, without wasm.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

/// Which of `tenants` gets the next free slice when all wait at once.
async fn order_of_grants(scheduler: &Arc<FairScheduler>, tenants: &[&str]) -> Vec<String> {
    let (done, mut grants) = tokio::sync::mpsc::unbounded_channel();
    let blocker = scheduler.acquire("blocker").await;
    // Running (its call is polled), so it is never lent out however slow
    // this machine is: a holder parked for STALL would be.
    assert!(scheduler.ticked(&blocker, 0, 1));
    let mut tasks = Vec::new();
    for tenant in tenants {
        let (scheduler, done, tenant) = (Arc::clone(scheduler), done.clone(), tenant.to_string());
        tasks.push(tokio::spawn(async move {
            let slice = scheduler.acquire(&tenant).await;
            done.send(tenant).unwrap();
            drop(slice);
        }));
        tokio::task::yield_now().await; // enqueue in this order
    }
    drop(blocker);
    for t in tasks {
        t.await.unwrap();
    }
    drop(done);
    let mut order = Vec::new();
    while let Some(t) = grants.recv().await {
        order.push(t);
    }
    order
}

#[tokio::test]
async fn the_tenant_that_used_less_cpu_goes_first() {
    let scheduler = FairScheduler::new(1);
    scheduler.charge("heavy", 30, 1);
    scheduler.charge("light", 1, 1);
    let order = order_of_grants(&scheduler, &["heavy", "light"]).await;
    assert_eq!(order, ["light", "heavy"]);
}

#[tokio::test]
async fn a_holder_keeps_its_slice_unless_a_waiter_comes_first() {
    let scheduler = FairScheduler::new(1);
    let held = scheduler.acquire("light").await;
    // Running (its call is polled), so it is never lent out however slow
    // this machine is: a holder parked for STALL would be.
    assert!(scheduler.ticked(&held, 0, 1));
    scheduler.charge("heavy", 30, 1);
    let waiting = tokio::spawn({
        let scheduler = Arc::clone(&scheduler);
        async move { drop(scheduler.acquire("heavy").await) }
    });
    while !scheduler.contended() {
        tokio::task::yield_now().await;
    }
    scheduler.charge("light", 1, 1);
    assert!(
        !scheduler.preempts("light"),
        "light used less: it keeps the slice"
    );
    scheduler.charge("light", 100, 1);
    assert!(scheduler.preempts("light"), "now heavy comes first");
    waiting.abort();
}

#[tokio::test]
async fn a_weight_divides_what_a_tick_costs() {
    let scheduler = FairScheduler::new(1);
    scheduler.charge("gold", 30, 4); // 7.5 virtual ticks
    scheduler.charge("plain", 10, 1); // 10
    let order = order_of_grants(&scheduler, &["plain", "gold"]).await;
    assert_eq!(order, ["gold", "plain"]);
}

#[tokio::test]
async fn a_tenant_with_nothing_queued_lends_its_share() {
    let scheduler = FairScheduler::new(1);
    // Only one tenant waits: it gets every slice, however much it used.
    scheduler.charge("heavy", 1_000, 1);
    let order = order_of_grants(&scheduler, &["heavy", "heavy", "heavy"]).await;
    assert_eq!(order.len(), 3);
    assert!(!scheduler.contended());
}

#[tokio::test]
async fn an_idle_tenant_earns_only_a_bounded_credit_while_away() {
    let scheduler = FairScheduler::new(1);
    scheduler.charge("busy", 100, 1);
    // The clock moves to busy's time as its slices are granted.
    drop(scheduler.acquire("busy").await);
    // A newcomer starts RETURN_CREDIT ticks behind the clock, not at zero:
    // it goes first for that long instead of owning the next 100 slices.
    scheduler.charge("newcomer", RETURN_CREDIT as u64 - 1, 1);
    let order = order_of_grants(&scheduler, &["busy", "newcomer"]).await;
    assert_eq!(order, ["newcomer", "busy"], "within its credit");
    scheduler.charge("newcomer", 2, 1);
    let order = order_of_grants(&scheduler, &["newcomer", "busy"]).await;
    assert_eq!(order, ["busy", "newcomer"], "its credit used up");
}

#[tokio::test]
async fn waiters_of_the_holders_tenant_get_no_slice_beyond_the_capacity_while_it_ticks() {
    let scheduler = FairScheduler::new(1);
    let held = scheduler.acquire("heavy").await;
    // Its first tick: it runs (a call marks it so when its task is polled).
    assert!(scheduler.ticked(&held, 0, 1));
    // Its own next call never comes first, so the holder keeps its slice,
    // however long it runs.
    let mut waiting = Box::pin(scheduler.acquire("heavy"));
    for _ in 0..10 {
        tokio::select! {
            _ = &mut waiting => panic!("a slice beyond the capacity while the holder ran"),
            () = tokio::time::sleep(STALL / 2) => {}
        }
        assert!(scheduler.ticked(&held, 1, 1), "no waiter comes first");
    }
    drop(held);
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the slice, once handed on");
}

#[tokio::test]
async fn a_request_that_comes_first_runs_at_once_and_one_holder_hands_its_slice_back() {
    let scheduler = FairScheduler::new(2);
    scheduler.charge("heavy", 100, 1);
    let (a, b) = (
        scheduler.acquire("heavy").await,
        scheduler.acquire("heavy").await,
    );
    scheduler.charge("heavy", 100, 1);
    // Both run (their calls are polled), however slow this machine is.
    assert!(scheduler.ticked(&a, 0, 1) && scheduler.ticked(&b, 0, 1));
    // Light comes before heavy: each of its requests takes a slice beyond
    // the capacity at once, one per holder it overtakes, instead of
    // waiting for a holder's tick.
    let at_once = || tokio::time::timeout(Duration::from_secs(5), scheduler.acquire("light"));
    let first = at_once().await.expect("granted at once");
    let second = at_once().await.expect("granted at once");
    // A third is owed no holder's slice: it waits.
    let mut third = Box::pin(scheduler.acquire("light"));
    tokio::select! {
        _ = &mut third => panic!("more slices beyond the capacity than holders to give them back"),
        () = tokio::task::yield_now() => {}
    }
    // Both heavy holders reach the forced tick and hand their slices back,
    // which brings the count back to the capacity.
    assert!(!scheduler.ticked(&a, 0, 1), "light comes before heavy");
    assert!(!scheduler.ticked(&b, 0, 1), "still beyond the capacity");
    assert_eq!(scheduler.slices_held(), 2);
    drop((first, second));
    tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the third request, once a slice is free");
}

#[tokio::test]
async fn a_waiter_takes_a_slice_when_every_holder_is_blocked() {
    let scheduler = FairScheduler::new(1);
    // A holder that never ticks again (a guest asleep in the host).
    let _asleep = scheduler.acquire("sleeper").await;
    let got = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        scheduler.acquire("other"),
    )
    .await;
    assert!(
        got.is_ok(),
        "a stalled scheduler lends a slice beyond its capacity"
    );
}

#[tokio::test]
async fn a_waiter_dropped_at_its_deadline_does_not_leak_a_slice() {
    let scheduler = FairScheduler::new(1);
    let held = scheduler.acquire("a").await;
    let mut waiting = Box::pin(scheduler.acquire("b"));
    tokio::select! {
        _ = &mut waiting => panic!("the only slice is held"),
        () = tokio::task::yield_now() => {}
    }
    drop(waiting); // the call's deadline dropped it while queued
    drop(held); // the hand-off to the vanished waiter fails over
    let again = scheduler.acquire("c").await;
    drop(again);
    assert!(scheduler.slices_held() == 0, "no slice leaked");
}

#[tokio::test]
async fn a_waiter_that_comes_before_a_holder_preempts_at_once_and_a_heavier_one_does_not() {
    let forced = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&forced);
    let scheduler = FairScheduler::with_preempt(
        1,
        Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }),
    );
    let held = scheduler.acquire("heavy").await;
    // Running (its call is polled), so it is never lent out however slow
    // this machine is: a holder parked for STALL would be.
    assert!(scheduler.ticked(&held, 0, 1));
    scheduler.charge("heavy", 30, 1); // it ran 30 ticks since its grant
    let light = tokio::time::timeout(Duration::from_secs(5), scheduler.acquire("light"))
        .await
        .expect("light comes first: granted at once");
    assert_eq!(
        forced.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "light preempts heavy"
    );
    assert!(
        !scheduler.ticked(&held, 0, 1),
        "heavy hands its slice back at the forced tick"
    );
    drop((held, light));

    let held = scheduler.acquire("light").await;
    assert!(scheduler.ticked(&held, 0, 1));
    let heavy = tokio::spawn({
        let scheduler = Arc::clone(&scheduler);
        async move { drop(scheduler.acquire("heavy").await) }
    });
    while !scheduler.contended() {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        forced.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "heavy waits for light's next tick"
    );
    drop(held);
    heavy.await.unwrap();
}

#[tokio::test]
async fn a_call_that_ends_between_its_grant_and_its_wake_up_hands_the_slice_on() {
    let scheduler = FairScheduler::new(1);
    let held = scheduler.acquire("a").await;
    let spawn = |tenant: &'static str| {
        let scheduler = Arc::clone(&scheduler);
        tokio::spawn(async move { drop(scheduler.acquire(tenant).await) })
    };
    let b = spawn("b");
    tokio::task::yield_now().await;
    let c = spawn("c");
    tokio::task::yield_now().await;
    drop(held); // grants b, which has not run since
    b.abort(); // b's call ends (its deadline) before it wakes
    let _ = b.await;
    tokio::time::timeout(Duration::from_secs(5), c)
        .await
        .expect("c got the slice b was granted")
        .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(5), scheduler.acquire("d")).await;
    assert!(again.is_ok(), "no slice leaked");
}

#[tokio::test]
async fn a_tenant_with_many_calls_queued_cannot_jump_ahead_on_the_tags_they_queued_with() {
    let scheduler = FairScheduler::new(1);
    let held = scheduler.acquire("heavy").await;
    let (done, mut grants) = tokio::sync::mpsc::unbounded_channel();
    let spawn = |tenant: &'static str| {
        let (scheduler, done) = (Arc::clone(&scheduler), done.clone());
        tokio::spawn(async move {
            let slice = scheduler.acquire(tenant).await;
            done.send(tenant).unwrap();
            drop(slice);
        })
    };
    let mut calls: Vec<_> = (0..3).map(|_| spawn("heavy")).collect();
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    // The heavy tenant's running call uses 100 ticks before light arrives.
    scheduler.charge("heavy", 100, 1);
    calls.push(spawn("light"));
    tokio::task::yield_now().await;
    drop(held);
    for call in calls {
        call.await.unwrap();
    }
    drop(done);
    assert_eq!(grants.recv().await, Some("light"));
}

#[test]
fn a_call_pending_and_not_woken_counts_as_blocked_and_one_that_yielded_does_not() {
    let activity = Activity::default();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let later = Instant::now() + STALL * 2;
    let mut asleep = std::pin::pin!(std::future::pending::<()>());
    assert!(activity.poll(asleep.as_mut(), &mut cx).is_pending());
    assert!(activity.blocked(later), "parked, nobody woke it");
    let mut yielded = std::pin::pin!(yield_once());
    assert!(activity.poll(yielded.as_mut(), &mut cx).is_pending());
    assert!(!activity.blocked(later), "woken while polled: runnable");
}
