//! The built-in guests through the same verified precompiled-artifact cache
//! as plugins: the first start compiles each guest and stores wasmtime's
//! code, the next ones map it (checked by [`super::artifact::deserialize_verified`])
//! instead of running Cranelift over a dozen Go modules again. The same
//! format serves the shared compile cache of uploads
//! ([`Sandbox::compile_shared`], `--compile-cache-dir`).
//!
//! ```text
//! <cache>/<module sha256>.cwasm   wasmtime's serialized code
//! <cache>/<module sha256>.json    the engine fingerprint and SHA-256 it was written with
//! ```
//!
//! An entry is keyed by the module's digest and the engine's fingerprint: a
//! rebuilt guest has a new digest, another wasmtime or engine configuration
//! another fingerprint, and either is compiled again (and its entry
//! rewritten). A damaged or foreign artifact is refused before wasmtime sees
//! it or by wasmtime itself, then recompiled: never trusted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::os::unix::fs::DirBuilderExt as _;

use sha2::{Digest as _, Sha256};

use super::{ArtifactRecord, Compiled, GuestKey, LoadError, Sandbox, abi};
use crate::registry::store::atomic_write;

/// How [`Sandbox::load_builtins`] got the built-in guests ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuiltinsLoaded {
    /// Mapped from a cached artifact.
    pub precompiled: usize,
    /// Compiled from their bytes (no usable artifact; a new one was stored).
    pub compiled: usize,
    /// Wall-clock time of the whole load.
    pub elapsed: Duration,
}

impl Sandbox {
    /// Loads every `*.wasm` in `dir` as a built-in guest, each from its
    /// artifact in `cache` when one was written by this engine and is
    /// intact, else by compiling it and storing a fresh artifact (a missing
    /// `dir` loads nothing). Cache entries of guests no longer in `dir` are
    /// removed.
    pub fn load_builtins(&self, dir: &Path, cache: &Path) -> Result<BuiltinsLoaded, LoadError> {
        self.load_builtins_with(dir, cache, true)
    }

    /// [`Self::load_builtins`] with a cache other processes share (with
    /// other guest sets): nothing is removed from it.
    pub fn load_builtins_shared(
        &self,
        dir: &Path,
        cache: &Path,
    ) -> Result<BuiltinsLoaded, LoadError> {
        self.load_builtins_with(dir, cache, false)
    }

    fn load_builtins_with(
        &self,
        dir: &Path,
        cache: &Path,
        prune_others: bool,
    ) -> Result<BuiltinsLoaded, LoadError> {
        let started = Instant::now();
        let mut loaded = BuiltinsLoaded::default();
        let mut kept = BTreeSet::new();
        for (name, bytes) in super::load::guest_files(dir)? {
            let digest = hex::encode(Sha256::digest(&bytes));
            let (compiled, mapped) = self.compile_through(cache, &name, &digest, &bytes)?;
            self.install(GuestKey::Builtin(name), &compiled);
            if mapped {
                loaded.precompiled += 1;
            } else {
                loaded.compiled += 1;
            }
            kept.insert(digest);
        }
        if prune_others {
            prune(cache, &kept);
        }
        loaded.elapsed = started.elapsed();
        tracing::info!(
            precompiled = loaded.precompiled,
            compiled = loaded.compiled,
            ms = loaded.elapsed.as_millis() as u64,
            cache = %cache.display(),
            "built-in guests loaded"
        );
        Ok(loaded)
    }

    /// The module `digest` (named `name`, `size` bytes) from its entry in
    /// `cache`, verified and linked but not installed, or why it cannot be.
    fn cached(
        &self,
        name: &str,
        digest: &str,
        size: usize,
        cache: &Path,
    ) -> Result<Compiled, String> {
        private(cache)?;
        let record = std::fs::read(record_path(cache, digest)).map_err(|e| e.to_string())?;
        let record: ArtifactRecord = serde_json::from_slice(&record).map_err(|e| e.to_string())?;
        if record.engine != self.engine_fingerprint() {
            return Err("written by another engine".to_owned());
        }
        let code = std::fs::read(artifact_path(cache, digest)).map_err(|e| e.to_string())?;
        self.link_precompiled(name, digest, size, &code, &record.sha256)
            .map_err(|e| {
                tracing::warn!(guest = %name, %e, "cached artifact refused; recompiling");
                e.to_string()
            })
    }

