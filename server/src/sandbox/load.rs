//! Getting guests into the table: compile (with the preflight) into a
//! [`Compiled`], load precompiled artifacts, install idempotently.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest as _, Sha256};
use wasmtime::Module;

use super::{Compiled, Guest, GuestInfo, GuestKey, LoadError, Sandbox, abi, artifact};

impl Sandbox {
    /// Loads every `*.wasm` in `dir` as a built-in guest, compiling each
    /// (a missing directory loads nothing). The server loads them through
    /// the artifact cache instead ([`Sandbox::load_builtins`]).
    pub fn load_dir(&self, dir: &Path) -> Result<(), LoadError> {
        for (name, bytes) in guest_files(dir)? {
            self.load(GuestKey::Builtin(name), &bytes)?;
        }
        Ok(())
    }

    /// Compiles `bytes`, checks its imports and memory ([`abi`]) and links
    /// it, without making it callable. CPU-heavy (Cranelift): call it from a
    /// blocking thread.
    pub fn compile(&self, name: &str, bytes: &[u8]) -> Result<Compiled, LoadError> {
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        };
        let started = Instant::now();
        abi::check_module(bytes, self.limits.memory_pages).map_err(|preflight| {
            LoadError::Preflight {
                name: name.to_owned(),
                preflight,
            }
        })?;
        let module = Module::new(&self.engine, bytes).map_err(invalid)?;
        let digest = hex::encode(Sha256::digest(bytes));
        let compiled = self.link(name, module, digest, bytes.len())?;
        tracing::info!(guest = name, digest = %compiled.info().digest, ms = started.elapsed().as_millis() as u64, "guest compiled");
        Ok(compiled)
    }

    /// [`Self::compile`] in the background CPU class: on one nice-19
    /// thread, so it takes at most one core, and only what the other
    /// threads leave (wasmtime compiles functions in parallel on the
    /// current rayon pool; this one has a single thread). For compiles
    /// anyone can ask for, such as the naive call of task 8's lesson.
    pub fn compile_in_background(&self, name: &str, bytes: &[u8]) -> Result<Compiled, LoadError> {
        static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
            std::sync::OnceLock::new();
        let pool = POOL.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(|_| "wip-compile-bg".to_owned())
                .start_handler(|_| super::executor::set_this_threads_nice(super::BACKGROUND_NICE))
                .build()
                .map_err(|e| e.to_string())
        });
        match pool {
            Ok(pool) => pool.install(|| self.compile(name, bytes)),
            Err(e) => Err(LoadError::Engine(format!(
                "the background compile thread: {e}"
            ))),
        }
    }

    /// Compiles `bytes` and installs it as `key`.
    pub fn load(&self, key: GuestKey, bytes: &[u8]) -> Result<GuestInfo, LoadError> {
        let compiled = self.compile(&key.to_string(), bytes)?;
        Ok(self.install(key, &compiled))
    }

    /// Loads `key` from an artifact made by [`Compiled::precompiled`] for a
    /// module whose bytes have `digest` and `size`, refusing an artifact
    /// whose SHA-256 is not `artifact_sha256` (see [`artifact`]).
    pub fn load_precompiled(
        &self,
        key: GuestKey,
        digest: &str,
        size: usize,
        artifact: &[u8],
        artifact_sha256: &str,
    ) -> Result<GuestInfo, LoadError> {
        let name = key.to_string();
        let compiled = self.link_precompiled(&name, digest, size, artifact, artifact_sha256)?;
        Ok(self.install(key, &compiled))
    }

    /// The artifact as a linked module, not installed (see
    /// [`Self::load_precompiled`]).
    pub(super) fn link_precompiled(
        &self,
        name: &str,
        digest: &str,
        size: usize,
        artifact: &[u8],
        artifact_sha256: &str,
    ) -> Result<Compiled, LoadError> {
        let started = Instant::now();
        let module = artifact::deserialize_verified(&self.engine, artifact, artifact_sha256)
            .map_err(|e| LoadError::Invalid {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        let compiled = self.link(name, module, digest.to_owned(), size)?;
        tracing::info!(
            guest = %name,
            digest,
            ms = started.elapsed().as_millis() as u64,
            "guest loaded precompiled"
        );
        Ok(compiled)
    }

    /// Makes `compiled` callable as `key`. Idempotent: a key already
    /// installed keeps its module (same key, same bytes), so concurrent
    /// installs of one plugin end with one entry.
    pub fn install(&self, key: GuestKey, compiled: &Compiled) -> GuestInfo {
        let mut guests = self.guests.write().expect("guest table lock");
        let guest = guests
            .entry(key)
            .or_insert_with(|| Arc::clone(&compiled.guest));
        guest.info.clone()
    }

    /// The installed guest `key` as a precompiled artifact.
    pub fn precompiled(&self, key: &GuestKey) -> Option<Vec<u8>> {
        self.guest(key)?.pre.module().serialize().ok()
    }

    pub(super) fn link(
        &self,
        name: &str,
        module: Module,
        digest: String,
        size: usize,
    ) -> Result<Compiled, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Invalid {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
        let info = GuestInfo {
            name: name.to_owned(),
            digest,
            size: size as u64,
            exports: module.exports().map(|e| e.name().to_owned()).collect(),
        };
        Ok(Compiled {
            guest: Arc::new(Guest { info, pre }),
        })
    }
}

/// Every `<name>.wasm` in `dir` with its bytes, by name (a missing
/// directory has none).
pub(super) fn guest_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, LoadError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(dir = %dir.display(), "no guests directory: the sandbox has no guests (run `cargo xtask build`)");
        return Ok(Vec::new());
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            Ok((name, bytes))
        })
        .collect()
}
