//! `cargo xtask bench assets` (issue 4).

use super::BenchArgs;

pub fn run(_args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("the assets benchmark is not implemented yet")
}
