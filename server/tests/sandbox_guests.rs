//! The sandbox library API against every guest `cargo xtask build` made
//! (seed tasks 4, 10, 11): one behaviour per test.
//!
//! A test of one limit keeps the others out of reach: a memory-cap test
//! runs with a generous deadline, so a busy machine cannot turn it into a
//! deadline test.

mod common;
use common::*;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use server::sandbox::{
    CallLimits, CallOptions, CpuClass, GuestKey, Invocation, Output, Sandbox, SandboxError,
    SandboxLimits,
};

const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_millis(50),
    slots: 8,
    max_input_bytes: 64 * 1024,
    pooling: true,
};

/// Long enough that only the limit under test can end a call.
const GENEROUS: Duration = Duration::from_secs(20);

/// Compiling every guest once per test binary (as the server does at startup).
static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    let sandbox = Sandbox::new(LIMITS).expect("engine");
    sandbox.load_dir(&guests_dir()).expect("guests load");
    sandbox
});

fn builtin(name: &str) -> GuestKey {
    GuestKey::Builtin(name.to_owned())
}

fn options(memory_pages: u64, deadline: Duration) -> CallOptions {
    CallOptions {
        limits: CallLimits {
            memory_pages,
            deadline,
        },
        cpu: CpuClass::Normal,
    }
}

async fn call(guest: &str, input: &str, options: CallOptions) -> Invocation {
    let input = Bytes::copy_from_slice(input.as_bytes());
    SANDBOX
        .invoke(&builtin(guest), "tenant-a", input, options)
        .await
}

/// Under the server's limits, with a generous deadline (see the module docs).
async fn invoke(guest: &str, input: &str) -> Result<Output, SandboxError> {
    call(guest, input, options(256, GENEROUS)).await.result
}

/// Under the server's limits, 50 ms deadline included.
async fn invoke_50ms(guest: &str, input: &str) -> Result<Output, SandboxError> {
    call(guest, input, SANDBOX.default_options()).await.result
}

#[tokio::test]
async fn add_guest_adds_2_and_3() {
    assert_eq!(SANDBOX.call_add("add", 2, 3).await, Ok(5));
}
#[tokio::test]
async fn process_converts_csv_to_json() {
    let out = invoke("process", "name,qty\nbolt,4\nnut,10\n")
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.bytes).unwrap();
    assert_eq!(json["columns"], serde_json::json!(["name", "qty"]));
    assert_eq!(json["rows"][1]["qty"], "10");
    assert!(out.peak_memory_pages > 0 && out.peak_memory_pages <= 256);
}

#[tokio::test]
async fn process_logs_through_the_one_host_capability() {
    let out = invoke("process", "a\n1\n2\n").await.unwrap();
    assert_eq!(out.logs.len(), 1);
    assert_eq!(out.logs[0].message, "converted 2 rows");
}

