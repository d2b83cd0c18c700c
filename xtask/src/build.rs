//! `cargo xtask build`: the Leptos app (trunk), the Go browser modules with
//! their own shim, and the sandbox guests, assembled into `target/site`
//! (a link to the build's directory, see [`crate::builds`]):
//! every served file pre-compressed, described by `manifest.json`, measured
//! in `size-report.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::builds::{self, Builds};
use crate::go::Toolchain;
use crate::manifest::{self, GoInfo, GoPair, Manifest};
use crate::{cmd, compress, hash, paths, pins, progress, sizes};

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
    /// Index of the Go pair this file belongs to (its pre-compression is
    /// counted in that pair's cost).
    pair: Option<usize>,
}

/// What one Go pair cost this build.
#[derive(Debug, Default)]
struct PairCost {
    go_build: Duration,
    compression: Duration,
}

/// The Go versions whose pairs the build produces: `--go` first (the pair
/// the app loads), then every other pinned version.
pub fn pair_versions(app_go: &str) -> Vec<&str> {
    let mut versions = vec![app_go];
    versions.extend(pins::GO_VERSIONS.iter().filter(|v| **v != app_go));
    versions
}

/// Builds the site and the guests, under the build lock, into a fresh
/// directory, and points `target/site` and `target/guests` at it (see
/// [`crate::builds`]); when a finished build of the same inputs exists,
/// points at that one and builds nothing. Returns the site's manifest.
pub fn run(args: &BuildArgs) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    let builds = Builds::lock()?;
    let inputs = builds::fingerprint(&format!("go={}", args.go))?;
    if let Some(done) = builds.finished(&inputs) {
        builds.publish(&done)?;
        println!(
            "[build] nothing changed ({} input files, fingerprint {}): skipped trunk, the Go builds, \
             the pre-compression and the size report; serving {} ({:.1}s)",
            inputs.files,
            inputs.id,
            done.display(),
            started.elapsed().as_secs_f64()
        );
        return manifest::read(&done.join("site"));
    }
    let partial = builds.start(&inputs)?;
    let manifest = build_into(args, &partial)?;
    let done = builds.finish(&inputs, &partial)?;
    builds.publish(&done)?;
    println!(
        "\n[build] site ready in {} -> {} ({:.1}s)",
        paths::site().display(),
        done.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(manifest)
}

/// What the Go side of the build made while trunk ran.
struct GoOutputs {
    served: Vec<Served>,
    go_pairs: Vec<GoPair>,
    costs: Vec<PairCost>,
}

/// Builds into `out/site` and `out/guests`: trunk and the Go builds side
/// by side (trunk's release build of the app leaves a core idle for long
/// stretches), then every file's pre-compression, two at a time.
fn build_into(args: &BuildArgs, out: &Path) -> anyhow::Result<Manifest> {
    let find = |version: &str| {
        Toolchain::find(version).with_context(|| {
            format!(
                "Go {version} is not set up (setup installs {:?})",
                pins::GO_VERSIONS
            )
        })
    };
    let toolchain = find(&args.go)?;
    let site = out.join("site");
    // Go writes beside the site while trunk runs: trunk replaces its whole
    // output directory when it finishes.
    let go_dir = out.join("go");

    let (trunk, go) = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| {
            let step = progress::start("[build] trunk build --release (Leptos app)", 150);
            trunk_build(&site).map(|()| step.done())
        });
        let go = build_go(args, &toolchain, &go_dir, &out.join("guests"));
        (trunk.join().expect("trunk thread"), go)
    });
    trunk?;
    let GoOutputs {
        served: go_served,
        go_pairs,
        mut costs,
    } = go?;
    let mut served = trunk_outputs(&site)?;
    std::fs::rename(&go_dir, site.join("go"))?;
    served.extend(go_served);

    let step = progress::start("[build] pre-compressing (brotli 11, gzip -9 / zopfli)", 60);
    let compressed = compress::precompress_files(
        &served
            .iter()
            .map(|f| site.join(&f.rel_path))
            .collect::<Vec<_>>(),
    )?;
    step.done();
    let mut assets = BTreeMap::new();
    for (file, (raw, compressed, took)) in served.into_iter().zip(compressed) {
        let asset = manifest::describe(
            format!("/{}", file.rel_path),
            file.hashed,
            &raw,
            &compressed,
        );
        assets.insert(file.logical, asset);
        if let Some(cost) = file.pair.and_then(|i| costs.get_mut(i)) {
            cost.compression += took;
        }
    }
    for (pair, cost) in go_pairs.iter().zip(&costs) {
        println!(
            "[build] pair {} {}: go build {:.1}s, pre-compression {:.1}s (cached when the bytes were seen before)",
            pair.go_version,
            pair.program,
            cost.go_build.as_secs_f64(),
            cost.compression.as_secs_f64()
        );
    }

    let manifest = Manifest {
        go: GoInfo {
            version: format!("go{}", toolchain.version),
            shim_sha256: hash::sha256_hex(&[&std::fs::read(toolchain.wasm_exec_js()?)?]),
        },
        go_pairs,
        assets,
    };
    manifest::write(&site, &manifest)?;
    compress::precompress_file(&site.join("manifest.json"))?;

    let step = progress::start("[build] measuring sizes (variants, floor)", 30);
    let report = sizes::report(&site, &manifest, &toolchain, BROWSER_PROGRAMS[0])?;
    sizes::write(&site, &report)?;
    compress::precompress_file(&site.join("size-report.json"))?;
    step.done();
    sizes::print(&report);
    Ok(manifest)
}

