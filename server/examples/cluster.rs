//! `cargo xtask cluster`: a local cluster to poke at. A JetStream cluster
//! of `--nats-nodes` Debian `nats-server`s (3 by default: the registry's
//! streams keep 3 copies and survive one node's loss), `--replicas` release
//! `wip-server` processes sharing the registry through it, and Debian's
//! nginx balancing across them; all on loopback, the data under
//! `target/cluster/` (kept between runs). Prints the URLs and the
//! credentials, and stops everything on Ctrl-C.

use std::path::PathBuf;

use clap::Parser;
use server::testing::cluster::{Balancer, Replica, ReplicaConfig};
use server::testing::nats::{CLUSTER_WRITE_TIMEOUT_MS, NatsCluster};

#[derive(Debug, Parser)]
struct Args {
    /// Replicas behind nginx.
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// nats-server nodes (1: a single server, not clustered).
    #[arg(long, default_value_t = 3)]
    nats_nodes: usize,
    /// The workspace's `target/` directory.
    #[arg(long)]
    target: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (1..=16).contains(&args.replicas),
        "--replicas must be 1..=16"
    );
    anyhow::ensure!(
        (1..=5).contains(&args.nats_nodes),
        "--nats-nodes must be 1..=5 (JetStream keeps at most 5 copies)"
    );
    let dir = args.target.join("cluster");
    std::fs::create_dir_all(&dir)?;
    let admin_token = secret()?;
    let tenant_key = secret()?;
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nid = \"acme\"\napi_key = \"{tenant_key}\"\nmax_concurrency = 4\n"),
    )?;
    let nats = match args.nats_nodes {
        1 => NatsCluster::single(&dir)?,
        n => NatsCluster::start(&dir, n)?,
    };
    let config = ReplicaConfig {
        binary: args.target.join("release/wip-server"),
        registry: nats.urls(),
        guests_dir: args.target.join("guests"),
        assets_dir: args.target.join("site"),
        admin_token: admin_token.clone(),
        tenants_file: tenants,
        // One cache of the built-in guests' artifacts for every replica: the
        // first start compiles them, the others (and later runs) map them.
        extra: vec![
            "--builtins-cache-dir".into(),
            dir.join("builtins").display().to_string(),
            "--registry-replicas".into(),
            args.nats_nodes.min(3).to_string(),
            // A write waits out a stream's leader election after a node's
            // loss (several seconds on nats-server 2.9).
            "--nats-write-timeout-ms".into(),
            CLUSTER_WRITE_TIMEOUT_MS.to_string(),
        ],
    };
    let replicas = (0..args.replicas)
        .map(|i| Replica::start(&config, &dir.join(format!("replica-{i}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let upstreams: Vec<_> = replicas.iter().map(Replica::addr).collect();
    let balancer = Balancer::start(&dir.join("nginx"), &upstreams)?;

    print_how_to_use(&dir, &nats, &replicas, &balancer, &admin_token, &tenant_key);
    println!("\nCtrl-C stops everything.");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    drop((balancer, replicas, nats));
    Ok(())
}

/// The cluster's URLs, credentials and a few calls to try.
fn print_how_to_use(
    dir: &std::path::Path,
    nats: &NatsCluster,
    replicas: &[Replica],
    balancer: &Balancer,
    admin_token: &str,
    tenant_key: &str,
) {
    println!(
        "\nnats-server, {} node(s) (JetStream, stores under {}): {}",
        nats.len(),
        dir.display(),
        nats.urls()
    );
    for (i, r) in replicas.iter().enumerate() {
        println!(
            "replica {i}: {} (data {}, log {})",
            r.url(),
            r.data_dir().display(),
            r.data_dir().with_extension("log").display()
        );
    }
    println!(
        "nginx (round robin, failed calls passed on): {}",
        balancer.url()
    );
    println!("\nadmin token: {admin_token}\ntenant acme key: {tenant_key}");
    println!("\ntry:\n  curl -s {}/healthz", balancer.url());
    println!(
        "  curl -s -X POST -H 'authorization: Bearer {admin_token}' --data-binary @target/guests/process.wasm '{}/api/plugins?name=csv&version=1'",
        replicas[0].url()
    );
    println!(
        "  curl -s -X POST -H 'authorization: Bearer {tenant_key}' --data-binary $'a\\n1\\n' {}/api/invoke/csv -D - | grep x-guest-digest",
        balancer.url()
    );
}

/// 32 hex characters from the kernel's random source.
fn secret() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}
