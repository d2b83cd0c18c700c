//! The asset catalog: every file of the built site, loaded into memory once
//! at startup with its pre-compressed variants and the headers it will be
//! served with. Requests never touch the filesystem, so no request path can
//! reach outside the asset root.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::HeaderValue;
use sha2::{Digest as _, Sha256};
use wire::Manifest;

use super::cache_control::cache_control_for;
use super::content_type::content_type_for;
use super::csp::csp_for_html;
use super::negotiate::Encoding;

/// Why the asset root could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `manifest.json` exists but is not a valid manifest.
    #[error("invalid manifest {path}: {source}")]
    Manifest {
        /// Path of the manifest.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// One encoding of a file.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The bytes sent for this encoding.
    pub bytes: Bytes,
    /// Strong ETag, different for each encoding of the same file (the bytes
    /// differ, and caches must not serve one for the other).
    pub etag: HeaderValue,
}

/// A served file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `Content-Type` of the raw bytes.
    pub content_type: HeaderValue,
    /// `Cache-Control` from the manifest's `hashed` flag.
    pub cache_control: HeaderValue,
    /// `Content-Security-Policy` for HTML documents.
    pub csp: Option<HeaderValue>,
    identity: Variant,
    brotli: Option<Variant>,
    gzip: Option<Variant>,
}

impl Entry {
    fn new(
        path: &str,
        raw: Bytes,
        brotli: Option<Bytes>,
        gzip: Option<Bytes>,
        hashed: bool,
    ) -> Self {
        let digest = hex::encode(&Sha256::digest(&raw)[..16]);
        let variant = |bytes: Bytes, suffix: &str| Variant {
            bytes,
            etag: HeaderValue::from_str(&format!("\"{digest}{suffix}\"")).expect("hex is ASCII"),
        };
        let content_type = content_type_for(path);
        let csp = path
            .ends_with(".html")
            .then(|| csp_for_html(&String::from_utf8_lossy(&raw)));
        Self {
            content_type,
            cache_control: cache_control_for(hashed),
            csp,
            brotli: brotli.map(|b| variant(b, ".br")),
            gzip: gzip.map(|b| variant(b, ".gz")),
            identity: variant(raw, ""),
        }
    }

    /// Encodings this file can be sent in, identity always included.
    pub fn available(&self) -> Vec<Encoding> {
        let mut out = Vec::with_capacity(3);
        if self.brotli.is_some() {
            out.push(Encoding::Brotli);
        }
        if self.gzip.is_some() {
            out.push(Encoding::Gzip);
        }
        out.push(Encoding::Identity);
        out
    }

    /// Whether the response depends on `Accept-Encoding` (then every
    /// response for it, identity and 304 included, says `Vary`).
    pub fn is_negotiable(&self) -> bool {
        self.brotli.is_some() || self.gzip.is_some()
    }

    /// The bytes and ETag for `encoding` (identity if that variant is absent).
    pub fn variant(&self, encoding: Encoding) -> &Variant {
        match encoding {
            Encoding::Brotli => self.brotli.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        }
        .unwrap_or(&self.identity)
    }

    /// The raw bytes.
    pub fn identity(&self) -> &Variant {
        &self.identity
    }
}

/// Every served file by URL path.
#[derive(Debug, Default)]
pub struct Catalog {
    files: HashMap<String, Entry>,
    manifest: Manifest,
}

impl Catalog {
    /// Loads `root`. A missing root gives an empty catalog (the server can
    /// still answer `/healthz` and the API); an unreadable one is an error.
    pub fn load(root: &Path) -> Result<Self, CatalogError> {
        if !root.is_dir() {
            tracing::warn!(root = %root.display(), "asset root missing: serving no assets (run `cargo xtask build`)");
            return Ok(Self::default());
        }
        let manifest = read_manifest(root)?;
        let mut files = HashMap::new();
        for file in walk(root)? {
            let name = file.to_string_lossy();
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let rel = file
                .strip_prefix(root)
                .expect("walk yields paths under root")
                .to_string_lossy()
                .replace('\\', "/");
            let url_path = format!("/{rel}");
            let raw = read(&file)?;
            let brotli = read_optional(&sibling(&file, "br"))?;
            let gzip = read_optional(&sibling(&file, "gz"))?;
            let hashed = manifest.is_hashed(&url_path);
            files.insert(
                url_path.clone(),
                Entry::new(&url_path, raw, brotli, gzip, hashed),
            );
        }
        if let Some(index) = files.get("/index.html").cloned() {
            files.insert("/".to_owned(), index);
        }
        tracing::info!(root = %root.display(), files = files.len(), "asset catalog loaded");
        Ok(Self { files, manifest })
    }

    /// The file served at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// The build manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

fn read_manifest(root: &Path) -> Result<Manifest, CatalogError> {
    let path = root.join("manifest.json");
    match read_optional(&path)? {
        None => Ok(Manifest::default()),
        Some(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| CatalogError::Manifest { path, source })
        }
    }
}

fn walk(root: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let io = |source| CatalogError::Io {
            path: dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let kind = entry.file_type().map_err(io)?;
            // Symlinks are not followed: the catalog is exactly what is under the root.
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}

fn sibling(file: &Path, ext: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn read(path: &Path) -> Result<Bytes, CatalogError> {
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|source| CatalogError::Io {
            path: path.to_owned(),
            source,
        })
}

fn read_optional(path: &Path) -> Result<Option<Bytes>, CatalogError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Bytes::from(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CatalogError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}
