//! Precompiled modules: wasmtime's serialized machine code, so a restart
//! maps a stored plugin in milliseconds instead of recompiling it with
//! Cranelift.
//!
//! This file holds the workspace's one `unsafe` call, reviewed here:
//! [`wasmtime::Module::deserialize`] trusts its input to be the unmodified
//! output of [`wasmtime::Module::serialize`] (it checks the format, the
//! wasmtime version and the engine configuration, but not the code itself).
//! [`deserialize_verified`] only calls it on bytes whose SHA-256 equals the
//! one recorded when this server serialized them, so a torn write, bit rot
//! or a file copied from elsewhere is refused (and recompiled from the
//! `.wasm`) instead of being executed. Whoever can rewrite both the artifact
//! and its recorded digest in the data directory can already replace the
//! server binary.

use std::hash::{Hash as _, Hasher};

use sha2::{Digest as _, Sha256};
use wasmtime::{Engine, Module};

/// Identifies the engine's compiled-code format: the target, compiler
/// flags, tunables, wasm features and wasmtime's version (all part of
/// wasmtime's compatibility hash). An artifact made under another
/// fingerprint is recompiled, never loaded.
pub fn fingerprint(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    "wip-artifact/1".hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// SHA-256 of an artifact's bytes, as recorded next to it.
pub fn digest(artifact: &[u8]) -> String {
    hex::encode(Sha256::digest(artifact))
}

/// Why an artifact was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The bytes are not the ones recorded.
    #[error("artifact digest {actual} differs from the recorded {expected}")]
    DigestMismatch {
        /// Recorded when it was written.
        expected: String,
        /// Of the bytes read now.
        actual: String,
    },
    /// wasmtime refused it (other version or configuration).
    #[error("wasmtime refused the artifact: {0}")]
    Refused(String),
}

/// Loads an artifact this server serialized, after checking its bytes
/// against the digest recorded at write time (see the module docs).
#[allow(unsafe_code)]
pub fn deserialize_verified(
    engine: &Engine,
    artifact: &[u8],
    expected_sha256: &str,
) -> Result<Module, ArtifactError> {
    let actual = digest(artifact);
    if actual != expected_sha256 {
        return Err(ArtifactError::DigestMismatch {
            expected: expected_sha256.to_owned(),
            actual,
        });
    }
    // SAFETY: `artifact` is byte-for-byte what `Module::serialize` produced
    // in this data directory (its SHA-256 was recorded then and matched just
    // now); wasmtime itself rejects output of another version or engine
    // configuration with an error.
    unsafe { Module::deserialize(engine, artifact) }
        .map_err(|e| ArtifactError::Refused(format!("{e:#}")))
}

/// Feeds `Hash` output into SHA-256, so the fingerprint is stable across
/// processes (std's `DefaultHasher` makes no such promise).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (func (export "f")))`, binary (the `wat` feature is off).
    const EXPORTS_F: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x03, 0x02, 0x01, 0x00, // function 0: type 0
        0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00, // export "f" = func 0
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: no locals, end
    ];

    #[test]
    fn fingerprint_is_stable_and_changes_with_the_engine_configuration() {
        let engine = |epochs: bool| {
            let mut config = wasmtime::Config::new();
            config.epoch_interruption(epochs);
            Engine::new(&config).unwrap()
        };
        assert_eq!(fingerprint(&engine(true)), fingerprint(&engine(true)));
        assert_ne!(fingerprint(&engine(true)), fingerprint(&engine(false)));
    }

    #[test]
    fn an_artifact_whose_bytes_changed_is_refused_before_wasmtime_sees_it() {
        let engine = Engine::default();
        let module = Module::new(&engine, EXPORTS_F).unwrap();
        let mut bytes = module.serialize().unwrap();
        let recorded = digest(&bytes);
        assert!(deserialize_verified(&engine, &bytes, &recorded).is_ok());

        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            deserialize_verified(&engine, &bytes, &recorded),
            Err(ArtifactError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn an_artifact_from_another_engine_configuration_is_refused() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        let bytes = Module::new(&other, EXPORTS_F).unwrap().serialize().unwrap();
        let recorded = digest(&bytes);
        assert!(matches!(
            deserialize_verified(&Engine::default(), &bytes, &recorded),
            Err(ArtifactError::Refused(_))
        ));
    }
}
