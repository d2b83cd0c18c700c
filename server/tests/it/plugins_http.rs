//! Registry, tenants and metrics over HTTP (seed tasks 12, 13, 14): auth,
//! typed errors for bad input, switching, and 429 at a full gate.

use crate::common;
use crate::error_body;
use crate::plugin_api;
use common::*;
use plugin_api::*;

use axum::http::StatusCode;

#[tokio::test]
async fn uploads_need_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let (status, _, body) = call(
        &state,
        "POST",
        "/api/plugins?name=csv",
        None,
        guest("process"),
    )
    .await;
    assert_eq!(
        (status, error_body::code(&json(&body)).as_deref()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, _, body) = call(
        &state,
        "POST",
        "/api/plugins?name=csv",
        Some("wrong"),
        guest("process"),
    )
    .await;
    assert_eq!(
        (status, error_body::code(&json(&body)).as_deref()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (_, _, body) = call(&state, "GET", "/api/plugins", None, vec![]).await;
    assert!(
        json(&body)["plugins"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn bad_uploads_are_typed_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    for (uri, body, status, code) in [
        (
            "/api/plugins?name=csv",
            b"hello".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_wasm",
        ),
        (
            "/api/plugins?name=adder",
            guest("add"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/plugins?name=Bad%20Name",
            guest("process"),
            StatusCode::BAD_REQUEST,
            "bad_plugin_name",
        ),
        (
            "/api/plugins",
            guest("process"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/plugins?name=huge",
            vec![0; 33 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ] {
        let (got, _, bytes) = call(&state, "POST", uri, Some(ADMIN), body).await;
        assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(
            error_body::code(&json(&bytes)).as_deref(),
            Some(code),
            "{uri}"
        );
    }
    let (_, _, body) = call(&state, "GET", "/api/plugins", None, vec![]).await;
    assert!(
        json(&body)["plugins"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn tenants_invoke_with_their_key_and_admins_switch_versions() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let v1 = upload(&state, "csv", "process").await;
    let v2 = upload(&state, "csv", "process_v2").await;
    assert_eq!(
        upload(&state, "csv", "process").await,
        v1,
        "same bytes, same digest"
    );

    let (status, _, _) = call(&state, "POST", "/api/invoke/csv", None, b"a\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some("not-a-key"),
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, body) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-guest-digest"], v1.as_str());
    assert_eq!(json(&body)["version"], "csv2json/1");

    let body = serde_json::to_vec(&serde_json::json!({ "digest": v2 })).unwrap();
    let (status, _, _) = call(&state, "PUT", "/api/plugins/csv/active", Some(ADMIN), body).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(json(&body)["version"], "csv2json/2");

    let (status, _, _) = call(
        &state,
        "PUT",
        "/api/plugins/csv/active",
        Some(ADMIN),
        br#"{"rollback":true}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(json(&body)["version"], "csv2json/1");

    for (method, uri, token, body, status) in [
        (
            "PUT",
            "/api/plugins/csv/active",
            Some(ADMIN),
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "PUT",
            "/api/plugins/csv/active",
            Some("wrong"),
            br#"{"rollback":true}"#.to_vec(),
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/invoke/nope",
            Some(ACME),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            &format!("/api/plugins/{}", "0".repeat(64)),
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, _, bytes) = call(&state, method, uri, token, body).await;
        assert_eq!(
            got,
            status,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let (_, _, body) = call(&state, "GET", "/api/plugins", None, vec![]).await;
    assert_eq!(
        json(&body)["active"]["csv"]["active"],
        v1.as_str(),
        "bad requests changed nothing"
    );
}

#[tokio::test]
async fn a_tenant_over_its_limit_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    upload(&state, "csv", "process").await;
    let big: Vec<u8> = std::iter::once("a,b\n".to_owned())
        .chain((0..4_000).map(|i| format!("{i},{i}\n")))
        .collect::<String>()
        .into_bytes();
    let calls = (0..12).map(|_| {
        let (state, big) = (state.clone(), big.clone());
        tokio::spawn(async move { call(&state, "POST", "/api/invoke/csv", Some(SOLO), big).await })
    });
    let results = futures_join_all(calls).await;
    let limited: Vec<_> = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        !limited.is_empty(),
        "max_concurrency 1 with no queue must refuse overlapping calls"
    );
    assert_eq!(limited[0].1["retry-after"], "1");
    assert_eq!(
        error_body::code(&json(&limited[0].2)).as_deref(),
        Some("too_many_requests")
    );
    let statuses: Vec<_> = results
        .iter()
        .map(|(s, _, b)| {
            (
                *s,
                String::from_utf8_lossy(b)
                    .chars()
                    .take(100)
                    .collect::<String>(),
            )
        })
        .collect();
    assert!(
        results
            .iter()
            .all(|(s, _, _)| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_api_answers_with_wire_bodies_never_the_stored_record() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let v1 = upload(&state, "csv", "process").await;
    let v2 = upload(&state, "csv", "process_v2").await;

    let (status, _, body) = call(&state, "GET", &format!("/api/plugins/{v2}"), None, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        json(&body).get("artifact").is_none(),
        "storage detail stays on disk"
    );
    let info: wire::PluginInfo = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (info.digest.as_str(), info.name.as_str()),
        (v2.as_str(), "csv")
    );
    assert!(info.precompiled, "an upload stores its artifact");
    assert!(info.exports.iter().any(|e| e == "wip_process"));

    let (_, _, body) = call(&state, "GET", "/api/plugins", None, vec![]).await;
    let list: wire::PluginList = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.plugins.len(), 2);
    assert_eq!(list.active["csv"].active, v1);

    let request = serde_json::to_vec(&wire::ActivateRequest::digest(&v2)).unwrap();
    let (status, _, body) = call(
        &state,
        "PUT",
        "/api/plugins/csv/active",
        Some(ADMIN),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let activation: wire::Activation = serde_json::from_slice(&body).unwrap();
    assert_eq!((activation.active, activation.history), (v2, vec![v1]));

    let both = serde_json::to_vec(&wire::ActivateRequest {
        digest: Some("0".repeat(64)),
        rollback: true,
    })
    .unwrap();
    let (status, _, body) = call(&state, "PUT", "/api/plugins/csv/active", Some(ADMIN), both).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: wire::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.error.code, "bad_request");
}
