//! Validation of an uploaded module, in the order that runs the least
//! untrusted code: size and magic, compile, imports and memory (no guest
//! code yet), ABI exports, then one smoke call under the validation budget.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::types::RegistryError;
use crate::digest::PluginDigest;
use crate::pipeline::{Admission, Call, Pipeline, PipelineError, Route};
use crate::sandbox::{
    CallLimits, CallOptions, Compiled, GuestRef, LoadError, Sandbox, SandboxError, Work,
};
use crate::tenants::TenantId;

/// Input of the smoke call when the uploader gives none: a CSV for the
/// CSV-to-JSON plugins this project ships.
pub const DEFAULT_SMOKE_INPUT: &[u8] = b"a\n1\n";

/// What the smoke call may use.
#[derive(Debug, Clone, Copy)]
pub struct ValidationLimits {
    /// Wall-clock budget of the smoke call: generous, because uploads
    /// compete with compiles and with traffic for the cores.
    pub smoke_budget: Duration,
    /// Seconds a client is told to wait when the pool is busy.
    pub retry_after_secs: u64,
    /// Largest module accepted.
    pub max_module_bytes: usize,
    /// Refusals remembered (the oldest is forgotten first).
    pub refusals_kept: usize,
    /// How long a refusal is remembered.
    pub refusal_memory: Duration,
}

/// Recent refusals by (digest, smoke input): the same module with the same
/// input uploaded again (ten at once, or in a loop) gets the same answer at
/// once instead of another compile and smoke call. A new smoke input, or
/// `refusal_memory` (a minute), and it is validated again (a refusal may
/// have been the load's).
#[derive(Debug)]
pub(super) struct Refusals {
    recent: Mutex<VecDeque<Refusal>>,
    kept: usize,
    memory: Duration,
}

#[derive(Debug)]
struct Refusal {
    digest: PluginDigest,
    smoke_input: Bytes,
    at: Instant,
    error: RegistryError,
}

impl Refusals {
    /// No refusals yet; at most `limits.refusals_kept`, each for
    /// `limits.refusal_memory`.
    pub(super) fn new(limits: &ValidationLimits) -> Self {
        Self {
            recent: Mutex::default(),
            kept: limits.refusals_kept,
            memory: limits.refusal_memory,
        }
    }

    /// The refusal of `digest` with `smoke_input`, if recent.
    pub(super) fn get(&self, digest: &PluginDigest, smoke_input: &Bytes) -> Option<RegistryError> {
        let mut refusals = self.recent.lock().expect("refusals lock");
        refusals.retain(|r| r.at.elapsed() < self.memory);
        refusals
            .iter()
            .find(|r| r.digest == *digest && r.smoke_input == *smoke_input)
            .map(|r| r.error.clone())
    }

    /// Remembers `error` when it is the module's (a rejection), not the
    /// server's (busy, storage).
    pub(super) fn remember(
        &self,
        digest: &PluginDigest,
        smoke_input: Bytes,
        error: &RegistryError,
    ) {
        if error.reason().is_none() || self.kept == 0 {
            return;
        }
        let mut refusals = self.recent.lock().expect("refusals lock");
        while refusals.len() >= self.kept {
            refusals.pop_front();
        }
        refusals.push_back(Refusal {
            digest: digest.clone(),
            smoke_input,
            at: Instant::now(),
            error: error.clone(),
        });
    }
}

/// Size and magic number.
pub(super) fn check_bytes(bytes: &[u8], max: usize) -> Result<(), RegistryError> {
    if bytes.len() > max {
        return Err(RegistryError::TooLarge {
            size: bytes.len(),
            max,
        });
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(RegistryError::NotWasm);
    }
    Ok(())
}

/// Compiles on a blocking thread and checks imports, memory and exports.
pub(super) async fn compile(
    sandbox: &Arc<Sandbox>,
    name: String,
    bytes: Bytes,
) -> Result<Compiled, RegistryError> {
    let sandbox = Arc::clone(sandbox);
    let compiled = tokio::task::spawn_blocking(move || sandbox.compile_shared(&name, &bytes))
        .await
        .map_err(|e| RegistryError::Storage(format!("compile task failed: {e}")))?
        .map_err(|e| match e {
            LoadError::Preflight { preflight, .. } => RegistryError::Rejected {
                reason: preflight.reason,
                message: preflight.message,
            },
            other => RegistryError::Rejected {
                reason: "compile_failed",
                message: other.to_string(),
            },
        })?;
    compiled
        .check_plugin_exports()
        .map_err(|p| RegistryError::Rejected {
            reason: p.reason,
            message: p.message,
        })?;
    Ok(compiled)
}

/// The smoke call of one upload: through the pipeline (route
/// `upload-smoke`, tenant `registry`), so it is counted and logged like
/// every call.
#[derive(Debug, Clone, Copy)]
pub struct Smoke<'a> {
    /// The one road of every guest call.
    pub pipeline: &'a Pipeline,
    /// The upload's request.
    pub request_id: &'a str,
    /// Its budget.
    pub limits: ValidationLimits,
}

impl Smoke<'_> {
    /// One call of `wip_process` on `input` under the server's memory cap
    /// and the smoke budget. A busy pool is the server's state, not the
    /// module's fault: the caller is told to retry.
    pub(super) async fn run(
        &self,
        name: &str,
        compiled: &Compiled,
        input: Bytes,
    ) -> Result<(), RegistryError> {
        let sandbox = self.pipeline.sandbox();
        let options = CallOptions::with_limits(CallLimits {
            memory_pages: sandbox.limits().memory_pages,
            deadline: self.limits.smoke_budget,
        });
        let tenant = TenantId::parse(crate::tenants::id::REGISTRY).expect("a valid id");
        let called = self
            .pipeline
            .call(Call {
                route: Route::UploadSmoke,
                request_id: self.request_id,
                tenant: &tenant,
                requested: name,
                guest: GuestRef::Compiled(compiled),
                digest: &compiled.info().digest,
                work: Work::Process(input),
                admission: Admission::Admin,
                options: Some(options),
            })
            .await;
        match called.result {
            Ok(_) => Ok(()),
            Err(PipelineError::Guest(SandboxError::Busy { .. })) => Err(RegistryError::Busy {
                retry_after_secs: self.limits.retry_after_secs,
            }),
            Err(e) => Err(RegistryError::Rejected {
                reason: "smoke_failed",
                message: format!("smoke call failed: {e}"),
            }),
        }
    }
}
