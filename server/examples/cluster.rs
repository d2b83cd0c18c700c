//! `cargo xtask cluster`: a local cluster to poke at. Debian's `nats-server`
//! with JetStream, `--replicas` release `wip-server` processes sharing the
//! registry through it, and Debian's nginx balancing across them; all on
//! loopback, the data under `target/cluster/` (kept between runs). Prints
//! the URLs and the credentials, and stops everything on Ctrl-C.

use std::path::PathBuf;

use clap::Parser;
use server::testing::cluster::{Balancer, Replica, ReplicaConfig};
use server::testing::nats::NatsServer;

#[derive(Debug, Parser)]
struct Args {
    /// Replicas behind nginx.
    #[arg(long, default_value_t = 3)]
    replicas: usize,
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
    let dir = args.target.join("cluster");
    std::fs::create_dir_all(&dir)?;
    let admin_token = secret()?;
    let tenant_key = secret()?;
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nid = \"acme\"\napi_key = \"{tenant_key}\"\nmax_concurrency = 4\n"),
    )?;
    let nats = NatsServer::start(&dir)?;
    let config = ReplicaConfig {
        binary: args.target.join("release/wip-server"),
        registry: nats.url(),
        guests_dir: args.target.join("guests"),
        assets_dir: args.target.join("site"),
        admin_token: admin_token.clone(),
        tenants_file: tenants,
        // One cache of the built-in guests' artifacts for every replica: the
        // first start compiles them, the others (and later runs) map them.
        extra: vec![
            "--builtins-cache-dir".into(),
            dir.join("builtins").display().to_string(),
        ],
    };
    let replicas = (0..args.replicas)
        .map(|i| Replica::start(&config, &dir.join(format!("replica-{i}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let upstreams: Vec<_> = replicas.iter().map(Replica::addr).collect();
    let balancer = Balancer::start(&dir.join("nginx"), &upstreams)?;

    println!(
        "\nnats-server (JetStream, store {}): {}",
        dir.join("nats").display(),
        nats.url()
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
    println!("\nCtrl-C stops everything.");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    drop((balancer, replicas, nats));
    Ok(())
}

/// 32 hex characters from the kernel's random source.
fn secret() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}
