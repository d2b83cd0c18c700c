//! The plugin registry (seed task 12): modules keyed by the SHA-256 of their
//! bytes, validated at upload (size, magic, compile, ABI exports, a smoke
//! call), persisted atomically, with an active digest per plugin name that
//! can be switched and rolled back at runtime and survives a restart.
//!
//! Calls resolve name → digest once and then run on that digest's compiled
//! module, so switching the active digest never disturbs calls in flight.

pub mod digest;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

pub use digest::PluginDigest;

use crate::sandbox::{Output, Sandbox, SandboxError};

/// Largest module accepted.
pub const MAX_MODULE_BYTES: usize = 32 * 1024 * 1024;
/// Input of the smoke call every upload must pass.
pub const SMOKE_INPUT: &[u8] = b"a\n1\n";
/// Exports a plugin must have (the sandbox ABI).
pub const REQUIRED_EXPORTS: [&str; 5] = [
    "memory",
    "wip_alloc",
    "wip_process",
    "wip_output_ptr",
    "wip_output_len",
];

/// What is stored about a module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginMeta {
    /// Its identity.
    pub digest: PluginDigest,
    /// Plugin name it was uploaded under.
    pub name: String,
    /// Free-form version label.
    pub version: String,
    /// Size in bytes.
    pub size: usize,
    /// Exported names.
    pub exports: Vec<String>,
    /// Unix seconds.
    pub uploaded_at: u64,
    /// The stored precompiled code, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactMeta>,
}

/// wasmtime's precompiled code for a module, stored beside its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// Fingerprint of the engine that made it (see
    /// [`crate::sandbox::artifact::fingerprint`]); another engine recompiles.
    pub engine: String,
    /// SHA-256 of the artifact bytes, checked before they are loaded.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
}

/// The active digest of a name and the ones active before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    /// Serving now.
    pub active: PluginDigest,
    /// Previously active, oldest first; rollback pops the last.
    pub history: Vec<PluginDigest>,
}

/// Why a registry operation failed. None of these changes stored data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// Over [`MAX_MODULE_BYTES`].
    #[error("module of {size} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Does not start with the wasm magic number.
    #[error("not a WebAssembly module")]
    NotWasm,
    /// Failed validation (compile, link, exports, smoke call).
    #[error("rejected: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// No module with this digest.
    #[error("no plugin with digest {digest}")]
    UnknownDigest {
        /// The digest.
        digest: String,
    },
    /// No plugin with this name.
    #[error("no plugin named {name}")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// The digest belongs to another plugin name.
    #[error("digest {digest} was uploaded as {owner}, not {name}")]
    WrongName {
        /// The digest.
        digest: String,
        /// Its name.
        owner: String,
        /// The name asked for.
        name: String,
    },
    /// Rollback with no previous digest.
    #[error("{name} has no previous version to roll back to")]
    NoPrevious {
        /// The name.
        name: String,
    },
    /// A plugin name outside `[a-z0-9_-]{1,64}`.
    #[error("invalid plugin name {name:?}")]
    BadName {
        /// The name.
        name: String,
    },
    /// The disk failed.
    #[error("storage: {0}")]
    Storage(String),
}

fn artifact_path(modules: &Path, digest: &PluginDigest) -> PathBuf {
    modules.join(format!("{digest}.cwasm"))
}

fn module_path(modules: &Path, digest: &PluginDigest) -> PathBuf {
    modules.join(format!("{digest}.wasm"))
}

/// Writes a module's metadata: the write that makes it "stored".
fn write_meta(modules: &Path, meta: &PluginMeta) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(meta).expect("serialisable");
    store::atomic_write(&modules.join(format!("{}.json", meta.digest)), &json)
}

/// Loads a stored module into the sandbox: from its artifact when it was
/// made by this engine and is intact, else by compiling `bytes` and storing
/// a new artifact. Returns the metadata as it is now on disk, and whether
/// the artifact was used.
fn load_stored(
    sandbox: &Sandbox,
    modules: &Path,
    meta: PluginMeta,
    bytes: &[u8],
) -> Result<(PluginMeta, bool), RegistryError> {
    let key = meta.digest.as_str();
    if let Some(artifact) = meta
        .artifact
        .as_ref()
        .filter(|a| a.engine == sandbox.engine_fingerprint())
    {
        let loaded = std::fs::read(artifact_path(modules, &meta.digest))
            .map_err(|e| e.to_string())
            .and_then(|code| {
                sandbox
                    .load_precompiled(key, key, bytes.len(), &code, &artifact.sha256)
                    .map_err(|e| e.to_string())
            });
        match loaded {
            Ok(_) => return Ok((meta, true)),
            Err(reason) => {
                tracing::warn!(digest = key, %reason, "precompiled artifact unusable; recompiling")
            }
        }
    }
    sandbox
        .load(key, bytes)
        .map_err(|e| storage(format!("recompiling {key}: {e}")))?;
    let updated = store_artifact(sandbox, modules, meta.clone());
    if updated != meta
        && let Err(e) = write_meta(modules, &updated)
    {
        tracing::warn!(digest = key, error = %e, "could not record the new artifact");
        return Ok((meta, false));
    }
    Ok((updated, false))
}

