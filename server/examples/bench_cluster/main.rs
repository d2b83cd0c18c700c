//! `cargo xtask bench cluster`: three release replicas sharing the registry
//! through a real `nats-server`, nginx in front. Measures what a cluster
//! must get right, and what it costs on this machine:
//!
//! 1. activation propagation: from the answer to `PUT …/active` (the
//!    compare-and-set has committed) until the last replica reports the new
//!    active digest; p50/p99 over `--activations`;
//! 2. failed calls through nginx while one replica is killed (`kill -9`);
//! 3. with `--nats-nodes 3` (the default): failed calls, and refused and
//!    slow writes, while one NATS node is killed; with 1: failed calls
//!    straight to the replicas while the one nats-server restarts;
//! 4. time to a rollout decision, and the candidate calls it was judged
//!    on, with the same traffic sent to 1 replica or spread over 3;
//! 5. invoke throughput through nginx, 1 replica vs 3, interleaved rounds.

#[path = "../../tests/cluster_harness/mod.rs"]
mod cluster_harness;
mod decisions;
#[path = "../../tests/flaky_inputs/mod.rs"]
mod flaky_inputs;

use std::time::{Duration, Instant};

use clap::Parser;
use cluster_harness::*;
use server::testing::cluster::Balancer;
use wire::{ActivateRequest, RegistryHealth};

