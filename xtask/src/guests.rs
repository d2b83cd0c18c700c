//! The server-side sandbox guests: every directory under `guest-go/sandbox/`
//! with a `main.go` is built for `GOOS=wasip1 GOARCH=wasm` as a reactor
//! (`-buildmode=c-shared`) into `target/guests/<name>.wasm`.

use std::path::PathBuf;

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
        // Reactors: `_initialize` runs the Go runtime's init once per
        // instance, then the host calls `//go:wasmexport` functions.
        cmd::run(
            toolchain
                .go()
                // The sandbox guests are their own Go module (go 1.24 for
                // //go:wasmexport); the browser module stays buildable by 1.21.
                .current_dir(&src)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .args([
                    "build",
                    "-buildmode=c-shared",
                    "-trimpath",
                    "-buildvcs=false",
                    "-ldflags=-s -w",
                    "-o",
                ])
                .arg(&out)
                .arg(format!("./{name}")),
        )
        .with_context(|| format!("building sandbox guest {name}"))?;
        built.push(out);
    }
    Ok(built)
}
