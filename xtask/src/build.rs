//! `cargo xtask build`: the Leptos app (trunk), the Go browser modules with
//! their own shim, and the sandbox guests, assembled into `target/site`:
//! every served file pre-compressed, described by `manifest.json`, measured
//! in `size-report.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use crate::go::Toolchain;
use crate::manifest::{self, GoInfo, Manifest};
use crate::{cmd, compress, hash, paths, pins, sizes};

/// Browser programs under `guest-go/cmd/`, built for `GOOS=js GOARCH=wasm`
/// and served; the first one is the subject of the size report's variants.
pub const BROWSER_PROGRAMS: [&str; 1] = ["inspector"];

/// Options of `cargo xtask build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Go toolchain version to build the Go modules with (installed by setup).
    #[arg(long, default_value = pins::GO_MAIN)]
    pub go: String,
}

/// A file to serve: where it is under the site and what the manifest calls it.
struct Served {
    logical: String,
    rel_path: String,
    hashed: bool,
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
    let mut served = trunk_outputs(&site)?;

    let shim = std::fs::read(toolchain.wasm_exec_js()?)?;
    for program in BROWSER_PROGRAMS {
        println!(
            "[build] go {} build {program} (GOOS=js GOARCH=wasm)",
            toolchain.version
        );
        let pair = build_go_pair(&toolchain, program, &site.join("go"))?;
        served.push(Served {
            logical: manifest::go_wasm_name(program),
            rel_path: format!("go/{}", pair.wasm_name),
            hashed: true,
        });
        served.push(Served {
            logical: manifest::go_shim_name(program),
            rel_path: format!("go/{}", pair.shim_name),
            hashed: true,
        });
    }

    // Sandbox guests need Go >= 1.24 (//go:wasmexport) and are not part of
    // the shim comparison: always the main toolchain, whatever `--go` says.
    let guest_toolchain = if toolchain.version == pins::GO_MAIN {
        toolchain.clone()
    } else {
        Toolchain::find(pins::GO_MAIN)?
    };
    for guest in crate::guests::build_all(&guest_toolchain)? {
        println!("[build] sandbox guest {}", guest.display());
    }

    println!("[build] pre-compressing (brotli 11, gzip -9 / zopfli)");
    let mut assets = BTreeMap::new();
    for file in served {
        let path = site.join(&file.rel_path);
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let compressed = compress::precompress_file(&path)?;
        let asset = manifest::describe(
            format!("/{}", file.rel_path),
            file.hashed,
            &raw,
            &compressed,
        );
        assets.insert(file.logical, asset);
    }

    let manifest = Manifest {
        go: GoInfo {
            version: format!("go{}", toolchain.version),
            shim_sha256: hash::sha256_hex(&[&shim]),
        },
        assets,
    };
    manifest::write(&site, &manifest)?;
    compress::precompress_file(&site.join("manifest.json"))?;

    println!("[build] measuring sizes (variants, floor)");
    let report = sizes::report(&site, &manifest, &toolchain, BROWSER_PROGRAMS[0])?;
    sizes::write(&site, &report)?;
    compress::precompress_file(&site.join("size-report.json"))?;
    sizes::print(&report);

    println!(
        "\n[build] site ready in {} ({:.1}s)",
        site.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(manifest)
}

fn trunk_build() -> anyhow::Result<()> {
    cmd::run(cmd::new("trunk").args(["--skip-version-check", "build", "--release"]))
}

/// The files trunk wrote at the top of the site (it replaces the whole
/// directory on every build, so nothing stale is left).
fn trunk_outputs(site: &Path) -> anyhow::Result<Vec<Served>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(site).with_context(|| format!("reading {}", site.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let (logical, hashed) = manifest::trunk_logical_name(&name);
        out.push(Served {
            logical,
            rel_path: name,
            hashed,
        });
    }
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(out)
}

/// The Go module and its shim, as written into a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoPair {
    /// `inspector.<sha8>.wasm`.
    pub wasm_name: String,
    /// `wasm_exec.<sha8>.js`.
    pub shim_name: String,
    /// sha256 of the module's bytes.
    pub wasm_sha256: String,
    /// sha256 of the shim's bytes.
    pub shim_sha256: String,
}