#[derive(Debug, Parser)]
struct Args {
    /// Activations timed for the propagation figure.
    #[arg(long, default_value_t = 200)]
    activations: usize,
    /// Interleaved rounds of the throughput comparison.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per throughput phase.
    #[arg(long, default_value_t = 4)]
    seconds: u64,
    /// Concurrent clients of the throughput phases.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// nats-server nodes: 3 is a JetStream cluster, 1 a single server.
    #[arg(long, default_value_t = 3)]
    nats_nodes: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // target/release/examples/bench_cluster → target/release/wip-server
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("an example lives in target/<profile>/examples")
        .join("wip-server");
    let mut cluster = Cluster::start_on(&binary, 3, args.nats_nodes, &[]).await;
    let (v1, v2) = cluster.two_versions().await;
    // Every replica has taken v2 (fetched, checked, compiled): what is timed
    // is the activation's propagation, not a compile.
    for i in 0..3 {
        let url = format!("{}/api/plugins/{v2}", cluster.url(i));
        let listed = wait_for(Duration::from_secs(60), || async {
            let response = cluster.http.get(&url).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        assert!(listed.is_some(), "replica {i} never took v2");
    }

    let (p50, p99, max) = propagation(&cluster, &v1, &v2, args.activations).await;
    println!(
        "activation propagation over {} activations, {} NATS node(s): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.activations, args.nats_nodes, p50, p99, max
    );

    failed_calls_during_a_replica_kill(&mut cluster).await;
    if args.nats_nodes > 1 {
        decisions::during_a_nats_node_kill(&mut cluster, &v1, &v2).await;
    } else {
        failed_calls_during_a_nats_restart(&mut cluster).await;
    }
    decisions::time_to_a_decision(&cluster, &v1, args.rounds).await;
    one_replica_against_three(&cluster, &args).await
}

/// Failed calls through nginx while one of three replicas is killed; the
/// replica is started again after.
async fn failed_calls_during_a_replica_kill(cluster: &mut Cluster) {
    let balancer = cluster.balancer();
    let http = cluster.http.clone();
    let (calls, failed) = under_load(&http, &[balancer.url()], 4, || {
        cluster_kill(cluster);
    })
    .await;
    println!(
        "kill -9 of 1 of 3 replicas under load through nginx: {failed} of {calls} calls failed"
    );
    drop(balancer);
    cluster.replicas[2] = cluster.start_replica(2);
    cluster.wait_healthy(2, RegistryHealth::Ok).await;
}

/// Failed calls straight to the replicas while nats-server is down 2 s,
/// and how soon every replica's registry is healthy again.
async fn failed_calls_during_a_nats_restart(cluster: &mut Cluster) {
    let http = cluster.http.clone();
    let direct: Vec<String> = (0..3).map(|i| cluster.url(i)).collect();
    let (calls, failed) = under_load(&http, &direct, 3, || {
        std::thread::sleep(Duration::from_secs(1));
        cluster.nats.node(0).kill();
        std::thread::sleep(Duration::from_secs(2));
        cluster
            .nats
            .node(0)
            .restart()
            .expect("nats-server restarts");
        std::thread::sleep(Duration::from_secs(1));
    })
    .await;
    let back = Instant::now();
    for i in 0..3 {
        cluster.wait_healthy(i, RegistryHealth::Ok).await;
    }
    println!(
        "nats-server down 2 s and restarted under load: {failed} of {calls} calls failed; every replica caught up (registry ok) {:.2} s after the load stopped, 1 s after the restart",
        back.elapsed().as_secs_f64()
    );
}

/// Invoke throughput through nginx, 1 replica vs 3, interleaved rounds.
async fn one_replica_against_three(cluster: &Cluster, args: &Args) -> anyhow::Result<()> {
    let one = Balancer::start(
        &cluster.dir.path().join("nginx-1"),
        &[cluster.replicas[0].addr()],
    )?;
    let upstreams: Vec<_> = cluster.replicas.iter().map(|r| r.addr()).collect();
    let three = Balancer::start(&cluster.dir.path().join("nginx-3"), &upstreams)?;
    let (mut rate1, mut rate3) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for (rates, balancer) in [(&mut rate1, &one), (&mut rate3, &three)] {
            let rate = throughput(&cluster.http, &balancer.url(), args.clients, args.seconds).await;
            rates.push(rate);
        }
        println!(
            "round {}: 1 replica {:.0} calls/s, 3 replicas {:.0} calls/s",
            round + 1,
            rate1[round],
            rate3[round]
        );
    }
    let (m1, m3) = (median(&mut rate1), median(&mut rate3));
    println!(
        "\n| replicas behind nginx | invokes/s (median of {} rounds, {} clients) |",
        args.rounds, args.clients
    );
    println!("|---|---|");
    println!("| 1 | {m1:.0} |");
    println!("| 3 | {m3:.0} ({:.2}x) |", m3 / m1);
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    Ok(())
}

fn cluster_kill(cluster: &mut Cluster) {
    std::thread::sleep(Duration::from_secs(1));
    cluster.replicas[2].kill();
    std::thread::sleep(Duration::from_secs(2));
}

/// Activates v2/v1 alternately through each replica in turn; the time from
/// each answer until every replica reports the new digest, in ms.
async fn propagation(cluster: &Cluster, v1: &str, v2: &str, n: usize) -> (f64, f64, f64) {
    let mut samples = Vec::with_capacity(n);
    for k in 0..n {
        let target = if k % 2 == 0 { v2 } else { v1 };
        let (status, body) = cluster
            .activate(k % 3, "csv", ActivateRequest::digest(target))
            .await;
        assert_eq!(status, 200, "{body}");
        let committed = Instant::now();
        for i in 0..cluster.replicas.len() {
            loop {
                let status = cluster.get_json(i, "/api/plugins/csv").await;
                if status["activation"]["active"] == target {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        }
        samples.push(committed.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), samples[samples.len() - 1])
}

/// Runs `clients` callers per base URL while `disrupt` runs on a blocking
/// thread; returns (calls, failed).
async fn under_load(
    http: &reqwest::Client,
    bases: &[String],
    clients: usize,
    disrupt: impl FnOnce() + Send,
) -> (usize, usize) {
    let load = Load::start(http, bases, clients);
    tokio::task::block_in_place(disrupt);
    let (calls, failed) = load.finish().await;
    for e in failed.iter().take(3) {
        eprintln!("  failed: {e}");
    }
    (calls, failed.len())
}

async fn throughput(http: &reqwest::Client, base: &str, clients: usize, seconds: u64) -> f64 {
    let started = Instant::now();
    let load = Load::start(http, &[base.to_owned()], clients);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (calls, failed) = load.finish().await;
    (calls - failed.len()) as f64 / started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
