//! What a 3-node NATS cluster and cluster-wide rollout judgement buy:
//! writes during a NATS node's loss, and the time a rollout takes to be
//! decided when the same traffic goes to one replica or to three.

use std::time::{Duration, Instant};

use server::testing::cluster::Balancer;
use wire::{ActivateRequest, RegistryHealth};

use super::cluster_harness::*;

/// Activations alternating between `v1` and `v2` (one every 500 ms, through
/// each replica in turn) for 15 s after one of three NATS nodes is killed,
/// under load through nginx; then the node is started again.
pub async fn during_a_nats_node_kill(cluster: &mut Cluster, v1: &str, v2: &str) {
    let balancer = cluster.balancer();
    let load = Load::start(&cluster.http, &[balancer.url()], 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.nats.node(0).kill();
    let (mut ok, mut refused, mut other, mut slowest) = (0, 0, 0, Duration::ZERO);
    let until = Instant::now() + Duration::from_secs(15);
    let mut k = 0;
    while Instant::now() < until {
        let target = if k % 2 == 0 { v1 } else { v2 };
        let started = Instant::now();
        let (status, _) = cluster
            .activate(k % 3, "csv", ActivateRequest::digest(target))
            .await;
        slowest = slowest.max(started.elapsed());
        match status {
            200 => ok += 1,
            503 => refused += 1,
            _ => other += 1,
        }
        k += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (calls, failed) = load.finish().await;
    println!(
        "kill -9 of 1 of 3 NATS nodes under load through nginx: {} of {calls} calls failed; {k} writes in the 15 s after: {ok} ok, {refused} refused (503), {other} other (409 when a replica had not seen the previous one), slowest {} ms",
        failed.len(),
        slowest.as_millis()
    );
    cluster
        .nats
        .node(0)
        .restart()
        .expect("nats-server restarts");
    for i in 0..cluster.replicas.len() {
        cluster.wait_healthy(i, RegistryHealth::Ok).await;
    }
}

/// Interleaved rounds: a rollout of a candidate that fails every call
/// (inputs `process_flaky` traps on; trap threshold 50 points, so it is
/// rolled back after 51 candidate calls) decided with 4 clients' traffic
/// sent to 1 replica, then spread over 3 by nginx.
pub async fn time_to_a_decision(cluster: &Cluster, stable: &str, rounds: usize) {
    let (status, flaky) = cluster.upload(0, "csv", "process_flaky").await;
    assert!(status == 200 || status == 201, "{flaky}");
    let flaky = flaky["digest"].as_str().unwrap().to_owned();
    let (status, body) = cluster
        .activate(0, "csv", ActivateRequest::digest(stable))
        .await;
    assert_eq!(status, 200, "{body}");
    cluster.wait_all_serve("csv", stable).await;
    let dir = cluster.dir.path();
    let one = Balancer::start(&dir.join("nginx-decide-1"), &[cluster.replicas[0].addr()]).unwrap();
    let upstreams: Vec<_> = cluster.replicas.iter().map(|r| r.addr()).collect();
    let three = Balancer::start(&dir.join("nginx-decide-3"), &upstreams).unwrap();
    let mut rows = Vec::new();
    for round in 0..rounds {
        for (replicas, balancer) in [(1, &one), (3, &three)] {
            let (took, judged_on) = decide(cluster, stable, &flaky, &balancer.url(), round).await;
            println!(
                "round {}: {replicas} replica(s): decided in {} ms on {judged_on} candidate calls",
                round + 1,
                took.as_millis()
            );
            rows.push((replicas, took, judged_on));
        }
    }
    println!(
        "\n| traffic to | time to decision (median of {rounds}) | candidate calls judged on |"
    );
    println!("|---|---|---|");
    for replicas in [1, 3] {
        let mut took: Vec<_> = rows
            .iter()
            .filter(|r| r.0 == replicas)
            .map(|r| r.1)
            .collect();
        let mut calls: Vec<_> = rows
            .iter()
            .filter(|r| r.0 == replicas)
            .map(|r| r.2)
            .collect();
        took.sort();
        calls.sort();
        println!(
            "| {replicas} replica(s) | {} ms | {} |",
            took[took.len() / 2].as_millis(),
            calls[calls.len() / 2]
        );
    }
}

/// One rollout of `flaky` over `stable`, driven through `base` with
/// distinct inputs until replica 0 reports its decision: how long it took
/// and on how many candidate calls it was judged.
async fn decide(
    cluster: &Cluster,
    stable: &str,
    flaky: &str,
    base: &str,
    round: usize,
) -> (Duration, u64) {
    cluster.start_failing_rollout("csv", flaky).await;
    let before = decisions(cluster).await;
    let load = FailingLoad::start(&cluster.http, base, "csv", 4, &round.to_string());
    let started = Instant::now();
    let decision = wait_for(Duration::from_secs(120), || async {
        let status = cluster.get_json(0, "/api/plugins/csv").await;
        let decisions = status["decisions"].as_array()?;
        (decisions.len() > before)
            .then(|| decisions.last().cloned())
            .flatten()
    })
    .await
    .expect("the rollout was decided");
    let took = started.elapsed();
    load.finish().await;
    cluster.wait_all_serve("csv", stable).await;
    (
        took,
        decision["candidate_stats"]["calls"].as_u64().unwrap_or(0),
    )
}

async fn decisions(cluster: &Cluster) -> usize {
    let status = cluster.get_json(0, "/api/plugins/csv").await;
    status["decisions"].as_array().map_or(0, Vec::len)
}
