//! `cargo xtask bench browser`: runs the e2e crate's `bench_browser` binary
//! (release), which drives headless Chromium against the real server.

use super::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    super::run_release("e2e", "bin", "bench_browser", &[args.loads.to_string()])
}
