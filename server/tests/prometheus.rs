//! A real Prometheus (Debian's 2.42) scraping the real server on a socket,
//! with the shipped config and rules (`deploy/prometheus/`): the series per
//! digest and tenant exist, the p99 per digest comes out of the histogram,
//! every rule evaluates without error, each alert matches the labels the
//! server really exports (the automatic rollback one for a plugin's first
//! rollback, whose counter appears at 1), and every query of the Grafana
//! dashboard returns data.
//!
//! Ignored in the workspace tests, since it needs Debian's Prometheus:
//! `cargo xtask test` runs it in its own stage with `--ignored`, after
//! setup installed it.

mod common;
mod deploy_files;
mod flaky_inputs;
mod plugin_api;
mod prometheus_server;
mod rollout_api;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use deploy_files::{as_plain_promql, dashboard, queries};
use plugin_api::{ACME, ADMIN, HASTY, LEAN, SOLO, call, state, upload};
use prometheus_server::{Prometheus, value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus: `cargo xtask test` runs it with --ignored"]
async fn a_real_prometheus_scrapes_the_server_and_evaluates_the_shipped_rules() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let csv = upload(&state, "csv", "process").await;
    let latent = upload(&state, "latent", "trap").await;
    upload(&state, "canary", "process_v2").await;
    let flaky = upload(&state, "canary", "process_flaky").await;
    let server = server::testing::spawn(state.clone()).await.unwrap();
    let prometheus = Prometheus::start(server.addr()).await;

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = tokio::spawn(traffic(server.url(), Arc::clone(&stop)));
    roll_back_a_canary(&state, &server.url(), &flaky).await;

    let csv_series = format!(
        "sum by (tenant, outcome) (wip_plugin_invocations_total{{job=\"wip-server\", digest=\"{csv}\"}})"
    );
    let expected: BTreeSet<(String, String)> = [
        ("acme", "ok"),
        ("acme", "guest_error"),
        ("lean", "memory_limit"),
        ("hasty", "deadline"),
        ("solo", "rejected"),
    ]
    .map(|(t, o)| (t.to_owned(), o.to_owned()))
    .into();
    prometheus
        .eventually("every (tenant, outcome) of the csv digest", async || {
            let found: BTreeSet<(String, String)> = prometheus
                .query(&csv_series)
                .await?
                .iter()
                .map(|s| {
                    let label = |k: &str| s["metric"][k].as_str().unwrap_or("").to_owned();
                    (label("tenant"), label("outcome"))
                })
                .collect();
            found
                .is_superset(&expected)
                .then_some(())
                .ok_or(format!("{found:?}"))
        })
        .await;
    for series in [
        format!("wip_plugin_latency_seconds_count{{digest=\"{csv}\", tenant=\"acme\"}}"),
        format!("wip_cpu_seconds_total{{digest=\"{csv}\", tenant=\"acme\"}}"),
        format!(
            "wip_plugin_invocations_total{{digest=\"{latent}\", tenant=\"acme\", outcome=\"trap\"}}"
        ),
        "wip_rollout_decisions_total{plugin=\"canary\", decision=\"rolled_back\"}".to_owned(),
    ] {
        prometheus
            .eventually(&series, async || {
                non_empty(prometheus.query(&series).await?)
            })
            .await;
    }

    for (what, promql) in [
        (
            "histogram_quantile p99 of the csv digest",
            "histogram_quantile(0.99, sum by (le, digest) (rate(wip_plugin_latency_seconds_bucket[1m])))",
        ),
        (
            "the p99 recording rule for the csv digest",
            "digest:wip_plugin_latency_seconds:p99_5m",
        ),
    ] {
        let p99 = prometheus
            .eventually(what, async || {
                let samples = prometheus.query(promql).await?;
                samples
                    .iter()
                    .find(|s| s["metric"]["digest"] == csv.as_str())
                    .map(value)
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .ok_or(format!("{samples:?}"))
            })
            .await;
        assert!(p99 < 20.0, "{what}: {p99} s");
    }

    let rules_file = deploy_files::read("prometheus/rules.yml");
    let rule_count = rules_file
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("- alert:") || l.starts_with("- record:"))
        .count();
    prometheus
        .eventually("every shipped rule evaluated, without error", async || {
            let groups = prometheus.api("rules", &[]).await?;
            let rules: Vec<_> = groups["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            if let Some(broken) = rules.iter().find(|r| r["health"] == "err") {
                prometheus.fail(&format!("a rule fails on real data: {broken}"));
            }
            let ok = rules.iter().filter(|r| r["health"] == "ok").count();
            (rules.len() == rule_count && ok == rule_count)
                .then_some(())
                .ok_or(format!("{ok} of {rule_count} rules ok: {rules:?}"))
        })
        .await;

    // Pending is enough for the rate alerts (their `for` is minutes): it
    // proves the expression matches the server's real label sets.
    for (alert, label, on, states) in [
        (
            "WipTenantRejected",
            "tenant",
            "solo",
            &["pending", "firing"][..],
        ),
        (
            "WipPluginDeadlineTrips",
            "digest",
            csv.as_str(),
            &["pending", "firing"],
        ),
        (
            "WipPluginMemoryCapHits",
            "digest",
            csv.as_str(),
            &["pending", "firing"],
        ),
        (
            "WipPluginTraps",
            "digest",
            latent.as_str(),
            &["pending", "firing"],
        ),
        ("WipRolloutRolledBack", "plugin", "canary", &["firing"]),
    ] {
        prometheus
            .eventually(&format!("{alert} {{{label}={on}}}"), async || {
                let alerts = prometheus.api("alerts", &[]).await?;
                let alerts = alerts["alerts"].as_array().cloned().unwrap_or_default();
                alerts
                    .iter()
                    .any(|a| {
                        a["labels"]["alertname"] == alert
                            && a["labels"][label] == on
                            && states.iter().any(|s| a["state"] == *s)
                    })
                    .then_some(())
                    .ok_or(format!("{alerts:?}"))
            })
            .await;
    }

    for query in queries(&dashboard()) {
        let promql = as_plain_promql(&query.expr, "1m");
        prometheus
            .eventually(&format!("dashboard query {}", query.source), async || {
                non_empty(if query.instant {
                    prometheus.query(&promql).await?
                } else {
                    prometheus.query_range(&promql, 5).await?
                })
            })
            .await;
    }

    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    drop(prometheus);
    server.stop().await.unwrap();
}

