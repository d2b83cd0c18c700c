//! What the server says about itself: `GET /healthz` ([`Health`]) and
//! `GET /api/guests` (a list of [`GuestInfo`]).

use serde::{Deserialize, Serialize};

/// `GET /healthz`: 200 while the process serves requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` while the process serves requests.
    pub status: String,
    /// The server crate's version.
    pub version: String,
    /// Whether the registry accepts writes.
    pub registry: RegistryHealth,
    /// Where registry writes go: `local` or `nats`.
    pub registry_backend: String,
}

/// What `/healthz` says about the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryHealth {
    /// Writes are accepted and this replica is in step with the others.
    Ok,
    /// The shared store is unreachable (or not caught up yet): this replica
    /// serves what it has loaded, writes answer 503.
    Degraded,
}

/// A loaded guest, as `GET /api/guests` lists the built-in ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestInfo {
    /// Name (file stem of a built-in guest, digest of a plugin).
    pub name: String,
    /// SHA-256 of its bytes, in hex.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Exported function names.
    pub exports: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_keeps_its_field_names_and_lower_case_states() {
        let health = Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            registry: RegistryHealth::Degraded,
            registry_backend: "nats".into(),
        };
        let json = serde_json::to_value(&health).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "ok", "version": "0.1.0",
                "registry": "degraded", "registry_backend": "nats"})
        );
        assert_eq!(serde_json::from_value::<Health>(json).unwrap(), health);
    }
}
