//! The sandbox library API against every guest `cargo xtask build` made
//! (seed tasks 4, 10, 11): one behaviour per test. Limits, deadlines and
//! slots: `sandbox_limits.rs`; the guest's log lines: `guest_log_lines.rs`.

use crate::guest_calls;
use guest_calls::*;

use server::sandbox::SandboxError;

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
    assert_eq!(out.logs.len(), LIMITS.log_lines);
    assert!(
        out.logs
            .iter()
            .all(|l| l.truncated && l.message.len() <= LIMITS.log_line_bytes)
    );
    assert_eq!(out.logs_dropped, 10_000 - LIMITS.log_lines as u64);
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
