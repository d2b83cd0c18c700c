//! Rollout requests an operator (or an attacker) can get wrong: typed
//! errors that change nothing, concurrent starts of which one wins, and a
//! restart in the middle of a rollout.

use crate::error_body;
use crate::plugin_api;
use crate::rollout_api;

use axum::http::StatusCode;
use server::outcome::Outcome;
use server::registry::Counted;

use plugin_api::{ADMIN, call, json, state, upload};
use rollout_api::{invoke, rollout_body, start, status};

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
    let salt = |state: &server::AppState| {
        let plan = state.registry().activations()["csv"].rollout.clone();
        plan.expect("a rollout").salt
    };
    let (v2, salt_before) = {
        let state = state(&dir);
        upload(&state, "csv", "process").await;
        let v2 = upload(&state, "csv", "process_v2").await;
        start(&state, "csv", rollout_body(&v2, 25, 1000, 2.0)).await;
        (v2, salt(&state))
    };
    let state = state(&dir); // a new process on the same data
    let resumed = status(&state, "csv").await;
    // The routing key survives the restart (a retried id keeps its side)
    // and is never shown.
    assert_eq!(salt(&state), salt_before);
    assert_eq!(salt_before.len(), 32, "128 random bits: {salt_before}");
    assert!(!resumed.to_string().contains(&salt_before), "{resumed}");
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
        (code, error_body::code(&json(&body)).as_deref()),
        (StatusCode::CONFLICT, Some("no_rollout"))
    );

    start(&state, "csv", rollout_body(&v2, 25, 1000, 2.0)).await;
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
        // Settings by position: refused, never read as trap, deadline, ...
        (
            format!(r#"{{"candidate":"{v2}","percent":10,"thresholds":[]}}"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            format!(r#"{{"candidate":"{v2}","percent":10,"thresholds":[1,1]}}"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            format!(r#"["{v2}",10]"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (body, want, code) in cases {
        let (status, _, answer) = call(&state, "PUT", path, Some(ADMIN), body.clone()).await;
        let answer = json(&answer);
        assert_eq!(
            (status, error_body::code(&answer).as_deref()),
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
        (status_code, error_body::code(&json(&answer)).as_deref()),
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

#[tokio::test]
async fn a_call_that_ends_after_the_decision_counts_but_joins_no_window() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    upload(&state, "csv", "process").await;
    let v2 = upload(&state, "csv", "process_v2").await;
    start(&state, "csv", rollout_body(&v2, 50, 1000, 2.0)).await;
    let routed = state.registry().route("csv", "in-flight").unwrap();
    let late = routed.rollout.expect("routed by the rollout");
    let (code, _, _) = call(
        &state,
        "DELETE",
        "/api/plugins/csv/rollout",
        Some(ADMIN),
        vec![],
    )
    .await;
    assert_eq!(code, StatusCode::OK);

    // It finishes now, after the abort.
    let took = std::time::Duration::from_millis(1);
    assert_eq!(
        state.registry().observe(&late, Outcome::Ok, took).await,
        Counted::Ended
    );
    let digest = routed.digest.to_string();
    server::rollout_routes::count(&state, &late, &digest, Outcome::Ok, took).await;
    let (_, _, metrics) = call(&state, "GET", "/metrics", None, vec![]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("wip_rollout_calls_total{"), "{metrics}");
    assert!(
        !metrics.contains("wip_rollout_share_percent{"),
        "an ended rollout's share stays gone:\n{metrics}"
    );
}
