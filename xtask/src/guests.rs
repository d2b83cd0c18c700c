//! The server-side sandbox guests: every directory under `guest-go/sandbox/`
//! with a `main.go` is built for `GOOS=wasip1 GOARCH=wasm` as a reactor
//! (`-buildmode=c-shared`) into `target/guests/<name>.wasm`, plus two more
//! builds of `process` for the registry: a second version (seed task 12) and
//! a candidate with a latent bug for the canary-rollout demo.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::go::Toolchain;
use crate::{cmd, paths};

/// File stem of the `process` build with a latent bug.
pub const PROCESS_FLAKY: &str = "process_flaky";
/// Percent of inputs (by a hash of their bytes) on which it traps.
pub const FLAKY_TRAP_PERCENT: u32 = 10;

/// Builds every sandbox guest into `out_dir` and returns the paths written.
pub fn build_all(toolchain: &Toolchain, out_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let src = paths::guest_go().join("sandbox");
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("main.go").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    std::fs::create_dir_all(out_dir)?;
    let mut built = Vec::new();
    for name in names {
        let out = out_dir.join(format!("{name}.wasm"));
        build_reactor(toolchain, &src, &name, &out, "")?;
        built.push(out);
    }
    // Visibly different output, so activate/rollback can be seen and tested.
    let v2 = out_dir.join("process_v2.wasm");
    build_reactor(
        toolchain,
        &src,
        "process",
        &v2,
        " -X main.version=csv2json/2",
    )?;
    built.push(v2);
    // A candidate that passes the upload's smoke call (its default input
    // hashes to 17, above the share) and then traps on about one input in
    // ten: what a canary rollout must catch (`cargo xtask demo rollout`).
    let flaky = out_dir.join(format!("{PROCESS_FLAKY}.wasm"));
    build_reactor(
        toolchain,
        &src,
        "process",
        &flaky,
        &format!(" -X main.version=csv2json/3-flaky -X main.trapPercent={FLAKY_TRAP_PERCENT}"),
    )?;
    built.push(flaky);
    Ok(built)
}

/// `go build -buildmode=c-shared` of `./<package>`: `_initialize` runs the
/// Go runtime's init once per instance, then the host calls the
/// `//go:wasmexport` functions.
fn build_reactor(
    toolchain: &Toolchain,
    module_dir: &Path,
    package: &str,
    out: &Path,
    extra_ldflags: &str,
) -> anyhow::Result<()> {
    cmd::run(
        toolchain
            .go()
            // The sandbox guests are their own Go module (go 1.24 for
            // //go:wasmexport); the browser module stays buildable by 1.21.
            .current_dir(module_dir)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .args([
                "build",
                "-buildmode=c-shared",
                "-trimpath",
                "-buildvcs=false",
            ])
            .arg(format!("-ldflags=-s -w{extra_ldflags}"))
            .arg("-o")
            .arg(out)
            .arg(format!("./{package}")),
    )
    .with_context(|| format!("building sandbox guest {}", out.display()))
}
