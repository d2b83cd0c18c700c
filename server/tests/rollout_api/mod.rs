//! Rollout requests through `app(state).oneshot(...)`, on the plugin API's
//! state (docs/rollouts.md).

#![allow(dead_code)] // each test binary uses a subset

use axum::http::StatusCode;
use server::AppState;

use crate::common;
use crate::plugin_api::{ACME, ADMIN, call, json};

pub fn rollout_body(candidate: &str, percent: u8, min_calls: u64, p99_ratio: f64) -> Vec<u8> {
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

pub async fn invoke(
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

pub async fn status(state: &AppState, name: &str) -> serde_json::Value {
    let (code, _, body) = call(state, "GET", &format!("/api/plugins/{name}"), None, vec![]).await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    json(&body)
}

/// What the calls of [`drive_until_decided`] send.
#[derive(Clone, Copy)]
pub enum Inputs {
    /// Distinct CSV rows: `process_flaky` traps on about 10% of them.
    Any,
    /// Only rows `process_flaky` traps on, whatever its trap percentage, so
    /// a flaky candidate fails every call it gets. With `Any`, which rows
    /// reach the candidate depends on the rollout's random salt, and 40
    /// candidate calls saw no trap about once in 70 runs (0.9^40).
    Trapping,
}

/// Distinct CSV inputs tagged `tag`; with `Inputs::Trapping`, only those
/// whose FNV-1a hash is divisible by 100 (`process_flaky` traps when the
/// hash mod 100 is below its percentage).
pub fn inputs(tag: &str, kind: Inputs) -> impl Iterator<Item = String> + '_ {
    (0u32..)
        .map(move |i| format!("id,tag\n{i},{tag}\n"))
        .filter(move |input| match kind {
            Inputs::Any => true,
            Inputs::Trapping => super::flaky_inputs::traps_in_flaky(input.as_bytes()),
        })
}

/// Calls `name` with distinct `kind` inputs until its rollout is decided;
/// returns the decision and how many calls failed (each answer names its side).
pub async fn drive_until_decided(
    state: &AppState,
    name: &str,
    tag: &str,
    kind: Inputs,
) -> (serde_json::Value, usize) {
    let before = status(state, name).await["decisions"]
        .as_array()
        .unwrap()
        .len();
    let mut failed = 0;
    for (i, input) in inputs(tag, kind).take(5_000).enumerate() {
        let (code, headers) = invoke(state, name, &format!("{tag}-{i}"), &input).await;
        if code != StatusCode::OK {
            failed += 1;
            assert_eq!(
                headers["x-rollout-role"], "candidate",
                "{code}: only the candidate fails"
            );
            assert!(headers.contains_key("x-guest-digest"));
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

/// Starts a rollout of `name` as the admin; asserts 201 and returns the rollout.
pub async fn start(state: &AppState, name: &str, body: Vec<u8>) -> serde_json::Value {
    let path = format!("/api/plugins/{name}/rollout");
    let (code, _, answer) = call(state, "PUT", &path, Some(ADMIN), body).await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    json(&answer)
}
