//! The calls the demo makes to the server, over a blocking HTTP client:
//! uploads, activation, rollouts and plugin status as an admin, invocations
//! as the tenant. Bodies are the [`wire`] types the server uses.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::de::DeserializeOwned;
use wire::{ActivateRequest, Activation, PluginInfo, PluginStatus, Rollout, RolloutRequest};

/// Longer than any call the demo makes (an upload compiles and smoke-calls).
const TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one demo server.
#[derive(Debug, Clone)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
    admin: String,
    tenant: String,
}

impl Api {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: String, admin_token: String, tenant_key: String) -> Self {
        let agent = ureq::Agent::config_builder()
            // Error statuses are answers the demo counts, not client errors.
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            // Loopback only: never through a proxy from the environment.
            .proxy(None)
            .build()
            .new_agent();
        Self {
            agent,
            base,
            admin: format!("Bearer {admin_token}"),
            tenant: format!("Bearer {tenant_key}"),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /api/plugins?name=&version=` with the module at `path`.
    pub fn upload(&self, path: &Path, name: &str, version: &str) -> anyhow::Result<PluginInfo> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let what = format!("uploading {}", path.display());
        let response = self
            .agent
            .post(format!(
                "{}/api/plugins?name={name}&version={version}",
                self.base
            ))
            .header("authorization", &self.admin)
            .send(&bytes[..]);
        json(response, &what)
    }

    /// `GET /api/plugins/{name}`.
    pub fn status(&self, name: &str) -> anyhow::Result<PluginStatus> {
        let response = self
            .agent
            .get(format!("{}/api/plugins/{name}", self.base))
            .call();
        json(response, &format!("status of {name}"))
    }

    /// `PUT /api/plugins/{name}/rollout`.
    pub fn start_rollout(&self, name: &str, request: &RolloutRequest) -> anyhow::Result<Rollout> {
        let response = self
            .agent
            .put(format!("{}/api/plugins/{name}/rollout", self.base))
            .header("authorization", &self.admin)
            .send_json(request);
        json(response, &format!("starting a rollout of {name}"))
    }

    /// `PUT /api/plugins/{name}/active`.
    pub fn activate(&self, name: &str, request: &ActivateRequest) -> anyhow::Result<Activation> {
        let response = self
            .agent
            .put(format!("{}/api/plugins/{name}/active", self.base))
            .header("authorization", &self.admin)
            .send_json(request);
        json(response, &format!("activating {request:?} for {name}"))
    }

    /// `POST /api/invoke/{name}` as the tenant, with `request_id`: the
    /// HTTP status, or 0 for a call that got no answer (the demo counts
    /// it as failed rather than stopping).
    pub fn invoke(&self, name: &str, request_id: &str, input: &str) -> u16 {
        let response = self
            .agent
            .post(format!("{}/api/invoke/{name}", self.base))
            .header("authorization", &self.tenant)
            .header("x-request-id", request_id)
            .send(input);
        match response {
            Ok(mut response) => {
                // Read the body so the connection goes back to the pool.
                let _ = response.body_mut().read_to_vec();
                response.status().as_u16()
            }
            Err(_) => 0,
        }
    }
}

/// The JSON body of a 2xx answer; anything else fails with the status and
/// the server's error body.
fn json<T: DeserializeOwned>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    what: &str,
) -> anyhow::Result<T> {
    let mut response = response.with_context(|| what.to_owned())?;
    let status = response.status();
    if !status.is_success() {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        bail!("{what}: HTTP {status}: {body}");
    }
    response
        .body_mut()
        .read_json()
        .with_context(|| format!("{what}: reading the answer"))
}
