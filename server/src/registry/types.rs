//! What the registry stores, and how it fails. These are the records
//! written to disk (`modules/<digest>.json`, `active.json`) and to the NATS
//! KV bucket (`plugin.<digest>`, `active.<name>`): no `wire` type is part of
//! them. A rollout's thresholds and decisions are stored as the types of
//! [`super::rollout_record`]. The HTTP API answers with [`wire::PluginInfo`]
//! and [`wire::Activation`], converted here, so an HTTP body can change
//! without changing what a restart reads, and storage without breaking
//! clients (`stored_format_tests` loads records an earlier build wrote).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rollout_record::{StoredDecision, StoredThresholds};
use crate::digest::PluginDigest;

/// What is stored about a module (`modules/<digest>.json`).
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
    pub artifact: Option<ArtifactRecord>,
}

/// wasmtime's precompiled code for a module, stored beside its bytes: the
/// record every artifact cache keeps.
pub use crate::sandbox::ArtifactRecord;

/// A rollout in progress, as stored with its name's activation. The
/// stable digest is the name's active one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The digest on trial.
    pub candidate: PluginDigest,
    /// Its share of calls, 1 to 99.
    pub percent: u8,
    /// Calls each side needs.
    pub min_calls: u64,
    /// Regression limits.
    pub thresholds: StoredThresholds,
    /// Unix milliseconds; with the candidate, tells rollouts apart.
    pub started_at_ms: u64,
    /// The secret key of [`super::rollout_rules::route`]'s hash: 128 random bits drawn when the
    /// rollout starts, stored with it (so every replica and a restart
    /// route a request id alike) and never shown over HTTP, so a caller
    /// can neither predict nor choose its side. A plan stored before the
    /// salt existed gets a fresh one when it is read.
    #[serde(default = "new_salt")]
    pub salt: String,
}

/// A new [`Plan::salt`].
pub fn new_salt() -> String {
    crate::random::hex::<16>()
}

/// Name → its activation.
pub type Names = BTreeMap<String, Activation>;

/// The active digest of a name and the ones active before it, its rollout
/// in progress and its past rollout decisions (an entry of `active.json`:
/// every change to a name is one atomic write).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    /// Serving now.
    pub active: PluginDigest,
    /// Previously active, oldest first; rollback pops the last.
    pub history: Vec<PluginDigest>,
    /// A canary of another digest, when one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Plan>,
    /// How past rollouts ended, oldest first (the last
    /// [`super::rollout_rules::MAX_DECISIONS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<StoredDecision>,
}

impl Activation {
    /// A name's first activation.
    pub fn new(active: PluginDigest) -> Self {
        Self {
            active,
            history: Vec::new(),
            rollout: None,
            decisions: Vec::new(),
        }
    }
}

impl From<&PluginMeta> for wire::PluginInfo {
    /// The API's view of a stored module: the artifact record is storage
    /// detail, shown only as whether there is one.
    fn from(meta: &PluginMeta) -> Self {
        Self {
            digest: meta.digest.to_string(),
            name: meta.name.clone(),
            version: meta.version.clone(),
            size: meta.size as u64,
            exports: meta.exports.clone(),
            uploaded_at: meta.uploaded_at,
            precompiled: meta.artifact.is_some(),
        }
    }
}

impl From<&Activation> for wire::Activation {
    fn from(activation: &Activation) -> Self {
        Self {
            active: activation.active.to_string(),
            history: activation.history.iter().map(ToString::to_string).collect(),
        }
    }
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
    /// A rollout of this name is running: abort or promote it first.
    #[error("a rollout of {name} is in progress")]
    RolloutInProgress {
        /// The name.
        name: String,
    },
    /// Promote or abort with no rollout running.
    #[error("no rollout of {name} is in progress")]
    NoRollout {
        /// The name.
        name: String,
    },
    /// A rollout request out of range.
    #[error("bad rollout: {message}")]
    BadRollout {
        /// What is wrong.
        message: String,
    },
    /// A plugin name outside `[a-z0-9_-]{1,64}`.
    #[error("invalid plugin name {name:?}")]
    BadName {
        /// The name.
        name: String,
    },
    /// Another writer changed the name first (its revision moved on):
    /// read it again, then retry.
    #[error("{name} was changed by another writer meanwhile; read it again and retry")]
    Conflict {
        /// The name.
        name: String,
    },
    /// The shared registry is unreachable: nothing was written.
    #[error("registry unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
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

/// Records for the registry's pure unit tests.
#[cfg(test)]
pub(super) mod fixtures {
    use super::PluginMeta;
    use crate::digest::PluginDigest;

    /// The digest `cccc…` (64 times `c`).
    pub fn digest(c: char) -> PluginDigest {
        PluginDigest::parse(&c.to_string().repeat(64)).unwrap()
    }

    /// A module of `name` with digest `d…`.
    pub fn meta(name: &str, d: char) -> PluginMeta {
        PluginMeta {
            digest: digest(d),
            name: name.into(),
            version: String::new(),
            size: 0,
            exports: Vec::new(),
            uploaded_at: 0,
            artifact: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(artifact: Option<ArtifactRecord>) -> PluginMeta {
        PluginMeta {
            digest: PluginDigest::of(b"module"),
            name: "csv".into(),
            version: "1".into(),
            size: 6,
            exports: vec!["wip_process".into()],
            uploaded_at: 1_700_000_000,
            artifact,
        }
    }

    #[test]
    fn the_api_shows_whether_there_is_an_artifact_not_the_artifact_record() {
        let artifact = ArtifactRecord {
            engine: "engine-fingerprint".into(),
            sha256: "ab".into(),
            size: 100,
        };
        let info = wire::PluginInfo::from(&meta(Some(artifact)));
        assert!(info.precompiled);
        let json = serde_json::to_value(&info).unwrap();
        assert!(json.get("artifact").is_none(), "{json}");
        assert_eq!(json["digest"], PluginDigest::of(b"module").as_str());
        assert_eq!(json["size"], 6);
        assert_eq!(json["uploaded_at"], 1_700_000_000);
        assert!(!wire::PluginInfo::from(&meta(None)).precompiled);
    }

    #[test]
    fn the_on_disk_record_keeps_its_artifact() {
        let stored = meta(Some(ArtifactRecord {
            engine: "e".into(),
            sha256: "ab".into(),
            size: 1,
        }));
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["artifact"]["engine"], "e");
        assert_eq!(serde_json::from_value::<PluginMeta>(json).unwrap(), stored);
    }
}
