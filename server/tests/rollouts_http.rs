//! Canary rollouts over HTTP (docs/rollouts.md): a candidate with a latent
//! bug is rolled back by the numbers, a good one promoted; requests are
//! typed, concurrent starts cannot both win, a restart resumes the rollout.

mod common;
mod plugin_api;

use axum::http::StatusCode;
use server::AppState;

use plugin_api::{ACME, ADMIN, call, json, state, upload};

fn rollout_body(candidate: &str, percent: u8, min_calls: u64, p99_ratio: f64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "candidate": candidate,
        "percent": percent,
        "min_calls": min_calls,
        // Latency is judged in the unit tests; on a loaded CI machine a
        // p99 of a few dozen calls is noise, so these tests judge rates.
        "thresholds": {"p99_ratio": p99_ratio},
    }))
    .unwrap()
}

async fn invoke(
    state: &AppState,
    name: &str,
    request_id: &str,
    input: &str,
) -> (StatusCode, axum::http::HeaderMap) {
    let request = axum::http::Request::post(format!("/api/invoke/{name}"))
        .header("authorization", format!("Bearer {ACME}"))
        .header("x-request-id", request_id)
        .body(axum::body::Body::from(input.to_owned()))
        .unwrap();
    let (status, headers, _) = common::send(state, request).await;
    (status, headers)
}

async fn status(state: &AppState, name: &str) -> serde_json::Value {
    let (code, _, body) = call(state, "GET", &format!("/api/plugins/{name}"), None, vec![]).await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    json(&body)
}

