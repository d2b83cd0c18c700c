//! Registry, tenants and metrics over HTTP (seed tasks 12, 13, 14): auth,
//! typed errors for bad input, switching, 429 at a full gate, and the
//! counters after a mixed run.

mod common;
use common::*;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use server::{AppState, Config, app};
use tower::ServiceExt as _;

const ADMIN: &str = "admin-token-for-tests";
const ACME: &str = "acme-key-0123456789";
const SOLO: &str = "solo-key-0123456789";
const LEAN: &str = "lean-key-0123456789";
const HASTY: &str = "hasty-key-0123456789";

fn state(dir: &tempfile::TempDir) -> AppState {
    let tenants = dir.path().join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[[tenant]]\nid = \"acme\"\napi_key = \"{ACME}\"\nmax_concurrency = 4\n\n\
             [[tenant]]\nid = \"solo\"\napi_key = \"{SOLO}\"\nmax_concurrency = 1\nqueue_depth = 0\n\n\
             [[tenant]]\nid = \"lean\"\napi_key = \"{LEAN}\"\nmemory_pages = 40\n\n\
             [[tenant]]\nid = \"hasty\"\napi_key = \"{HASTY}\"\ndeadline_ms = 2\n"
        ),
    )
    .unwrap();
    let mut config = Config::with_assets_dir(dir.path().join("no-site"));
    config.guests_dir = dir.path().join("no-guests");
    config.data_dir = dir.path().join("registry");
    config.admin_token = Some(ADMIN.into());
    config.tenants_file = Some(tenants);
    config.sandbox_deadline_ms = 1000;
    AppState::new(config).unwrap()
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if method == "PUT" {
        request = request.header("content-type", "application/json");
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(bytes)))
}

