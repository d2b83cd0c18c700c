//! `cargo xtask bench <target>`: side-by-side benchmarks that print ratios,
//! because absolute numbers on a shared 2-core machine are noise.

mod assets;
mod browser;
mod isolation;
mod sandbox;

/// What to benchmark.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// This server vs nginx vs plain tower-http ServeDir, serving the Go module.
    Assets,
    /// Three tenants, one heavy: well-behaved p99 with per-tenant gates off and on.
    Fairness,
    /// Loads of the Go module in headless Chromium, per loading mode, network
    /// profile (DevTools throttling) and visit (cold, warm).
    Browser,
    /// Per-call latency of sandbox guests: naive vs compile-once vs InstancePre + pooling.
    Sandbox,
    /// The plugin as a Wasm instance vs a native process, bubblewrap, a worker pool.
    Isolation,
    /// The compile-once lesson under attack: a tenant's p99 and 504s, the
    /// server's CPU, beside anonymous clients asking for naive compiles.
    Lessons,
    /// Replicas on NATS: activation propagation, failed calls during a replica
    /// kill and a nats-server restart, 1 vs 3 replicas behind nginx.
    Cluster,
}

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Which benchmark to run.
    pub target: Target,
    /// Seconds each measured configuration runs (assets, sandbox, fairness,
    /// isolation: per load row and round).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Loads per mode, profile and visit (browser).
    #[arg(long, default_value_t = 10)]
    pub loads: u32,
    /// Isolation only: run the process sandbox's confinement checks (CI)
    /// instead of measuring; skips the full build.
    #[arg(long)]
    pub check: bool,
    /// Lessons only: another `wip-server` binary to measure side by side
    /// (say, one built from an older commit: the before of a fix).
    #[arg(long)]
    pub against: Option<std::path::PathBuf>,
    /// Interleaved rounds (lessons).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
}

/// Runs the chosen benchmark.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.check && !matches!(args.target, Target::Isolation) {
        anyhow::bail!("--check only applies to `bench isolation`");
    }
    match args.target {
        Target::Assets => assets::run(args),
        Target::Sandbox => sandbox::run(args),
        Target::Browser => browser::run(args),
        Target::Isolation => isolation::run(args),
        Target::Cluster => {
            crate::cluster::build_release_server()?;
            run_release(
                "server",
                "example",
                "bench_cluster",
                &["--seconds".into(), args.seconds.min(30).to_string()],
            )
        }
        Target::Lessons => {
            crate::cluster::build_release_server()?;
            let this = crate::paths::root().join("target/release/wip-server");
            let mut binaries = vec![format!("this={}", this.display())];
            if let Some(other) = &args.against {
                binaries.push(format!("against={}", other.display()));
            }
            let mut bench_args = vec![
                crate::paths::guests().display().to_string(),
                args.seconds.to_string(),
                args.rounds.to_string(),
            ];
            bench_args.extend(binaries);
            run_release("server", "example", "bench_lesson_budget", &bench_args)
        }
        Target::Fairness => run_release(
            "server",
            "example",
            "bench_fairness",
            &[
                crate::paths::guests().display().to_string(),
                args.seconds.to_string(),
            ],
        ),
    }
}

/// `cargo run --release -p <package> --<kind> <name> -- <args>`: the
/// benchmarks that drive Rust code run it optimised.
fn run_release(package: &str, kind: &str, name: &str, args: &[String]) -> anyhow::Result<()> {
    crate::cmd::run(
        crate::cmd::new("cargo")
            .args(["run", "--quiet", "--release", "--package", package])
            .arg(format!("--{kind}"))
            .arg(name)
            .arg("--")
            .args(args),
    )
}
