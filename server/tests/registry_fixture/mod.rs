//! A registry on its own sandbox, in a temporary directory, and the
//! modules the upload tests feed it.

#![allow(dead_code)] // each test binary uses a subset

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use server::pipeline::Pipeline;
use server::registry::{PluginMeta, Registry, RegistryError, Upload, ValidationLimits};
use server::sandbox::{GuestKey, Sandbox, SandboxLimits};

use crate::common::guest;

pub const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_millis(500),
    slots: 8,
    max_input_bytes: 1 << 20,
    pooling: true,
    ..server::config::SANDBOX_DEFAULTS
};

pub const VALIDATION: ValidationLimits = ValidationLimits {
    smoke_budget: Duration::from_secs(20),
    retry_after_secs: 1,
    ..server::config::VALIDATION_DEFAULTS
};

pub fn sandbox() -> Arc<Sandbox> {
    Arc::new(Sandbox::new(LIMITS).unwrap())
}

/// A registry in `dir` on its own sandbox.
pub struct Fixture {
    pub sandbox: Arc<Sandbox>,
    pub registry: Arc<Registry>,
}

pub fn open(dir: &std::path::Path) -> Fixture {
    open_with(dir, sandbox(), VALIDATION)
}

pub fn open_with(
    dir: &std::path::Path,
    sandbox: Arc<Sandbox>,
    validation: ValidationLimits,
) -> Fixture {
    let registry = Arc::new(Registry::open(dir, Arc::clone(&sandbox), validation).unwrap());
    Fixture { sandbox, registry }
}

impl Fixture {
    pub async fn upload_bytes(
        &self,
        name: &str,
        bytes: Vec<u8>,
        smoke_input: Option<&str>,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        let upload = Upload {
            name: name.to_owned(),
            version: "1".to_owned(),
            bytes: Bytes::from(bytes),
            smoke_input: smoke_input.map(|s| Bytes::from(s.to_owned())),
        };
        let pipeline = Pipeline::for_sandbox(Arc::clone(&self.sandbox));
        self.registry.upload(upload, &pipeline, "fixture").await
    }

    pub async fn upload(
        &self,
        name: &str,
        module: &str,
    ) -> Result<(PluginMeta, bool), RegistryError> {
        self.upload_bytes(name, guest(module), None).await
    }

    /// The stored artifact record of `digest`.
    pub fn artifact_of(
        &self,
        digest: &server::registry::PluginDigest,
    ) -> server::registry::ArtifactRecord {
        let meta = self.registry.plugin(digest).expect("stored");
        meta.artifact.expect("an artifact is recorded")
    }

    pub async fn version_of(&self, name_or_digest: &str) -> String {
        let digest = self.registry.resolve(name_or_digest).unwrap();
        let call = self
            .sandbox
            .invoke(
                &GuestKey::Plugin(digest),
                "t",
                Bytes::from_static(b"k\nv\n"),
                self.sandbox.default_options(),
            )
            .await;
        let json: serde_json::Value = serde_json::from_slice(&call.result.unwrap().bytes).unwrap();
        json["version"].as_str().unwrap().to_owned()
    }
}

pub fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("modules"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A module importing `env.evil`: refused before any code runs.
pub const FORBIDDEN_IMPORT: &[u8] = b"\0asm\x01\0\0\0\
    \x01\x04\x01\x60\x00\x00\
    \x02\x0c\x01\x03env\x04evil\x00\x00";

/// A module exporting a memory of at least 300 pages (over the 256 cap).
pub const HUGE_MEMORY: &[u8] = b"\0asm\x01\0\0\0\
    \x05\x04\x01\x00\xac\x02\
    \x07\x0a\x01\x06memory\x02\x00";
