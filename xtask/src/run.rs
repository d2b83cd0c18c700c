//! `cargo xtask run`: set up, build, and start the server.

use crate::build::{self, BuildArgs};
use crate::{cmd, paths, setup};

/// Options of `cargo xtask run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Address the server listens on.
    #[arg(long, env = "WIP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Sets up, builds, then runs the server in the foreground until Ctrl-C.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    setup::run()?;
    build::run(&args.build)?;
    println!(
        "[run] starting the server on http://{}/ (Ctrl-C stops it)",
        args.addr
    );
    // Ctrl-C reaches the server too (same process group): it drains and exits.
    cmd::run(
        cmd::new("cargo")
            .args([
                "run",
                "--release",
                "--package",
                "server",
                "--bin",
                "wip-server",
                "--",
            ])
            .arg("--addr")
            .arg(&args.addr)
            .arg("--assets-dir")
            .arg(paths::site())
            .arg("--guests-dir")
            .arg(paths::guests()),
    )
}