/// Writes the loaded module's artifact and returns `meta` pointing at it
/// (unchanged, without an artifact, when that fails: the registry works
/// without one, it only starts slower).
fn store_artifact(sandbox: &Sandbox, modules: &Path, mut meta: PluginMeta) -> PluginMeta {
    let Some(code) = sandbox.precompiled(meta.digest.as_str()) else {
        return meta;
    };
    match store::atomic_write(&artifact_path(modules, &meta.digest), &code) {
        Ok(()) => {
            meta.artifact = Some(ArtifactMeta {
                engine: sandbox.engine_fingerprint().to_owned(),
                sha256: crate::sandbox::artifact::digest(&code),
                size: code.len(),
            });
        }
        Err(e) => tracing::warn!(digest = %meta.digest, error = %e, "could not store the artifact"),
    }
    meta
}

#[derive(Debug, Default)]
struct State {
    plugins: BTreeMap<PluginDigest, PluginMeta>,
    names: BTreeMap<String, Activation>,
}

/// How [`Registry::open`] got its modules ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OpenStats {
    /// Loaded from a stored precompiled artifact.
    pub precompiled: usize,
    /// Compiled from their bytes (no usable artifact; a new one was stored).
    pub compiled: usize,
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    dir: PathBuf,
    sandbox: Arc<Sandbox>,
    state: RwLock<State>,
    opened: OpenStats,
}

fn storage(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Storage(e.to_string())
}

