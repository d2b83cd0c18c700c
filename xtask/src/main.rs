//! `cargo xtask`: the workspace's build automation, in Rust.
//!
//! - `setup`: install the pinned toolchain (idempotent, cached)
//! - `build`: Go modules + trunk build, assembled into `target/site`
//! - `run`:   setup + build + start the server
//! - `test`:  setup + build + fmt + clippy + every test stage, with counts
//! - `bench`: setup + build + a side-by-side benchmark (`assets`, `sandbox`,
//!   `fairness`, `browser`, `isolation`)
//! - `demo`:  setup + a scripted walkthrough against a real server (`rollout`)
//! - `cluster`: setup + build + nats-server, replicas and nginx on loopback

mod bench;
mod build;
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
mod run;
mod setup;
mod sizes;
mod test;
mod tidy;

use clap::{Parser, Subcommand};

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
        Command::Setup => setup::run(),
        Command::Build(args) => {
            setup::run()?;
            build::run(&args).map(|_| ())
        }
        Command::Run(args) => run::run(&args),
        Command::Test => test::run(),
        Command::Bench(args) => {
            setup::run()?;
            // The isolation bench builds only what it runs (the sandbox
            // guests and the native program), not the site.
            if !matches!(args.target, bench::Target::Isolation) {
                build::run(&build::BuildArgs {
                    go: pins::GO_MAIN.to_owned(),
                })?;
            }
            bench::run(&args)
        }
        Command::Demo(args) => {
            setup::run()?;
            demo::run(&args)
        }
        Command::Cluster(args) => {
            setup::run()?;
            build::run(&build::BuildArgs {
                go: pins::GO_MAIN.to_owned(),
            })?;
            cluster::run(&args)
        }
    }
}