fn non_empty(samples: Vec<serde_json::Value>) -> Result<(), String> {
    if samples.is_empty() {
        Err("no data".into())
    } else {
        Ok(())
    }
}

/// Every outcome, over and over: acme's large CSV (ok, with CPU ticks)
/// and a bad one (guest_error), a trapping plugin, lean over its memory
/// cap, hasty past its 2 ms deadline, three of solo's calls at once (one
/// runs, the others are refused).
async fn traffic(base: String, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let large: Vec<u8> = std::iter::once("id,name\n".to_owned())
        .chain((0..4_000).map(|i| format!("{i},name-{i}\n")))
        .collect::<String>()
        .into_bytes();
    let post = |target: &str, key: &str, body: &[u8]| {
        client
            .post(format!("{base}/api/invoke/{target}"))
            .bearer_auth(key)
            .body(body.to_vec())
            .send()
    };
    while !stop.load(Ordering::Relaxed) {
        let solo = futures::future::join_all((0..3).map(|_| post("csv", SOLO, &large)));
        let others = async {
            for (target, key, body) in [
                ("csv", ACME, &large[..]),
                ("csv", ACME, b"\""),
                ("latent", ACME, b"nil"),
                ("csv", LEAN, b"a\n1\n"),
                ("csv", HASTY, &large),
            ] {
                let _ = post(target, key, body).await;
            }
        };
        let _ = tokio::join!(solo, others);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Rolls `flaky` out on `canary` and calls it with inputs that build traps
/// on (whatever its trap percentage), slowly enough for a few scrapes to
/// see the rollout, until the server rolls it back.
async fn roll_back_a_canary(state: &server::AppState, base: &str, flaky: &str) {
    let request = wire::RolloutRequest {
        candidate: flaky.to_owned(),
        percent: 50,
        min_calls: 5,
        thresholds: wire::Thresholds::default(),
    };
    let (code, _, body) = call(
        state,
        "PUT",
        "/api/plugins/canary/rollout",
        Some(ADMIN),
        serde_json::to_vec(&request).unwrap(),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let client = reqwest::Client::new();
    let trapping = rollout_api::inputs("canary", rollout_api::Inputs::Trapping);
    for (i, input) in trapping.take(500).enumerate() {
        let _ = client
            .post(format!("{base}/api/invoke/canary"))
            .bearer_auth(ACME)
            .header("x-request-id", format!("canary-{i}"))
            .body(input)
            .send()
            .await
            .unwrap();
        let status: wire::PluginStatus = client
            .get(format!("{base}/api/plugins/canary"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status.rollout.is_none() {
            let decision = status.decisions.last().expect("a decision");
            assert_eq!(
                decision.kind,
                wire::DecisionKind::RolledBack,
                "{decision:?}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the canary was not decided after 500 calls");
}