#[tokio::test]
async fn malformed_input_is_a_guest_error_not_a_trap() {
    let err = invoke("process", "a,b\n\"unterminated\n")
        .await
        .unwrap_err();
    let SandboxError::GuestError { code, message } = err else {
        panic!("expected a guest error, got {err:?}");
    };
    assert_eq!(code, 2);
    assert!(message.starts_with("invalid CSV"), "{message}");
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_cap() {
    let err = invoke("bomb", "").await.unwrap_err();
    assert_eq!(err, SandboxError::MemoryLimit { cap_pages: 256 });
}

#[tokio::test]
async fn loop_without_calls_is_interrupted_at_the_deadline() {
    let err = invoke_50ms("spin", "").await.unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
}

#[tokio::test]
async fn loop_with_calls_is_interrupted_at_the_deadline() {
    let err = invoke_50ms("spin", "calls").await.unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
}

#[tokio::test]
async fn nil_dereference_is_a_typed_trap() {
    let err = invoke("trap", "nil").await.unwrap_err();
    assert!(
        matches!(&err, SandboxError::Trap { kind, .. } if kind == "nil_dereference"),
        "{err:?}"
    );
}

#[tokio::test]
async fn panic_is_a_typed_trap_with_the_message() {
    let err = invoke("trap", "panic").await.unwrap_err();
    let SandboxError::Trap { kind, message } = err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(kind, "panic");
    assert!(message.contains("guest gave up on purpose"), "{message}");
}

#[tokio::test]
async fn os_exit_is_reported_with_its_code() {
    assert_eq!(
        invoke("exit", "").await.unwrap_err(),
        SandboxError::Exit { code: 3 }
    );
}

#[tokio::test]
async fn unbounded_recursion_is_stopped() {
    let err = invoke("stack", "").await.unwrap_err();
    assert!(
        matches!(&err, SandboxError::Trap { kind, .. } if kind == "stack_overflow")
            || matches!(err, SandboxError::MemoryLimit { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn guest_cannot_touch_the_filesystem() {
    let out = invoke("fsprobe", "").await.unwrap();
    let report: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.bytes).unwrap();
    assert_eq!(report.len(), 4);
    for (attempt, error) in &report {
        assert!(!error.is_empty(), "{attempt} must fail, but succeeded");
    }
}

#[tokio::test]
async fn guest_cannot_reach_a_real_socket() {
    // A real listener on the host: the guest dials it and must not arrive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = invoke("netprobe", &addr).await.unwrap();
    let report: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.bytes).unwrap();
    assert!(
        !report["dial tcp"].is_empty(),
        "the dial must fail: {report:?}"
    );
    assert!(
        listener.accept().is_err(),
        "no connection may reach the host listener"
    );
}

#[tokio::test]
async fn log_flood_is_capped_and_the_call_still_completes() {
    let out = invoke("logflood", "").await.unwrap();
    assert_eq!(out.bytes, b"done");
    assert_eq!(out.logs.len(), server::sandbox::host::MAX_LOG_LINES);
    assert!(
        out.logs
            .iter()
            .all(|l| l.truncated && l.message.len() <= server::sandbox::host::MAX_LOG_LINE)
    );
    assert_eq!(
        out.logs_dropped,
        10_000 - server::sandbox::host::MAX_LOG_LINES as u64
    );
}

#[tokio::test]
async fn unknown_guest_is_typed() {
    assert!(matches!(
        invoke("nope", "").await,
        Err(SandboxError::UnknownGuest { .. })
    ));
}

#[tokio::test]
async fn oversized_input_is_rejected_before_the_guest_runs() {
    let big = "x".repeat(LIMITS.max_input_bytes + 1);
    assert!(matches!(
        invoke("process", &big).await,
        Err(SandboxError::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn a_guest_without_the_abi_is_an_abi_violation() {
    assert!(matches!(
        invoke("add", "").await,
        Err(SandboxError::AbiViolation { .. })
    ));
}

#[tokio::test]
async fn a_sleeping_guest_is_cut_at_its_deadline_like_a_spinning_one() {
    let started = Instant::now();
    let err = invoke_50ms("sleeper", "30s").await.unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
    // Behaviour, not speed: the 30 s sleep did not run out (precision is
    // measured by `cargo xtask bench sandbox`).
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_guest_sleeping_while_it_starts_is_cut_at_its_deadline() {
    let started = Instant::now();
    let err = invoke_50ms("sleepinit", "").await.unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_guest_that_sleeps_less_than_its_deadline_finishes() {
    let out = invoke("sleeper", "20ms").await.unwrap();
    assert_eq!(out.bytes, b"slept 20ms");
}

#[tokio::test]
async fn a_cut_sleeper_frees_its_slot_at_once() {
    let one_slot = Sandbox::new(SandboxLimits { slots: 1, ..LIMITS }).unwrap();
    for name in ["sleeper", "add"] {
        one_slot.load(builtin(name), &guest(name)).unwrap();
    }
    for _ in 0..3 {
        let slept = one_slot
            .invoke(
                &builtin("sleeper"),
                "t",
                Bytes::from_static(b"30s"),
                one_slot.default_options(),
            )
            .await;
        assert_eq!(
            slept.result.unwrap_err(),
            SandboxError::Deadline { deadline_ms: 50 }
        );
        assert_eq!(
            one_slot.call_add("add", 1, 1).await,
            Ok(2),
            "the slot is free"
        );
    }
}

#[tokio::test]
async fn host_keeps_serving_after_hostile_guests() {
    for (guest, input) in [
        ("bomb", ""),
        ("spin", ""),
        ("sleeper", ""),
        ("sleepinit", ""),
        ("trap", "nil"),
        ("exit", ""),
        ("logflood", ""),
    ] {
        let _ = invoke_50ms(guest, input).await;
    }
    assert!(invoke("process", "a\n1\n").await.is_ok());
}

#[tokio::test]
async fn a_full_pool_answers_busy_instead_of_queueing() {
    let one_slot = std::sync::Arc::new(Sandbox::new(SandboxLimits { slots: 1, ..LIMITS }).unwrap());
    for name in ["sleeper", "add"] {
        one_slot.load(builtin(name), &guest(name)).unwrap();
    }
    let sleeper = std::sync::Arc::clone(&one_slot);
    let sleeping = tokio::spawn(async move {
        // Our own knocks may hold the slot for an instant: retry until in.
        loop {
            let call = sleeper
                .invoke(
                    &builtin("sleeper"),
                    "t",
                    Bytes::from_static(b"2s"),
                    options(256, GENEROUS),
                )
                .await;
            if !matches!(call.result, Err(SandboxError::Busy { .. })) {
                return call.result;
            }
            tokio::task::yield_now().await;
        }
    });
    // Knock until the sleeper holds the only slot (it may not have started yet).
    let waited = Instant::now();
    loop {
        match one_slot.call_add("add", 1, 1).await {
            Err(SandboxError::Busy { slots: 1 }) => break,
            Ok(2) if waited.elapsed() < Duration::from_secs(2) => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            other => panic!("expected Busy while the sleeper runs, got {other:?}"),
        }
    }
    assert_eq!(sleeping.await.unwrap().unwrap().bytes, b"slept 2s");
}

#[tokio::test]
async fn log_lines_are_emitted_tagged_with_tenant_guest_and_digest() {
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let input = Bytes::from_static(b"a\n1\n");
    let call = SANDBOX
        .invoke(
            &builtin("process"),
            "tenant-42",
            input,
            options(256, GENEROUS),
        )
        .await;
    call.result.unwrap();
    let lines = capture.lines();
    let line = lines
        .iter()
        .find(|v| v["target"] == "guest")
        .unwrap_or_else(|| panic!("no guest log line in {lines:?}"));
    let digest = SANDBOX.guest_info(&builtin("process")).unwrap().digest;
    assert_eq!(line["fields"]["message"], "converted 1 rows");
    assert_eq!(line["fields"]["tenant"], "tenant-42");
    assert_eq!(line["fields"]["guest"], "process");
    assert_eq!(line["fields"]["digest"], digest.as_str());
}

#[tokio::test]
async fn the_memory_cap_of_a_call_is_clamped_to_the_servers() {
    let call = call("bomb", "", options(100_000, GENEROUS)).await;
    assert_eq!(call.limits.memory_pages, LIMITS.memory_pages, "clamped");
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::MemoryLimit { cap_pages: 256 }
    );
}

#[tokio::test]
async fn a_call_may_tighten_the_memory_cap() {
    let call = call("bomb", "", options(128, GENEROUS)).await;
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::MemoryLimit { cap_pages: 128 }
    );
    assert!(call.peak_memory_pages <= 128, "{}", call.peak_memory_pages);
}

#[tokio::test]
async fn a_call_may_tighten_the_deadline() {
    let call = call("spin", "", options(256, Duration::from_millis(5))).await;
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::Deadline { deadline_ms: 5 }
    );
}

#[test]
fn blocking_callers_get_the_same_outcomes() {
    assert_eq!(SANDBOX.call_add_blocking("add", 2, 3), Ok(5));
    assert_eq!(
        SANDBOX
            .invoke_blocking(&builtin("sleeper"), "t", b"30s")
            .unwrap_err(),
        SandboxError::Deadline { deadline_ms: 50 }
    );
}
