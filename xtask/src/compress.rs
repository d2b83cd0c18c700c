//! Pre-compression of served assets: `.br` (brotli quality 11, 16 MiB window)
//! and `.gz` (the smaller of gzip -9 and zopfli), cached by content hash so a
//! rebuild with unchanged bytes costs nothing.

use std::io::Write as _;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::{hash, paths};

/// Brotli quality: the maximum; assets are compressed once and served forever.
const BROTLI_QUALITY: u32 = 11;
/// Brotli window: 2^24 = 16 MiB, the largest window the standard (RFC 7932)
/// allows, and so the largest every browser decodes. "Large window" brotli
/// (up to 2^30) is a non-standard extension browsers reject.
const BROTLI_LGWIN: u32 = 24;
/// Zopfli iterations: its default; more iterations gain < 0.1% on our files.
const ZOPFLI_ITERATIONS: u64 = 15;

/// What compressing one file produced.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// Brotli bytes, `None` if not smaller than the original.
    pub br: Option<Vec<u8>>,
    /// Gzip bytes (smaller of flate2 -9 and zopfli), `None` if not smaller.
    pub gz: Option<Vec<u8>>,
    /// Size with brotli, for the report (even when the variant is not served).
    pub brotli_size: u64,
    /// Size with plain gzip -9 (flate2), for the report.
    pub gzip9_size: u64,
    /// Size with zopfli, for the report (`None`: not made, see
    /// [`measure_without_zopfli`]).
    pub zopfli_size: Option<u64>,
}

/// Compresses `raw` both ways (from cache when the same bytes were seen before).
pub fn compress(raw: &[u8]) -> anyhow::Result<Compressed> {
    let key = hash::sha256_hex(&[raw]);
    let (br, gzip9) = brotli_and_gzip9(&key, raw)?;
    let zopfli = cached(&key, "zopfli.gz", || zopfli(raw))?;
    let (gzip9_size, zopfli_size) = (gzip9.len() as u64, Some(zopfli.len() as u64));
    let gz = if zopfli.len() < gzip9.len() {
        zopfli
    } else {
        gzip9
    };
    let brotli_size = br.len() as u64;
    let smaller = |v: Vec<u8>| (v.len() < raw.len()).then_some(v);
    Ok(Compressed {
        brotli_size,
        br: smaller(br),
        gz: smaller(gz),
        gzip9_size,
        zopfli_size,
    })
}

/// Writes `<file>.br` and `<file>.gz` next to `file` (removing stale ones
/// when a variant is not worth serving) and returns what was produced.
pub fn precompress_file(file: &Path) -> anyhow::Result<Compressed> {
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    write_variants(file, &raw)
}

/// Compresses `raw`, the bytes of `file`, and writes the variants beside it.
fn write_variants(file: &Path, raw: &[u8]) -> anyhow::Result<Compressed> {
    let out = compress(raw)?;
    for (ext, bytes) in [("br", &out.br), ("gz", &out.gz)] {
        let variant = sibling(file, ext);
        match bytes {
            Some(bytes) => std::fs::write(&variant, bytes)
                .with_context(|| format!("writing {}", variant.display()))?,
            None if variant.exists() => std::fs::remove_file(&variant)?,
            None => {}
        }
    }
    Ok(out)
}

/// [`precompress_file`] of every file, as many at a time as there are
/// cores (brotli 11 and zopfli are single-threaded); returns each file's
/// bytes, what compressing produced, and how long that took, in order.
pub fn precompress_files(
    files: &[PathBuf],
) -> anyhow::Result<Vec<(Vec<u8>, Compressed, Duration)>> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<anyhow::Result<_>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(files.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let started = Instant::now();
                    let result = std::fs::read(file)
                        .with_context(|| format!("reading {}", file.display()))
                        .and_then(|raw| {
                            let compressed = write_variants(file, &raw)?;
                            Ok((raw, compressed, started.elapsed()))
                        });
                    *results[i].lock().expect("result lock") = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .expect("result lock")
                .expect("every file done")
        })
        .collect()
}

