//! The Go side of the build: a module/shim pair per pinned Go (each
//! named by one hash over both, and checked to serve its own GOROOT's
//! shim) and the sandbox guests. It runs while trunk builds the app.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::{BROWSER_PROGRAMS, BuildArgs, Served};
use crate::go::Toolchain;
use crate::manifest::{self, GoPair};
use crate::{hash, pins, progress};

/// What one Go pair cost this build.
#[derive(Debug, Default)]
pub(super) struct PairCost {
    pub go_build: Duration,
    pub compression: Duration,
}

/// The Go versions whose pairs the build produces: `--go` first (the pair
/// the app loads), then every other pinned version.
pub fn pair_versions(app_go: &str) -> Vec<&str> {
    let mut versions = vec![app_go];
    versions.extend(pins::GO_VERSIONS.iter().filter(|v| **v != app_go));
    versions
}

/// What the Go side of the build made while trunk ran.
pub(super) struct GoOutputs {
    pub served: Vec<Served>,
    pub go_pairs: Vec<GoPair>,
    pub costs: Vec<PairCost>,
}

/// The pinned Go toolchain `version`, or what setup should have installed.
pub(super) fn find_go(version: &str) -> anyhow::Result<Toolchain> {
    Toolchain::find(version).with_context(|| {
        format!(
            "Go {version} is not set up (setup installs {:?})",
            pins::GO_VERSIONS
        )
    })
}

/// The Go pairs (into `go_dir`) and the sandbox guests (into `guests`).
pub(super) fn build_go(
    args: &BuildArgs,
    toolchain: &Toolchain,
    go_dir: &Path,
    guests: &Path,
) -> anyhow::Result<GoOutputs> {
    let mut served = Vec::new();
    let mut go_pairs = Vec::new();
    let mut shims = Vec::new();
    let mut costs = Vec::new();
    for version in pair_versions(&args.go) {
        let pair_toolchain = find_go(version)?;
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
        find_go(pins::GO_MAIN)?
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
