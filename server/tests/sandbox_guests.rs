//! The sandbox library API against every guest `cargo xtask build` made
//! (seed tasks 4, 10, 11): one behaviour per test.

mod common;
use common::*;

use std::sync::LazyLock;
use std::time::Duration;

use server::sandbox::{Sandbox, SandboxError, SandboxLimits};

const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_millis(50),
    slots: 8,
    max_input_bytes: 64 * 1024,
    pooling: true,
};

/// Compiling every guest once per test binary (as the server does at startup).
static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    let sandbox = Sandbox::new(LIMITS).expect("engine");
    sandbox.load_dir(&guests_dir()).expect("guests load");
    sandbox
});

fn invoke(guest: &str, input: &str) -> Result<server::sandbox::Output, SandboxError> {
    SANDBOX.invoke(guest, "tenant-a", input.as_bytes())
}

#[test]
fn add_guest_adds_2_and_3() {
    assert_eq!(SANDBOX.call_add("add", 2, 3), Ok(5));
}

#[test]
fn process_converts_csv_to_json() {
    let out = invoke("process", "name,qty\nbolt,4\nnut,10\n").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.bytes).unwrap();
    assert_eq!(json["columns"], serde_json::json!(["name", "qty"]));
    assert_eq!(json["rows"][1]["qty"], "10");
    assert!(out.peak_memory_pages > 0 && out.peak_memory_pages <= 256);
}

#[test]
fn process_logs_through_the_one_host_capability() {
    let out = invoke("process", "a\n1\n2\n").unwrap();
    assert_eq!(out.logs.len(), 1);
    assert_eq!(out.logs[0].message, "converted 2 rows");
}

#[test]
fn malformed_input_is_a_guest_error_not_a_trap() {
    let err = invoke("process", "a,b\n\"unterminated\n").unwrap_err();
    let SandboxError::GuestError { code, message } = err else {
        panic!("expected a guest error, got {err:?}");
    };
    assert_eq!(code, 2);
    assert!(message.starts_with("invalid CSV"), "{message}");
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    let err = invoke("bomb", "").unwrap_err();
    assert_eq!(err, SandboxError::MemoryLimit { cap_pages: 256 });
}

#[test]
fn loop_without_calls_is_interrupted_at_the_deadline() {
    let err = invoke("spin", "").unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
}

#[test]
fn loop_with_calls_is_interrupted_at_the_deadline() {
    let err = invoke("spin", "calls").unwrap_err();
    assert_eq!(err, SandboxError::Deadline { deadline_ms: 50 });
}

#[test]
fn nil_dereference_is_a_typed_trap() {
    let err = invoke("trap", "nil").unwrap_err();
    assert!(
        matches!(&err, SandboxError::Trap { kind, .. } if kind == "nil_dereference"),
        "{err:?}"
    );
}

#[test]
fn panic_is_a_typed_trap_with_the_message() {
    let err = invoke("trap", "panic").unwrap_err();
    let SandboxError::Trap { kind, message } = err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(kind, "panic");
    assert!(message.contains("guest gave up on purpose"), "{message}");
}

#[test]
fn os_exit_is_reported_with_its_code() {
    assert_eq!(
        invoke("exit", "").unwrap_err(),
        SandboxError::Exit { code: 3 }
    );
}

#[test]
fn unbounded_recursion_is_stopped() {
    let err = invoke("stack", "").unwrap_err();
    assert!(
        matches!(&err, SandboxError::Trap { kind, .. } if kind == "stack_overflow")
            || matches!(err, SandboxError::MemoryLimit { .. }),
        "{err:?}"
    );
}

#[test]
fn guest_cannot_touch_the_filesystem() {
    let out = invoke("fsprobe", "").unwrap();
    let report: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.bytes).unwrap();
    assert_eq!(report.len(), 4);
    for (attempt, error) in &report {
        assert!(!error.is_empty(), "{attempt} must fail, but succeeded");
    }
}