/// The Go pairs (into `go_dir`) and the sandbox guests (into `guests`).
fn build_go(
    args: &BuildArgs,
    toolchain: &Toolchain,
    go_dir: &Path,
    guests: &Path,
) -> anyhow::Result<GoOutputs> {
    let find = |version: &str| {
        Toolchain::find(version).with_context(|| {
            format!(
                "Go {version} is not set up (setup installs {:?})",
                pins::GO_VERSIONS
            )
        })
    };
    let mut served = Vec::new();
    let mut go_pairs = Vec::new();
    let mut shims = Vec::new();
    let mut costs = Vec::new();
    for version in pair_versions(&args.go) {
        let pair_toolchain = find(version)?;
        let loaded_by_app = version == args.go;
        let goroot_shim = std::fs::read(pair_toolchain.wasm_exec_js()?)?;
        for program in BROWSER_PROGRAMS {
            let step = progress::start(
                format!("[build] go {version} build {program} (GOOS=js GOARCH=wasm)"),
                0,
            );
            let built = build_go_pair(&pair_toolchain, program, go_dir)?;
            let go_version = format!("go{version}");
            let (module, shim) = manifest::go_pair_names(program, &go_version, loaded_by_app);
            for (logical, name) in [(&module, &built.wasm_name), (&shim, &built.shim_name)] {
                served.push(Served {
                    logical: logical.clone(),
                    rel_path: format!("go/{name}"),
                    hashed: true,
                    pair: Some(costs.len()),
                });
            }
            shims.push(PairShims {
                label: format!("{go_version} {program}"),
                goroot: goroot_shim.clone(),
                served: std::fs::read(go_dir.join(&built.shim_name))?,
            });
            go_pairs.push(GoPair {
                program: program.to_owned(),
                go_version,
                goroot_shim_sha256: hash::sha256_hex(&[&goroot_shim]),
                module,
                shim,
                loaded_by_app,
            });
            costs.push(PairCost {
                go_build: step.done(),
                ..PairCost::default()
            });
        }
    }
    check_shims(&shims)?;
    println!(
        "[build] shim check: {} pairs, each serving its own GOROOT's wasm_exec.js, no two alike",
        shims.len()
    );

    // Sandbox guests need Go >= 1.24 (//go:wasmexport) and are not part of
    // the shim comparison: always the main toolchain, whatever `--go` says.
    let guest_toolchain = if toolchain.version == pins::GO_MAIN {
        toolchain.clone()
    } else {
        find(pins::GO_MAIN)?
    };
    let step = progress::start("[build] sandbox guests (GOOS=wasip1)", 40);
    for guest in crate::guests::build_all(&guest_toolchain, guests)? {
        println!("[build] sandbox guest {}", guest.display());
    }
    step.done();
    Ok(GoOutputs {
        served,
        go_pairs,
        costs,
    })
}

/// `trunk build --release` into `dist`, with its cargo build in
/// `target/trunk`: the app's release build does not wait for the lock of
/// `target/` while `cargo xtask run` builds the release server.
fn trunk_build(dist: &Path) -> anyhow::Result<()> {
    cmd::run(
        cmd::new("trunk")
            .args(["--skip-version-check", "build", "--release", "--dist"])
            .arg(dist)
            .env("CARGO_TARGET_DIR", paths::target().join("trunk")),
    )
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
            pair: None,
        });
    }
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(out)
}

/// The Go module and its shim, as written into a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltPair {
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
pub fn build_go_pair(
    toolchain: &Toolchain,
    program: &str,
    dir: &Path,
) -> anyhow::Result<BuiltPair> {
    std::fs::create_dir_all(dir)?;
    // Built under a temporary name, then renamed once the hash is known.
    let unhashed = dir.join(format!("{program}.unhashed.wasm"));
    toolchain.build_js(program, &unhashed)?;
    let wasm =
        std::fs::read(&unhashed).with_context(|| format!("reading {}", unhashed.display()))?;
    let shim = std::fs::read(toolchain.wasm_exec_js()?)?;

    let tag = hash::sha256_hex(&[&wasm, &shim]);
    let tag = hash::short(&tag);
    let pair = BuiltPair {
        wasm_name: format!("{program}.{tag}.wasm"),
        shim_name: format!("wasm_exec.{tag}.js"),
        wasm_sha256: hash::sha256_hex(&[&wasm]),
        shim_sha256: hash::sha256_hex(&[&shim]),
    };
    std::fs::rename(&unhashed, dir.join(&pair.wasm_name))?;
    std::fs::write(dir.join(&pair.shim_name), &shim)?;
    Ok(pair)
}

