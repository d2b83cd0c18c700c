//! The plugin registry (seed task 12): modules keyed by the SHA-256 of their
//! bytes, validated at upload, persisted atomically, with an active digest
//! per plugin name that can be switched and rolled back at runtime and
//! survives a restart.
//!
//! - [`types`]: the stored records (modules, activations), errors
//! - [`activation`]: the activation rules, pure
//! - [`rollout_rules`]: the canary rules, pure; `rollout_state`: the running
//!   rollouts; [`rollout_record`]: what a rollout stores (thresholds,
//!   decisions)
//! - [`validate`]: what an upload must pass
//! - `artifacts`: module files and the precompiled-artifact cache
//! - [`store`]: atomic writes
//! - [`backend`]: the authority writes go through: this process alone, or
//!   [`nats`] JetStream shared by replicas (`sync` applies their changes)
//!
//! Calls resolve name → digest once and then run on that digest's compiled
//! module, so switching the active digest never disturbs calls in flight.

pub mod activation;
mod artifacts;
pub mod backend;
mod cluster_windows;
mod commit;
pub mod limits;
pub mod nats;
pub mod rollout_record;
pub mod rollout_rules;
mod rollout_state;
mod rollout_tally;
pub mod store;
#[cfg(test)]
mod stored_format_tests;
pub mod sync;
pub mod types;
pub mod validate;
pub mod window_sync;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;

pub use crate::digest::PluginDigest;
pub use backend::{Backend, Health};
pub use rollout_rules::Role;
pub use rollout_state::{Counted, RolloutCall, Routed};
pub use types::{Activation, ArtifactRecord, PluginMeta, RegistryError};
pub use validate::{DEFAULT_SMOKE_INPUT, ValidationLimits};

use crate::pipeline::Pipeline;
use crate::sandbox::{GuestKey, Sandbox};
use activation::Names;
use types::storage;

#[derive(Debug, Default)]
struct State {
    plugins: BTreeMap<PluginDigest, PluginMeta>,
    names: Names,
    /// Each name's revision at its backend, for compare-and-set.
    revisions: BTreeMap<String, u64>,
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
    /// Modules refused lately, answered again without a compile.
    refusals: validate::Refusals,
    /// The counts of running rollouts (in memory: a restart starts them over).
    windows: Mutex<rollout_state::Windows>,
    /// With a shared registry, the other replicas' counts of them.
    cluster: Option<cluster_windows::ClusterWindows>,
    /// Where writes are decided.
    backend: Arc<dyn Backend>,
    /// One write of this process at a time (the backend's compare-and-set
    /// orders writers across processes).
    writes: tokio::sync::Mutex<()>,
}

impl Registry {
    /// Opens (or creates) the registry in `dir`, this process its only
    /// writer, loading every stored module from its precompiled artifact, or
    /// compiling it (and storing a fresh artifact) when there is none for
    /// this engine or it is damaged.
    pub fn open(
        dir: &Path,
        sandbox: Arc<Sandbox>,
        validation: ValidationLimits,
    ) -> Result<Self, RegistryError> {
        let (mut state, opened) = artifacts::load_local(dir, &sandbox)?;
        state.revisions = backend::initial_revisions(&state.names);
        let backend = Arc::new(backend::Local::new(dir, &state.names));
        Ok(Self::with_state(
            dir, sandbox, validation, state, opened, backend,
        ))
    }

    /// Opens the replica whose writes go through a shared `backend`: it
    /// serves what its local store in `dir` holds (a cache) until
    /// [`sync::spawn`] has caught up with the
    /// shared store.
    pub fn open_shared(
        dir: &Path,
        sandbox: Arc<Sandbox>,
        validation: ValidationLimits,
        backend: Arc<dyn Backend>,
    ) -> Result<Self, RegistryError> {
        let (state, opened) = artifacts::load_local(dir, &sandbox)?;
        Ok(Self {
            cluster: Some(cluster_windows::ClusterWindows::new()),
            ..Self::with_state(dir, sandbox, validation, state, opened, backend)
        })
    }