impl Registry {
    /// Opens (or creates) the registry in `dir`, loading every stored
    /// module from its precompiled artifact, or compiling it (and storing a
    /// fresh artifact) when there is none for this engine or it is damaged.
    pub fn open(dir: &Path, sandbox: Arc<Sandbox>) -> Result<Self, RegistryError> {
        let modules = dir.join("modules");
        std::fs::create_dir_all(&modules).map_err(storage)?;
        let mut state = State::default();
        let mut opened = OpenStats::default();
        for entry in std::fs::read_dir(&modules).map_err(storage)? {
            let path = entry.map_err(storage)?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let meta: PluginMeta = serde_json::from_slice(&std::fs::read(&path).map_err(storage)?)
                .map_err(|e| storage(format!("{}: {e}", path.display())))?;
            let bytes = std::fs::read(module_path(&modules, &meta.digest)).map_err(storage)?;
            if PluginDigest::of(&bytes) != meta.digest {
                return Err(storage(format!(
                    "{} does not match its digest",
                    meta.digest
                )));
            }
            let (meta, precompiled) = load_stored(&sandbox, &modules, meta, &bytes)?;
            if precompiled {
                opened.precompiled += 1;
            } else {
                opened.compiled += 1;
            }
            state.plugins.insert(meta.digest.clone(), meta);
        }
        let active = dir.join("active.json");
        if active.is_file() {
            state.names = serde_json::from_slice(&std::fs::read(&active).map_err(storage)?)
                .map_err(|e| storage(format!("active.json: {e}")))?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            sandbox,
            state: RwLock::new(state),
            opened,
        })
    }

    /// How the stored modules were loaded when the registry opened.
    pub fn opened(&self) -> OpenStats {
        self.opened
    }

    /// Validates and stores a module; the first module of a name becomes
    /// its active one. Uploading the same bytes again returns the stored
    /// metadata and `false`.
    pub fn upload(
        &self,
        name: &str,
        version: &str,
        bytes: &[u8],
    ) -> Result<(PluginMeta, bool), RegistryError> {
        let valid_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(RegistryError::BadName {
                name: name.to_owned(),
            });
        }
        if bytes.len() > MAX_MODULE_BYTES {
            return Err(RegistryError::TooLarge {
                size: bytes.len(),
                max: MAX_MODULE_BYTES,
            });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(RegistryError::NotWasm);
        }
        let digest = PluginDigest::of(bytes);
        if let Some(existing) = self.read().plugins.get(&digest) {
            return Ok((existing.clone(), false));
        }

        let key = digest.as_str();
        let info = self
            .sandbox
            .load(key, bytes)
            .map_err(|e| RegistryError::Rejected {
                reason: e.to_string(),
            })?;
        let rejected = |reason: String| {
            self.sandbox.unload(key);
            RegistryError::Rejected { reason }
        };
        if let Some(missing) = REQUIRED_EXPORTS
            .iter()
            .find(|e| !info.exports.iter().any(|x| x == *e))
        {
            return Err(rejected(format!("missing export {missing}")));
        }
        if let Err(e) = self.sandbox.invoke(key, "registry-smoke", SMOKE_INPUT) {
            return Err(rejected(format!("smoke call failed: {e}")));
        }

        let meta = PluginMeta {
            digest: digest.clone(),
            name: name.to_owned(),
            version: version.to_owned(),
            size: bytes.len(),
            exports: info.exports,
            uploaded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            artifact: None,
        };
        let modules = self.dir.join("modules");
        // Bytes and artifact first, metadata last: a module is only
        // "stored" once its metadata exists, so a crash in between leaves
        // an ignored orphan.
        let persisted =
            store::atomic_write(&module_path(&modules, &digest), bytes).and_then(|()| {
                let meta = store_artifact(&self.sandbox, &modules, meta.clone());
                write_meta(&modules, &meta)?;
                Ok(meta)
            });
        let meta = match persisted {
            Ok(meta) => meta,
            Err(e) => {
                self.sandbox.unload(key);
                return Err(storage(e));
            }
        };
        let mut state = self.write();
        state.plugins.insert(digest.clone(), meta.clone());
        if !state.names.contains_key(name) {
            let mut names = state.names.clone();
            names.insert(
                name.to_owned(),
                Activation {
                    active: digest,
                    history: Vec::new(),
                },
            );
            self.persist_names(&names)?;
            state.names = names;
        }
        Ok((meta, true))
    }

    /// Makes `digest` the active module of `name`.
    pub fn activate(&self, name: &str, digest: &PluginDigest) -> Result<Activation, RegistryError> {
        let mut state = self.write();
        let meta = state
            .plugins
            .get(digest)
            .ok_or_else(|| RegistryError::UnknownDigest {
                digest: digest.to_string(),
            })?;
        if meta.name != name {
            return Err(RegistryError::WrongName {
                digest: digest.to_string(),
                owner: meta.name.clone(),
                name: name.to_owned(),
            });
        }
        let mut names = state.names.clone();
        let activation = match names.get(name) {
            Some(current) if &current.active == digest => current.clone(),
            Some(current) => {
                let mut history = current.history.clone();
                history.push(current.active.clone());
                Activation {
                    active: digest.clone(),
                    history,
                }
            }
            None => Activation {
                active: digest.clone(),
                history: Vec::new(),
            },
        };
        names.insert(name.to_owned(), activation.clone());
        self.persist_names(&names)?;
        state.names = names;
        Ok(activation)
    }

    /// Returns `name` to the digest active before the current one.
    pub fn rollback(&self, name: &str) -> Result<Activation, RegistryError> {
        let mut state = self.write();
        let current = state
            .names
            .get(name)
            .ok_or_else(|| RegistryError::UnknownName {
                name: name.to_owned(),
            })?;
        let mut history = current.history.clone();
        let previous = history.pop().ok_or_else(|| RegistryError::NoPrevious {
            name: name.to_owned(),
        })?;
        let activation = Activation {
            active: previous,
            history,
        };
        let mut names = state.names.clone();
        names.insert(name.to_owned(), activation.clone());
        self.persist_names(&names)?;
        state.names = names;
        Ok(activation)
    }

    /// The digest a plugin name or digest refers to.
    pub fn resolve(&self, name_or_digest: &str) -> Result<PluginDigest, RegistryError> {
        let state = self.read();
        if let Some(digest) = PluginDigest::parse(name_or_digest) {
            return state
                .plugins
                .contains_key(&digest)
                .then_some(digest)
                .ok_or_else(|| RegistryError::UnknownDigest {
                    digest: name_or_digest.to_owned(),
                });
        }
        state
            .names
            .get(name_or_digest)
            .map(|a| a.active.clone())
            .ok_or_else(|| RegistryError::UnknownName {
                name: name_or_digest.to_owned(),
            })
    }

    /// Runs the plugin (active digest of a name, or an exact digest).
    pub fn invoke(
        &self,
        name_or_digest: &str,
        tenant: &str,
        input: &[u8],
    ) -> Result<(PluginDigest, Result<Output, SandboxError>), RegistryError> {
        let digest = self.resolve(name_or_digest)?;
        let result = self.sandbox.invoke(digest.as_str(), tenant, input);
        Ok((digest, result))
    }

    /// Every stored module.
    pub fn plugins(&self) -> Vec<PluginMeta> {
        self.read().plugins.values().cloned().collect()
    }

    /// One module's metadata.
    pub fn plugin(&self, digest: &PluginDigest) -> Option<PluginMeta> {
        self.read().plugins.get(digest).cloned()
    }

    /// Every name's activation.
    pub fn activations(&self) -> BTreeMap<String, Activation> {
        self.read().names.clone()
    }

    /// Where a module's precompiled artifact is stored.
    pub fn artifact_path(&self, digest: &PluginDigest) -> PathBuf {
        artifact_path(&self.dir.join("modules"), digest)
    }

    fn persist_names(&self, names: &BTreeMap<String, Activation>) -> Result<(), RegistryError> {
        let json = serde_json::to_vec_pretty(names).expect("serialisable");
        store::atomic_write(&self.dir.join("active.json"), &json).map_err(storage)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("registry lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().expect("registry lock")
    }
}
