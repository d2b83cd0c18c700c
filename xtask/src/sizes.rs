//! The size report (seed task 2): raw / gzip / brotli bytes and ratios for
//! every served artifact and for build variants of the Go module, plus the
//! measured size floor of any Go js/wasm binary. Printed by `cargo xtask
//! build` and written to `site/size-report.json`, which the server serves at
//! `/api/assets`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::go::Toolchain;
use crate::manifest::Manifest;
use crate::{cmd, compress, hash, paths};

/// Go program whose stripped size is the floor of every Go js/wasm binary.
const FLOOR_PROGRAM: &str = "floor";

/// Wasm features Go's compiler emits (sign extension and saturating
/// float-to-int conversions since Go 1.21); wasm-opt refuses the module
/// without them because Go writes no `target_features` section.
const GO_WASM_FEATURES: [&str; 4] = [
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-mutable-globals",
];

pub use wire::{SizeReport, SizeRow};

/// Whether a measured file is sent to browsers (and so pre-compressed
/// with zopfli too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Served {
    Yes,
    No,
}

/// Measures `raw` under the compressions the pipeline uses: a served file
/// under all three (the pre-compression step has cached them), another
/// under gzip -9 and brotli 11 only (zopfli would cost a minute of CPU per
/// Go module on a fresh machine, for a number nobody is sent).
fn measure(name: impl Into<String>, raw: &[u8], served: Served) -> anyhow::Result<SizeRow> {
    let c = match served {
        Served::Yes => compress::compress(raw)?,
        Served::No => compress::measure_without_zopfli(raw)?,
    };
    let brotli = c.brotli_size;
    let raw_len = raw.len() as u64;
    let ratio = |n: u64| {
        if raw_len == 0 {
            1.0
        } else {
            n as f64 / raw_len as f64
        }
    };
    Ok(SizeRow {
        name: name.into(),
        raw: raw_len,
        gzip9: c.gzip9_size,
        zopfli: c.zopfli_size,
        brotli,
        gzip_ratio: ratio(c.zopfli_size.map_or(c.gzip9_size, |z| z.min(c.gzip9_size))),
        brotli_ratio: ratio(brotli),
    })
}

/// Measures everything in `manifest` (files under `site`) and the variants of
/// `main_program` built with `toolchain`.
pub fn report(
    site: &Path,
    manifest: &Manifest,
    toolchain: &Toolchain,
    main_program: &str,
) -> anyhow::Result<SizeReport> {
    let mut artifacts = Vec::new();
    for (name, asset) in &manifest.assets {
        let file = site.join(asset.path.trim_start_matches('/'));
        let raw = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        artifacts.push(measure(
            format!("{name} ({})", asset.path),
            &raw,
            Served::Yes,
        )?);
    }

    let dir = paths::target()
        .join("go")
        .join(&toolchain.version)
        .join("variants");
    let unstripped = dir.join(format!("{main_program}.unstripped.wasm"));
    toolchain.build_js_with(main_program, &unstripped, false)?;
    let stripped = dir.join(format!("{main_program}.wasm"));
    toolchain.build_js(main_program, &stripped)?;
    let optimized = wasm_opt_oz(&stripped)?;
    let floor = dir.join(format!("{FLOOR_PROGRAM}.wasm"));
    toolchain.build_js(FLOOR_PROGRAM, &floor)?;

    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let inputs = [
        (
            format!("{main_program}.wasm, no -s -w"),
            read(&unstripped)?,
            Served::No,
        ),
        (
            format!("{main_program}.wasm, -s -w (served)"),
            read(&stripped)?,
            Served::Yes,
        ),
        (
            format!("{main_program}.wasm, -s -w + wasm-opt -Oz"),
            read(&optimized)?,
            Served::No,
        ),
        (
            "empty func main(), -s -w".to_owned(),
            read(&floor)?,
            Served::No,
        ),
    ];
    // Side by side: a cold cache means brotli 11 over megabytes, one thread each.
    let mut rows = std::thread::scope(|scope| {
        let measuring: Vec<_> = inputs
            .iter()
            .map(|(name, raw, served)| scope.spawn(move || measure(name.clone(), raw, *served)))
            .collect();
        measuring
            .into_iter()
            .map(|m| m.join().expect("measuring thread"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let floor = rows.pop().expect("the floor row");
    Ok(SizeReport {
        go_version: format!("go{}", toolchain.version),
        artifacts,
        variants: rows,
        floor,
    })
}

/// `wasm-opt -Oz` of `input`, cached by the input's hash in the user's
/// cache (it takes a while on a multi-megabyte Go module).
fn wasm_opt_oz(input: &Path) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::read(input)?;
    let dir = paths::user_cache().join("wasm-opt");
    std::fs::create_dir_all(&dir)?;
    let out = dir.join(format!("{}.oz.wasm", hash::sha256_hex(&[&bytes])));
    if !out.is_file() {
        let tmp = out.with_extension(format!("tmp-{}", std::process::id()));
        cmd::run(
            cmd::new("wasm-opt")
                .arg("-Oz")
                .args(GO_WASM_FEATURES)
                .arg(input)
                .arg("-o")
                .arg(&tmp),
        )
        .context("wasm-opt -Oz on the Go module")?;
        std::fs::rename(&tmp, &out)?;
    }
    Ok(out)
}

/// Writes the report to `site/size-report.json`.
pub fn write(site: &Path, report: &SizeReport) -> anyhow::Result<()> {
    let path = site.join("size-report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The report as a text table.
pub fn print(report: &SizeReport) {
    println!(
        "\n{:<58} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7}",
        "artifact", "raw", "gzip -9", "zopfli", "brotli 11", "gz %", "br %"
    );
    let row = |r: &SizeRow| {
        println!(
            "{:<58} {:>10} {:>10} {:>10} {:>10} {:>6.1}% {:>6.1}%",
            r.name,
            r.raw,
            r.gzip9,
            r.zopfli.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            r.brotli,
            r.gzip_ratio * 100.0,
            r.brotli_ratio * 100.0
        )
    };
    report.artifacts.iter().for_each(row);
    println!("-- variants of the Go module ({})", report.go_version);
    report.variants.iter().for_each(row);
    row(&report.floor);
    println!(
        "size floor of a Go js/wasm binary ({}): {} bytes raw, {} gzip, {} brotli",
        report.go_version,
        report.floor.raw,
        report
            .floor
            .zopfli
            .map_or(report.floor.gzip9, |z| z.min(report.floor.gzip9)),
        report.floor.brotli
    );
}