async fn upload(state: &AppState, name: &str, module: &str) -> String {
    let (status, _, body) = call(
        state,
        "POST",
        &format!("/api/plugins?name={name}&version=1"),
        Some(ADMIN),
        guest(module),
    )
    .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status} {}",
        String::from_utf8_lossy(&body)
    );
    json(&body)["digest"].as_str().unwrap().to_owned()
}

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
        (status, json(&body)["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
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
        (status, json(&body)["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, "forbidden".into())
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
        assert_eq!(json(&bytes)["error"]["code"], code, "{uri}");
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
    assert_eq!(headers["x-plugin-digest"], v1.as_str());
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
    assert_eq!(json(&limited[0].2)["error"]["code"], "too_many_requests");
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

async fn futures_join_all<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn metrics_and_stats_count_each_outcome_per_digest_and_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let digest = upload(&state, "csv", "process").await;
    call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"a\n1\n".to_vec(),
    )
    .await;
    let (status, _, _) = call(
        &state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        b"\"".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "guest error");

    let (_, _, body) = call(&state, "GET", "/metrics", None, vec![]).await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(&format!(
            "wip_plugin_invocations_total{{digest=\"{digest}\",outcome=\"ok\",tenant=\"acme\"}} 2"
        )),
        "{text}"
    );
    assert!(
        text.contains("outcome=\"guest_error\",tenant=\"acme\"} 1"),
        "{text}"
    );
    assert!(text.contains("wip_plugin_latency_seconds_bucket"), "{text}");

    let (_, _, body) = call(&state, "GET", "/api/stats", None, vec![]).await;
    let stats = json(&body);
    let row = &stats.as_array().unwrap()[0];
    assert_eq!(row["tenant"], "acme");
    assert_eq!(row["invocations"], 3);
    assert!(row["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(row["p99_ms"].as_f64().unwrap() >= row["p50_ms"].as_f64().unwrap());
    assert_eq!(row["deadline_rate"], 0.0);
}

/// A `tracing` writer into a shared buffer, so a test can read the log lines.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The JSON lines of the "plugin invocation" events.
    fn invocations(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|l| l["fields"]["message"] == "plugin invocation")
            .collect()
    }
}

/// A CSV the `process` guest needs far more than 2 ms for.
fn large_csv() -> Vec<u8> {
    std::iter::once("id,name,score\n".to_owned())
        .chain((0..8_000).map(|i| format!("{i},name-{i},{}\n", i % 97)))
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn every_outcome_is_counted_per_tenant_and_logged_as_one_json_line_with_its_fields() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    // Current-thread runtime: every handler (and the log line after the
    // blocking call) runs on this thread, under this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let csv = upload(&state, "csv", "process").await;
    let latent = upload(&state, "latent", "trap").await;

    let invoke = |target: &'static str, key: &'static str, body: Vec<u8>| {
        let state = state.clone();
        async move {
            let (status, _, body) = call(
                &state,
                "POST",
                &format!("/api/invoke/{target}"),
                Some(key),
                body,
            )
            .await;
            (status, json_or_bytes(&body))
        }
    };
    let (status, _) = invoke("csv", ACME, b"a\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, err) = invoke("csv", ACME, b"\"".to_vec()).await;
    assert_eq!(err["error"]["code"], "guest_error");
    let (_, err) = invoke("latent", ACME, b"nil".to_vec()).await;
    assert_eq!(err["error"]["code"], "trap");
    // The same module and input that succeed for acme, under lean's
    // 40-page cap (the Go runtime needs more) and hasty's 2 ms deadline.
    let (_, err) = invoke("csv", LEAN, b"a\n1\n".to_vec()).await;
    assert_eq!(err["error"]["code"], "memory_limit", "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("40"),
        "{err}"
    );
    let (status, _) = invoke("csv", ACME, large_csv()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the large CSV fits the server's deadline"
    );
    let (_, err) = invoke("csv", HASTY, large_csv()).await;
    assert_eq!(err["error"]["code"], "deadline", "{err}");
    // solo: one call at a time, no queue; overlapping calls are rejected.
    let overlapping = (0..3).map(|_| tokio::spawn(invoke("csv", SOLO, large_csv())));
    let statuses: Vec<_> = futures_join_all(overlapping)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let rejected = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(rejected >= 1, "{statuses:?}");

    let (_, _, body) = call(&state, "GET", "/metrics", None, vec![]).await;
    let text = String::from_utf8(body).unwrap();
    for (digest, outcome, tenant, count) in [
        (&csv, "ok", "acme", 2),
        (&csv, "guest_error", "acme", 1),
        (&latent, "trap", "acme", 1),
        (&csv, "memory_limit", "lean", 1),
        (&csv, "deadline", "hasty", 1),
        (&csv, "rejected", "solo", rejected),
    ] {
        let line = format!(
            "wip_plugin_invocations_total{{digest=\"{digest}\",outcome=\"{outcome}\",tenant=\"{tenant}\"}} {count}"
        );
        assert!(text.contains(&line), "missing {line} in\n{text}");
    }

    let (_, _, body) = call(&state, "GET", "/api/stats", None, vec![]).await;
    let stats = json(&body);
    let row = |tenant: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["tenant"] == tenant && r["digest"] == csv.as_str())
            .unwrap_or_else(|| panic!("no {tenant} row in {stats}"))
            .clone()
    };
    assert_eq!(row("hasty")["deadline_rate"], 1.0);
    assert_eq!(row("lean")["memory_cap_rate"], 1.0);
    assert_eq!(row("acme")["deadline_rate"], 0.0);
    assert!(row("acme")["p99_ms"].as_f64().unwrap() >= row("acme")["p50_ms"].as_f64().unwrap());

    let lines = logs.invocations();
    assert_eq!(lines.len(), 6 + statuses.len(), "one line per invocation");
    let mut request_ids = std::collections::BTreeSet::new();
    for line in &lines {
        let fields = &line["fields"];
        for key in [
            "request_id",
            "tenant",
            "plugin",
            "digest",
            "outcome",
            "duration_ms",
            "memory_pages",
        ] {
            assert!(!fields[key].is_null(), "{key} missing in {line}");
        }
        assert!(
            request_ids.insert(fields["request_id"].as_u64().unwrap()),
            "request ids are unique"
        );
    }
    let ok = lines
        .iter()
        .find(|l| l["fields"]["tenant"] == "acme" && l["fields"]["outcome"] == "ok")
        .unwrap();
    assert_eq!(ok["fields"]["plugin"], "csv");
    assert_eq!(ok["fields"]["digest"], csv.as_str());
    assert!(ok["fields"]["memory_pages"].as_u64().unwrap() > 40, "{ok}");
    assert!(ok["fields"]["duration_ms"].as_f64().unwrap() > 0.0, "{ok}");
    let trap = lines
        .iter()
        .find(|l| l["fields"]["outcome"] == "trap")
        .unwrap();
    assert_eq!(trap["fields"]["digest"], latent.as_str());
}

fn json_or_bytes(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null)
}
