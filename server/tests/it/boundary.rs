//! The sandbox boundary as an attacker meets it: one road per capability,
//! credentials before bodies, limits from config, and the documented JSON
//! error for every refusal.

use crate::common;
use crate::error_body;
use crate::plugin_api;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{guest, send};
use plugin_api::{ACME, ADMIN, call, futures_join_all, state, upload};
use server::{AppState, Config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn stored_files(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join("registry/modules"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// An endless body of `chunk`-byte frames that counts the frames read.
fn endless_body(chunk: usize) -> (Body, Arc<AtomicUsize>) {
    let frames = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&frames);
    let bytes = bytes::Bytes::from(vec![0u8; chunk]);
    let stream = futures::stream::poll_fn(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok::<_, std::io::Error>(bytes.clone())))
    });
    (Body::from_stream(stream), frames)
}

fn code(body: &[u8]) -> String {
    error_body::code_of_bytes(body)
}

#[tokio::test]
async fn run_reaches_builtin_guests_only_never_a_plugin_by_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = plugin_config(&dir);
    config.guests_dir = common::guests_dir();
    let state = AppState::new(config).unwrap();
    let digest = upload(&state, "csv", "process").await;
    let (status, _, body) = call(
        &state,
        "POST",
        &format!("/api/run/{digest}"),
        None,
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "unknown_guest");
    // The plugin is reachable only with a tenant key.
    let path = format!("/api/invoke/{digest}");
    let (status, _, _) = call(&state, "POST", &path, None, b"a\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&state, "POST", &path, Some(ACME), b"a\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
}

fn plugin_config(dir: &tempfile::TempDir) -> Config {
    state(dir).config().clone()
}

#[tokio::test]
async fn an_upload_without_the_admin_token_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    for token in [None, Some("wrong-token-wrong-token-wrong-token")] {
        let (body, frames) = endless_body(1 << 20);
        let mut request = Request::post("/api/plugins?name=csv");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let (status, _, body) = send(&state, request.body(body).unwrap()).await;
        assert!(
            matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{status}"
        );
        assert!(["unauthorized", "forbidden"].contains(&code(&body).as_str()));
        assert_eq!(
            frames.load(Ordering::SeqCst),
            0,
            "not a byte of the body was read"
        );
    }
}

#[tokio::test]
async fn admin_json_routes_refuse_a_caller_without_the_token_before_reading_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    for (method, uri) in [
        ("PUT", "/api/plugins/csv/active"),
        ("PUT", "/api/plugins/csv/rollout"),
        ("POST", "/api/plugins/csv/rollout/promote"),
        ("DELETE", "/api/plugins/csv/rollout"),
    ] {
        for token in [None, Some("wrong-token-wrong-token-wrong-token")] {
            let (body, frames) = endless_body(1 << 20);
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let (status, _, body) = send(&state, request.body(body).unwrap()).await;
            assert!(
                matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                "{method} {uri}: {status}"
            );
            assert!(["unauthorized", "forbidden"].contains(&code(&body).as_str()));
            assert_eq!(
                frames.load(Ordering::SeqCst),
                0,
                "{method} {uri} read its body"
            );
        }
    }
}

#[tokio::test]
async fn an_invoke_without_a_key_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let (body, frames) = endless_body(1 << 20);
    let request = Request::post("/api/invoke/csv").body(body).unwrap();
    let (status, _, _) = send(&state, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(frames.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_cut_while_reading_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    // No Content-Length: the limit is counted while reading an endless body.
    let (body, frames) = endless_body(1 << 20);
    let request = Request::post("/api/plugins?name=csv")
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(body)
        .unwrap();
    let (status, _, body) = send(&state, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "too_large");
    let read = frames.load(Ordering::SeqCst);
    let max = state.config().max_module_bytes;
    assert!(read <= max / (1 << 20) + 2, "{read} MiB read");
    // An announced Content-Length over the limit is refused before reading.
    let (body, frames) = endless_body(1 << 20);
    let request = Request::post("/api/plugins?name=csv")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-length", (max + 1).to_string())
        .body(body)
        .unwrap();
    let (status, _, _) = send(&state, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(frames.load(Ordering::SeqCst), 0);
    assert_eq!(stored_files(&dir), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_uploads_over_http_leave_one_plugin_that_invokes() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let uploads: Vec<_> = (0..20)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                call(
                    &state,
                    "POST",
                    "/api/plugins?name=csv&version=1",
                    Some(ADMIN),
                    guest("process"),
                )
                .await
            })
        })
        .collect();
    let statuses: Vec<_> = futures_join_all(uploads.into_iter())
        .await
        .into_iter()
        .map(|(status, _, _)| status)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK),
        "{statuses:?}"
    );
    let (status, _, body) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn api_errors_are_json_for_wrong_methods_bad_paths_queries_and_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    for (method, uri, expected, expected_code) in [
        (
            "DELETE",
            "/api/plugins",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/api/invoke/csv",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "POST",
            "/api/invoke/%ff",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/api/plugins?version=1",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "GET",
            "/api/nothing-here",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let token = if method == "POST" { Some(ADMIN) } else { None };
        let (status, _, body) = call(&state, method, uri, token, Vec::new()).await;
        assert_eq!(status, expected, "{method} {uri}");
        assert_eq!(code(&body), expected_code, "{method} {uri}");
    }
    let (status, _, body) = call(
        &state,
        "PUT",
        "/api/plugins/csv/active",
        Some(ADMIN),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "bad_request");
}

#[test]
fn absurd_start_up_values_are_typed_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let tenants = dir.path().join("tenants.toml");
    std::fs::write(
        &tenants,
        "[[tenant]]\nid = \"big\"\napi_key = \"0123456789abcdef\"\nmax_concurrency = 4611686018427387904\n",
    )
    .unwrap();
    let mut config = Config::with_assets_dir(dir.path().join("site"));
    config.data_dir = dir.path().join("registry");
    config.tenants_file = Some(tenants);
    let err = AppState::new(config.clone()).unwrap_err().to_string();
    assert!(err.contains("max_concurrency"), "{err}");
    config.tenants_file = None;
    config.admin_token = Some("change-me".into());
    let err = AppState::new(config).unwrap_err().to_string();
    assert!(err.contains("--admin-token"), "{err}");
}

/// A real server on port 0 with short read timeouts.
async fn real_server(dir: &tempfile::TempDir) -> server::testing::RunningServer {
    let mut config = state(dir).config().clone();
    config.header_read_timeout_ms = 300;
    config.body_read_timeout_ms = 300;
    server::testing::spawn(AppState::new(config).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let running = real_server(&dir).await;
    let mut socket = tokio::net::TcpStream::connect(running.addr())
        .await
        .unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
}

#[tokio::test]
async fn a_client_that_trickles_its_body_gets_a_typed_408() {
    let dir = tempfile::tempdir().unwrap();
    let running = real_server(&dir).await;
    let mut socket = tokio::net::TcpStream::connect(running.addr())
        .await
        .unwrap();
    let head = format!(
        "POST /api/invoke/csv HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ACME}\r\nContent-Length: 100\r\n\r\nabc"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
        .await
        .expect("an answer before the client gives up")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}
