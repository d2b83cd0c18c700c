//! The Grafana dashboard and the Prometheus rules under `deploy/` against
//! the server's real `/metrics`: a well-formed dashboard over its own
//! variables, and every `wip_*` name they use exported after traffic and a
//! canary rollout (docs/rollouts.md; rollout families appear only once a
//! rollout routed a call). The real Prometheus runs in `prometheus.rs`.

use crate::deploy_files;
use crate::plugin_api;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use server::AppState;

use deploy_files::{as_plain_promql, dashboard, families, panels, queries, unexported, wip_names};
use plugin_api::{ACME, ADMIN, call, json, state, upload};

/// Grafana's own variables a query may use besides the dashboard's.
const GRAFANA_VARIABLES: [&str; 3] = ["__rate_interval", "__range", "__interval"];

#[test]
fn the_dashboard_is_grafana_json_over_its_own_variables() {
    let dashboard = dashboard();
    for key in ["uid", "title"] {
        assert!(
            dashboard[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}"
        );
    }
    assert!(dashboard["schemaVersion"].as_u64().is_some());
    let variables: Vec<_> = dashboard["templating"]["list"]
        .as_array()
        .expect("templating variables")
        .iter()
        .collect();
    assert!(
        variables.iter().any(|v| v["name"] == "datasource"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "a Prometheus data source variable, so the dashboard imports anywhere"
    );
    let names: BTreeSet<&str> = variables
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();

    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("?");
        assert!(
            ids.insert(panel["id"].as_u64().expect("an id")),
            "duplicate id: {title}"
        );
        let grid = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| grid[k].as_u64().expect("gridPos"));
        assert!(w >= 1 && x + w <= 24 && h >= 1, "{title}: {grid}");
        for cell in (x..x + w).flat_map(|cx| (y..y + h).map(move |cy| (cx, cy))) {
            assert!(
                cells.insert(cell),
                "{title} overlaps another panel at {cell:?}"
            );
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} has no query");
        let ref_ids: BTreeSet<_> = targets.iter().map(|t| t["refId"].as_str()).collect();
        assert_eq!(ref_ids.len(), targets.len(), "{title}: refIds repeat");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
        }
    }
    assert!(ids.len() >= 10, "{} panels", ids.len());

    let queries = queries(&dashboard);
    for query in &queries {
        let (title, query) = (&query.source, &query.expr);
        assert!(!query.trim().is_empty(), "{title}: empty query");
        for (i, _) in query.match_indices('$') {
            let name: String = query[i + 1..]
                .trim_start_matches('{')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                names.contains(name.as_str()) || GRAFANA_VARIABLES.contains(&name.as_str()),
                "{title}: ${name} is no variable of the dashboard"
            );
        }
        // The real-Prometheus test runs each query with these replaced.
        assert!(!as_plain_promql(query, "1m").contains('$'), "{title}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_and_the_rules_use_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    upload(&state, "csv", "process").await;
    let candidate = upload(&state, "csv", "process_v2").await;

    // Calls long enough to be charged CPU (1 ms epoch ticks).
    let big: String = std::iter::once("a,b\n".to_owned())
        .chain((0..4_000).map(|i| format!("{i},{i}\n")))
        .collect();
    let mut exported = BTreeSet::new();
    for _ in 0..50 {
        invoke(&state, &big).await;
        exported.extend(scrape(&state).await);
        if exported.contains("wip_cpu_seconds_total") {
            break;
        }
    }

    let request = wire::RolloutRequest {
        candidate,
        percent: 50,
        min_calls: 5,
        // Only a decision is needed here, whichever: rates decide it.
        thresholds: wire::Thresholds {
            p99_ratio: 1_000.0,
            ..wire::Thresholds::default()
        },
    };
    let body = serde_json::to_vec(&request).unwrap();
    let (code, _, answer) =
        call(&state, "PUT", "/api/plugins/csv/rollout", Some(ADMIN), body).await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The share series exist only while the rollout runs: scrape after
    // every call until it is decided.
    let mut decided = false;
    for _ in 0..2_000 {
        invoke(&state, "a,b\n1,2\n").await;
        exported.extend(scrape(&state).await);
        let (_, _, status) = call(&state, "GET", "/api/plugins/csv", None, vec![]).await;
        if json(&status)["rollout"].is_null() {
            decided = true;
            break;
        }
    }
    assert!(decided, "the rollout was not decided after 2000 calls");
    exported.extend(scrape(&state).await);

    for family in [
        "wip_plugin_invocations_total",
        "wip_plugin_latency_seconds",
        "wip_cpu_seconds_total",
        "wip_rollout_share_percent",
        "wip_rollout_calls_total",
        "wip_rollout_decisions_total",
    ] {
        assert!(exported.contains(family), "{family} not in {exported:?}");
    }
    let dashboard_names = wip_names(&deploy_files::read("grafana/wip-dashboard.json"));
    for (file, used) in [
        ("grafana/wip-dashboard.json", dashboard_names.clone()),
        (
            "prometheus/rules.yml",
            wip_names(&uncommented("prometheus/rules.yml")),
        ),
        (
            "prometheus/rules_test.yml",
            wip_names(&uncommented("prometheus/rules_test.yml")),
        ),
    ] {
        assert!(!used.is_empty(), "{file} names no metric");
        let missing = unexported(&used, &exported);
        assert!(
            missing.is_empty(),
            "deploy/{file} uses metrics the server does not export: {missing:?} \
             (exported: {exported:?})"
        );
    }
    let on_dashboard = |family: &str| {
        dashboard_names.iter().any(|name| {
            name == family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(family))
        })
    };
    let off_dashboard: Vec<_> = exported
        .iter()
        .filter(|f| f.starts_with("wip_") && !on_dashboard(f))
        .collect();
    assert!(
        off_dashboard.is_empty(),
        "families the server exports but the dashboard never shows: {off_dashboard:?}"
    );
}

async fn invoke(state: &AppState, input: &str) {
    let (code, _, body) = call(
        state,
        "POST",
        "/api/invoke/csv",
        Some(ACME),
        input.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

/// The families of one `/metrics` answer.
async fn scrape(state: &AppState) -> BTreeSet<String> {
    let (code, _, body) = call(state, "GET", "/metrics", None, vec![]).await;
    assert_eq!(code, StatusCode::OK);
    families(&String::from_utf8(body).expect("UTF-8 exposition"))
}

/// `deploy/<file>` without its comment lines.
fn uncommented(file: &str) -> String {
    deploy_files::read(file)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}