/// One pair's shim, as the build check sees it.
#[derive(Debug, Clone)]
pub struct PairShims {
    /// Which pair (`go1.21.13 inspector`), for the error.
    pub label: String,
    /// The bytes of its GOROOT's `wasm_exec.js`.
    pub goroot: Vec<u8>,
    /// The bytes of the shim the site serves with its module.
    pub served: Vec<u8>,
}

/// Fails unless every pair serves exactly its own GOROOT's `wasm_exec.js`
/// and no two pairs share a shim: the lesson of task 9 is that the shim
/// follows the toolchain, so pairs whose shims are alike (two Go versions
/// that ship the same `wasm_exec.js`) or a shim copied from another GOROOT
/// would teach the opposite.
pub fn check_shims(pairs: &[PairShims]) -> anyhow::Result<()> {
    for pair in pairs {
        anyhow::ensure!(
            pair.served == pair.goroot,
            "{}: the served shim ({} bytes, sha256 {}) is not its GOROOT's wasm_exec.js (sha256 {})",
            pair.label,
            pair.served.len(),
            hash::sha256_hex(&[&pair.served]),
            hash::sha256_hex(&[&pair.goroot]),
        );
    }
    for (i, a) in pairs.iter().enumerate() {
        for b in &pairs[i + 1..] {
            anyhow::ensure!(
                a.goroot != b.goroot,
                "{} and {} have the same shim (sha256 {}): the pairs would not show the shim following the toolchain",
                a.label,
                b.label,
                hash::sha256_hex(&[&a.goroot]),
            );
        }
    }
    Ok(())
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

    /// What the build's check sees for a pair built into `dir`.
    fn shims_of(toolchain: &Toolchain, pair: &BuiltPair, dir: &Path) -> PairShims {
        PairShims {
            label: format!("go{}", toolchain.version),
            goroot: std::fs::read(toolchain.wasm_exec_js().unwrap()).unwrap(),
            served: std::fs::read(dir.join(&pair.shim_name)).unwrap(),
        }
    }

    #[test]
    fn the_pinned_pairs_pass_the_shim_check_and_a_swapped_shim_fails_it() {
        let (old_go, new_go) = (toolchain(pins::GO_OLD), toolchain(pins::GO_MAIN));
        let old_dir = tempfile::tempdir().unwrap();
        let new_dir = tempfile::tempdir().unwrap();
        let old = build_go_pair(&old_go, "inspector", old_dir.path()).unwrap();
        let new = build_go_pair(&new_go, "inspector", new_dir.path()).unwrap();
        let pairs = [
            shims_of(&old_go, &old, old_dir.path()),
            shims_of(&new_go, &new, new_dir.path()),
        ];
        check_shims(&pairs).unwrap();

        // The old module served with the new GOROOT's shim.
        let mut swapped = pairs.clone();
        swapped[0].served = pairs[1].served.clone();
        let err = check_shims(&swapped).unwrap_err().to_string();
        assert!(err.contains("is not its GOROOT's wasm_exec.js"), "{err}");
        assert!(err.starts_with(&format!("go{}", pins::GO_OLD)), "{err}");
    }

    #[test]
    fn two_pairs_with_the_same_shim_fail_the_shim_check() {
        // Two toolchains shipping identical wasm_exec.js bytes (as Go 1.25
        // and 1.27 do) look like this: each pair is consistent on its own.
        let go = toolchain(pins::GO_MAIN);
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = build_go_pair(&go, "inspector", a_dir.path()).unwrap();
        let b = build_go_pair(&go, "inspector", b_dir.path()).unwrap();
        let mut second = shims_of(&go, &b, b_dir.path());
        second.label = "go1.25.0".into();
        let pairs = [shims_of(&go, &a, a_dir.path()), second];
        check_shims(&pairs[..1]).unwrap();
        check_shims(&pairs[1..]).unwrap();

        let err = check_shims(&pairs).unwrap_err().to_string();
        assert!(err.contains("have the same shim"), "{err}");
    }

    #[test]
    fn the_build_makes_a_pair_per_pinned_go_with_the_apps_first() {
        assert_eq!(pair_versions(pins::GO_MAIN), [pins::GO_MAIN, pins::GO_OLD]);
        assert_eq!(pair_versions(pins::GO_OLD), [pins::GO_OLD, pins::GO_MAIN]);
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
