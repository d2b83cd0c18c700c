//! `cargo xtask build`: the Leptos app (trunk) and the Go browser modules,
//! assembled into `target/site` with a `manifest.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use crate::go::Toolchain;
use crate::{cmd, hash, paths, pins};

/// Browser programs under `guest-go/cmd/`, built for `GOOS=js GOARCH=wasm`.
pub const BROWSER_PROGRAMS: [&str; 1] = ["hello"];

/// Options of `cargo xtask build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Go toolchain version to build the Go modules with (installed by setup).
    #[arg(long, default_value = pins::GO_MAIN)]
    pub go: String,
}

/// `manifest.json`: what the server and the frontend read instead of
/// hard-coding any hashed name.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Go toolchain that built the Go modules, and the sha256 of its shim.
    pub go: GoInfo,
    /// Logical name (`hello.wasm`, `hello.wasm_exec.js`) → served file.
    pub assets: BTreeMap<String, Asset>,
}

/// The toolchain behind the Go modules.
#[derive(Debug, Serialize)]
pub struct GoInfo {
    /// `go1.27.3`.
    pub version: String,
    /// sha256 of this GOROOT's `wasm_exec.js`.
    pub shim_sha256: String,
}

/// One served file.
#[derive(Debug, Serialize)]
pub struct Asset {
    /// URL path, e.g. `/go/hello.1a2b3c4d.wasm`.
    pub path: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl Asset {
    fn of(path: String, bytes: &[u8]) -> Self {
        Self {
            path,
            sha256: hash::sha256_hex(&[bytes]),
            size: bytes.len() as u64,
        }
    }
}

/// Builds everything into `target/site` and returns the manifest written there.
pub fn run(args: &BuildArgs) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    let toolchain = Toolchain::find(&args.go).with_context(|| {
        format!(
            "Go {} is not set up (setup installs {:?})",
            args.go,
            pins::GO_VERSIONS
        )
    })?;

    println!("[build] trunk build --release (Leptos app)");
    trunk_build()?;

    let site = paths::site();
    let mut assets = BTreeMap::new();
    let shim = std::fs::read(toolchain.wasm_exec_js()?)?;
    for program in BROWSER_PROGRAMS {
        println!(
            "[build] go {} build {program} (GOOS=js GOARCH=wasm)",
            toolchain.version
        );
        let pair = build_go_pair(&toolchain, program, &shim, &site)?;
        assets.extend(pair);
    }

    for guest in crate::guests::build_all(&toolchain)? {
        println!("[build] sandbox guest {}", guest.display());
    }

    let manifest = Manifest {
        go: GoInfo {
            version: format!("go{}", toolchain.version),
            shim_sha256: hash::sha256_hex(&[&shim]),
        },
        assets,
    };
    let manifest_path = site.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    for (name, asset) in &manifest.assets {
        println!(
            "[build] {name:<24} {:>10} bytes  {}",
            asset.size, asset.path
        );
    }
    println!(
        "[build] site ready in {} ({:.1}s)",
        site.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(manifest)
}

fn trunk_build() -> anyhow::Result<()> {
    cmd::run(cmd::new("trunk").args(["--skip-version-check", "build", "--release"]))
}

/// Builds `program` and copies it with its toolchain's shim into `site/go/`,
/// both named by one hash over wasm ‖ shim, so a change to either renames both.
fn build_go_pair(
    toolchain: &Toolchain,
    program: &str,
    shim: &[u8],
    site: &Path,
) -> anyhow::Result<[(String, Asset); 2]> {
    let raw_out: PathBuf = paths::target()
        .join("go")
        .join(&toolchain.version)
        .join(format!("{program}.wasm"));
    toolchain.build_js(program, &raw_out)?;
    let wasm = std::fs::read(&raw_out).with_context(|| format!("reading {}", raw_out.display()))?;

    let pair_hash = hash::sha256_hex(&[&wasm, shim]);
    let tag = hash::short(&pair_hash);
    let wasm_name = format!("go/{program}.{tag}.wasm");
    let shim_name = format!("go/wasm_exec.{tag}.js");
    let go_dir = site.join("go");
    std::fs::create_dir_all(&go_dir)?;
    std::fs::write(site.join(&wasm_name), &wasm)?;
    std::fs::write(site.join(&shim_name), shim)?;
    Ok([
        (
            format!("{program}.wasm"),
            Asset::of(format!("/{wasm_name}"), &wasm),
        ),
        (
            format!("{program}.wasm_exec.js"),
            Asset::of(format!("/{shim_name}"), shim),
        ),
    ])
}
