//! Tenants and per-tenant admission (seed task 13). Each tenant has an API
//! key and a gate: at most `max_concurrency` calls run, at most
//! `queue_depth` wait (each at most `queue_wait_ms`), everything beyond is
//! refused with 429 at once, so one tenant's burst cannot take the pool
//! slots everybody shares.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// One tenant as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Id (`[A-Za-z0-9_-]`), used in logs and metrics.
    pub id: String,
    /// Bearer key.
    pub api_key: String,
    /// Calls running at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Calls allowed to wait for a slot.
    #[serde(default = "default_queue_depth")]
    pub queue_depth: usize,
    /// Longest wait for a slot.
    #[serde(default = "default_queue_wait_ms")]
    pub queue_wait_ms: u64,
}

fn default_concurrency() -> usize {
    2
}
fn default_queue_depth() -> usize {
    16
}
fn default_queue_wait_ms() -> u64 {
    1000
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

/// Parses a tenants TOML file (`[[tenant]]` tables).
pub fn load(path: &Path) -> Result<Vec<TenantConfig>, TenantsError> {
    let err = |reason: String| TenantsError {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: TenantsFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    for t in &file.tenant {
        let valid = !t.id.is_empty()
            && t.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid || t.api_key.len() < 16 || t.max_concurrency == 0 {
            return Err(err(format!(
                "tenant {:?}: id must be [A-Za-z0-9_-]+, api_key at least 16 characters, max_concurrency > 0",
                t.id
            )));
        }
    }
    Ok(file.tenant)
}

/// Admission for one tenant.
#[derive(Debug)]
pub struct TenantGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue_depth: usize,
    wait: Duration,
}

impl TenantGate {
    fn new(config: &TenantConfig) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(config.max_concurrency)),
            waiting: AtomicUsize::new(0),
            queue_depth: config.queue_depth,
            wait: Duration::from_millis(config.queue_wait_ms),
        }
    }

    /// A running slot, or 429 when the queue is full or the wait times out.
    pub async fn admit(&self, tenant: &str) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let too_many = || ApiError::TooManyRequests {
            tenant: tenant.to_owned(),
            retry_after_secs: 1,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue_depth {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(too_many());
        }
        let waited =
            tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(too_many()),
        }
    }
}

/// All tenants: keys and gates.
#[derive(Debug, Default)]
pub struct Tenants {
    keys: BTreeMap<String, String>,
    gates: BTreeMap<String, TenantGate>,
}

impl Tenants {
    /// From configuration.
    pub fn new(configs: &[TenantConfig]) -> Self {
        Self {
            keys: configs
                .iter()
                .map(|t| (t.id.clone(), t.api_key.clone()))
                .collect(),
            gates: configs
                .iter()
                .map(|t| (t.id.clone(), TenantGate::new(t)))
                .collect(),
        }
    }

    /// Tenant id → API key.
    pub fn keys(&self) -> &BTreeMap<String, String> {
        &self.keys
    }

    /// The gate of `tenant`.
    pub fn gate(&self, tenant: &str) -> Option<&TenantGate> {
        self.gates.get(tenant)
    }
}
