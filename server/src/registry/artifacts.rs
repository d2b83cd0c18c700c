//! The on-disk files of a module and its precompiled artifact cache: a
//! restart maps wasmtime's stored machine code (verified, see
//! [`crate::sandbox::artifact`]) instead of compiling again, and recompiles
//! when the artifact is missing, damaged or from another engine.

use std::path::{Path, PathBuf};

use super::store;
use super::types::{PluginMeta, RegistryError, storage};
use super::{OpenStats, State};
use crate::digest::PluginDigest;
use crate::sandbox::{Compiled, GuestKey, Sandbox};

pub(super) fn artifact_path(modules: &Path, digest: &PluginDigest) -> PathBuf {
    modules.join(format!("{digest}.cwasm"))
}

pub(super) fn module_path(modules: &Path, digest: &PluginDigest) -> PathBuf {
    modules.join(format!("{digest}.wasm"))
}

/// Writes a module's metadata: the write that makes it "stored".
pub(super) fn write_meta(modules: &Path, meta: &PluginMeta) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(meta).expect("serialisable");
    store::atomic_write(&modules.join(format!("{}.json", meta.digest)), &json)
}

/// Stores a validated module: bytes and artifact first, metadata last, so a
/// crash in between leaves an ignored orphan, never metadata without bytes.
pub(super) fn persist(
    sandbox: &Sandbox,
    modules: &Path,
    compiled: &Compiled,
    meta: PluginMeta,
    bytes: &[u8],
) -> std::io::Result<PluginMeta> {
    store::atomic_write(&module_path(modules, &meta.digest), bytes)?;
    let meta = store_artifact(sandbox, modules, compiled.precompiled(), meta);
    write_meta(modules, &meta)?;
    Ok(meta)
}

/// Loads a stored module into the sandbox: from its artifact when it was
/// made by this engine and is intact, else by compiling `bytes` and storing
/// a new artifact. Returns the metadata as it is now on disk, and whether
/// the artifact was used.
pub(super) fn load_stored(
    sandbox: &Sandbox,
    modules: &Path,
    meta: PluginMeta,
    bytes: &[u8],
) -> Result<(PluginMeta, bool), RegistryError> {
    let key = GuestKey::Plugin(meta.digest.clone());
    if let Some(artifact) = meta
        .artifact
        .as_ref()
        .filter(|a| a.engine == sandbox.engine_fingerprint())
    {
        let loaded = std::fs::read(artifact_path(modules, &meta.digest))
            .map_err(|e| e.to_string())
            .and_then(|code| {
                sandbox
                    .load_precompiled(
                        key.clone(),
                        meta.digest.as_str(),
                        bytes.len(),
                        &code,
                        &artifact.sha256,
                    )
                    .map_err(|e| e.to_string())
            });
        match loaded {
            Ok(_) => return Ok((meta, true)),
            Err(reason) => {
                tracing::warn!(digest = %meta.digest, %reason, "precompiled artifact unusable; recompiling")
            }
        }
    }
    let compiled = sandbox
        .compile(meta.digest.as_str(), bytes)
        .map_err(|e| storage(format!("recompiling {}: {e}", meta.digest)))?;
    sandbox.install(key, &compiled);
    let updated = store_artifact(sandbox, modules, compiled.precompiled(), meta.clone());
    if updated != meta
        && let Err(e) = write_meta(modules, &updated)
    {
        tracing::warn!(digest = %meta.digest, error = %e, "could not record the new artifact");
        return Ok((meta, false));
    }
    Ok((updated, false))
}

/// Writes `code` as the module's artifact and returns `meta` pointing at it
/// (unchanged, without an artifact, when that fails: the registry works
/// without one, it only starts slower).
fn store_artifact(
    sandbox: &Sandbox,
    modules: &Path,
    code: Option<Vec<u8>>,
    mut meta: PluginMeta,
) -> PluginMeta {
    let Some(code) = code else {
        return meta;
    };
    match store::atomic_write(&artifact_path(modules, &meta.digest), &code) {
        Ok(()) => {
            meta.artifact = Some(sandbox.artifact_record(&code));
        }
        Err(e) => tracing::warn!(digest = %meta.digest, error = %e, "could not store the artifact"),
    }
    meta
}

/// Loads the local store in `dir`: every module (from its artifact, or
/// compiled) and the activations.
pub(super) fn load_local(
    dir: &Path,
    sandbox: &Sandbox,
) -> Result<(State, OpenStats), RegistryError> {
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
        let (meta, precompiled) = load_stored(sandbox, &modules, meta, &bytes)?;
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
    Ok((state, opened))
}
