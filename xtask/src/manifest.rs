//! Writing `manifest.json` (its shape is [`wire::Manifest`], read by the
//! server, the frontend and the assets bench): describing each served file,
//! and the logical names of the app's hashed outputs.

use std::path::Path;

use anyhow::Context as _;

pub use wire::manifest::{GoInfo, GoPair, Manifest, ManifestAsset, go_pair_names, go_wasm_name};

use crate::compress::Compressed;
use crate::hash;

/// Describes `raw`, served at `path`, with its compressed variants.
pub fn describe(path: String, hashed: bool, raw: &[u8], compressed: &Compressed) -> ManifestAsset {
    ManifestAsset {
        path,
        hashed,
        sha256: hash::sha256_hex(&[raw]),
        size: raw.len() as u64,
        gzip_size: compressed.gz.as_ref().map(|v| v.len() as u64),
        brotli_size: compressed.br.as_ref().map(|v| v.len() as u64),
    }
}

/// Logical name and hashed-ness of a file the app's build wrote: it
/// appends `-<hex>` (8 to 16 digits) to the stem (`frontend-d28b…_bg.wasm`,
/// `style-a1e4….css`); `index.html` keeps its name.
pub fn hashed_logical_name(file_name: &str) -> (String, bool) {
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

/// Reads `site/manifest.json`.
pub fn read(site: &Path) -> anyhow::Result<Manifest> {
    let path = site.join("manifest.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
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
    fn hashed_names_map_to_logical_names() {
        assert_eq!(
            hashed_logical_name("frontend-d28b1620a5ac428f_bg.wasm"),
            ("frontend_bg.wasm".to_owned(), true)
        );
        assert_eq!(
            hashed_logical_name("frontend-d28b1620a5ac428f.js"),
            ("frontend.js".to_owned(), true)
        );
        assert_eq!(
            hashed_logical_name("style-a1e429167dcd75b.css"),
            ("style.css".to_owned(), true)
        );
    }

    #[test]
    fn unhashed_names_are_not_marked_immutable() {
        assert_eq!(
            hashed_logical_name("index.html"),
            ("index.html".to_owned(), false)
        );
        assert_eq!(
            hashed_logical_name("my-app.js"),
            ("my-app.js".to_owned(), false)
        );
    }
}