#[test]
fn guest_cannot_reach_a_real_socket() {
    // A real listener on the host: the guest dials it and must not arrive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = invoke("netprobe", &addr).unwrap();
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

#[test]
fn log_flood_is_capped_and_the_call_still_completes() {
    let out = invoke("logflood", "").unwrap();
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

#[test]
fn unknown_guest_is_typed() {
    assert!(matches!(
        invoke("nope", ""),
        Err(SandboxError::UnknownGuest { .. })
    ));
}

#[test]
fn oversized_input_is_rejected_before_the_guest_runs() {
    let big = "x".repeat(LIMITS.max_input_bytes + 1);
    assert!(matches!(
        invoke("process", &big),
        Err(SandboxError::InvalidInput { .. })
    ));
}

#[test]
fn a_guest_without_the_abi_is_an_abi_violation() {
    assert!(matches!(
        invoke("add", ""),
        Err(SandboxError::AbiViolation { .. })
    ));
}

#[test]
fn host_keeps_serving_after_hostile_guests() {
    for (guest, input) in [
        ("bomb", ""),
        ("spin", ""),
        ("trap", "nil"),
        ("exit", ""),
        ("logflood", ""),
    ] {
        let _ = invoke(guest, input);
    }
    assert!(invoke("process", "a\n1\n").is_ok());
}

#[test]
fn a_full_pool_answers_busy_instead_of_queueing() {
    // A long deadline so the spinning call surely holds the only slot when we knock.
    let one_slot = Sandbox::new(SandboxLimits {
        slots: 1,
        deadline: Duration::from_secs(2),
        ..LIMITS
    })
    .unwrap();
    for guest in ["spin", "add"] {
        let bytes = std::fs::read(guests_dir().join(format!("{guest}.wasm"))).unwrap();
        one_slot.load(guest, &bytes).unwrap();
    }
    let one_slot = std::sync::Arc::new(one_slot);
    let spinner = std::sync::Arc::clone(&one_slot);
    let spinning = std::thread::spawn(move || spinner.invoke("spin", "t", b""));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        one_slot.call_add("add", 1, 1),
        Err(SandboxError::Busy { slots: 1 })
    );
    assert!(matches!(
        spinning.join().unwrap(),
        Err(SandboxError::Deadline { .. })
    ));
}

#[test]
fn log_lines_are_emitted_tagged_with_tenant_guest_and_digest() {
    let capture = LogCapture::default();
    tracing::subscriber::with_default(capture.subscriber(), || {
        SANDBOX.invoke("process", "tenant-42", b"a\n1\n").unwrap();
    });
    let lines = capture.lines();
    let line = lines
        .iter()
        .find(|v| v["target"] == "guest")
        .unwrap_or_else(|| panic!("no guest log line in {lines:?}"));
    let digest = SANDBOX
        .guests()
        .into_iter()
        .find(|g| g.name == "process")
        .unwrap()
        .digest;
    assert_eq!(line["fields"]["message"], "converted 1 rows");
    assert_eq!(line["fields"]["tenant"], "tenant-42");
    assert_eq!(line["fields"]["guest"], "process");
    assert_eq!(line["fields"]["digest"], digest.as_str());
}

#[test]
fn a_call_may_tighten_the_servers_limits_but_never_raise_them() {
    use server::sandbox::CallLimits;
    let generous = CallLimits {
        memory_pages: 100_000,
        deadline: Duration::from_secs(3600),
    };
    let call = SANDBOX.invoke_with("bomb", "t", b"", generous);
    assert_eq!(call.limits, LIMITS.per_call(), "clamped to the server's");
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::MemoryLimit { cap_pages: 256 }
    );

    let less_memory = CallLimits {
        memory_pages: 128,
        ..LIMITS.per_call()
    };
    let call = SANDBOX.invoke_with("bomb", "t", b"", less_memory);
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::MemoryLimit { cap_pages: 128 }
    );
    assert!(call.peak_memory_pages <= 128, "{}", call.peak_memory_pages);
    let shorter = CallLimits {
        deadline: Duration::from_millis(5),
        ..LIMITS.per_call()
    };
    let call = SANDBOX.invoke_with("spin", "t", b"", shorter);
    assert_eq!(
        call.result.unwrap_err(),
        SandboxError::Deadline { deadline_ms: 5 }
    );
}
