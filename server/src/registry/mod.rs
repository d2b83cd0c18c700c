//! The plugin registry (seed task 12): modules keyed by the SHA-256 of their
//! bytes, validated at upload, persisted atomically, with an active digest
//! per plugin name that can be switched and rolled back at runtime and
//! survives a restart.
//!
//! - [`types`]: the stored record, activations, errors
//! - [`activation`]: the activation rules, pure
//! - [`rollout`]: the canary rules, pure; `rollouts`: the running ones
//! - [`validate`]: what an upload must pass
//! - `artifacts`: module files and the precompiled-artifact cache
//! - [`store`]: atomic writes
//!
//! Calls resolve name → digest once and then run on that digest's compiled
//! module, so switching the active digest never disturbs calls in flight.

pub mod activation;
mod artifacts;
pub mod rollout;
mod rollouts;
pub mod store;
pub mod types;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;

pub use crate::digest::PluginDigest;
pub use rollout::Role;
pub use rollouts::{Counted, RolloutCall, Routed};
pub use types::{Activation, ArtifactMeta, PluginMeta, RegistryError};
pub use validate::{DEFAULT_SMOKE_INPUT, ValidationLimits};

use crate::sandbox::{GuestKey, Sandbox};
use activation::Names;
use types::storage;

/// Largest module accepted.
pub const MAX_MODULE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct State {
    plugins: BTreeMap<PluginDigest, PluginMeta>,
    names: Names,
}

/// How [`Registry::open`] got its modules ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OpenStats {
    /// Loaded from a stored precompiled artifact.
    pub precompiled: usize,
    /// Compiled from their bytes (no usable artifact; a new one was stored).
    pub compiled: usize,
}

/// One upload.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Plugin name (`[a-z0-9_-]{1,64}`).
    pub name: String,
    /// Free-form version label.
    pub version: String,
    /// The module.
    pub bytes: Bytes,
    /// Input of the smoke call ([`DEFAULT_SMOKE_INPUT`] when `None`).
    pub smoke_input: Option<Bytes>,
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    dir: PathBuf,
    sandbox: Arc<Sandbox>,
    state: RwLock<State>,
    opened: OpenStats,
    validation: ValidationLimits,
    /// One upload per digest at a time: the others wait, then find it stored.
    uploads: Mutex<BTreeMap<PluginDigest, Arc<tokio::sync::Mutex<()>>>>,
    /// Compiles at once (each takes a core and tens of MiB for seconds).
    compiles: Semaphore,
    /// The counts of running rollouts (in memory: a restart starts them over).
    windows: Mutex<rollouts::Windows>,
}

impl Registry {
    /// Opens (or creates) the registry in `dir`, loading every stored
    /// module from its precompiled artifact, or compiling it (and storing a
    /// fresh artifact) when there is none for this engine or it is damaged.
    pub fn open(
        dir: &Path,
        sandbox: Arc<Sandbox>,
        validation: ValidationLimits,
    ) -> Result<Self, RegistryError> {
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
            let bytes =
                std::fs::read(artifacts::module_path(&modules, &meta.digest)).map_err(storage)?;
            if PluginDigest::of(&bytes) != meta.digest {
                return Err(storage(format!(
                    "{} does not match its digest",
                    meta.digest
                )));
            }
            let (meta, precompiled) = artifacts::load_stored(&sandbox, &modules, meta, &bytes)?;
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            dir: dir.to_owned(),
            sandbox,
            state: RwLock::new(state),
            opened,
            validation,
            uploads: Mutex::new(BTreeMap::new()),
            compiles: Semaphore::new(cores),
            windows: Mutex::default(),
        })
    }

    /// How the stored modules were loaded when the registry opened.
    pub fn opened(&self) -> OpenStats {
        self.opened
    }

    /// Validates and stores a module; the first module of a name becomes
    /// its active one. Uploading stored bytes again returns the stored
    /// metadata and `false`. Concurrent uploads of one module end with one
    /// entry, stored and callable, whatever their interleaving.
    pub async fn upload(&self, upload: Upload) -> Result<(PluginMeta, bool), RegistryError> {
        types::check_name(&upload.name)?;
        validate::check_bytes(&upload.bytes, MAX_MODULE_BYTES)?;
        let digest = PluginDigest::of(&upload.bytes);
        if let Some(existing) = self.plugin(&digest) {
            return Ok((existing, false));
        }
        let lock = Arc::clone(
            self.uploads
                .lock()
                .expect("uploads lock")
                .entry(digest.clone())
                .or_default(),
        );
        let guard = lock.lock().await;
        let result = match self.plugin(&digest) {
            Some(existing) => Ok((existing, false)),
            None => self.validate_and_store(digest.clone(), upload).await,
        };
        drop(guard);
        self.uploads.lock().expect("uploads lock").remove(&digest);
        result
    }

    async fn validate_and_store(
        &self,
        digest: PluginDigest,
        upload: Upload,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        let compiled = {
            let _permit = self.compiles.acquire().await.expect("never closed");
            validate::compile(&self.sandbox, digest.to_string(), upload.bytes.clone()).await?
        };
        let smoke_input = upload
            .smoke_input
            .unwrap_or_else(|| Bytes::from_static(DEFAULT_SMOKE_INPUT));
        validate::smoke(&self.sandbox, &compiled, smoke_input, self.validation).await?;

        let meta = PluginMeta {
            digest: digest.clone(),
            name: upload.name.clone(),
            version: upload.version,
            size: upload.bytes.len(),
            exports: compiled.info().exports.clone(),
            uploaded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            artifact: None,
        };
        let (sandbox, modules) = (Arc::clone(&self.sandbox), self.modules_dir());
        let (compiled, meta) = tokio::task::spawn_blocking(move || {
            let meta = artifacts::persist(&sandbox, &modules, &compiled, meta, &upload.bytes);
            (compiled, meta)
        })
        .await
        .map_err(|e| storage(format!("persist task failed: {e}")))?;
        let meta = meta.map_err(storage)?;
        // Callable before it is listed: a call can never resolve a digest
        // the sandbox does not have.
        self.sandbox
            .install(GuestKey::Plugin(digest.clone()), &compiled);
        let mut state = self.write();
        state.plugins.insert(digest.clone(), meta.clone());
        if let Some(names) = activation::after_first_upload(&state.names, &upload.name, &digest) {
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
        let (names, activation) = activation::activate(&state.names, name, meta)?;
        self.persist_names(&names)?;
        state.names = names;
        Ok(activation)
    }

    /// Returns `name` to the digest active before the current one.
    pub fn rollback(&self, name: &str) -> Result<Activation, RegistryError> {
        let mut state = self.write();
        let (names, activation) = activation::rollback(&state.names, name)?;
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
        artifacts::artifact_path(&self.modules_dir(), digest)
    }

    fn modules_dir(&self) -> PathBuf {
        self.dir.join("modules")
    }

    fn persist_names(&self, names: &Names) -> Result<(), RegistryError> {
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
