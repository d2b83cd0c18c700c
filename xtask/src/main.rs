//! `cargo xtask`: the workspace's build automation, in Rust.
//!
//! - `setup`: install the pinned toolchain (idempotent, cached)
//! - `build`: Go modules + the Leptos app, assembled into `target/site`
//! - `run`:   setup + build + start the server
//! - `test`:  setup + build + fmt + clippy + every test stage, with counts
//! - `bench`: setup + build + a side-by-side benchmark (`assets`, `sandbox`,
//!   `fairness`, `browser`, `isolation`)
//! - `demo`:  setup + a scripted walkthrough against a real server (`rollout`)
//! - `cluster`: setup + build + nats-server, replicas and nginx on loopback

mod bench;
mod build;
mod builds;
mod cluster;
mod cmd;
mod compress;
mod demo;
mod go;
mod guests;
mod hash;
mod manifest;
mod paths;
mod pins;
mod progress;
mod run;
mod setup;
mod sizes;
mod test;
mod tidy;

use clap::{Parser, Subcommand};
use setup::Need;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Build automation for Wasm in Production"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install every pinned tool that is missing (idempotent).
    Setup,
    /// Build the Go modules and the Leptos app into target/site.
    Build(build::BuildArgs),
    /// Set up, build, and start the server.
    Run(run::RunArgs),
    /// Set up, build, and run every check and test stage.
    Test,
    /// Set up, build, and run a side-by-side benchmark.
    Bench(bench::BenchArgs),
    /// Set up, then run a scripted walkthrough against a real server.
    Demo(demo::DemoArgs),
    /// Set up, build, and start nats-server, replicas and nginx (Ctrl-C stops).
    Cluster(cluster::ClusterArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Setup => setup::run(&Need::ALL),
        Command::Build(args) => {
            setup::run(&[Need::Site])?;
            build::run(&args).map(|_| ())
        }
        Command::Run(args) => run::run(&args),
        Command::Test => test::run(),
        Command::Bench(args) => {
            setup::run(&Need::ALL)?;
            build::run(&build::BuildArgs {
                go: pins::GO_MAIN.to_owned(),
            })?;
            bench::run(&args)
        }
        Command::Demo(args) => {
            setup::run(&[Need::Site])?;
            // The demo's server runs the built guests.
            build::run(&build::BuildArgs {
                go: pins::GO_MAIN.to_owned(),
            })?;
            demo::run(&args)
        }
        Command::Cluster(args) => {
            setup::run(&[Need::Site, Need::Cluster])?;
            build::run(&build::BuildArgs {
                go: pins::GO_MAIN.to_owned(),
            })?;
            cluster::run(&args)
        }
    }
}
