//! The sandbox over HTTP (`POST /api/run/{guest}`, seed task 8): each typed
//! outcome maps to its status and JSON code; plus a bounded soak of mixed
//! hostile and well-behaved calls.

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use server::sandbox::{Sandbox, SandboxError};
use server::{AppState, Config, app};
use tower::ServiceExt as _;

fn config() -> Config {
    let mut config = Config::with_assets_dir(std::env::temp_dir().join("wip-no-site"));
    config.guests_dir = guests_dir();
    config.sandbox_max_input = 1024;
    config
}

async fn post(
    state: &AppState,
    uri: &str,
    tenant: Option<&str>,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::post(uri);
    if let Some(t) = tenant {
        request = request.header("x-tenant-id", t);
    }
    send(state, request.body(Body::from(body.to_owned())).unwrap()).await
}

fn code(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("JSON error body");
    json["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_outcome_has_its_status_and_code() {
    let state = AppState::new(config()).unwrap();
    let (status, headers, body) =
        post(&state, "/api/run/process", Some("acme"), "k,v\na,1\n").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-guest-log-lines"], "1");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["rows"][0]["v"], "1");

    for (uri, input, expected_status, expected_code) in [
        (
            "/api/run/process",
            "\"",
            StatusCode::UNPROCESSABLE_ENTITY,
            "guest_error",
        ),
        (
            "/api/run/bomb",
            "",
            StatusCode::INSUFFICIENT_STORAGE,
            "memory_limit",
        ),
        ("/api/run/spin", "", StatusCode::GATEWAY_TIMEOUT, "deadline"),
        ("/api/run/trap", "nil", StatusCode::BAD_GATEWAY, "trap"),
        ("/api/run/exit", "", StatusCode::BAD_GATEWAY, "exit"),
        ("/api/run/add", "", StatusCode::BAD_GATEWAY, "abi_violation"),
        ("/api/run/nope", "", StatusCode::NOT_FOUND, "unknown_guest"),
    ] {
        let (status, _, body) = post(&state, uri, Some("acme"), input).await;
        assert_eq!(status, expected_status, "{uri}");
        assert_eq!(code(&body), expected_code, "{uri}");
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let state = AppState::new(config()).unwrap();
    let (status, _, body) = post(&state, "/api/run/process", None, &"x".repeat(2048)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "invalid_input");
}

#[tokio::test]
async fn malformed_tenant_id_is_400() {
    let state = AppState::new(config()).unwrap();
    let (status, _, body) = post(&state, "/api/run/process", Some("a b/../c"), "a\n1\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "bad_request");
}

#[tokio::test]
async fn guests_are_listed_with_their_digests() {
    let state = AppState::new(config()).unwrap();
    let response = app(state)
        .oneshot(Request::get("/api/guests").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let guests: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let process = guests
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "process")
        .expect("process is loaded");
    assert_eq!(process["digest"].as_str().unwrap().len(), 64);
    assert!(
        process["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "wip_process")
    );
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn soak_of_ten_thousand_mixed_calls_keeps_the_host_alive_and_memory_bounded() {
    let sandbox = Sandbox::new(config().sandbox_limits()).unwrap();
    sandbox.load_dir(&guests_dir()).unwrap();
    let sandbox = Arc::new(sandbox);
    // Mostly well-behaved, every hostile kind represented; spins are rarer
    // because each one costs a full deadline.
    let mix: [(&str, &str); 20] = [
        ("process", "a,b\n1,2\n"),
        ("process", "x\ny\n"),
        ("process", "q\n1\n"),
        ("process", "\""),
        ("process", "a\n1\n"),
        ("process", "k,v\nz,9\n"),
        ("process", "m\nn\n"),
        ("process", "c\nd\n"),
        ("trap", "nil"),
        ("trap", "panic"),
        ("exit", ""),
        ("bomb", ""),
        ("logflood", ""),
        ("fsprobe", ""),
        ("stack", ""),
        ("process", "h\ni\n"),
        ("process", "o\np\n"),
        ("add", ""),
        ("process", "r\ns\n"),
        ("spin", "calls"),
    ];
    let run = |range: std::ops::Range<usize>, sandbox: Arc<Sandbox>, typed: Arc<AtomicUsize>| {
        std::thread::spawn(move || {
            for i in range {
                let (guest, input) = mix[i % mix.len()];
                let result = if i % 400 == 399 {
                    sandbox.invoke("spin", "tenant", b"")
                } else {
                    sandbox.invoke(guest, "tenant", input.as_bytes())
                };
                // Every call ends typed: Ok or a SandboxError (Busy only if slots ran out).
                match result {
                    Ok(_)
                    | Err(SandboxError::GuestError { .. })
                    | Err(SandboxError::Trap { .. })
                    | Err(SandboxError::Exit { .. })
                    | Err(SandboxError::MemoryLimit { .. })
                    | Err(SandboxError::Deadline { .. })
                    | Err(SandboxError::AbiViolation { .. }) => {
                        typed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => panic!("unexpected outcome for {guest}: {other:?}"),
                }
            }
        })
    };
    // Warm-up: pool slots, allocator arenas, lazily mapped CoW images.
    let warm = Arc::new(AtomicUsize::new(0));
    run(0..200, Arc::clone(&sandbox), Arc::clone(&warm))
        .join()
        .unwrap();
    let before = resident_kib();

    let typed = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            run(
                t * 5_000..(t + 1) * 5_000,
                Arc::clone(&sandbox),
                Arc::clone(&typed),
            )
        })
        .collect();
    for t in threads {
        t.join().expect("a soak thread panicked");
    }
    let after = resident_kib();
    assert_eq!(
        typed.load(Ordering::Relaxed),
        10_000,
        "every call ended typed"
    );
    assert!(
        sandbox.invoke("process", "t", b"a\n1\n").is_ok(),
        "still serving"
    );
    let growth_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "soak: 10000 calls in {:.1}s, RSS {} MiB -> {} MiB",
        started.elapsed().as_secs_f64(),
        before / 1024,
        after / 1024
    );
    assert!(
        growth_mib < 64,
        "resident memory grew by {growth_mib} MiB over the soak"
    );
}

#[tokio::test]
async fn body_over_the_transport_limit_is_a_typed_413_too() {
    let state = AppState::new(config()).unwrap();
    let huge = "x".repeat(3 * 1024 * 1024);
    let (status, _, body) = post(&state, "/api/run/process", None, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "invalid_input");
}
