//! `cargo xtask build`: the Leptos app (`build/app.rs`), the Go browser modules with
//! their own shim, and the sandbox guests, assembled into `target/site`
//! (a link to the build's directory, see [`crate::builds`]):
//! every served file pre-compressed, described by `manifest.json`, measured
//! in `size-report.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

mod app;
mod pairs;

use pairs::{GoOutputs, PairCost, build_go};

use crate::builds::{self, Builds};
use crate::go::Toolchain;
use crate::manifest::{self, GoInfo, Manifest, ManifestAsset};
use crate::{compress, hash, paths, pins, progress, sizes};

/// Browser programs under `guest-go/cmd/`, built for `GOOS=js GOARCH=wasm`
/// and served; the first one is the subject of the size report's variants.
pub const BROWSER_PROGRAMS: [&str; 1] = [wire::manifest::GO_BROWSER_PROGRAM];

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
            "[build] nothing changed ({} input files, fingerprint {}): skipped the app's build, the Go builds, \
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

/// Builds into `out/site` and `out/guests`: the app and the Go builds side
/// by side (the app's release build leaves a core idle for long
/// stretches: its own crate is one codegen unit, wasm-opt one thread),
/// then every file's pre-compression, two at a time.
fn build_into(args: &BuildArgs, out: &Path) -> anyhow::Result<Manifest> {
    let toolchain = pairs::find_go(&args.go)?;
    let site = out.join("site");
    // Go writes beside the site while the app builds, then moves in.
    let go_dir = out.join("go");

    let (app, go) = std::thread::scope(|scope| {
        let app = scope.spawn(|| {
            let step = progress::start(
                "[build] the Leptos app (cargo build --release, wasm-bindgen, wasm-opt -Oz)",
                // From nothing, beside another build: 319-352 s.
                320,
            );
            app::build(&site).map(|()| step.done())
        });
        let go = build_go(args, &toolchain, &go_dir, &out.join("guests"));
        (app.join().expect("app build thread"), go)
    });
    app?;
    let GoOutputs {
        served: go_served,
        go_pairs,
        mut costs,
    } = go?;
    let mut served = app_outputs(&site)?;
    std::fs::rename(&go_dir, site.join("go"))?;
    served.extend(go_served);

    let assets = precompress(&site, served, &mut costs)?;
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

    measure_sizes(&site, &manifest, &toolchain)?;
    Ok(manifest)
}

/// Pre-compresses every served file (two at a time) and describes each
/// for the manifest, adding its compression time to its Go pair's cost.
fn precompress(
    site: &Path,
    served: Vec<Served>,
    costs: &mut [PairCost],
) -> anyhow::Result<BTreeMap<String, ManifestAsset>> {
    // 110 s with an empty cache; nothing once the bytes were seen.
    let step = progress::start("[build] pre-compressing (brotli 11, gzip -9 / zopfli)", 110);
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
    Ok(assets)
}

/// Writes the size report (variants of the first browser program, the
/// floor) beside the manifest, pre-compressed, and prints it.
fn measure_sizes(site: &Path, manifest: &Manifest, toolchain: &Toolchain) -> anyhow::Result<()> {
    // With empty caches: wasm-opt -Oz of the Go module (48 s alone, on
    // one thread), Go builds of the variants, brotli 11 of three of them
    // (zopfli only for the served one, cached by the pre-compression).
    // 189 s on a fresh machine beside the release server build when it
    // still ran zopfli on all four; seconds with warm caches.
    let step = progress::start("[build] measuring sizes (variants, floor)", 150);
    let report = sizes::report(site, manifest, toolchain, BROWSER_PROGRAMS[0])?;
    sizes::write(site, &report)?;
    compress::precompress_file(&site.join("size-report.json"))?;
    step.done();
    sizes::print(&report);
    Ok(())
}

/// The files the app's build wrote at the top of the site (a fresh
/// directory, so nothing stale is there).
fn app_outputs(site: &Path) -> anyhow::Result<Vec<Served>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(site).with_context(|| format!("reading {}", site.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let (logical, hashed) = manifest::hashed_logical_name(&name);
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
