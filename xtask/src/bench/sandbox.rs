//! `cargo xtask bench sandbox` (issue 6).

use super::BenchArgs;

pub fn run(_args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("the sandbox benchmark is not implemented yet")
}
