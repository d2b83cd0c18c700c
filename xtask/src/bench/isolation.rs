//! `cargo xtask bench isolation`: the `process` plugin as a Wasm instance
//! per call vs the same Go code as a native process (plain, under
//! bubblewrap, as a pre-forked bubblewrap worker pool). Builds only what it
//! runs (the sandbox guests for a measurement, the native program always),
//! installs Debian's bubblewrap if missing, and runs the server crate's
//! `bench_isolation` example: in release for the measurements, or in debug
//! with `--check` for the confinement checks CI runs.

use std::path::PathBuf;

use super::BenchArgs;
use crate::go::Toolchain;
use crate::{cmd, paths, pins};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    ensure_bubblewrap()?;
    let toolchain = Toolchain::find(pins::GO_MAIN)?;
    let native = build_native(&toolchain)?;
    if args.check {
        // Built beside the workspace stage's targets, so cargo resolves the
        // same features and reuses that build: `cargo run --package server
        // --example` (or `--example` alone) resolves them for fewer units
        // and compiled ~110 crates again (370 s for this stage in CI).
        cmd::run(
            cmd::new("cargo")
                .args(["build", "--quiet"])
                .args(crate::test::HOST_CRATES)
                .args(crate::test::WORKSPACE_TARGETS)
                .args(["--example", "bench_isolation"]),
        )?;
        let example = paths::target().join("debug/examples/bench_isolation");
        return cmd::run(
            cmd::new(&example.display().to_string())
                .arg("--check")
                .arg(&native),
        );
    }
    let report = paths::target().join("bench").join("isolation.md");
    super::run_release(
        "server",
        "example",
        "bench_isolation",
        &[
            paths::guests().display().to_string(),
            native.display().to_string(),
            args.seconds.to_string(),
            report.display().to_string(),
        ],
    )
}

/// `guest-go/sandbox/native/process` for this machine, statically linked
/// (`CGO_ENABLED=0`, from the hermetic `go` command) so it runs in a
/// bubblewrap root that holds nothing but itself.
fn build_native(toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let out = paths::target().join("isolation").join("native-process");
    cmd::run(
        toolchain
            .go()
            .current_dir(paths::guest_go().join("sandbox"))
            .env("GOOS", "linux")
            .env_remove("GOARCH")
            .args([
                "build",
                "-trimpath",
                "-buildvcs=false",
                "-ldflags=-s -w",
                "-o",
            ])
            .arg(&out)
            .arg("./native/process"),
    )?;
    Ok(out)
}

fn ensure_bubblewrap() -> anyhow::Result<()> {
    if cmd::probe(cmd::new("bwrap").arg("--version")).is_none() {
        println!("[bench] installing bubblewrap (apt)");
        cmd::run(cmd::new("apt-get").args(["install", "-y", "-q", "bubblewrap"]))?;
    }
    Ok(())
}