/// Builds `program` and writes it with the `wasm_exec.js` of the **same**
/// GOROOT into `dir`, both named by one hash over wasm ‖ shim, so a change to
/// either renames both and a browser can never pair a cached shim with a
/// new module.
pub fn build_go_pair(toolchain: &Toolchain, program: &str, dir: &Path) -> anyhow::Result<GoPair> {
    std::fs::create_dir_all(dir)?;
    // Built under a temporary name, then renamed once the hash is known.
    let unhashed = dir.join(format!("{program}.unhashed.wasm"));
    toolchain.build_js(program, &unhashed)?;
    let wasm =
        std::fs::read(&unhashed).with_context(|| format!("reading {}", unhashed.display()))?;
    let shim = std::fs::read(toolchain.wasm_exec_js()?)?;

    let tag = hash::sha256_hex(&[&wasm, &shim]);
    let tag = hash::short(&tag);
    let pair = GoPair {
        wasm_name: format!("{program}.{tag}.wasm"),
        shim_name: format!("wasm_exec.{tag}.js"),
        wasm_sha256: hash::sha256_hex(&[&wasm]),
        shim_sha256: hash::sha256_hex(&[&shim]),
    };
    std::fs::rename(&unhashed, dir.join(&pair.wasm_name))?;
    std::fs::write(dir.join(&pair.shim_name), &shim)?;
    Ok(pair)
}

#[cfg(test)]
mod tests {
    //! These build real Go modules with the pinned toolchains, so they need
    //! `cargo xtask setup` (which `cargo xtask test` runs first).

    use super::*;

    fn toolchain(version: &str) -> Toolchain {
        Toolchain::find(version)
            .unwrap_or_else(|e| panic!("Go {version} missing; run `cargo xtask setup`: {e:#}"))
    }

    #[test]
    fn shim_hash_and_both_hashed_names_follow_the_go_version() {
        let old_dir = tempfile::tempdir().unwrap();
        let new_dir = tempfile::tempdir().unwrap();
        let old = build_go_pair(&toolchain(pins::GO_OLD), "inspector", old_dir.path()).unwrap();
        let new = build_go_pair(&toolchain(pins::GO_MAIN), "inspector", new_dir.path()).unwrap();

        assert_ne!(old.shim_sha256, new.shim_sha256, "the shims differ");
        assert_ne!(old.wasm_name, new.wasm_name, "the module is renamed");
        assert_ne!(old.shim_name, new.shim_name, "the shim is renamed");
        // Both halves of a pair carry the same tag.
        let tag = |name: &str| name.split('.').nth(1).unwrap().to_owned();
        assert_eq!(tag(&old.wasm_name), tag(&old.shim_name));
        assert_eq!(tag(&new.wasm_name), tag(&new.shim_name));
    }

    #[test]
    fn rebuilding_with_the_same_go_from_an_empty_build_cache_changes_nothing() {
        let first_dir = tempfile::tempdir().unwrap();
        let second_dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let first =
            build_go_pair(&toolchain(pins::GO_MAIN), "inspector", first_dir.path()).unwrap();
        // A cold cache forces the compiler and linker to really run again.
        let cold = toolchain(pins::GO_MAIN).with_build_cache(cache.path());
        let second = build_go_pair(&cold, "inspector", second_dir.path()).unwrap();

        assert_eq!(first, second);
        assert_eq!(
            std::fs::read(first_dir.path().join(&first.wasm_name)).unwrap(),
            std::fs::read(second_dir.path().join(&second.wasm_name)).unwrap(),
        );
    }
}
