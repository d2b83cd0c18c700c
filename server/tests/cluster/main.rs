//! Replicas sharing the registry through NATS JetStream, as real processes:
//! Debian's `nats-server`, this build's `wip-server` and Debian's nginx
//! (see `server::testing::cluster`). One cluster at a time: each test
//! takes the lock, so two clusters never share the 2 cores.

#[path = "../cluster_harness/mod.rs"]
mod cluster_harness;
#[path = "../error_body/mod.rs"]
mod error_body;
#[path = "../flaky_inputs/mod.rs"]
mod flaky_inputs;
mod nats_nodes;
mod request_ids;
mod rollouts;

use std::time::Duration;

use cluster_harness::*;
use serde_json::json;
use wire::{ActivateRequest, RegistryHealth};

const BINARY: &str = env!("CARGO_BIN_EXE_wip-server");

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_uploaded_through_one_replica_is_invoked_through_another() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start(BINARY.as_ref(), 3).await;
    let (status, meta) = cluster.upload(0, "csv", "process").await;
    assert_eq!(status, 201, "{meta}");
    let digest = meta["digest"].as_str().unwrap().to_owned();
    cluster.wait_all_serve("csv", &digest).await;
    // By digest too, and listed with the same metadata everywhere.
    let by_digest = invoke(&cluster.http, &cluster.url(2), &digest).await;
    assert_eq!(by_digest.as_deref(), Ok(digest.as_str()));
    for i in 0..3 {
        let list = cluster.get_json(i, "/api/plugins").await;
        assert!(list.to_string().contains(&digest), "replica {i}: {list}");
    }
    // Uploading it again through another replica is idempotent.
    let (status, again) = cluster.upload(1, "csv", "process").await;
    assert_eq!(
        (status, &again["digest"]),
        (200, &meta["digest"]),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_activation_through_one_replica_is_served_by_every_replica_and_rolls_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start(BINARY.as_ref(), 3).await;
    let (v1, v2) = cluster.two_versions().await;
    let (v1, v2) = (v1.as_str(), v2.as_str());

    let (status, body) = cluster
        .activate(1, "csv", ActivateRequest::digest(v2))
        .await;
    assert_eq!(status, 200, "{body}");
    cluster.wait_all_serve("csv", v2).await;

    let (status, body) = cluster
        .activate(2, "csv", ActivateRequest::rollback())
        .await;
    assert_eq!((status, body["active"].as_str()), (200, Some(v1)), "{body}");
    cluster.wait_all_serve("csv", v1).await;
    // The rollback used the shared history: nothing is left to roll back to.
    let (status, body) = cluster
        .activate(0, "csv", ActivateRequest::rollback())
        .await;
    assert_eq!(
        (status, error_body::code(&body).as_deref()),
        (409, Some("no_previous_version")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_through_two_replicas_never_interleave() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start(BINARY.as_ref(), 2).await;
    let (v1, v2) = cluster.two_versions().await;
    let (mut conflicts, mut applied) = (0, 0);
    for round in 0..10 {
        // Both replicas switch away from the same active digest at once.
        let target = if round % 2 == 0 { &v2 } else { &v1 };
        let current = if round % 2 == 0 { &v1 } else { &v2 };
        cluster.wait_all_serve("csv", current).await;
        let (a, b) = tokio::join!(
            cluster.activate(0, "csv", ActivateRequest::digest(target)),
            cluster.activate(1, "csv", ActivateRequest::digest(target)),
        );
        for (status, body) in [&a, &b] {
            match status {
                200 => applied += 1,
                409 => {
                    assert_eq!(
                        error_body::code(body).as_deref(),
                        Some("conflict"),
                        "{body}"
                    );
                    conflicts += 1;
                }
                other => panic!("round {round}: {other} {body}"),
            }
        }
        assert!(
            a.0 == 200 || b.0 == 200,
            "round {round}: nobody won: {a:?} {b:?}"
        );
    }
    // A 200 may also be the later of a pair that found the digest active.
    eprintln!(
        "10 rounds of 2 concurrent activations: {applied} answered 200, {conflicts} 409 conflict"
    );
    // Each switch pushed exactly one digest onto the shared history: a lost
    // update would have pushed the same digest twice or skipped one.
    cluster.wait_all_serve("csv", &v1).await;
    for i in 0..2 {
        let status = cluster.get_json(i, "/api/plugins/csv").await;
        let history = status["activation"]["history"].as_array().unwrap();
        assert_eq!(history.len(), 10, "replica {i}: {status}");
        for (k, digest) in history.iter().enumerate() {
            let expected = if k % 2 == 0 { &v1 } else { &v2 };
            assert_eq!(
                digest.as_str(),
                Some(expected.as_str()),
                "replica {i}: {status}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_load_costs_no_call_and_catches_up_when_restarted() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start(BINARY.as_ref(), 3).await;
    let (v1, v2) = cluster.two_versions().await;
    let (v1, v2) = (v1.as_str(), v2.as_str());
    let balancer = cluster.balancer();

    let load = Load::start(&cluster.http, &[balancer.url()], 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.replicas[2].kill();
    let at_kill = load.calls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Activate while replica 2 is down: it must catch up when it is back.
    let (status, body) = cluster
        .activate(0, "csv", ActivateRequest::digest(v2))
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (calls, failed) = load.finish().await;
    eprintln!(
        "kill -9 of 1 of 3 replicas: {calls} calls through nginx ({at_kill} before the kill), {} failed",
        failed.len()
    );
    assert!(calls > at_kill + 10, "the load ran on after the kill");
    assert!(failed.is_empty(), "failed calls: {failed:?}");

    // Nothing stored was lost: the survivors list both modules, and the
    // killed replica, restarted on its own data dir, catches up with v2.
    cluster.replicas[2] = cluster.start_replica(2);
    cluster.wait_healthy(2, RegistryHealth::Ok).await;
    cluster.wait_all_serve("csv", v2).await;
    let listed = cluster
        .http
        .get(format!("{}/api/plugins", cluster.url(2)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(v1) && listed.contains(v2), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_serve_through_a_nats_restart_refuse_writes_meanwhile_and_catch_up() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start(BINARY.as_ref(), 3).await;
    let (v1, v2) = cluster.two_versions().await;
    let (v1, v2) = (v1.as_str(), v2.as_str());

    // On replicas 0 and 1: replica 2 is restarted below.
    let load = Load::start(&cluster.http, &[cluster.url(0), cluster.url(1)], 1);
    cluster.nats.node(0).kill();
    for i in 0..3 {
        cluster.wait_healthy(i, RegistryHealth::Degraded).await;
    }
    // Writes are refused with a typed 503, and change nothing.
    let (status, body) = cluster
        .activate(1, "csv", ActivateRequest::digest(v2))
        .await;
    assert_eq!(
        (status, error_body::code(&body).as_deref()),
        (503, Some("registry_unavailable")),
        "{body}"
    );
    let (status, body) = cluster.upload(1, "csv", "process_flaky").await;
    assert_eq!(
        (status, error_body::code(&body).as_deref()),
        (503, Some("registry_unavailable")),
        "{body}"
    );
    // A replica started while NATS is down serves its local copy.
    cluster.replicas[2].kill();
    cluster.replicas[2] = cluster.start_replica(2);
    cluster.wait_healthy(2, RegistryHealth::Degraded).await;
    assert_eq!(cluster.served_digest(2, "csv").await.as_deref(), Some(v1));

    cluster.nats.node(0).restart().unwrap();
    for i in 0..3 {
        cluster.wait_healthy(i, RegistryHealth::Ok).await;
    }
    let (calls, failed) = load.finish().await;
    eprintln!(
        "nats restart: {calls} calls to the replicas, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failed calls: {failed:?}");
    assert!(calls > 30, "the load ran");
    // After the outage, a write goes through and reaches every replica.
    let (status, body) = cluster
        .activate(1, "csv", ActivateRequest::digest(v2))
        .await;
    assert_eq!(status, 200, "{body}");
    cluster.wait_all_serve("csv", v2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupted_object_is_refused_by_its_digest_check() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start(BINARY.as_ref(), 2).await;
    let (_, v1) = cluster.upload(0, "csv", "process").await;
    let v1 = v1["digest"].as_str().unwrap().to_owned();
    cluster.wait_all_serve("csv", &v1).await;

    // Someone with access to the buckets stores other bytes under v2's
    // digest, with v2's metadata, and points the name at it.
    let v2_bytes = guest_bytes("process_v2");
    let v2 = server::registry::PluginDigest::of(&v2_bytes);
    let client = async_nats::connect(cluster.nats.urls()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let objects = js
        .get_object_store(server::registry::nats::OBJECT_BUCKET)
        .await
        .unwrap();
    let mut wrong: &[u8] = &guest_bytes("process");
    objects.put(v2.as_str(), &mut wrong).await.unwrap();
    let kv = js
        .get_key_value(server::registry::nats::KV_BUCKET)
        .await
        .unwrap();
    let meta = json!({
        "digest": v2.as_str(), "name": "csv", "version": "forged", "size": v2_bytes.len(),
        "exports": ["wip_process"], "uploaded_at": 0
    });
    kv.put(
        server::registry::nats::plugin_key(&v2),
        meta.to_string().into(),
    )
    .await
    .unwrap();
    let entry = kv
        .entry(server::registry::nats::active_key("csv"))
        .await
        .unwrap()
        .unwrap();
    let forged = json!({ "active": v2.as_str(), "history": [v1] });
    kv.update(
        server::registry::nats::active_key("csv"),
        forged.to_string().into(),
        entry.revision,
    )
    .await
    .unwrap();

    // Give the replicas time to see both entries; neither is taken.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..2 {
        let response = cluster
            .http
            .get(format!("{}/api/plugins/{v2}", cluster.url(i)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            404,
            "replica {i} listed the forged module"
        );
        assert_eq!(
            cluster.served_digest(i, "csv").await.as_deref(),
            Some(v1.as_str()),
            "replica {i} switched to a module it cannot verify"
        );
    }
}
