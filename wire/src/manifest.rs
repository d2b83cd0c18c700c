//! `manifest.json`: logical name → served file, for everything in the site.
//! `cargo xtask build` writes it; the server decides caching from it (only
//! `hashed` entries are immutable) and the frontend finds the Go module
//! through it, so nothing hard-codes a hashed name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Logical name of the Leptos app's own wasm (`frontend-<hash>_bg.wasm`).
pub const APP_WASM: &str = "frontend_bg.wasm";

/// The Go browser program the app loads (`guest-go/cmd/inspector/`): the
/// build serves its pairs, the app and the server's lessons find them in
/// the manifest under [`go_wasm_name`] of it.
pub const GO_BROWSER_PROGRAM: &str = "inspector";

/// Logical name of Go browser program `program`'s module (`inspector.wasm`).
pub fn go_wasm_name(program: &str) -> String {
    format!("{program}.wasm")
}

/// Logical name of the `wasm_exec.js` built with `program` (`inspector.wasm_exec.js`).
pub fn go_shim_name(program: &str) -> String {
    format!("{program}.wasm_exec.js")
}

/// Logical names (module, shim) of `program` built by `go_version`
/// (`go1.21.13`): the app's pair keeps the plain names
/// ([`go_wasm_name`], [`go_shim_name`]), every other pair carries its Go
/// version (`inspector.go1.21.13.wasm`, `inspector.go1.21.13.wasm_exec.js`).
pub fn go_pair_names(program: &str, go_version: &str, loaded_by_app: bool) -> (String, String) {
    if loaded_by_app {
        (go_wasm_name(program), go_shim_name(program))
    } else {
        (
            go_wasm_name(&format!("{program}.{go_version}")),
            go_shim_name(&format!("{program}.{go_version}")),
        )
    }
}

/// The whole manifest. The default is the empty manifest of a site that
/// has none (nothing is hashed, so nothing is cached forever).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Go toolchain that built the Go modules the app loads, and the sha256
    /// of its shim.
    pub go: GoInfo,
    /// Every Go module / shim pair the build produced, one per pinned Go
    /// version and browser program, the app's first (seed task 9). Absent in
    /// manifests written before pairs were recorded.
    #[serde(default)]
    pub go_pairs: Vec<GoPair>,
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

/// A Go browser module and the `wasm_exec.js` of the GOROOT that built it,
/// both served under one content hash; their paths, hashes and sizes are
/// the [`Manifest::assets`] entries named here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoPair {
    /// Go program under `guest-go/cmd/` (`inspector`).
    pub program: String,
    /// `go1.21.13`.
    pub go_version: String,
    /// sha256 of that GOROOT's `wasm_exec.js`, read from the toolchain at
    /// build time (not from the served copy).
    pub goroot_shim_sha256: String,
    /// Logical name of the module in [`Manifest::assets`].
    pub module: String,
    /// Logical name of the shim in [`Manifest::assets`].
    pub shim: String,
    /// True for the pair the app loads (the one `--go` chose).
    pub loaded_by_app: bool,
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

    /// The served module of `pair`.
    pub fn pair_module(&self, pair: &GoPair) -> Option<&ManifestAsset> {
        self.asset(&pair.module)
    }

    /// The served shim of `pair`.
    pub fn pair_shim(&self, pair: &GoPair) -> Option<&ManifestAsset> {
        self.asset(&pair.shim)
    }

    /// Whether the shim served with `pair` has the bytes of its GOROOT's
    /// `wasm_exec.js` (false when the shim is not in the manifest).
    pub fn serves_goroot_shim(&self, pair: &GoPair) -> bool {
        self.pair_shim(pair)
            .is_some_and(|shim| shim.sha256 == pair.goroot_shim_sha256)
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

    fn pair(go_version: &str, goroot_shim_sha256: &str, loaded_by_app: bool) -> GoPair {
        let (module, shim) = go_pair_names("inspector", go_version, loaded_by_app);
        GoPair {
            program: "inspector".into(),
            go_version: go_version.into(),
            goroot_shim_sha256: goroot_shim_sha256.into(),
            module,
            shim,
            loaded_by_app,
        }
    }

    #[test]
    fn only_the_apps_pair_keeps_the_plain_logical_names() {
        assert_eq!(
            go_pair_names("inspector", "go1.27.3", true),
            (
                "inspector.wasm".to_owned(),
                "inspector.wasm_exec.js".to_owned()
            )
        );
        assert_eq!(
            go_pair_names("inspector", "go1.21.13", false),
            (
                "inspector.go1.21.13.wasm".to_owned(),
                "inspector.go1.21.13.wasm_exec.js".to_owned()
            )
        );
    }

    #[test]
    fn a_pair_serves_its_goroot_shim_only_when_the_hashes_agree() {
        let old = pair("go1.21.13", "ab", false);
        let mut manifest = Manifest {
            go_pairs: vec![old.clone()],
            assets: BTreeMap::from([(old.shim.clone(), asset("/go/wasm_exec.1.js", true))]),
            ..Manifest::default()
        };
        assert!(manifest.serves_goroot_shim(&old), "asset sha256 is ab");
        assert!(manifest.pair_module(&old).is_none());
        manifest.assets.get_mut(&old.shim).unwrap().sha256 = "ef".into();
        assert!(!manifest.serves_goroot_shim(&old));
        manifest.assets.clear();
        assert!(!manifest.serves_goroot_shim(&old), "no shim served");
    }

    #[test]
    fn a_manifest_without_pairs_still_parses() {
        let json = r#"{"go":{"version":"go1.27.3","shim_sha256":"ab"},"assets":{}}"#;
        let manifest: Manifest = serde_json::from_str(json).unwrap();
        assert!(manifest.go_pairs.is_empty());
    }

    #[test]
    fn only_hashed_paths_are_hashed() {
        let manifest = Manifest {
            go: GoInfo::default(),
            go_pairs: Vec::new(),
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
            go_pairs: vec![pair("go1.27.3", "cd", true)],
            assets: BTreeMap::from([(go_shim_name("inspector"), asset("/go/w.js", true))]),
        };
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(json["go"]["version"], "go1.27.3");
        assert_eq!(json["go_pairs"][0]["go_version"], "go1.27.3");
        assert_eq!(json["go_pairs"][0]["shim"], "inspector.wasm_exec.js");
        let shim = &json["assets"]["inspector.wasm_exec.js"];
        assert_eq!(shim["path"], "/go/w.js");
        assert_eq!(shim["gzip_size"], 8);
        assert!(shim["brotli_size"].is_null());
        assert_eq!(serde_json::from_value::<Manifest>(json).unwrap(), manifest);
    }
}
