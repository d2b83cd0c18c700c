//! Tenants and per-tenant admission (seed task 13). Each tenant has an API
//! key and a gate: at most `max_concurrency` calls run, at most
//! `queue_depth` wait (each at most `queue_wait_ms`), everything beyond is
//! refused with 429 at once, so one tenant's burst cannot take the pool
//! slots everybody shares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::blocking::{BackgroundPool, run_blocking};
use crate::error::ApiError;
use crate::sandbox::CallLimits;

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
}

/// Which threads run a tenant's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuClass {
    /// tokio's blocking pool, normal priority.
    #[default]
    Normal,
    /// The [`BackgroundPool`]: lowest priority, so the kernel runs these
    /// calls on CPU time normal tenants leave idle (batch work, known-heavy
    /// plugins). Their latency depends on the others' load.
    Background,
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
        let positive = |v: Option<u64>| v.is_none_or(|v| v > 0);
        if !valid
            || t.api_key.len() < 16
            || t.max_concurrency == 0
            || !positive(t.deadline_ms)
            || !positive(t.memory_pages)
        {
            return Err(err(format!(
                "tenant {:?}: id must be [A-Za-z0-9_-]+, api_key at least 16 characters, \
                 max_concurrency, deadline_ms and memory_pages > 0",
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

/// All tenants: keys, gates, per-call limits and CPU classes.
#[derive(Debug, Default)]
pub struct Tenants {
    keys: BTreeMap<String, String>,
    gates: BTreeMap<String, TenantGate>,
    limits: BTreeMap<String, (Option<u64>, Option<u64>)>,
    background: BTreeSet<String>,
    pool: Option<BackgroundPool>,
}

impl Tenants {
    /// From configuration.
    pub fn new(configs: &[TenantConfig]) -> Self {
        let background: Vec<&TenantConfig> = configs
            .iter()
            .filter(|t| t.cpu == CpuClass::Background)
            .collect();
        Self {
            keys: configs
                .iter()
                .map(|t| (t.id.clone(), t.api_key.clone()))
                .collect(),
            gates: configs
                .iter()
                .map(|t| (t.id.clone(), TenantGate::new(t)))
                .collect(),
            limits: configs
                .iter()
                .map(|t| (t.id.clone(), (t.deadline_ms, t.memory_pages)))
                .collect(),
            background: background.iter().map(|t| t.id.clone()).collect(),
            // One low-priority thread per call the background tenants may run at once.
            pool: (!background.is_empty())
                .then(|| BackgroundPool::new(background.iter().map(|t| t.max_concurrency).sum())),
        }
    }

    /// Runs `work` (a guest call of `tenant`) on the threads of its CPU class.
    pub async fn run<T: Send + 'static>(
        &self,
        tenant: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        match &self.pool {
            Some(pool) if self.background.contains(tenant) => pool.run(work).await,
            _ => run_blocking(work).await,
        }
    }

    /// The limits `tenant`'s calls run under: its own where configured,
    /// the server's otherwise (the sandbox clamps both to the server's).
    pub fn call_limits(&self, tenant: &str, server: CallLimits) -> CallLimits {
        let (deadline_ms, memory_pages) = self.limits.get(tenant).copied().unwrap_or_default();
        CallLimits {
            memory_pages: memory_pages.unwrap_or(server.memory_pages),
            deadline: deadline_ms.map_or(server.deadline, Duration::from_millis),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> Result<Vec<TenantConfig>, TenantsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenants.toml");
        std::fs::write(&path, toml).unwrap();
        load(&path)
    }

    #[test]
    fn a_tenants_own_deadline_and_memory_apply_and_the_servers_fill_the_gaps() {
        let configs = parse(
            "[[tenant]]\nid = \"a\"\napi_key = \"0123456789abcdef\"\ndeadline_ms = 7\n\n\
             [[tenant]]\nid = \"b\"\napi_key = \"fedcba9876543210\"\nmemory_pages = 64\n",
        )
        .unwrap();
        let tenants = Tenants::new(&configs);
        let server = CallLimits {
            memory_pages: 256,
            deadline: Duration::from_millis(50),
        };
        let a = tenants.call_limits("a", server);
        assert_eq!(
            (a.memory_pages, a.deadline),
            (256, Duration::from_millis(7))
        );
        let b = tenants.call_limits("b", server);
        assert_eq!(
            (b.memory_pages, b.deadline),
            (64, Duration::from_millis(50))
        );
        assert_eq!(tenants.call_limits("unknown", server), server);
    }

    #[tokio::test]
    async fn background_tenants_calls_run_at_the_lowest_priority_others_at_normal() {
        let configs = parse(
            "[[tenant]]\nid = \"batch\"\napi_key = \"0123456789abcdef\"\ncpu = \"background\"\n\n\
             [[tenant]]\nid = \"web\"\napi_key = \"fedcba9876543210\"\n",
        )
        .unwrap();
        let tenants = Tenants::new(&configs);
        let nice = crate::blocking::current_thread_nice;
        assert_eq!(
            tenants.run("batch", nice).await.unwrap(),
            Some(crate::blocking::BACKGROUND_NICE)
        );
        assert_ne!(
            tenants.run("web", nice).await.unwrap(),
            Some(crate::blocking::BACKGROUND_NICE)
        );
        let err =
            parse("[[tenant]]\nid = \"x\"\napi_key = \"0123456789abcdef\"\ncpu = \"turbo\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("turbo"), "{err}");
    }

    #[test]
    fn zero_deadline_or_memory_is_refused_with_the_tenant_named() {
        for field in ["deadline_ms = 0", "memory_pages = 0"] {
            let err = parse(&format!(
                "[[tenant]]\nid = \"z\"\napi_key = \"0123456789abcdef\"\n{field}\n"
            ))
            .unwrap_err();
            assert!(err.to_string().contains("\"z\""), "{err}");
        }
    }
}
