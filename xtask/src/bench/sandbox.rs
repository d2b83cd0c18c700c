//! `cargo xtask bench sandbox`: runs the server crate's `bench_sandbox`
//! example in release against the guests `cargo xtask build` produced.

use super::BenchArgs;
use crate::paths;

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let guests = paths::guests().display().to_string();
    super::run_release(
        "server",
        "example",
        "bench_sandbox",
        &[guests, args.seconds.to_string()],
    )
}
