//! `cargo xtask bench browser`: runs the e2e crate's `bench_browser` binary
//! (release), which drives headless Chromium against the real server.

use super::BenchArgs;
use crate::cmd;

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    cmd::run(
        cmd::new("cargo")
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "e2e",
                "--bin",
                "bench_browser",
                "--",
            ])
            .arg(args.loads.to_string()),
    )
}
