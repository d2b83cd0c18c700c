//! The monitoring files under `deploy/` as the tests read them: the Grafana
//! dashboard's queries, the `wip_*` names a file uses, and the metric
//! families a `/metrics` text exports.

#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeSet;
use std::path::PathBuf;

/// `deploy/<path>` in the workspace.
pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(relative)
}

/// The text of `deploy/<relative>`.
pub fn read(relative: &str) -> String {
    let path = path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Grafana dashboard, parsed.
pub fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("grafana/wip-dashboard.json"))
        .unwrap_or_else(|e| panic!("deploy/grafana/wip-dashboard.json is not JSON: {e}"))
}

/// Every panel of the dashboard, those inside collapsed rows included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut found = Vec::new();
    for panel in dashboard["panels"].as_array().expect("a panels array") {
        found.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            found.extend(nested);
        }
    }
    found
}

/// One PromQL query of the dashboard.
#[derive(Debug)]
pub struct Query {
    /// The panel title and refId, or the annotation's name.
    pub source: String,
    /// The PromQL, with Grafana's variables.
    pub expr: String,
    /// Run once at the end of the range (a stat or bar gauge), not over it.
    pub instant: bool,
}

/// Every PromQL query of the dashboard: its panels' targets and its
/// annotation queries.
pub fn queries(dashboard: &serde_json::Value) -> Vec<Query> {
    let mut found = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            found.push(Query {
                source: format!(
                    "{} [{}]",
                    panel["title"].as_str().unwrap_or("?"),
                    target["refId"].as_str().unwrap_or("?")
                ),
                expr: target["expr"].as_str().unwrap_or("").to_owned(),
                instant: target["instant"] == true,
            });
        }
    }
    for annotation in dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(expr) = annotation["expr"].as_str() {
            found.push(Query {
                source: format!("annotation {}", annotation["name"].as_str().unwrap_or("?")),
                expr: expr.to_owned(),
                instant: false,
            });
        }
    }
    found
}

/// A dashboard query as Prometheus itself would run it with every variable
/// set to "All": Grafana's interval variables become fixed windows.
pub fn as_plain_promql(query: &str, rate_interval: &str) -> String {
    query
        .replace("$__rate_interval", rate_interval)
        .replace("$__range", "5m")
        .replace("$digest", ".*")
        .replace("$tenant", ".*")
        .replace("$plugin", ".*")
}

/// Every `wip_…` name in `text` (metric names; a recording rule's
/// `level:wip_…:op` name yields the metric it is built on).
pub fn wip_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (start, _) in text.match_indices("wip_") {
        if start > 0 && word(bytes[start - 1]) {
            continue;
        }
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if end > start + "wip_".len() {
            names.insert(text[start..end].to_owned());
        }
    }
    names
}

/// The metric families of a Prometheus text exposition (its `# TYPE` lines).
pub fn families(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The names of `used` that are no family of `exported`, a histogram's
/// `_bucket`/`_sum`/`_count` series counting as their family.
pub fn unexported(used: &BTreeSet<String>, exported: &BTreeSet<String>) -> Vec<String> {
    used.iter()
        .filter(|name| {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            !exported.contains(family) && !exported.contains(name.as_str())
        })
        .cloned()
        .collect()
}