/// The sizes of `raw` under brotli 11 and gzip -9 (cached like
/// [`compress`]'s), without zopfli: for files that are measured, not served.
pub fn measure_without_zopfli(raw: &[u8]) -> anyhow::Result<Compressed> {
    let (br, gzip9) = brotli_and_gzip9(&hash::sha256_hex(&[raw]), raw)?;
    Ok(Compressed {
        brotli_size: br.len() as u64,
        gzip9_size: gzip9.len() as u64,
        zopfli_size: None,
        br: None,
        gz: None,
    })
}

/// Brotli 11 and gzip -9 of `raw` (SHA-256 `key`), each from the cache
/// when it holds them.
fn brotli_and_gzip9(key: &str, raw: &[u8]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let br = cached(key, "br", || brotli(raw))?;
    let gzip9 = cached(key, "gzip9.gz", || gzip9(raw))?;
    Ok((br, gzip9))
}

/// `file` with `.ext` appended (`app.wasm` → `app.wasm.br`).
pub fn sibling(file: &Path, ext: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Brotli at quality 11 with the largest standard window.
pub fn brotli(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() / 3);
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 1 << 16, BROTLI_QUALITY, BROTLI_LGWIN);
        writer.write_all(raw)?;
        writer.flush()?;
    }
    Ok(out)
}

/// gzip -9 (zlib's best level, via flate2).
pub fn gzip9(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw)?;
    Ok(encoder.finish()?)
}

/// Zopfli: gzip-compatible output, slower to make, usually a few % smaller.
pub fn zopfli(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let options = zopfli::Options {
        iteration_count: NonZeroU64::new(ZOPFLI_ITERATIONS).expect("non-zero"),
        ..Default::default()
    };
    let mut out = Vec::new();
    zopfli::compress(options, zopfli::Format::Gzip, raw, &mut out)?;
    Ok(out)
}

/// Runs `make` unless [`paths::user_cache`]`/precompress/<key>.<ext>`
/// already holds its result. Keyed by the input's SHA-256, so every clone
/// on this machine can share it, as they share Go's build cache: brotli 11
/// and zopfli of the Go modules take minutes of CPU.
fn cached(
    key: &str,
    ext: &str,
    make: impl FnOnce() -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    let dir = paths::user_cache().join("precompress");
    let path = dir.join(format!("{key}.{ext}"));
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    let bytes = make()?;
    std::fs::create_dir_all(&dir)?;
    // Write-then-rename so an interrupted build never leaves a truncated cache entry.
    // Unique per writer: builds of two workspaces, or two threads, may
    // compress the same bytes at once.
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{key}.{ext}.tmp-{}-{n}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn sample() -> Vec<u8> {
        (0..4_000u32)
            .flat_map(|i| format!("line {} of a compressible asset\n", i % 97).into_bytes())
            .collect()
    }

    #[test]
    fn brotli_round_trips_to_the_original_bytes() {
        let raw = sample();
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&brotli(&raw).unwrap()[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, raw);
    }

    #[test]
    fn zopfli_output_is_valid_gzip_of_the_original() {
        let raw = sample();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&zopfli(&raw).unwrap()[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, raw);
    }

    #[test]
    fn a_file_only_measured_gets_the_same_brotli_and_gzip_sizes_and_no_zopfli() {
        let raw = sample();
        let served = compress(&raw).unwrap();
        let measured = measure_without_zopfli(&raw).unwrap();
        assert_eq!(
            (measured.brotli_size, measured.gzip9_size),
            (served.brotli_size, served.gzip9_size)
        );
        assert_eq!(measured.zopfli_size, None);
        assert!(served.zopfli_size.is_some_and(|z| z > 0));
    }

    #[test]
    fn incompressible_input_gets_no_variants() {
        // Serving a "compressed" variant that is not smaller would cost
        // client CPU for nothing, so random bytes must get neither variant.
        use sha2::Digest as _;
        let mut raw = Vec::new();
        let mut block = sha2::Sha256::digest(b"seed").to_vec();
        while raw.len() < 64 * 1024 {
            block = sha2::Sha256::digest(&block).to_vec();
            raw.extend_from_slice(&block);
        }
        let out = compress(&raw).unwrap();
        assert!(out.br.is_none(), "brotli of random bytes is not smaller");
        assert!(out.gz.is_none(), "gzip of random bytes is not smaller");
    }
}