    fn with_state(
        dir: &Path,
        sandbox: Arc<Sandbox>,
        validation: ValidationLimits,
        state: State,
        opened: OpenStats,
        backend: Arc<dyn Backend>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            dir: dir.to_owned(),
            sandbox,
            state: RwLock::new(state),
            opened,
            validation,
            uploads: Mutex::new(BTreeMap::new()),
            compiles: Semaphore::new(cores),
            refusals: validate::Refusals::new(&validation),
            windows: Mutex::default(),
            cluster: None,
            backend,
            writes: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether writes are accepted, and which backend takes them.
    pub fn health(&self) -> (Health, &'static str) {
        (self.backend.health(), self.backend.kind())
    }

    /// How the stored modules were loaded when the registry opened.
    pub fn opened(&self) -> OpenStats {
        self.opened
    }

    /// Validates and stores a module; the first module of a name becomes
    /// its active one. Uploading stored bytes again returns the stored
    /// metadata and `false`. Concurrent uploads of one module end with one
    /// entry, stored and callable, whatever their interleaving.
    /// The smoke call goes through `pipeline`, counted and logged under
    /// `request_id` like any other call.
    pub async fn upload(
        &self,
        upload: Upload,
        pipeline: &Pipeline,
        request_id: &str,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        types::check_name(&upload.name)?;
        validate::check_bytes(&upload.bytes, self.validation.max_module_bytes)?;
        let digest = PluginDigest::of(&upload.bytes);
        if let Some(existing) = self.plugin(&digest) {
            return Ok((existing, false));
        }
        self.writable().await?;
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
            None => {
                let smoke = validate::Smoke {
                    pipeline,
                    request_id,
                    limits: self.validation,
                };
                self.validate_and_store(digest.clone(), upload, smoke).await
            }
        };
        drop(guard);
        self.uploads.lock().expect("uploads lock").remove(&digest);
        result
    }

    async fn validate_and_store(
        &self,
        digest: PluginDigest,
        upload: Upload,
        smoke: validate::Smoke<'_>,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        let smoke_input = upload
            .smoke_input
            .clone()
            .unwrap_or_else(|| Bytes::from_static(DEFAULT_SMOKE_INPUT));
        if let Some(refused) = self.refusals.get(&digest, &smoke_input) {
            return Err(refused);
        }
        let validated = async {
            let compiled = {
                let _permit = self.compiles.acquire().await.expect("never closed");
                validate::compile(&self.sandbox, digest.to_string(), upload.bytes.clone()).await?
            };
            smoke
                .run(&upload.name, &compiled, smoke_input.clone())
                .await?;
            Ok(compiled)
        };
        let compiled = match validated.await {
            Ok(compiled) => compiled,
            Err(e) => {
                self.refusals.remember(&digest, smoke_input, &e);
                return Err(e);
            }
        };

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
        // Shared first: a module is listed only once every replica can get it.
        let created = self.backend.put_module(&meta, &upload.bytes).await?;
        let meta = self.store_locally(compiled, meta, upload.bytes).await?;
        match self
            .commit(&upload.name, |state| {
                Ok(
                    activation::after_first_upload(&state.names, &upload.name, &digest)
                        .map(|n| (n, ())),
                )
            })
            .await
        {
            // Another replica's first upload of the name won.
            Ok(_) | Err(RegistryError::Conflict { .. }) => Ok((meta, created)),
            Err(e) => Err(e),
        }
    }

    /// Stores a compiled module in this replica (bytes, artifact, metadata),
    /// installs it, then lists it: a call can never resolve a digest the
    /// sandbox does not have.
    async fn store_locally(
        &self,
        compiled: crate::sandbox::Compiled,
        meta: PluginMeta,
        bytes: Bytes,
    ) -> Result<PluginMeta, RegistryError> {
        let digest = meta.digest.clone();
        let (sandbox, modules) = (Arc::clone(&self.sandbox), self.modules_dir());
        let (compiled, meta) = tokio::task::spawn_blocking(move || {
            let meta = artifacts::persist(&sandbox, &modules, &compiled, meta, &bytes);
            (compiled, meta)
        })
        .await
        .map_err(|e| storage(format!("persist task failed: {e}")))?;
        let meta = meta.map_err(storage)?;
        self.sandbox
            .install(GuestKey::Plugin(digest.clone()), &compiled);
        self.write().plugins.insert(digest, meta.clone());
        Ok(meta)
    }

    /// Makes `digest` the active module of `name`.
    pub async fn activate(
        &self,
        name: &str,
        digest: &PluginDigest,
    ) -> Result<Activation, RegistryError> {
        self.ensure(digest).await?;
        self.commit(name, |state| {
            let meta = state
                .plugins
                .get(digest)
                .ok_or_else(|| RegistryError::UnknownDigest {
                    digest: digest.to_string(),
                })?;
            activation::activate(&state.names, name, meta).map(Some)
        })
        .await
        .map(|a| a.expect("activate always changes or keeps a name"))
    }

    /// Returns `name` to the digest active before the current one.
    pub async fn rollback(&self, name: &str) -> Result<Activation, RegistryError> {
        self.commit(name, |state| {
            activation::rollback(&state.names, name).map(Some)
        })
        .await
        .map(|a| a.expect("rollback always changes a name"))
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("registry lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().expect("registry lock")
    }
}
