//! The HTTP face of the one invocation pipeline: `/api/run` and
//! `/api/invoke` resolve their target to a typed [`GuestKey`] (a rollout
//! picks its side here), hand the call to [`crate::pipeline`] (gate,
//! limits, sandbox, metrics, log line), count a routed call in its
//! rollout, and shape the answer. Routes only authenticate and read the
//! body.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::ApiError;
use crate::outcome::Outcome;
use crate::pipeline::{Admission, Call, Route};
use crate::registry::RolloutCall;
use crate::request_id::RequestId;
use crate::sandbox::{GuestKey, GuestRef, Output, Work};
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
    fn route(&self) -> Route {
        match self {
            Self::Builtin(_) => Route::Run,
            Self::Plugin(_) => Route::Invoke,
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
    request_id: &RequestId,
) -> Result<Response, ApiError> {
    let resolved = resolve(state, &target, request_id.as_str())?;
    let called = state
        .pipeline()
        .call(Call {
            route: target.route(),
            request_id: request_id.as_str(),
            tenant: &tenant,
            requested: target.requested(),
            guest: GuestRef::Installed(&resolved.key),
            digest: &resolved.digest,
            work: Work::Process(input),
            admission: Admission::Tenant,
            options: None,
        })
        .await;
    if called.outcome == Outcome::Rejected {
        return Err(called
            .result
            .expect_err("a rejected call has no output")
            .into());
    }
    if let Some(call) = &resolved.rollout {
        crate::rollout_routes::count(
            state,
            call,
            &resolved.digest,
            called.outcome,
            called.elapsed,
        )
        .await;
    }
    // A failed call names what failed too: which digest, which side.
    let mut response = match called.result {
        Ok(output) => respond(output, state.config().log_header_budget),
        Err(e) => ApiError::from(e).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-guest-digest",
        HeaderValue::from_str(&resolved.digest).expect("hex digest"),
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

/// The guest's output, its log lines as `x-guest-log` headers up to
/// `log_header_budget` bytes (past it the lines are only counted, in
/// `x-guest-log-lines`, and logged), and what it used.
fn respond(output: Output, log_header_budget: usize) -> Response {
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
    let mut budget = log_header_budget;
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
