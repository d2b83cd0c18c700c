//! Tenants and per-tenant admission (seed task 13). Each tenant has an API
//! key, a [gate](gate::TenantGate), optional tighter limits and a CPU
//! class. `/api/run`'s demo guests are billed to the built-in
//! [`demo`](id::DEMO) tenant, which has a gate but no key.
//!
//! - [`id`] holds `TenantId`
//! - [`config`]: the tenants file and its range checks
//! - [`gate`]: concurrency + bounded queue + wait timeout → 429

pub mod config;
pub mod gate;
pub mod id;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::HeaderMap;

pub use config::{TenantConfig, TenantsError, load};
pub use gate::TenantGate;
pub use id::TenantId;

use crate::bearer;
use crate::sandbox::{CallLimits, CallOptions, CpuClass};

/// Why a tenant's call was not admitted. `error.rs` gives each its status.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No API key, or one no tenant has: 401.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why.
        reason: String,
    },
    /// The tenant's gate is full: 429.
    #[error("tenant {tenant} is at its concurrency limit and its queue is full")]
    Full {
        /// The tenant.
        tenant: String,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// A tenant id with no gate: a bug on our side, 500.
    #[error("internal error: tenant {tenant} has no gate")]
    NoGate {
        /// The tenant.
        tenant: String,
    },
}

#[derive(Debug)]
struct Tenant {
    gate: TenantGate,
    deadline_ms: Option<u64>,
    memory_pages: Option<u64>,
    cpu: CpuClass,
    weight: u32,
    cpu_ms: Option<u64>,
}

impl Tenant {
    fn new(config: &TenantConfig) -> Self {
        Self {
            gate: TenantGate::new(
                config.max_concurrency as usize,
                config.queue_depth as usize,
                Duration::from_millis(config.queue_wait_ms),
            ),
            deadline_ms: config.deadline_ms,
            memory_pages: config.memory_pages,
            cpu: config.cpu,
            weight: config.weight as u32,
            cpu_ms: config.cpu_ms,
        }
    }
}

/// All tenants: keys, gates, per-call limits and CPU classes.
#[derive(Debug)]
pub struct Tenants {
    keys: BTreeMap<TenantId, String>,
    tenants: BTreeMap<TenantId, Tenant>,
}

impl Tenants {
    /// From checked configuration (see [`config::check`]) and the demo
    /// tenant's concurrency.
    pub fn new(configs: &[TenantConfig], demo_concurrency: u64) -> Self {
        let demo = TenantConfig {
            id: id::DEMO.to_owned(),
            api_key: String::new(),
            max_concurrency: demo_concurrency,
            queue_depth: config::DEFAULT_QUEUE_DEPTH,
            queue_wait_ms: config::DEFAULT_QUEUE_WAIT_MS,
            deadline_ms: None,
            memory_pages: None,
            cpu: CpuClass::Normal,
            weight: config::DEFAULT_WEIGHT.into(),
            cpu_ms: None,
        };
        let mut keys = BTreeMap::new();
        let mut tenants = BTreeMap::from([(TenantId::demo(), Tenant::new(&demo))]);
        for config in configs {
            let id = TenantId::parse(&config.id).expect("checked at load");
            keys.insert(id.clone(), config.api_key.clone());
            tenants.insert(id, Tenant::new(config));
        }
        Self { keys, tenants }
    }

