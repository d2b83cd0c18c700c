//! Validation of an uploaded module, in the order that runs the least
//! untrusted code: size and magic, compile, imports and memory (no guest
//! code yet), ABI exports, then one smoke call under the validation budget.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::types::RegistryError;
use crate::sandbox::{CallLimits, CallOptions, Compiled, LoadError, Sandbox, SandboxError};

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
    let compiled = tokio::task::spawn_blocking(move || sandbox.compile(&name, &bytes))
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

/// One call of `wip_process` on `input` under the server's memory cap and
/// the smoke budget. A busy pool is the server's state, not the module's
/// fault: the caller is told to retry.
pub(super) async fn smoke(
    sandbox: &Sandbox,
    compiled: &Compiled,
    input: Bytes,
    limits: ValidationLimits,
) -> Result<(), RegistryError> {
    let options = CallOptions::with_limits(CallLimits {
        memory_pages: sandbox.limits().memory_pages,
        deadline: limits.smoke_budget,
    });
    let call = sandbox
        .invoke_compiled(compiled, "registry-smoke", input, options)
        .await;
    match call.result {
        Ok(_) => Ok(()),
        Err(SandboxError::Busy { .. }) => Err(RegistryError::Busy {
            retry_after_secs: limits.retry_after_secs,
        }),
        Err(e) => Err(RegistryError::Rejected {
            reason: "smoke_failed",
            message: format!("smoke call failed: {e}"),
        }),
    }
}
