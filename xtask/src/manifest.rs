//! `manifest.json`: logical name → served file, for everything in the site.
//!
//! The server decides caching from it (only `hashed` entries are immutable)
//! and the frontend finds the Go module through it; nothing hard-codes a
//! hashed name.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::compress::Compressed;
use crate::hash;

/// The whole manifest.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Go toolchain that built the Go modules, and the sha256 of its shim.
    pub go: GoInfo,
    /// Logical name (`inspector.wasm`, `inspector.wasm_exec.js`, `frontend_bg.wasm`,
    /// `index.html`) → served file.
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
#[derive(Debug, Clone, Serialize)]
pub struct Asset {
    /// URL path, e.g. `/go/inspector.1a2b3c4d.wasm`.
    pub path: String,
    /// True when the name changes whenever the content does, which is what
    /// makes `Cache-Control: immutable` safe.
    pub hashed: bool,
    /// sha256 of the raw (identity) bytes.
    pub sha256: String,
    /// Raw size in bytes.
    pub size: u64,
    /// Size of the `.gz` variant, if one is served.
    pub gzip_size: Option<u64>,
    /// Size of the `.br` variant, if one is served.
    pub brotli_size: Option<u64>,
}

impl Asset {
    /// Describes `raw`, served at `path`, with its compressed variants.
    pub fn new(path: String, hashed: bool, raw: &[u8], compressed: &Compressed) -> Self {
        Self {
            path,
            hashed,
            sha256: hash::sha256_hex(&[raw]),
            size: raw.len() as u64,
            gzip_size: compressed.gz.as_ref().map(|v| v.len() as u64),
            brotli_size: compressed.br.as_ref().map(|v| v.len() as u64),
        }
    }
}

/// Logical name and hashed-ness of a file trunk wrote: trunk appends
/// `-<hex>` (8 to 16 digits) to the stem (`frontend-d28b…_bg.wasm`,
/// `style-a1e4….css`); `index.html` keeps its name.
pub fn trunk_logical_name(file_name: &str) -> (String, bool) {
    let Some((stem, rest)) = file_name.split_once('-') else {
        return (file_name.to_owned(), false);
    };
    let hex_len = rest.chars().take_while(char::is_ascii_hexdigit).count();
    let after = &rest[hex_len..];
    if (8..=16).contains(&hex_len) && (after.starts_with('.') || after.starts_with('_')) {
        (format!("{stem}{after}"), true)
    } else {
        (file_name.to_owned(), false)
    }
}

/// Writes `manifest` as `site/manifest.json`.
pub fn write(site: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let path = site.join("manifest.json");
    std::fs::write(&path, serde_json::to_vec_pretty(manifest)?)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_map_to_logical_names() {
        assert_eq!(
            trunk_logical_name("frontend-d28b1620a5ac428f_bg.wasm"),
            ("frontend_bg.wasm".to_owned(), true)
        );
        assert_eq!(
            trunk_logical_name("frontend-d28b1620a5ac428f.js"),
            ("frontend.js".to_owned(), true)
        );
        assert_eq!(
            trunk_logical_name("style-a1e429167dcd75b.css"),
            ("style.css".to_owned(), true)
        );
    }

    #[test]
    fn unhashed_names_are_not_marked_immutable() {
        assert_eq!(
            trunk_logical_name("index.html"),
            ("index.html".to_owned(), false)
        );
        assert_eq!(
            trunk_logical_name("my-app.js"),
            ("my-app.js".to_owned(), false)
        );
    }
}