    /// The tenant whose API key is in `Authorization: Bearer <key>`, else 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<TenantId, Refusal> {
        let given = bearer::token(headers).ok_or_else(|| Refusal::Unauthorized {
            reason: "tenant routes need Authorization: Bearer <api key>".into(),
        })?;
        // Check every key so timing does not depend on which tenant matched.
        let mut found = None;
        for (tenant, key) in &self.keys {
            if bearer::same(given, key) {
                found = Some(tenant.clone());
            }
        }
        found.ok_or_else(|| Refusal::Unauthorized {
            reason: "unknown API key".into(),
        })
    }

    /// Waits for a running slot of `tenant` (429 when over its limits).
    pub async fn admit(
        &self,
        tenant: &TenantId,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
        match self.tenants.get(tenant) {
            Some(t) => t.gate.admit(tenant.as_str()).await,
            None => Err(Refusal::NoGate {
                tenant: tenant.to_string(),
            }),
        }
    }

    /// How `tenant`'s calls run: its own limits where configured, the
    /// server's otherwise, never looser than the server's.
    pub fn call_options(&self, tenant: &TenantId, server: CallLimits) -> CallOptions {
        let tenant = self.tenants.get(tenant);
        let deadline = tenant
            .and_then(|t| t.deadline_ms)
            .map_or(server.deadline, Duration::from_millis);
        let memory_pages = tenant
            .and_then(|t| t.memory_pages)
            .unwrap_or(server.memory_pages);
        CallOptions {
            limits: CallLimits {
                memory_pages: memory_pages.min(server.memory_pages),
                deadline: deadline.min(server.deadline),
            },
            cpu: tenant.map_or(CpuClass::Normal, |t| t.cpu),
            weight: tenant.map_or(1, |t| t.weight),
            cpu_budget: tenant.and_then(|t| t.cpu_ms).map(Duration::from_millis),
        }
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

    const SERVER: CallLimits = CallLimits {
        memory_pages: 256,
        deadline: Duration::from_millis(50),
    };

    #[test]
    fn a_tenants_own_limits_apply_the_servers_fill_the_gaps_and_none_loosen_them() {
        let configs = parse(
            "[[tenant]]\nid = \"a\"\napi_key = \"0123456789abcdef\"\ndeadline_ms = 7\n\n\
             [[tenant]]\nid = \"b\"\napi_key = \"fedcba9876543210\"\nmemory_pages = 64\n\n\
             [[tenant]]\nid = \"c\"\napi_key = \"fedcba9876543211\"\nmemory_pages = 9999\ndeadline_ms = 60000\ncpu = \"background\"\n",
        )
        .unwrap();
        let tenants = Tenants::new(&configs, 4);
        let options = |id: &str| tenants.call_options(&TenantId::parse(id).unwrap(), SERVER);
        assert_eq!(options("a").limits.deadline, Duration::from_millis(7));
        assert_eq!(options("a").limits.memory_pages, 256);
        assert_eq!(options("b").limits.memory_pages, 64);
        assert_eq!(options("c").limits, SERVER, "clamped to the server's");
        assert_eq!(options("c").cpu, CpuClass::Background);
        assert_eq!((options("a").weight, options("a").cpu_budget), (1, None));
        let d = Tenants::new(
            &parse(
                "[[tenant]]\nid = \"d\"\napi_key = \"0123456789abcdef\"\nweight = 3\ncpu_ms = 40\n",
            )
            .unwrap(),
            4,
        );
        let d = d.call_options(&TenantId::parse("d").unwrap(), SERVER);
        assert_eq!(
            (d.weight, d.cpu_budget),
            (3, Some(Duration::from_millis(40)))
        );
        assert_eq!(options("demo").limits, SERVER);
        assert_eq!(options("unknown").limits, SERVER);
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_tenant_and_the_field() {
        for (field, line) in [
            ("deadline_ms", "deadline_ms = 0"),
            ("memory_pages", "memory_pages = 0"),
            ("memory_pages", "memory_pages = 65537"),
            ("max_concurrency", "max_concurrency = 0"),
            ("max_concurrency", "max_concurrency = 4611686018427387904"),
            ("queue_depth", "queue_depth = 100000000"),
            ("queue_wait_ms", "queue_wait_ms = 99999999"),
            ("weight", "weight = 0"),
            ("weight", "weight = 1001"),
            ("cpu_ms", "cpu_ms = 0"),
        ] {
            let err = parse(&format!(
                "[[tenant]]\nid = \"z\"\napi_key = \"0123456789abcdef\"\n{line}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("\"z\"") && err.contains(field),
                "{line}: {err}"
            );
        }
        let err =
            parse("[[tenant]]\nid = \"x\"\napi_key = \"0123456789abcdef\"\ncpu = \"turbo\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("turbo"), "{err}");
        let err = parse("[[tenant]]\nid = \"x\"\napi_key = \"short\"\n").unwrap_err();
        assert!(err.to_string().contains("api_key"), "{err}");
    }

    #[test]
    fn duplicate_ids_duplicate_keys_and_the_reserved_demo_id_are_refused() {
        let two = |a: (&str, &str), b: (&str, &str)| {
            parse(&format!(
                "[[tenant]]\nid = \"{}\"\napi_key = \"{}\"\n\n[[tenant]]\nid = \"{}\"\napi_key = \"{}\"\n",
                a.0, a.1, b.0, b.1
            ))
        };
        let err = two(("a", "0123456789abcdef"), ("a", "fedcba9876543210")).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let err = two(("a", "0123456789abcdef"), ("b", "0123456789abcdef")).unwrap_err();
        assert!(err.to_string().contains("same api_key"), "{err}");
        let err = parse("[[tenant]]\nid = \"demo\"\napi_key = \"0123456789abcdef\"\n").unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
    }
}
