//! `POST /api/lessons/compile-once?calls=N` (seed task 8): what compiling
//! once buys, measured live on this server.
//!
//! N calls of the built-in `process` guest go through the pipeline under
//! the `demo` tenant (its gate, a fresh instance of the module compiled at
//! start-up, metrics under route `lesson-compile-once`). Then one naive
//! call compiles the module's bytes from scratch and calls that fresh
//! module through the pipeline too (route `lesson-compile-naive`, same
//! tenant and gate).
//!
//! Anyone may call this, and a compile takes seconds of CPU, so it runs
//! under a budget:
//! - in the background CPU class: one nice-19 thread
//!   (`Sandbox::compile_in_background`), never the cores tenants' calls
//!   need;
//! - one at a time per server (409 `already_running`); the permit moves
//!   into the compile's thread, so a client that hangs up cannot start
//!   another while its first still runs;
//! - per client (peer IP): after a compile of T seconds, that client waits
//!   T more (429 `rate_limited` with `Retry-After`), so no client keeps
//!   even the background thread busy more than half the time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wire::lessons::{COMPILE_ONCE_CALLS, COMPILE_ONCE_DEFAULT_CALLS, CompileOnceLesson, NaiveCall};

use super::client_waits::ClientWaits;
use super::module::GUEST;
use crate::error::ApiError;
use crate::extract::{ClientIp, Query};
use crate::pipeline::{Admission, Call, Route};
use crate::request_id::RequestId;
use crate::sandbox::{Compiled, GuestKey, GuestRef, Sandbox, SandboxError, Work};
use crate::state::AppState;
use crate::tenants::TenantId;

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
    /// Each client that compiled waits as long again.
    waits: ClientWaits,
}

/// `POST /api/lessons/compile-once`.
pub(super) fn router() -> Router<AppState> {
    let lesson = Arc::new(Lesson {
        running: Arc::new(Semaphore::new(1)),
        waits: ClientWaits::new("the compile-once lesson's naive compile"),
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
    client: ClientIp,
    request_id: RequestId,
    Query(args): Query<Args>,
) -> Result<Response, ApiError> {
    let calls = calls(&args)?;
    lesson.waits.check(client)?;
    let Ok(running) = Arc::clone(&lesson.running).try_acquire_owned() else {
        return Err(ApiError::AlreadyRunning {
            what: "the compile-once lesson".into(),
            retry_after_secs: RETRY_AFTER_SECS,
        });
    };
    let pipeline = state.pipeline();
    let key = GuestKey::Builtin(GUEST.to_owned());
    let info = pipeline
        .sandbox()
        .guest_info(&key)
        .ok_or_else(|| SandboxError::UnknownGuest {
            name: GUEST.to_owned(),
        })?;
    let demo = TenantId::demo();
    let call = |route, guest| Call {
        route,
        request_id: request_id.as_str(),
        tenant: &demo,
        requested: GUEST,
        guest,
        digest: &info.digest,
        work: Work::Process(Bytes::from_static(INPUT)),
        admission: Admission::Tenant,
        options: None,
    };

    let mut calls_ms = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let called = pipeline
            .call(call(Route::LessonCompileOnce, GuestRef::Installed(&key)))
            .await;
        // The pipeline's typed error (busy, deadline, ...), as it is.
        called.result?;
        calls_ms.push(ms(called.elapsed));
    }

    let bytes = state.lesson_module().bytes(&info.digest)?;
    let (compiled, compile) = naive_compile(
        Arc::clone(pipeline.sandbox()),
        lesson,
        client,
        running,
        bytes,
    )
    .await?;
    let naive = pipeline
        .call(call(
            Route::LessonCompileNaive,
            GuestRef::Compiled(&compiled),
        ))
        .await;
    naive.result?;

    let p50_ms = median(&calls_ms);
    let naive = NaiveCall {
        compile_ms: ms(compile),
        call_ms: ms(naive.elapsed),
        total_ms: ms(compile + naive.elapsed),
    };
    Ok(Json(CompileOnceLesson {
        guest: GUEST.to_owned(),
        digest: info.digest,
        module_bytes: info.size,
        ratio: naive.total_ms / p50_ms.max(f64::MIN_POSITIVE),
        p50_ms,
        calls_ms,
        naive,
    })
    .into_response())
}

/// Compiles the lesson's module again, as a host without a compile cache
/// would for every call, on the sandbox's background class. The running
/// permit moves into the compile's thread, and the client is charged its
/// time whether or not it is still there to read the answer.
async fn naive_compile(
    compiler: Arc<Sandbox>,
    lesson: Arc<Lesson>,
    client: ClientIp,
    running: OwnedSemaphorePermit,
    bytes: Bytes,
) -> Result<(Compiled, Duration), ApiError> {
    let (compiled, took) = tokio::task::spawn_blocking(move || {
        let _running = running;
        let started = Instant::now();
        let compiled = compiler.compile_in_background(GUEST, &bytes);
        let took = started.elapsed();
        lesson.waits.charge(client, started, took);
        (compiled, took)
    })
    .await
    .map_err(|e| ApiError::Internal {
        message: format!("the naive compile's thread failed: {e}"),
    })?;
    let compiled = compiled.map_err(|e| ApiError::Internal {
        message: format!("the naive compile of a module that loaded at start-up: {e}"),
    })?;
    Ok((compiled, took))
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
