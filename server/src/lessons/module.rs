//! The compile-once lesson's module: its bytes, read from `--guests-dir`
//! at start-up and held in the server's state, so a request never touches
//! the filesystem.

use std::path::Path;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;

/// The built-in guest the lesson compiles and calls: the real CSV → JSON
/// plugin.
pub(super) const GUEST: &str = "process";

/// The lesson guest's bytes, read from `--guests-dir` at start-up, so a
/// request never touches the filesystem.
#[derive(Debug, Clone)]
pub struct LessonModule {
    /// The bytes and their SHA-256, or why they could not be read.
    bytes: Result<(Bytes, String), String>,
}

impl LessonModule {
    /// Reads `<guests_dir>/process.wasm` (a missing file is remembered, and
    /// the lesson answers 500 saying so).
    pub fn load(guests_dir: &Path) -> Self {
        let path = guests_dir.join(format!("{GUEST}.wasm"));
        let bytes = std::fs::read(&path)
            .map(|bytes| {
                let digest = hex::encode(Sha256::digest(&bytes));
                (Bytes::from(bytes), digest)
            })
            .map_err(|e| format!("reading {} at start-up: {e}", path.display()));
        Self { bytes }
    }

    /// The bytes, refused unless they are the module the sandbox loaded
    /// (SHA-256 `digest`).
    pub(super) fn bytes(&self, digest: &str) -> Result<Bytes, ApiError> {
        let (bytes, read) = self
            .bytes
            .clone()
            .map_err(|message| ApiError::Internal { message })?;
        if read != digest {
            return Err(ApiError::Internal {
                message: format!(
                    "{GUEST}.wasm read at start-up is not the module the sandbox loaded"
                ),
            });
        }
        Ok(bytes)
    }
}
