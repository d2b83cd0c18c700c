//! `cargo xtask demo <target>`: scripted walkthroughs of a feature against a
//! real server (release build, free loopback port, its own data under
//! `target/demo-<target>/`), printing what an operator would watch.

mod api;
mod rollout;
mod server;
mod traffic;

/// What to demonstrate.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// Canary rollouts under steady traffic: a flaky candidate rolled back,
    /// a good one promoted, and the failed calls an all-at-once switch costs.
    Rollout,
}

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Which demo to run.
    pub target: Target,
    /// Concurrent clients sending distinct inputs.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Share of calls routed to the candidate (1 to 99).
    #[arg(long, default_value_t = 10)]
    pub percent: u8,
    /// Calls each side needs before the server decides.
    #[arg(long, default_value_t = 100)]
    pub min_calls: u64,
}

/// Runs the chosen demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    match args.target {
        Target::Rollout => rollout::run(args),
    }
}
