//! The sandbox over HTTP (`POST /api/run/{guest}`, seed task 8): each typed
//! outcome maps to its status and JSON code; plus a bounded soak of mixed
//! hostile and well-behaved calls.

mod common;
mod error_body;
use common::*;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use server::sandbox::limits::PAGE_BYTES;
use server::{AppState, Config, app};
use tower::ServiceExt as _;

fn config() -> Config {
    let mut config = Config::with_assets_dir(std::env::temp_dir().join("wip-no-site"));
    config.guests_dir = guests_dir();
    config.data_dir = tempfile::tempdir().unwrap().keep();
    config.sandbox_max_input = 1024;
    config
}

/// A deadline no memory-cap test can reach on a busy machine.
fn generous() -> Config {
    Config {
        sandbox_deadline_ms: 20_000,
        ..config()
    }
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
    error_body::code_of_bytes(body)
}

#[tokio::test]
async fn every_outcome_has_its_status_and_code() {
    let state = AppState::new(generous()).unwrap();
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
        ("/api/run/trap", "nil", StatusCode::BAD_GATEWAY, "trap"),
        ("/api/run/exit", "", StatusCode::BAD_GATEWAY, "exit"),
        ("/api/run/add", "", StatusCode::BAD_GATEWAY, "abi_violation"),
        ("/api/run/nope", "", StatusCode::NOT_FOUND, "unknown_guest"),
    ] {
        let (status, _, body) = post(&state, uri, Some("acme"), input).await;
        assert_eq!(status, expected_status, "{uri}");
        assert_eq!(code(&body), expected_code, "{uri}");
    }
    let state = AppState::new(config()).unwrap();
    for guest in ["spin", "sleeper", "sleepinit"] {
        let (status, _, body) = post(&state, &format!("/api/run/{guest}"), None, "").await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{guest}");
        assert_eq!(code(&body), "deadline", "{guest}");
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
async fn run_calls_are_counted_under_the_demo_tenant_whatever_the_caller_claims() {
    let state = AppState::new(generous()).unwrap();
    let (status, _, _) = post(&state, "/api/run/process", Some("acme"), "a\n1\n").await;
    assert_eq!(status, StatusCode::OK);
    let rows = state.metrics().stats();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].tenant, "demo");
    assert_eq!(rows[0].outcomes["ok"], 1);
}

#[tokio::test]
async fn sixteen_sleepers_are_cut_and_the_pool_keeps_serving() {
    let state = AppState::new(Config {
        run_concurrency: 32,
        ..config()
    })
    .unwrap();
    let started = Instant::now();
    let sleepers: Vec<_> = (0..16)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { post(&state, "/api/run/sleeper", None, "30s").await })
        })
        .collect();
    for sleeper in sleepers {
        let (status, _, body) = sleeper.await.unwrap();
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(code(&body), "deadline");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let (status, _, _) = post(&state, "/api/run/process", None, "a\n1\n").await;
    assert_eq!(status, StatusCode::OK, "every slot is free again");
}

