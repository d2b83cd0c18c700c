//! The one invocation pipeline: every guest call, whichever route it came
//! by, goes through [`invoke`]: resolution to a typed [`GuestKey`],
//! admission by the tenant's gate, the tenant's limits and CPU class, the
//! sandbox call, metrics and one log line. Routes only authenticate, read
//! the body and shape the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::ApiError;
use crate::outcome::Outcome;
use crate::registry::RolloutCall;
use crate::sandbox::{GuestKey, Output};
use crate::state::AppState;
use crate::tenants::TenantId;

/// What a caller asked to run.
#[derive(Debug, Clone)]
pub enum Target {
    /// A built-in demo guest, by name (`/api/run/{guest}`): never a plugin.
    Builtin(String),
    /// A registry plugin by name (its active digest) or digest (`/api/invoke/{target}`).
    Plugin(String),
}

impl Target {
    fn route(&self) -> &'static str {
        match self {
            Self::Builtin(_) => "run",
            Self::Plugin(_) => "invoke",
        }
    }

    fn requested(&self) -> &str {
        match self {
            Self::Builtin(name) | Self::Plugin(name) => name,
        }
    }
}

/// A call that resolved: which guest, under which digest it is counted,
/// and the rollout that routed it, if one did.
struct Resolved {
    key: GuestKey,
    digest: String,
    rollout: Option<RolloutCall>,
}

/// The caller's `x-request-id` (1 to 64 characters of `A-Z a-z 0-9 . _ : -`),
/// or a new one: a rollout routes by it, so a retry lands on the same digest.
pub fn request_id(headers: &HeaderMap) -> Result<String, ApiError> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let Some(value) = headers.get("x-request-id") else {
        return Ok(format!("wip-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    };
    let valid = (1..=64).contains(&value.len())
        && value
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(b));
    if valid {
        Ok(value.to_str().expect("checked ASCII").to_owned())
    } else {
        Err(ApiError::BadRequest {
            reason: "x-request-id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -".into(),
        })
    }
}

fn resolve(state: &AppState, target: &Target, request_id: &str) -> Result<Resolved, ApiError> {
    match target {
        Target::Builtin(name) => {
            let key = GuestKey::Builtin(name.clone());
            let info = state
                .sandbox()
                .guest_info(&key)
                .ok_or_else(|| crate::sandbox::SandboxError::UnknownGuest { name: name.clone() })?;
            Ok(Resolved {
                key,
                digest: info.digest,
                rollout: None,
            })
        }
        Target::Plugin(name_or_digest) => {
            let routed = state.registry().route(name_or_digest, request_id)?;
            Ok(Resolved {
                digest: routed.digest.to_string(),
                key: GuestKey::Plugin(routed.digest),
                rollout: routed.rollout,
            })
        }
    }
}

/// Runs `target` for `tenant` on `input` and answers the guest's output,
/// or the typed error of whatever stopped it.
pub async fn invoke(
    state: &AppState,
    target: Target,
    tenant: TenantId,
    input: Bytes,
    request_id: String,
) -> Result<Response, ApiError> {
    let resolved = resolve(state, &target, &request_id)?;
    let record = CallRecord {
        request_id: &request_id,
        route: target.route(),
        tenant: &tenant,
        requested: target.requested(),
        digest: &resolved.digest,
    };
    let started = Instant::now();
    let permit = match state.tenants().admit(&tenant).await {
        Ok(permit) => permit,
        Err(e) => {
            let usage = Usage::default();
            record.finish(state, Outcome::Rejected, started.elapsed(), usage, Some(&e));
            return Err(e);
        }
    };
    let sandbox = state.sandbox();
    let options = state
        .tenants()
        .call_options(&tenant, sandbox.limits().per_call());
    let invocation = sandbox
        .invoke(&resolved.key, tenant.as_str(), input, options)
        .await;
    drop(permit);
    let outcome = Outcome::of(&invocation.result);
    let error = invocation.result.as_ref().err().map(|e| e.to_string());
    let usage = Usage {
        memory_pages: invocation.peak_memory_pages,
        cpu: crate::sandbox::engine::EPOCH_TICK * invocation.cpu_ticks as u32,
    };
    let elapsed = started.elapsed();
    record.finish(state, outcome, elapsed, usage, error.as_ref());
    if let Some(call) = &resolved.rollout {
        crate::rollouts::count(state, call, &resolved.digest, outcome, elapsed).await;
    }
    // A failed call names what failed too: which digest, which side.
    let mut response = match invocation.result {
        Ok(output) => respond(output),
        Err(e) => ApiError::from(e).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-guest-digest",
        HeaderValue::from_str(&resolved.digest).expect("hex digest"),
    );
    headers.insert(
        "x-request-id",
        HeaderValue::from_str(&request_id).expect("checked request id"),
    );
    // The tenant the call ran (and its log lines were tagged) as: on
    // `/api/run`, always `demo`, whatever the caller claims.
    headers.insert(
        "x-guest-tenant",
        HeaderValue::from_str(tenant.as_str()).expect("tenant ids are ASCII"),
    );
    if let Some(call) = &resolved.rollout {
        headers.insert(
            "x-rollout-role",
            HeaderValue::from_static(call.role.as_str()),
        );
    }
    Ok(response)
}

fn respond(output: Output) -> Response {
    let logs = output.logs.len();
    let mut response = output.bytes.into_response();
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-guest-log-lines", HeaderValue::from(logs));
    // The lines themselves, for the caller to see what its guest said
    // (seed task 11), up to a budget that keeps the headers small.
    let mut budget = LOG_HEADER_BUDGET;
    for line in &output.logs {
        let value = log_header_value(&line.message);
        if value.len() > budget {
            break;
        }
        budget -= value.len();
        headers.append("x-guest-log", value);
    }
    headers.insert(
        "x-guest-logs-dropped",
        HeaderValue::from(output.logs_dropped),
    );
    headers.insert(
        "x-guest-memory-pages",
        HeaderValue::from(output.peak_memory_pages),
    );
    response
}

/// Bytes of `x-guest-log` headers one answer carries at most; past it the
/// remaining lines are only counted (`x-guest-log-lines`) and logged.
pub const LOG_HEADER_BUDGET: usize = 8 * 1024;

/// A log line as a header value: printable ASCII as is, every other byte
/// (and `%`, and `,`, which joins repeated headers) percent-encoded, so any
/// UTF-8 line survives, none can inject a header, and a client reading the
/// joined `x-guest-log` value can split it on `", "`.
fn log_header_value(message: &str) -> HeaderValue {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' && byte != b',' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&out).expect("printable ASCII")
}

/// What a call used.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    memory_pages: u64,
    cpu: Duration,
}

