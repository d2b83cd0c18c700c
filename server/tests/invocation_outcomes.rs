//! Observability across the boundary (seed task 14): every outcome of a
//! plugin call, through HTTP, lands in the per-(digest, tenant) counters,
//! the percentiles, and one structured log line. Its own test binary,
//! because it installs a `tracing` subscriber for its thread and tests
//! running beside it would race for the callsites' cached interest.

mod common;
mod error_body;
mod plugin_api;
use common::LogCapture;
use plugin_api::*;

use axum::http::StatusCode;

/// A CSV the `process` guest needs far more than 2 ms for.
fn large_csv() -> Vec<u8> {
    std::iter::once("id,name,score\n".to_owned())
        .chain((0..8_000).map(|i| format!("{i},name-{i},{}\n", i % 97)))
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn every_outcome_is_counted_per_tenant_and_logged_as_one_json_line_with_its_fields() {
    let logs = LogCapture::default();
    // Current-thread runtime: every handler (and the log line after the
    // blocking call) runs on this thread, under this subscriber.
    let _guard = tracing::subscriber::set_default(logs.subscriber());

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
    assert_eq!(error_body::code(&err).as_deref(), Some("guest_error"));
    let (_, err) = invoke("latent", ACME, b"nil".to_vec()).await;
    assert_eq!(error_body::code(&err).as_deref(), Some("trap"));
    // The same module and input that succeed for acme, under lean's
    // 40-page cap (the Go runtime needs more) and hasty's 2 ms deadline.
    let (_, err) = invoke("csv", LEAN, b"a\n1\n".to_vec()).await;
    assert_eq!(
        error_body::code(&err).as_deref(),
        Some("memory_limit"),
        "{err}"
    );
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
    assert_eq!(error_body::code(&err).as_deref(), Some("deadline"), "{err}");
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
            "wip_plugin_invocations_total{{digest=\"{digest}\",outcome=\"{outcome}\",route=\"invoke\",tenant=\"{tenant}\"}} {count}"
        );
        assert!(text.contains(&line), "missing {line} in\n{text}");
    }

    assert!(
        text.contains(&format!(
            "wip_plugin_latency_seconds_bucket{{digest=\"{csv}\""
        )),
        "{text}"
    );

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

    let (smoke, lines): (Vec<_>, Vec<_>) = logs
        .lines()
        .into_iter()
        .filter(|l| l["fields"]["message"] == "invocation")
        .partition(|l| l["fields"]["route"] == "upload-smoke");
    assert_eq!(lines.len(), 6 + statuses.len(), "one line per invocation");
    // The two uploads' smoke calls took the same pipeline.
    assert_eq!(smoke.len(), 2, "{smoke:?}");
    assert!(smoke.iter().all(|l| l["fields"]["tenant"] == "registry"));
    assert!(lines.iter().all(|l| l["fields"]["route"] == "invoke"));
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
            request_ids.insert(fields["request_id"].as_str().unwrap().to_owned()),
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
