//! What the registry stores and answers, and how it fails.

use serde::{Deserialize, Serialize};

use crate::digest::PluginDigest;

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
    /// Over the module size limit.
    #[error("module of {size} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Its size (at least; reading stopped at the limit).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Does not start with the wasm magic number.
    #[error("not a WebAssembly module")]
    NotWasm,
    /// Failed validation.
    #[error("rejected ({reason}): {message}")]
    Rejected {
        /// Machine-readable: `compile_failed`, `forbidden_import`,
        /// `missing_export`, `memory_too_large`, `smoke_failed`.
        reason: &'static str,
        /// What exactly failed.
        message: String,
    },
    /// Every sandbox slot was in use for the smoke call: retry later.
    #[error("the sandbox is busy; retry the upload in {retry_after_secs} s")]
    Busy {
        /// Seconds to wait.
        retry_after_secs: u64,
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

impl RegistryError {
    /// The `reason` of a validation failure.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

pub(super) fn storage(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Storage(e.to_string())
}

/// `[a-z0-9_-]{1,64}`: safe in paths, logs and metric labels.
pub(super) fn check_name(name: &str) -> Result<(), RegistryError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(RegistryError::BadName {
            name: name.to_owned(),
        })
    }
}
