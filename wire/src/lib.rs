//! The JSON one side writes and another reads, defined once so they cannot
//! drift: `manifest.json` ([`manifest`], written by `cargo xtask build`), the
//! registry API bodies ([`registry`]), the demo's credentials ([`demo`]),
//! `/api/assets` (the size report), `/api/stats`, the lesson endpoints
//! ([`lessons`]), the app's page paths ([`routes`]), `/healthz` and
//! `/api/guests` ([`server`]) and the error body. Plain
//! serde types, no dependencies beyond serde, so they build for the host and
//! for `wasm32-unknown-unknown`.

pub mod demo;
pub mod lessons;
pub mod manifest;
pub mod network;
pub mod object;
pub mod registry;
pub mod rollout;
pub mod routes;
pub mod server;

pub use demo::{DemoKeys, DemoTenant};
pub use manifest::{GoInfo, GoPair, Manifest, ManifestAsset};
pub use object::Object;
pub use registry::{ActivateRequest, Activation, PluginInfo, PluginList};
pub use rollout::{
    Decision, DecisionKind, PluginStatus, Rollout, RolloutRequest, SideStats, Thresholds,
};
pub use server::{GuestInfo, Health, RegistryHealth};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `/api/assets`: what the bytes cost (seed task 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeReport {
    /// Go toolchain of the Go rows.
    pub go_version: String,
    /// Every served file, as served (the `.gz` column is what the server
    /// sends: the smaller of gzip -9 and zopfli).
    pub artifacts: Vec<SizeRow>,
    /// The main Go module built different ways.
    pub variants: Vec<SizeRow>,
    /// An empty `func main() {}`, stripped: what the Go runtime alone costs.
    pub floor: SizeRow,
}

/// Sizes of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// What the row measures.
    pub name: String,
    /// Raw bytes.
    pub raw: u64,
    /// gzip -9 (zlib best) bytes.
    pub gzip9: u64,
    /// zopfli (gzip-compatible) bytes, for served files only: zopfli
    /// exists to shave the `.gz` the server sends, and takes about a
    /// minute of CPU per Go module, so build variants nobody is sent are
    /// measured with gzip -9 and brotli 11 (the seed's two) only.
    pub zopfli: Option<u64>,
    /// brotli -q 11 bytes.
    pub brotli: u64,
    /// min(gzip9, zopfli) / raw: the `.gz` as served, or gzip -9.
    pub gzip_ratio: f64,
    /// brotli / raw.
    pub brotli_ratio: f64,
}

/// One `/api/stats` row: a (digest, tenant) pair's calls (seed task 14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatRow {
    /// Module digest.
    pub digest: String,
    /// Tenant id.
    pub tenant: String,
    /// Calls, all outcomes.
    pub invocations: u64,
    /// Calls per outcome (`ok`, `guest_error`, `trap`, `deadline`,
    /// `memory_limit`, `cpu_budget`, `rejected`).
    pub outcomes: BTreeMap<String, u64>,
    /// Median latency of the calls that ran, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of the calls that ran, ms.
    pub p99_ms: f64,
    /// Share of calls stopped by the deadline.
    pub deadline_rate: f64,
    /// Share of calls stopped by the memory cap.
    pub memory_cap_rate: f64,
    /// CPU time its calls ran wasm, seconds (epoch ticks of 1 ms).
    #[serde(default)]
    pub cpu_seconds: f64,
    /// Its share of the host's CPU (all cores) over the last minute.
    #[serde(default)]
    pub cpu_share_1m: f64,
}

/// The body of every error response: `{"error": {"code", "message"}}`,
/// plus the `reason` of a refused upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, for machines (`code`, `reason`) and people (`message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable code (`deadline`, `unauthorized`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Finer reason where a code has several (`forbidden_import`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_row_survives_the_round_trip_through_json() {
        let row = StatRow {
            digest: "ab".into(),
            tenant: "acme".into(),
            invocations: 3,
            outcomes: BTreeMap::from([("ok".into(), 2), ("trap".into(), 1)]),
            p50_ms: 0.6,
            p99_ms: 1.2,
            deadline_rate: 0.0,
            memory_cap_rate: 0.0,
            cpu_seconds: 0.0,
            cpu_share_1m: 0.0,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(serde_json::from_str::<StatRow>(&json).unwrap(), row);
    }
}