#[tokio::test]
async fn guests_are_listed_with_their_digests() {
    let state = AppState::new(config()).unwrap();
    let response = app(state)
        .oneshot(Request::get("/api/guests").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let guests: Vec<wire::GuestInfo> = serde_json::from_slice(&bytes).unwrap();
    let process = guests
        .iter()
        .find(|g| g.name == "process")
        .expect("process is loaded");
    assert_eq!(process.digest.len(), 64);
    assert!(process.size > 1_000_000, "a Go module: {}", process.size);
    assert!(process.exports.iter().any(|e| e == "wip_process"));
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Sum of `wip_plugin_invocations_total` samples for `tenant` in `/metrics`.
async fn counted_calls(state: &AppState, tenant: &str) -> u64 {
    let (_, _, body) = send(state, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("wip_plugin_invocations_total{"))
        .filter(|l| l.contains(&format!("tenant=\"{tenant}\"")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_of_ten_thousand_mixed_calls_keeps_the_host_alive_and_memory_bounded() {
    let state = AppState::new(config()).unwrap();
    // Mostly well-behaved, every hostile kind represented; spins and
    // sleeps are rarer because each one costs a full deadline.
    let mix: [(&str, &str); 20] = [
        ("process", "a,b\n1,2\n"),
        ("process", "x\ny\n"),
        ("process", "q\n1\n"),
        ("process", "\""),
        ("process", "a\n1\n"),
        ("sleeper", "30s"),
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
    let run = |range: std::ops::Range<usize>, state: AppState| {
        tokio::spawn(async move {
            let mut peak = 0;
            for i in range {
                let (guest, input) = mix[i % mix.len()];
                let (status, _, body) =
                    post(&state, &format!("/api/run/{guest}"), None, input).await;
                // Every call ends typed: a guest outcome, never a host failure.
                let typed = status == StatusCode::OK
                    || [
                        "guest_error",
                        "trap",
                        "exit",
                        "memory_limit",
                        "deadline",
                        "abi_violation",
                    ]
                    .contains(&code(&body).as_str());
                assert!(
                    typed,
                    "{guest}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                if i % 100 == 0 {
                    peak = peak.max(resident_kib());
                }
            }
            peak
        })
    };
    // Warm-up: pool slots, allocator arenas, lazily mapped CoW images.
    run(0..200, state.clone()).await.unwrap();
    let before = resident_kib();
    let started = Instant::now();
    // Two halves of 2 x 2,500 calls: by the first half's end every slot
    // has kept what its calls wrote (see below), so the second half shows
    // a leak on its own.
    let mut peak = before;
    let mut halfway = before;
    for half in 0..2 {
        let workers: Vec<_> = (0..2)
            .map(|t| {
                let from = 200 + half * 5_000 + t * 2_500;
                run(from..from + 2_500, state.clone())
            })
            .collect();
        for worker in workers {
            peak = peak.max(worker.await.expect("a soak worker panicked"));
        }
        if half == 0 {
            halfway = resident_kib();
        }
    }
    let after = resident_kib();
    assert_eq!(
        counted_calls(&state, "demo").await,
        10_200,
        "/metrics counts every call"
    );
    let (status, _, _) = post(&state, "/api/run/process", None, "a\n1\n").await;
    assert_eq!(status, StatusCode::OK, "still serving");
    eprintln!(
        "soak: 10000 calls in {:.1}s, RSS start {} MiB, halfway {} MiB, peak {} MiB, end {} MiB",
        started.elapsed().as_secs_f64(),
        before / 1024,
        halfway / 1024,
        peak / 1024,
        after / 1024
    );
    // A pool slot keeps the pages its last instance wrote, up to the
    // memory cap (where the kernel can scan them: `sandbox/engine.rs`), so
    // the sandbox may hold up to slots x cap more than after the warm-up;
    // beyond that, growth is a leak.
    let config = state.config();
    let kept_mib =
        (u64::from(config.sandbox_slots) * config.sandbox_memory_pages * PAGE_BYTES) >> 20;
    let growth_mib = after.saturating_sub(before) / 1024;
    assert!(
        growth_mib < kept_mib + 64,
        "resident memory grew by {growth_mib} MiB over the soak (slots may keep {kept_mib} MiB)"
    );
    let second_half_mib = after.saturating_sub(halfway) / 1024;
    assert!(
        second_half_mib < 32,
        "resident memory grew by {second_half_mib} MiB over the soak's second half"
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

#[tokio::test]
async fn the_input_limit_is_the_configured_one_even_above_axums_2_mib_default() {
    let limit = 3 * 1024 * 1024;
    let state = AppState::new(Config {
        sandbox_max_input: limit,
        sandbox_deadline_ms: 20_000,
        ..config()
    })
    .unwrap();
    // `trap` echoes any input but "nil" and "panic".
    let at_limit = "x".repeat(limit);
    let (status, _, body) = post(&state, "/api/run/trap", None, &at_limit).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    assert_eq!(body.len(), limit);
    let over = format!("{at_limit}x");
    let (status, _, body) = post(&state, "/api/run/trap", None, &over).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "invalid_input");
}
