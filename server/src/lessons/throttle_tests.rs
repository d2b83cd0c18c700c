//! The throttled lesson endpoint through the whole router (no socket), on
//! tokio's paused clock: pacing is exact, waiting costs no real time.

use axum::body::Body;
use axum::http::{Request, header};
use axum::response::Response;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use wire::network::{DSL, LOOPBACK, THROTTLED_PREFIX};

use super::CHUNK_BYTES;
use crate::config::DEFAULT_LESSON_SLOW_READER_GRACE_MS;
use crate::{AppState, Config, app};

const ASSET: &str = "go/hello.0123abcd.wasm";
const ASSET_BYTES: usize = 100_000;

fn fixture_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("index.html"),
        "<!DOCTYPE html><title>t</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("go")).unwrap();
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.resize(ASSET_BYTES, 7);
    std::fs::write(dir.path().join(ASSET), wasm).unwrap();
    dir
}

fn state(site: &tempfile::TempDir, streams: u32) -> AppState {
    let mut config = Config::with_assets_dir(site.path());
    config.lesson_throttled_streams = streams;
    AppState::new(config).expect("state")
}

async fn send(state: &AppState, method: &str, uri: &str) -> Response {
    send_from(state, 1, method, uri).await
}

/// A request from client `10.0.0.{client}` (the peer address `serve` puts
/// on every request).
async fn send_from(state: &AppState, client: u8, method: &str, uri: &str) -> Response {
    let peer = std::net::SocketAddr::from(([10, 0, 0, client], 40_000));
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .extension(axum::extract::ConnectInfo(peer))
        .body(Body::empty())
        .unwrap();
    app(state.clone()).oneshot(request).await.unwrap()
}

fn url(profile: &str, asset: &str) -> String {
    format!("{THROTTLED_PREFIX}/{profile}/{asset}")
}

async fn error_code(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: wire::ErrorBody = serde_json::from_slice(&bytes).expect("an error body");
    body.error.code
}

