//! The tenants file: `[[tenant]]` tables, every value range-checked at load
//! so an absurd one is a start-up error naming the tenant and the field,
//! never a panic or a silent clamp at the first call.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;

use serde::Deserialize;

use super::id::{DEMO, LESSON_PREFIX, REGISTRY, TenantId, is_reserved};
use crate::sandbox::CpuClass;

/// Range of `max_concurrency` (tokio's semaphore panics far above it).
pub const CONCURRENCY_RANGE: RangeInclusive<u64> = 1..=1024;
/// Range of `queue_depth`.
pub const QUEUE_DEPTH_RANGE: RangeInclusive<u64> = 0..=65_536;
/// Range of `queue_wait_ms` (a minute at most: clients time out before).
pub const QUEUE_WAIT_RANGE: RangeInclusive<u64> = 0..=60_000;
/// Range of `deadline_ms` (an hour; the server's deadline caps it anyway).
pub const DEADLINE_RANGE: RangeInclusive<u64> = 1..=3_600_000;
/// Range of `memory_pages` (4 GiB, wasm32's limit).
pub const MEMORY_PAGES_RANGE: RangeInclusive<u64> = 1..=65_536;
/// Range of `weight` (its share of the CPU against the others').
pub const WEIGHT_RANGE: RangeInclusive<u64> = 1..=1000;
/// Range of `cpu_ms` (an hour).
pub const CPU_MS_RANGE: RangeInclusive<u64> = 1..=3_600_000;
/// Length of `api_key` in bytes.
pub const KEY_LENGTH_RANGE: RangeInclusive<u64> = 16..=256;

/// One tenant as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Id (`[A-Za-z0-9_-]{1,64}`), used in logs and metrics.
    pub id: String,
    /// Bearer key (16 to 256 visible ASCII characters).
    pub api_key: String,
    /// Calls running at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u64,
    /// Calls allowed to wait for a slot.
    #[serde(default = "default_queue_depth")]
    pub queue_depth: u64,
    /// Longest wait for a slot.
    #[serde(default = "default_queue_wait_ms")]
    pub queue_wait_ms: u64,
    /// Deadline of each call; the server's `--sandbox-deadline-ms` when
    /// absent, and never longer than it.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Memory cap of each call in 64 KiB pages; the server's
    /// `--sandbox-memory-pages` when absent, and never more than it.
    #[serde(default)]
    pub memory_pages: Option<u64>,
    /// CPU class of its calls.
    #[serde(default)]
    pub cpu: CpuClass,
    /// Share of the CPU against the other tenants' (time slices by fair
    /// queuing; equal by default).
    #[serde(default = "default_weight")]
    pub weight: u64,
    /// CPU time each call may use, in milliseconds (ticks of the epoch);
    /// past it the call ends with `cpu_budget`. Unlimited when absent.
    #[serde(default)]
    pub cpu_ms: Option<u64>,
}

/// Default `max_concurrency`.
pub const DEFAULT_CONCURRENCY: u64 = 2;
/// Default `queue_depth`.
pub const DEFAULT_QUEUE_DEPTH: u64 = 16;
/// Default `queue_wait_ms`.
pub const DEFAULT_QUEUE_WAIT_MS: u64 = 1000;

/// Default `weight`.
pub const DEFAULT_WEIGHT: u32 = 1;

fn default_weight() -> u64 {
    u64::from(DEFAULT_WEIGHT)
}
fn default_concurrency() -> u64 {
    DEFAULT_CONCURRENCY
}
fn default_queue_depth() -> u64 {
    DEFAULT_QUEUE_DEPTH
}
fn default_queue_wait_ms() -> u64 {
    DEFAULT_QUEUE_WAIT_MS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(default)]
    tenant: Vec<TenantConfig>,
}

/// Why the tenants file is unusable.
#[derive(Debug, thiserror::Error)]
#[error("tenants file {path}: {reason}")]
pub struct TenantsError {
    path: String,
    reason: String,
}

/// Parses and checks a tenants TOML file.
pub fn load(path: &Path) -> Result<Vec<TenantConfig>, TenantsError> {
    let err = |reason: String| TenantsError {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: TenantsFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    check(&file.tenant).map_err(err)?;
    Ok(file.tenant)
}

/// Every tenant's values in range, ids and keys unique.
pub fn check(tenants: &[TenantConfig]) -> Result<(), String> {
    let (mut ids, mut keys) = (BTreeSet::new(), BTreeSet::new());
    for t in tenants {
        if TenantId::parse(&t.id).is_none() {
            return Err(format!(
                "tenant id {:?} must match [A-Za-z0-9_-]{{1,64}}",
                t.id
            ));
        }
        if is_reserved(&t.id) {
            return Err(format!(
                "tenant id {:?} is reserved for the server's own calls ({DEMO:?}, {REGISTRY:?}, {LESSON_PREFIX}*)",
                t.id
            ));
        }
        let field = |name: &str, value: u64, range: RangeInclusive<u64>| {
            if range.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "tenant {:?}: {name} = {value} is outside {}..={}",
                    t.id,
                    range.start(),
                    range.end()
                ))
            }
        };
        field("api_key length", t.api_key.len() as u64, KEY_LENGTH_RANGE)?;
        if !t.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "tenant {:?}: api_key must be visible ASCII without spaces",
                t.id
            ));
        }
        field("max_concurrency", t.max_concurrency, CONCURRENCY_RANGE)?;
        field("queue_depth", t.queue_depth, QUEUE_DEPTH_RANGE)?;
        field("queue_wait_ms", t.queue_wait_ms, QUEUE_WAIT_RANGE)?;
        if let Some(ms) = t.deadline_ms {
            field("deadline_ms", ms, DEADLINE_RANGE)?;
        }
        if let Some(pages) = t.memory_pages {
            field("memory_pages", pages, MEMORY_PAGES_RANGE)?;
        }
        field("weight", t.weight, WEIGHT_RANGE)?;
        if let Some(ms) = t.cpu_ms {
            field("cpu_ms", ms, CPU_MS_RANGE)?;
        }
        if !ids.insert(t.id.as_str()) {
            return Err(format!("tenant id {:?} appears twice", t.id));
        }
        if !keys.insert(t.api_key.as_str()) {
            return Err(format!(
                "tenant {:?} has the same api_key as another tenant",
                t.id
            ));
        }
    }
    Ok(())
}
