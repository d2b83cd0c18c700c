//! `manifest.json`: logical name → served file, for everything in the site.
//! `cargo xtask build` writes it; the server decides caching from it (only
//! `hashed` entries are immutable) and the frontend finds the Go module
//! through it, so nothing hard-codes a hashed name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Logical name of the Leptos app's own wasm (trunk's `frontend-<hash>_bg.wasm`).
pub const APP_WASM: &str = "frontend_bg.wasm";

/// Logical name of Go browser program `program`'s module (`inspector.wasm`).
pub fn go_wasm_name(program: &str) -> String {
    format!("{program}.wasm")
}

/// Logical name of the `wasm_exec.js` built with `program` (`inspector.wasm_exec.js`).
pub fn go_shim_name(program: &str) -> String {
    format!("{program}.wasm_exec.js")
}

/// The whole manifest. The default is the empty manifest of a site that
/// has none (nothing is hashed, so nothing is cached forever).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Go toolchain that built the Go modules, and the sha256 of its shim.
    pub go: GoInfo,
    /// Logical name (`inspector.wasm`, `inspector.wasm_exec.js`,
    /// `frontend_bg.wasm`, `index.html`) → served file.
    pub assets: BTreeMap<String, ManifestAsset>,
}

/// The toolchain behind the Go modules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoInfo {
    /// `go1.27.3`.
    pub version: String,
    /// sha256 of this GOROOT's `wasm_exec.js`.
    pub shim_sha256: String,
}

/// One served file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAsset {
    /// URL path, e.g. `/go/inspector.1a2b3c4d.wasm`.
    pub path: String,
    /// True when the name changes whenever the content does, which is what
    /// makes `Cache-Control: immutable` safe.
    pub hashed: bool,
    /// sha256 of the raw (identity) bytes.
    pub sha256: String,
    /// Raw (decoded) size in bytes.
    pub size: u64,
    /// Size of the `.gz` variant, if one is served.
    pub gzip_size: Option<u64>,
    /// Size of the `.br` variant, if one is served.
    pub brotli_size: Option<u64>,
}

impl Manifest {
    /// The file with this logical name.
    pub fn asset(&self, logical: &str) -> Option<&ManifestAsset> {
        self.assets.get(logical)
    }

    /// The served path of the file with this logical name.
    pub fn path_of(&self, logical: &str) -> Option<&str> {
        self.asset(logical).map(|a| a.path.as_str())
    }

    /// Whether `path` is a content-hashed file (and so may be cached forever).
    pub fn is_hashed(&self, path: &str) -> bool {
        self.assets.values().any(|a| a.hashed && a.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(path: &str, hashed: bool) -> ManifestAsset {
        ManifestAsset {
            path: path.into(),
            hashed,
            sha256: "ab".into(),
            size: 10,
            gzip_size: Some(8),
            brotli_size: None,
        }
    }

    #[test]
    fn only_hashed_paths_are_hashed() {
        let manifest = Manifest {
            go: GoInfo::default(),
            assets: BTreeMap::from([
                (
                    go_wasm_name("inspector"),
                    asset("/go/inspector.1a2b.wasm", true),
                ),
                ("index.html".into(), asset("/index.html", false)),
            ]),
        };
        assert!(manifest.is_hashed("/go/inspector.1a2b.wasm"));
        assert!(!manifest.is_hashed("/index.html"));
        assert!(!manifest.is_hashed("/go/inspector.ffff.wasm"));
        assert_eq!(
            manifest.path_of("inspector.wasm"),
            Some("/go/inspector.1a2b.wasm")
        );
        assert_eq!(manifest.path_of(APP_WASM), None);
    }

    #[test]
    fn the_json_keeps_its_field_names_and_absent_sizes_are_null() {
        let manifest = Manifest {
            go: GoInfo {
                version: "go1.27.3".into(),
                shim_sha256: "cd".into(),
            },
            assets: BTreeMap::from([(go_shim_name("inspector"), asset("/go/w.js", true))]),
        };
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(json["go"]["version"], "go1.27.3");
        let shim = &json["assets"]["inspector.wasm_exec.js"];
        assert_eq!(shim["path"], "/go/w.js");
        assert_eq!(shim["gzip_size"], 8);
        assert!(shim["brotli_size"].is_null());
        assert_eq!(serde_json::from_value::<Manifest>(json).unwrap(), manifest);
    }
}
