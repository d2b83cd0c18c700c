//! `cargo xtask bench sandbox`: runs the server crate's `bench_sandbox`
//! example in release against the guests `cargo xtask build` produced.

use super::BenchArgs;
use crate::{cmd, paths};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    cmd::run(
        cmd::new("cargo")
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "server",
                "--example",
                "bench_sandbox",
                "--",
            ])
            .arg(paths::guests())
            .arg(args.seconds.to_string()),
    )
}
