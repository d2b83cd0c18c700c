//! `cargo xtask cluster`: set up, build, then start a local cluster (see
//! `server/examples/cluster.rs`): nats-server with JetStream, release
//! replicas sharing the registry, nginx in front; Ctrl-C stops it.

use crate::{cmd, paths};

/// Options of `cargo xtask cluster`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Replicas behind nginx.
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
}

/// Builds the release server and the launcher, then runs the launcher.
pub fn run(args: &ClusterArgs) -> anyhow::Result<()> {
    build_release_server()?;
    cmd::run(
        cmd::new("cargo")
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "server",
                "--example",
                "cluster",
                "--",
            ])
            .arg("--replicas")
            .arg(args.replicas.to_string())
            .arg("--target")
            .arg(paths::target()),
    )
}

/// `target/release/wip-server`, which the cluster's replicas run.
pub fn build_release_server() -> anyhow::Result<()> {
    cmd::run(cmd::new("cargo").args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "server",
        "--bin",
        "wip-server",
    ]))
}