/// Calls `name` with distinct inputs until its rollout is decided; returns
/// the decision and how many calls failed.
async fn drive_until_decided(
    state: &AppState,
    name: &str,
    tag: &str,
) -> (serde_json::Value, usize) {
    let before = status(state, name).await["decisions"]
        .as_array()
        .unwrap()
        .len();
    let mut failed = 0;
    for i in 0..5_000 {
        let input = format!("id,tag\n{i},{tag}\n");
        let (code, _) = invoke(state, name, &format!("{tag}-{i}"), &input).await;
        if code != StatusCode::OK {
            failed += 1;
        }
        let now = status(state, name).await;
        let decisions = now["decisions"].as_array().unwrap();
        if decisions.len() > before {
            assert!(now["rollout"].is_null(), "{now}");
            return (decisions.last().unwrap().clone(), failed);
        }
    }
    panic!(
        "no decision after 5000 calls: {}",
        status(state, name).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flaky_candidate_is_rolled_back_and_a_good_one_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let v1 = upload(&state, "csv", "process").await;
    let flaky = upload(&state, "csv", "process_flaky").await;
    let v2 = upload(&state, "csv", "process_v2").await;

    let path = "/api/plugins/csv/rollout";
    for bearer in [None, Some(ACME)] {
        let (code, _, _) = call(
            &state,
            "PUT",
            path,
            bearer,
            rollout_body(&flaky, 50, 40, 100.0),
        )
        .await;
        assert!(
            matches!(code, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{code}"
        );
    }
    let (code, _, body) = call(
        &state,
        "PUT",
        path,
        Some(ADMIN),
        rollout_body(&flaky, 50, 40, 100.0),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let started = json(&body);
    assert_eq!(
        (started["stable"].as_str(), started["candidate"].as_str()),
        (Some(&*v1), Some(&*flaky))
    );

    // While it runs: no manual switch, and a retried request id keeps its digest.
    let activate = serde_json::to_vec(&wire::ActivateRequest::digest(&v2)).unwrap();
    let (code, _, body) = call(
        &state,
        "PUT",
        "/api/plugins/csv/active",
        Some(ADMIN),
        activate,
    )
    .await;
    assert_eq!(
        (code, json(&body)["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("rollout_in_progress"))
    );
    let mut roles = std::collections::BTreeSet::new();
    for i in 0..20 {
        let id = format!("retry-{i}");
        let (_, first) = invoke(&state, "csv", &id, "a,b\n1,2\n").await;
        let (_, again) = invoke(&state, "csv", &id, "a,b\n1,2\n").await;
        assert_eq!(first["x-guest-digest"], again["x-guest-digest"], "{id}");
        assert_eq!(first["x-request-id"], id.as_str());
        roles.insert(first["x-rollout-role"].to_str().unwrap().to_owned());
    }
    assert_eq!(roles.len(), 2, "20 ids at 50% reach both sides: {roles:?}");
    let live = status(&state, "csv").await;
    assert!(
        live["rollout"]["candidate_stats"]["calls"]
            .as_u64()
            .unwrap()
            > 0,
        "{live}"
    );

    let (decision, failed) = drive_until_decided(&state, "csv", "flaky").await;
    assert_eq!(decision["kind"], "rolled_back", "{decision}");
    assert!(
        decision["reasons"][0].as_str().unwrap().starts_with("trap"),
        "{decision}"
    );
    assert!(
        decision["candidate_stats"]["trap"].as_f64().unwrap() > 0.0,
        "{decision}"
    );
    assert_eq!(decision["active"].as_str(), Some(&*v1));
    assert!(
        failed >= 1,
        "the canary cost at least the trap that decided it"
    );
    assert_eq!(
        status(&state, "csv").await["activation"]["active"].as_str(),
        Some(&*v1)
    );

    let (code, _, body) = call(
        &state,
        "PUT",
        path,
        Some(ADMIN),
        rollout_body(&v2, 50, 30, 100.0),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (decision, failed) = drive_until_decided(&state, "csv", "good").await;
    assert_eq!(
        (decision["kind"].as_str(), failed),
        (Some("promoted"), 0),
        "{decision}"
    );
    let now = status(&state, "csv").await;
    assert_eq!(now["activation"]["active"].as_str(), Some(&*v2));
    assert_eq!(
        now["activation"]["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str(),
        Some(&*v1)
    );
    assert_eq!(now["decisions"].as_array().unwrap().len(), 2);

    let (_, _, metrics) = call(&state, "GET", "/metrics", None, vec![]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        r#"wip_rollout_decisions_total{decision="rolled_back",plugin="csv"} 1"#,
        r#"wip_rollout_decisions_total{decision="promoted",plugin="csv"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    assert!(metrics.contains(&format!(
        r#"digest="{flaky}",outcome="trap",plugin="csv",role="candidate""#
    )));
    assert!(
        !metrics.contains("wip_rollout_share_percent{"),
        "no rollout runs:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_rollout_requests_exactly_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    upload(&state, "csv", "process").await;
    let v2 = upload(&state, "csv", "process_v2").await;
    let handles = (0..20).map(|_| {
        let (state, body) = (state.clone(), rollout_body(&v2, 10, 100, 2.0));
        tokio::spawn(async move {
            call(&state, "PUT", "/api/plugins/csv/rollout", Some(ADMIN), body)
                .await
                .0
        })
    });
    let codes = plugin_api::futures_join_all(handles).await;
    let created = codes.iter().filter(|c| **c == StatusCode::CREATED).count();
    let conflicts = codes.iter().filter(|c| **c == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 19), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_rollout_and_operators_can_end_it() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = {
        let state = state(&dir);
        upload(&state, "csv", "process").await;
        let v2 = upload(&state, "csv", "process_v2").await;
        let (code, _, _) = call(
            &state,
            "PUT",
            "/api/plugins/csv/rollout",
            Some(ADMIN),
            rollout_body(&v2, 25, 1000, 2.0),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED);
        v2
    };
    let state = state(&dir); // a new process on the same data
    let resumed = status(&state, "csv").await;
    assert_eq!(
        resumed["rollout"]["candidate"].as_str(),
        Some(&*v2),
        "{resumed}"
    );
    assert_eq!(resumed["rollout"]["percent"], 25);
    let (code, headers) = invoke(&state, "csv", "after-restart", "a\n1\n").await;
    assert_eq!(code, StatusCode::OK);
    assert!(headers.contains_key("x-rollout-role"));

    let (code, _, body) = call(
        &state,
        "DELETE",
        "/api/plugins/csv/rollout",
        Some(ADMIN),
        vec![],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["kind"], "aborted");
    let (code, _, body) = call(
        &state,
        "POST",
        "/api/plugins/csv/rollout/promote",
        Some(ADMIN),
        vec![],
    )
    .await;
    assert_eq!(
        (code, json(&body)["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_rollout"))
    );

    let (code, _, _) = call(
        &state,
        "PUT",
        "/api/plugins/csv/rollout",
        Some(ADMIN),
        rollout_body(&v2, 25, 1000, 2.0),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, _, body) = call(
        &state,
        "POST",
        "/api/plugins/csv/rollout/promote",
        Some(ADMIN),
        vec![],
    )
    .await;
    assert_eq!(
        (code, json(&body)["kind"].as_str()),
        (StatusCode::OK, Some("promoted_manually"))
    );
    let state = plugin_api::state(&dir);
    let after = status(&state, "csv").await;
    assert_eq!(
        after["activation"]["active"].as_str(),
        Some(&*v2),
        "{after}"
    );
    let kinds: Vec<_> = after["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].clone())
        .collect();
    assert_eq!(kinds, ["aborted", "promoted_manually"]);
}

#[tokio::test]
async fn bad_rollout_requests_get_typed_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let v1 = upload(&state, "csv", "process").await;
    let v2 = upload(&state, "csv", "process_v2").await;
    let path = "/api/plugins/csv/rollout";
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            rollout_body(&v2, 0, 100, 2.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body(&v2, 100, 100, 2.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body(&v2, 10, 0, 2.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body(&v2, 10, 100, -1.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body(&v1, 10, 100, 2.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body("nope", 10, 100, 2.0),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            rollout_body(&"0".repeat(64), 10, 100, 2.0),
            StatusCode::NOT_FOUND,
            "unknown_digest",
        ),
        (
            b"{\"candidate\":".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            br#"{"candidate":"x","percent":10,"extra":1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (body, want, code) in cases {
        let (status, _, answer) = call(&state, "PUT", path, Some(ADMIN), body.clone()).await;
        let answer = json(&answer);
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (want, Some(code)),
            "{}: {answer}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status_code, _, answer) = call(
        &state,
        "PUT",
        "/api/plugins/nope/rollout",
        Some(ADMIN),
        rollout_body(&v2, 10, 100, 2.0),
    )
    .await;
    assert_eq!(
        (status_code, json(&answer)["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_plugin"))
    );
    let (code, _, _) = call(&state, "GET", "/api/plugins/nope", None, vec![]).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = invoke(&state, "csv", "bad id with spaces", "a\n1\n").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let now = status(&state, "csv").await;
    assert!(
        now["rollout"].is_null() && now["decisions"].as_array().unwrap().is_empty(),
        "{now}"
    );
    assert_eq!(now["activation"]["active"].as_str(), Some(&*v1));
}
