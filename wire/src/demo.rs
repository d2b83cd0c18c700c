//! `GET /api/demo`: the credentials a demo server (`wip-server --demo`, what
//! `cargo xtask run` starts) generated at start, so the page can pre-fill
//! its sandbox panel. A server started with production credentials has no
//! demo and answers 404 with the [`crate::ErrorBody`].

use serde::{Deserialize, Serialize};

/// Path of the demo credentials.
pub const DEMO_PATH: &str = "/api/demo";

/// What a demo server generated for this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoKeys {
    /// Bearer token of the registry's admin routes (uploads, activation,
    /// rollouts), random per start.
    pub admin_token: String,
    /// The plugin name registered with two versions, the first active.
    pub plugin: String,
    /// The demo tenants, the well-behaved ones first.
    pub tenants: Vec<DemoTenant>,
}

/// One demo tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoTenant {
    /// Tenant id, as metrics and logs name it.
    pub id: String,
    /// Bearer key of `/api/invoke`, random per start.
    pub api_key: String,
    /// CPU class of its calls: `normal` or `background` (nice 19).
    pub cpu: String,
    /// What the tenant is for in the demo.
    pub role: String,
}