/// Who called what: one metrics record and one log line per call, the
/// same shape whichever route it came by.
struct CallRecord<'a> {
    request_id: &'a str,
    route: &'static str,
    tenant: &'a TenantId,
    requested: &'a str,
    digest: &'a str,
}

impl CallRecord<'_> {
    fn finish(
        &self,
        state: &AppState,
        outcome: Outcome,
        duration: Duration,
        usage: Usage,
        error: Option<&impl std::fmt::Display>,
    ) {
        let (memory_pages, cpu_ms) = (usage.memory_pages, usage.cpu.as_secs_f64() * 1e3);
        state.metrics().record(
            self.digest,
            self.tenant.as_str(),
            outcome,
            duration,
            usage.cpu,
        );
        let error = error.map(ToString::to_string);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    request_id = self.request_id,
                    route = self.route,
                    tenant = %self.tenant,
                    plugin = self.requested,
                    digest = self.digest,
                    outcome = outcome.as_str(),
                    duration_ms = duration.as_secs_f64() * 1e3,
                    memory_pages,
                    cpu_ms,
                    error,
                    "invocation"
                )
            };
        }
        if outcome.is_guest_failure() {
            line!(warn);
        } else {
            line!(info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_header_escapes_what_could_break_or_inject_a_header() {
        assert_eq!(log_header_value("converted 2 rows"), "converted 2 rows");
        assert_eq!(
            log_header_value("a\r\nx-evil: 1, 100% é"),
            "a%0D%0Ax-evil: 1%2C 100%25 %C3%A9"
        );
    }
}
