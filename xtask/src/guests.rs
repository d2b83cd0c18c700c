//! The server-side sandbox guests: every directory under `guest-go/sandbox/`
//! with a `main.go` is built for `GOOS=wasip1 GOARCH=wasm` as a reactor
//! (`-buildmode=c-shared`) into `target/guests/<name>.wasm`, plus a second
//! version of `process` for the registry (seed task 12).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::go::Toolchain;
use crate::{cmd, paths};

/// Builds every sandbox guest and returns the paths written.
pub fn build_all(toolchain: &Toolchain) -> anyhow::Result<Vec<PathBuf>> {
    let src = paths::guest_go().join("sandbox");
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("main.go").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let out_dir = paths::guests();
    std::fs::create_dir_all(&out_dir)?;
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