#[tokio::test(start_paused = true)]
async fn a_throttled_asset_arrives_one_round_trip_plus_its_bits_over_the_bandwidth_later() {
    let site = fixture_site();
    let state = state(&site, 6);
    let started = tokio::time::Instant::now();
    let response = send(&state, "GET", &url("dsl", ASSET)).await;
    let headers_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(response.status().as_u16(), 200);
    let h = response.headers();
    assert_eq!(h[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(h[header::CONTENT_LENGTH], ASSET_BYTES.to_string().as_str());
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert!(h.contains_key(header::ETAG), "the responder's ETag");
    assert!(
        (headers_ms - f64::from(DSL.rtt_ms)).abs() < 1.0,
        "{headers_ms}"
    );

    // Each chunk comes when the bandwidth would have delivered its last byte.
    let mut body = response.into_body();
    let (mut received, mut chunks) = (0, 0);
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        received += data.len();
        chunks += 1;
        let at_ms = started.elapsed().as_secs_f64() * 1e3;
        let due_ms = DSL.floor_ms(received as u64);
        assert!(
            at_ms >= due_ms - 1.0,
            "{received} bytes at {at_ms} ms, due {due_ms}"
        );
        assert!(
            at_ms <= due_ms + 5.0,
            "{received} bytes at {at_ms} ms, due {due_ms}"
        );
    }
    assert_eq!(received, ASSET_BYTES);
    assert_eq!(chunks, ASSET_BYTES.div_ceil(CHUNK_BYTES));
    // 100 kB at 5 Mbit/s is 160 ms, after 40 ms of round trip.
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    assert!((total_ms - 200.0).abs() < 5.0, "{total_ms}");
}

#[tokio::test(start_paused = true)]
async fn loopback_is_not_delayed() {
    let site = fixture_site();
    let state = state(&site, 6);
    let started = tokio::time::Instant::now();
    let response = send(&state, "GET", &url(LOOPBACK.name, ASSET)).await;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes.len(), ASSET_BYTES);
    assert_eq!(started.elapsed(), std::time::Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn unknown_profiles_assets_and_traversals_are_typed_404s() {
    let site = fixture_site();
    let state = state(&site, 6);
    for uri in [
        url("modem", ASSET),
        url("dsl", "go/missing.wasm"),
        url("dsl", "%2e%2e/%2e%2e/etc/passwd"),
        url("dsl", "go/..%2Findex.html"),
        url("dsl", "..%2F..%2FCargo.toml"),
        url("%2e%2e", "index.html"),
    ] {
        let response = send(&state, "GET", &uri).await;
        assert_eq!(response.status().as_u16(), 404, "{uri}");
        assert_eq!(error_code(response).await, "not_found", "{uri}");
    }
    let response = send(&state, "POST", &url("dsl", ASSET)).await;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(error_code(response).await, "method_not_allowed");
}

#[tokio::test(start_paused = true)]
async fn a_full_gate_answers_503_busy_at_once_and_a_disconnect_frees_its_place() {
    let site = fixture_site();
    let state = state(&site, 2);
    let first = send_from(&state, 1, "GET", &url("dsl", ASSET)).await;
    let second = send_from(&state, 2, "GET", &url("dsl", ASSET)).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );

    let started = tokio::time::Instant::now();
    let refused = send_from(&state, 3, "GET", &url("dsl", ASSET)).await;
    assert_eq!(started.elapsed(), std::time::Duration::ZERO, "no queue");
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    assert_eq!(error_code(refused).await, "busy");

    // The client of `first` goes away mid-stream: hyper drops its body.
    let mut body = first.into_body();
    body.frame().await.expect("a first chunk").unwrap();
    drop(body);
    let again = send(&state, "GET", &url("dsl", ASSET)).await;
    assert_eq!(again.status().as_u16(), 200);
    drop(second);
}

#[tokio::test(start_paused = true)]
async fn one_client_gets_half_the_streams_and_another_client_the_rest() {
    let site = fixture_site();
    let state = state(&site, 6);
    let uri = url("dsl", ASSET);
    let started = tokio::time::Instant::now();
    let greedy =
        futures::future::join_all((0..20).map(|_| send_from(&state, 1, "GET", &uri))).await;
    let ok = greedy.iter().filter(|r| r.status() == 200).count();
    let busy = greedy.iter().filter(|r| r.status() == 503).count();
    assert_eq!((ok, busy), (3, 17), "one client holds at most half");
    let other = futures::future::join_all((0..20).map(|_| send_from(&state, 2, "GET", &uri))).await;
    let ok = other.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 3, "the other half is still free for someone else");
    let third = send_from(&state, 3, "GET", &uri).await;
    assert_eq!(third.status().as_u16(), 503, "all six in use");
    let responses: Vec<_> = greedy.into_iter().chain(other).collect();
    // Two batches, each one round trip: the refusals did not wait.
    assert!(started.elapsed().as_millis() <= 2 * u128::from(DSL.rtt_ms) + 2);
    // The rest of the server is not held up by the streams in flight.
    let health = send(&state, "GET", "/healthz").await;
    assert_eq!(health.status().as_u16(), 200);
    // Finished streams give their places back.
    for response in responses {
        response.into_body().collect().await.unwrap();
    }
    let after = send(&state, "GET", &url("cable", ASSET)).await;
    assert_eq!(after.status().as_u16(), 200);
}

#[tokio::test(start_paused = true)]
async fn a_reader_that_stops_reading_loses_its_place_after_twice_the_transfer_time() {
    let site = fixture_site();
    let state = state(&site, 1);
    let stalled = send(&state, "GET", &url("dsl", ASSET)).await;
    assert_eq!(stalled.status().as_u16(), 200);
    let transfer = std::time::Duration::from_secs_f64(DSL.transfer_ms(ASSET_BYTES as u64) / 1e3);
    tokio::time::sleep(2 * transfer).await;
    let refused = send(&state, "GET", &url("dsl", ASSET)).await;
    assert_eq!(refused.status().as_u16(), 503);
    tokio::time::sleep(std::time::Duration::from_millis(
        DEFAULT_LESSON_SLOW_READER_GRACE_MS + 1,
    ))
    .await;
    let admitted = send(&state, "GET", &url("dsl", ASSET)).await;
    assert_eq!(admitted.status().as_u16(), 200);
    drop(stalled);
}
