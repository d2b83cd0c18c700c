//! `POST /api/lessons/compile-once?calls=N` (seed task 8): what compiling
//! once buys, measured live on this server.
//!
//! N calls of the built-in `process` guest go through the invocation
//! pipeline exactly as `/api/run/process` does (the `demo` tenant's gate,
//! a fresh instance of the module compiled at start-up, metrics). Then one
//! naive call compiles the module's bytes from scratch (Cranelift, on
//! tokio's blocking pool, through the sandbox's `compile` with its
//! preflight), instantiates that fresh module and calls it under the same
//! limits, admitted by the same gate. The naive call is not counted in the
//! metrics: like an upload's smoke call, its module is not in the guest
//! table.
//!
//! Compiling takes a core for a second or more, so one lesson runs at a
//! time per server (409 `already_running` otherwise).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::sync::{OnceCell, Semaphore};
use wire::lessons::{COMPILE_ONCE_CALLS, COMPILE_ONCE_DEFAULT_CALLS, CompileOnceLesson, NaiveCall};

use crate::error::ApiError;
use crate::extract::Query;
use crate::invoke::{self, Target};
use crate::sandbox::{GuestKey, SandboxError};
use crate::state::AppState;
use crate::tenants::TenantId;

/// The built-in guest the lesson calls: the real CSV → JSON plugin.
const GUEST: &str = "process";
/// Its input: a small CSV, so the call itself is short and the difference
/// is the compile.
const INPUT: &[u8] = b"name,qty\nbolt,4\nnut,10\nwasher,25\n";
/// What a second caller is told to wait while a lesson runs.
const RETRY_AFTER_SECS: u64 = 5;

/// The lesson's own state, one per router (per server).
#[derive(Debug)]
struct Lesson {
    /// One lesson at a time: the naive compile takes a core. Its permit
    /// moves into the compile's thread, so a client that hangs up does not
    /// free it while Cranelift still runs (hang up and ask again would
    /// otherwise stack compiles on the blocking pool).
    running: Arc<Semaphore>,
    /// The guest's module bytes, read once from `--guests-dir`.
    module: OnceCell<Bytes>,
}

/// `POST /api/lessons/compile-once`.
pub(super) fn router() -> Router<AppState> {
    let lesson = Arc::new(Lesson {
        running: Arc::new(Semaphore::new(1)),
        module: OnceCell::new(),
    });
    Router::new()
        .route("/api/lessons/compile-once", post(compile_once))
        .layer(Extension(lesson))
}

#[derive(Debug, Deserialize)]
struct Args {
    calls: Option<u32>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The median of `samples` (not empty).
fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Checks `?calls=` against [`COMPILE_ONCE_CALLS`].
fn calls(args: &Args) -> Result<u32, ApiError> {
    super::bounded(
        "calls",
        args.calls,
        COMPILE_ONCE_DEFAULT_CALLS,
        COMPILE_ONCE_CALLS,
    )
}

async fn compile_once(
    State(state): State<AppState>,
    Extension(lesson): Extension<Arc<Lesson>>,
    Query(args): Query<Args>,
) -> Result<Response, ApiError> {
    let calls = calls(&args)?;
    let Ok(running) = Arc::clone(&lesson.running).try_acquire_owned() else {
        return Err(ApiError::AlreadyRunning {
            what: "the compile-once lesson".into(),
            retry_after_secs: RETRY_AFTER_SECS,
        });
    };
    let sandbox = state.sandbox();
    let info = sandbox
        .guest_info(&GuestKey::Builtin(GUEST.to_owned()))
        .ok_or_else(|| SandboxError::UnknownGuest {
            name: GUEST.to_owned(),
        })?;
    let input = Bytes::from_static(INPUT);

    let mut calls_ms = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let request_id = invoke::request_id(&HeaderMap::new())?;
        let started = Instant::now();
        let answer = invoke::invoke(
            &state,
            Target::Builtin(GUEST.to_owned()),
            TenantId::demo(),
            input.clone(),
            request_id,
        )
        .await?;
        if !answer.status().is_success() {
            // The pipeline's typed error (busy, deadline, ...), as it is.
            return Ok(answer);
        }
        calls_ms.push(ms(started.elapsed()));
    }

    let bytes = lesson
        .module
        .get_or_try_init(|| read_module(&state, &info.digest))
        .await?
        .clone();
    let _permit = state.tenants().admit(&TenantId::demo()).await?;
    let started = Instant::now();
    let compiler = state.sandbox();
    let compiled = tokio::task::spawn_blocking(move || {
        let _running = running;
        compiler.compile(GUEST, &bytes)
    })
    .await
    .map_err(|e| ApiError::Internal {
        message: format!("the naive compile's thread failed: {e}"),
    })?
    .map_err(|e| ApiError::Internal {
        message: format!("the naive compile of a module that loaded at start-up: {e}"),
    })?;
    let compile = started.elapsed();
    let options = state
        .tenants()
        .call_options(&TenantId::demo(), sandbox.limits().per_call());
    let called = Instant::now();
    sandbox
        .invoke_compiled(&compiled, TenantId::demo().as_str(), input, options)
        .await
        .result?;
    let call = called.elapsed();

    let p50_ms = median(&calls_ms);
    let naive = NaiveCall {
        compile_ms: ms(compile),
        call_ms: ms(call),
        total_ms: ms(compile + call),
    };
    Ok(Json(CompileOnceLesson {
        guest: GUEST.to_owned(),
        digest: info.digest,
        module_bytes: info.size as u64,
        ratio: naive.total_ms / p50_ms.max(f64::MIN_POSITIVE),
        p50_ms,
        calls_ms,
        naive,
    })
    .into_response())
}

/// The guest's bytes from `--guests-dir`, refused unless they are the
/// module the sandbox loaded at start-up (same SHA-256).
async fn read_module(state: &AppState, digest: &str) -> Result<Bytes, ApiError> {
    let path = state.config().guests_dir.join(format!("{GUEST}.wasm"));
    let shown = path.display().to_string();
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::Internal {
            message: format!("reading {shown}: {e}"),
        })?
        .map_err(|e| ApiError::Internal {
            message: format!("reading {shown}: {e}"),
        })?;
    if hex::encode(Sha256::digest(&bytes)) != digest {
        return Err(ApiError::Internal {
            message: format!("{shown} changed since start-up: not the module being compared"),
        });
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_default_to_twenty_and_stay_within_one_to_fifty() {
        assert_eq!(calls(&Args { calls: None }).unwrap(), 20);
        assert_eq!(calls(&Args { calls: Some(1) }).unwrap(), 1);
        assert_eq!(calls(&Args { calls: Some(50) }).unwrap(), 50);
        for absurd in [0, 51, u32::MAX] {
            let err = calls(&Args {
                calls: Some(absurd),
            })
            .unwrap_err();
            assert_eq!(err.code(), "bad_request", "{absurd}");
        }
    }

    #[test]
    fn the_median_of_an_odd_and_an_even_count_is_a_sample() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 3.0);
    }
}
