//! A 3-node NATS JetStream cluster under the replicas: one node lost costs
//! nothing; two lost stop writes, not calls; nothing written is lost.

use std::time::Duration;

use serde_json::json;
use wire::{ActivateRequest, RegistryHealth};

use super::cluster_harness::*;
use super::error_body;
use super::{BINARY, ONE_AT_A_TIME};

/// A registry write through replica `i`, sent again once, a second later,
/// when the first answer is a 503 (what a client does with `Retry-After:
/// 1`). The final answer, and whether it needed the retry.
async fn write_with_one_retry<F, Fut>(write: F) -> ((u16, serde_json::Value), bool)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, serde_json::Value)>,
{
    let first = write().await;
    if first.0 != 503 {
        return (first, false);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    (write().await, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_three_nats_nodes_one_killed_under_load_costs_no_call_and_writes_go_on() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start_on(BINARY.as_ref(), 2, 3, &[]).await;
    let (v1, v2) = cluster.two_versions().await;
    let (v1, v2) = (v1.as_str(), v2.as_str());
    let balancer = cluster.balancer();
    let load = Load::start(&cluster.http, &[balancer.url()], 4);
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.nats.node(0).kill();

    // Every kind of write, through both replicas, with at most one retry.
    // Never decided by the load: aborted below.
    let rollout = json!({"candidate": v1, "percent": 10, "min_calls": 1_000_000});
    let mut retried = 0;
    let writes: [(usize, &str); 4] = [
        (0, "activate v2"),
        (1, "upload"),
        (1, "rollout"),
        (1, "abort"),
    ];
    let mut took = Vec::new();
    for (i, what) in writes {
        let started = std::time::Instant::now();
        let ((status, body), again) = match what {
            "activate v2" => {
                write_with_one_retry(|| cluster.activate(i, "csv", ActivateRequest::digest(v2)))
                    .await
            }
            "upload" => write_with_one_retry(|| cluster.upload(i, "csv", "process_flaky")).await,
            "rollout" => write_with_one_retry(|| cluster.start_rollout(i, "csv", &rollout)).await,
            _ => write_with_one_retry(|| cluster.abort_rollout(i, "csv")).await,
        };
        retried += usize::from(again);
        took.push(format!("{what} {} ms", started.elapsed().as_millis()));
        assert!(
            (200..300).contains(&status),
            "{what} through replica {i} with a NATS node down: {status} {body}"
        );
        if what == "activate v2" {
            // The rollout below is judged against v2 by another replica.
            cluster.wait_all_serve("csv", v2).await;
        }
    }
    let (calls, failed) = load.finish().await;
    eprintln!(
        "kill -9 of 1 of 3 NATS nodes: {calls} calls through nginx, {} failed; 4 writes ({}), {retried} needed their one retry",
        failed.len(),
        took.join(", ")
    );
    assert!(failed.is_empty(), "failed calls: {failed:?}");
    assert!(calls > 30, "the load ran");
    cluster.wait_all_serve("csv", v2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_two_of_three_nats_nodes_down_writes_are_refused_calls_go_on_and_nothing_is_lost() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start_on(BINARY.as_ref(), 2, 3, &[]).await;
    let (v1, v2) = cluster.two_versions().await;
    let (v1, v2) = (v1.as_str(), v2.as_str());
    let load = Load::start(&cluster.http, &[cluster.url(0)], 2);

    // One node down: a replica restarted meanwhile catches up on a write
    // made while it was away.
    cluster.nats.node(2).kill();
    cluster.replicas[1].kill();
    let ((status, body), _) =
        write_with_one_retry(|| cluster.activate(0, "csv", ActivateRequest::digest(v2))).await;
    assert_eq!(status, 200, "{body}");
    cluster.replicas[1] = cluster.start_replica(1);
    cluster.wait_healthy(1, RegistryHealth::Ok).await;
    cluster.wait_all_serve("csv", v2).await;

    // Two down: no quorum. Writes are refused with a typed 503; calls go on.
    cluster.nats.node(1).kill();
    let refused = wait_for(Duration::from_secs(30), || async {
        let (status, body) = cluster
            .activate(0, "csv", ActivateRequest::digest(v1))
            .await;
        (status == 503).then_some(body)
    })
    .await
    .expect("a write without quorum is refused");
    assert_eq!(
        error_body::code(&refused).as_deref(),
        Some("registry_unavailable"),
        "{refused}"
    );
    assert_eq!(cluster.served_digest(1, "csv").await.as_deref(), Some(v2));

    // Both back: writes resume, and nothing written before is lost.
    cluster.nats.node(1).restart().unwrap();
    cluster.nats.node(2).restart().unwrap();
    let resumed = wait_for(Duration::from_secs(60), || async {
        let (status, body) = cluster
            .activate(1, "csv", ActivateRequest::digest(v1))
            .await;
        (status == 200).then_some(body)
    })
    .await;
    assert!(resumed.is_some(), "writes never resumed");
    cluster.wait_all_serve("csv", v1).await;
    let (calls, failed) = load.finish().await;
    eprintln!(
        "2 of 3 NATS nodes down: {calls} calls to replica 0, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failed calls: {failed:?}");
    for i in 0..2 {
        let listed = cluster.get_json(i, "/api/plugins").await.to_string();
        assert!(
            listed.contains(v1) && listed.contains(v2),
            "replica {i}: {listed}"
        );
        let status = cluster.get_json(i, "/api/plugins/csv").await;
        let log = status["activation"].to_string();
        assert!(
            log.contains(v2),
            "replica {i} lost the activation of v2: {status}"
        );
    }
}
