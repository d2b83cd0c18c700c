//! What every answer carries and every call leaves behind, whatever the
//! route: an `x-request-id` (errors included), and a metrics series under
//! the route it came by (the lessons too).

use crate::common;
use crate::plugin_api;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::send;
use plugin_api::state;
use server::AppState;

fn code(body: &[u8]) -> String {
    let error: wire::ErrorBody = serde_json::from_slice(body).expect("an error body");
    error.error.code
}

#[tokio::test]
async fn every_answer_carries_a_request_id_random_unless_the_caller_gave_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let limit = state.config().sandbox_max_input;
    let mut ids = std::collections::BTreeSet::new();
    for (request, expected) in [
        (Request::get("/api/nothing-here").body(Body::empty()), 404),
        (Request::post("/api/invoke/csv").body(Body::empty()), 401),
        (Request::delete("/api/plugins").body(Body::empty()), 405),
        (
            Request::post("/api/run/process").body(Body::from(vec![b'a'; limit + 1])),
            413,
        ),
        (Request::get("/healthz").body(Body::empty()), 200),
        (Request::get("/healthz").body(Body::empty()), 200),
    ] {
        let (status, headers, _) = send(&state, request.unwrap()).await;
        assert_eq!(status.as_u16(), expected);
        let id = headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 32, "128 bits in hex: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert!(ids.insert(id), "no id repeats");
    }
    let mine = Request::get("/api/nothing-here").header("x-request-id", "retry-7");
    let (_, headers, _) = send(&state, mine.body(Body::empty()).unwrap()).await;
    assert_eq!(headers["x-request-id"], "retry-7");
    let bad = Request::get("/healthz").header("x-request-id", "a b");
    let (status, headers, body) = send(&state, bad.body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    assert_eq!(
        headers["x-request-id"].len(),
        32,
        "a fresh id, not the bad one"
    );
}

#[tokio::test]
async fn lesson_calls_are_counted_in_the_metrics_under_their_route() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = state(&dir).config().clone();
    config.guests_dir = common::guests_dir();
    let state = AppState::new(config).unwrap();
    for _ in 0..20 {
        let add = Request::post("/api/lessons/add?a=2&b=3").body(Body::empty());
        let (status, _, body) = send(&state, add.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    let (_, _, metrics) = send(
        &state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let metrics = String::from_utf8(metrics).unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("wip_plugin_invocations_total")
                && l.contains("route=\"lesson-add\"")
                && l.contains("outcome=\"ok\"")
        })
        .unwrap_or_else(|| panic!("no lesson-add series:\n{metrics}"));
    assert!(line.contains("tenant=\"demo\""), "{line}");
    assert!(line.ends_with(" 20"), "{line}");
}
