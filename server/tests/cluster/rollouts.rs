//! A rollout judged on the whole cluster's calls: three replicas behind
//! nginx share their windows through NATS, so a failing candidate is
//! rolled back on the sum of their calls, once, and every replica agrees.

use std::time::{Duration, Instant};

use super::cluster_harness::*;
use super::{BINARY, ONE_AT_A_TIME};

/// A replica's own count of the candidate calls it ran, from `/metrics`.
async fn candidate_calls(cluster: &Cluster, i: usize, candidate: &str) -> u64 {
    let metrics = cluster
        .http
        .get(format!("{}/metrics", cluster.url(i)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("wip_rollout_calls_total{")
                && line.contains(&format!("digest=\"{candidate}\""))
                && line.contains("role=\"candidate\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flaky_candidate_is_judged_on_the_whole_clusters_calls_and_every_replica_agrees() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start(BINARY.as_ref(), 3).await;
    let (status, stable) = cluster.upload(0, "csv", "process").await;
    assert_eq!(status, 201, "{stable}");
    let (status, flaky) = cluster.upload(0, "csv", "process_flaky").await;
    assert_eq!(status, 201, "{flaky}");
    let (stable, flaky) = (
        stable["digest"].as_str().unwrap().to_owned(),
        flaky["digest"].as_str().unwrap().to_owned(),
    );
    cluster.wait_all_serve("csv", &stable).await;
    // Only inputs the flaky build traps on, whatever the rollout's salt
    // sends to it, and a trap threshold of 50 points: the candidate is
    // rolled back on its 51st call across the cluster, where one replica
    // alone would need 51 of its own.
    cluster.start_failing_rollout("csv", &flaky).await;
    let balancer = cluster.balancer();
    let load = FailingLoad::start(&cluster.http, &balancer.url(), "csv", 3, "cluster");
    let started = Instant::now();
    let decision = wait_for(Duration::from_secs(120), || async {
        let status = cluster.get_json(0, "/api/plugins/csv").await;
        status["decisions"].as_array()?.last().cloned()
    })
    .await;
    let sent = load.finish().await;
    let decision = decision.expect("the rollout was decided");
    let took = started.elapsed();

    assert_eq!(decision["kind"], "rolled_back", "{decision}");
    let judged_on = decision["candidate_stats"]["calls"].as_u64().unwrap();
    let mut own = Vec::new();
    for i in 0..3 {
        own.push(candidate_calls(&cluster, i, &flaky).await);
    }
    eprintln!(
        "rolled back after {} ms and {} calls through nginx: judged on {judged_on} candidate calls; each replica ran {own:?} of the candidate's calls in all",
        took.as_millis(),
        sent
    );
    // Judged on the sum: more candidate calls than any one replica ever ran.
    assert!(
        own.iter().all(|n| judged_on > *n),
        "judged on {judged_on} candidate calls, one replica's alone: {own:?}"
    );
    assert!(
        judged_on <= 100,
        "judged on {judged_on} calls, not about min_calls"
    );
    // One decision, the same on every replica.
    for i in 0..3 {
        let agreed = wait_for(Duration::from_secs(30), || async {
            let status = cluster.get_json(i, "/api/plugins/csv").await;
            let decisions = status["decisions"].as_array()?.clone();
            (status["rollout"].is_null() && decisions.len() == 1).then_some(decisions)
        })
        .await;
        let decisions = agreed.unwrap_or_else(|| panic!("replica {i} never agreed"));
        assert_eq!(decisions[0], decision, "replica {i}");
    }
}