    /// [`Self::compile`], sharing what was compiled before: the code of an
    /// installed guest with the same bytes (a plugin uploaded with a
    /// built-in's bytes, as the demo's are), else, when the server has a
    /// shared compile cache (`--compile-cache-dir`), a module compiled
    /// before by this engine (an upload again, another replica on this
    /// machine, another test) is mapped from its verified artifact instead
    /// of going through Cranelift. The preflight runs either way.
    pub fn compile_shared(&self, name: &str, bytes: &[u8]) -> Result<Compiled, LoadError> {
        abi::check_module(bytes, self.limits.memory_pages).map_err(|preflight| {
            LoadError::Preflight {
                name: name.to_owned(),
                preflight,
            }
        })?;
        let digest = hex::encode(Sha256::digest(bytes));
        if let Some(compiled) = self.relink_installed(name, &digest, bytes.len())? {
            return Ok(compiled);
        }
        match &self.compile_cache {
            Some(cache) => self
                .compile_through(cache, name, &digest, bytes)
                .map(|(compiled, _)| compiled),
            None => self.compile(name, bytes),
        }
    }

    /// The code of an installed guest whose bytes have SHA-256 `digest`,
    /// linked again under `name` (a module is immutable; every call still
    /// gets a fresh instance).
    fn relink_installed(
        &self,
        name: &str,
        digest: &str,
        size: usize,
    ) -> Result<Option<Compiled>, LoadError> {
        let Some(module) = self.installed_module(digest) else {
            return Ok(None);
        };
        tracing::info!(
            guest = name,
            digest,
            "guest code shared with an installed guest"
        );
        self.link(name, module, digest.to_owned(), size).map(Some)
    }

    /// `bytes` (SHA-256 `digest`) from its entry in `cache` when that is
    /// usable, else compiled and stored there; and whether it was mapped.
    fn compile_through(
        &self,
        cache: &Path,
        name: &str,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(Compiled, bool), LoadError> {
        match self.cached(name, digest, bytes.len(), cache) {
            Ok(compiled) => Ok((compiled, true)),
            Err(reason) => {
                tracing::debug!(guest = name, %reason, "no usable cached artifact; compiling");
                let compiled = self.compile(name, bytes)?;
                if let Some(code) = compiled.precompiled() {
                    self.store_cached(cache, digest, &code);
                }
                Ok((compiled, false))
            }
        }
    }

    /// Writes `code` and then its record (a crash in between leaves an
    /// artifact without a matching record: recompiled next time). A cache
    /// that cannot be written only makes the next start slower.
    fn store_cached(&self, cache: &Path, digest: &str, code: &[u8]) {
        let record = self.artifact_record(code);
        let json = serde_json::to_vec_pretty(&record).expect("serialisable");
        let made = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(cache);
        if let Err(reason) = made
            .map_err(|e| e.to_string())
            .and_then(|()| private(cache))
        {
            tracing::warn!(cache = %cache.display(), %reason, "not caching the artifact");
            return;
        }
        if let Err(e) = atomic_write(&artifact_path(cache, digest), code)
            .and_then(|()| atomic_write(&record_path(cache, digest), &json))
        {
            tracing::warn!(cache = %cache.display(), digest, error = %e, "could not cache the artifact");
        }
    }
}

/// Whether `dir` may hold code this process runs: this user owns it and
/// no other user may write to it. An artifact is native code, and its
/// record only proves that it is the bytes someone recorded, so a cache in
/// a shared place (the tests' one under the temp dir) that another user
/// made or can write to is not read, nor written.
fn private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to uid {}, not to this process's {me}",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users (mode {:o})",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

fn artifact_path(cache: &Path, digest: &str) -> PathBuf {
    cache.join(format!("{digest}.cwasm"))
}

fn record_path(cache: &Path, digest: &str) -> PathBuf {
    cache.join(format!("{digest}.json"))
}

/// Removes the entries of modules not in `kept` (only files this cache
/// names: a digest and `.cwasm` or `.json`).
fn prune(cache: &Path, kept: &BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|e| e.to_str()),
        ) else {
            continue;
        };
        let ours = (ext == "cwasm" || ext == "json")
            && stem.len() == 64
            && stem.bytes().all(|b| b.is_ascii_hexdigit());
        if ours && !kept.contains(stem) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
#[path = "builtins_tests.rs"]
mod tests;
