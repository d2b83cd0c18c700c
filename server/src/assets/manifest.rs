//! Reading `manifest.json`, written by `cargo xtask build`: which served
//! paths are content-hashed, and which logical name each path has.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The parts of the manifest the server uses.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Manifest {
    /// Logical name → served file.
    #[serde(default)]
    pub assets: BTreeMap<String, ManifestAsset>,
}

/// One served file, as the build described it.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestAsset {
    /// URL path (`/go/inspector.1a2b3c4d.wasm`).
    pub path: String,
    /// The name changes whenever the content does.
    pub hashed: bool,
    /// sha256 of the identity bytes.
    pub sha256: String,
}

impl Manifest {
    /// Whether `path` is a content-hashed file (and so may be cached forever).
    pub fn is_hashed(&self, path: &str) -> bool {
        self.assets.values().any(|a| a.hashed && a.path == path)
    }

    /// The served path of the asset with this logical name.
    pub fn path_of(&self, logical: &str) -> Option<&str> {
        self.assets.get(logical).map(|a| a.path.as_str())
    }
}
