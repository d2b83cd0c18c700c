//! Demo mode (`--demo`, what `cargo xtask run` passes): a server that can be
//! used from the first click. At start it generates an admin token and
//! three tenants (two well-behaved, one heavy in the background CPU class),
//! registers the `process` plugin v1 and v2 with v1 active, and answers
//! `GET /api/demo` with those credentials so the page can pre-fill its
//! sandbox panel.
//!
//! Production is untouched: without `--demo`, or with `--admin-token` /
//! `--tenants-file` (flags or their environment variables), nothing is
//! generated or registered and `/api/demo` is a 404. Because the demo hands
//! out its admin token over HTTP, it refuses to start on an address that is
//! not loopback; it also refuses a shared registry (`--registry`).

pub mod route;

use std::path::Path;

use bytes::Bytes;
use wire::demo::{DEMO_PATH, DemoKeys, DemoTenant};

use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::registry::{Registry, Upload};
use crate::request_id::RequestId;
use crate::sandbox::CpuClass;
use crate::tenants::TenantConfig;
use crate::tenants::config::{DEFAULT_QUEUE_DEPTH, DEFAULT_QUEUE_WAIT_MS, DEFAULT_WEIGHT};

/// The plugin name the demo registers.
pub const PLUGIN: &str = "process";
/// Its versions: (guest file stem under `--guests-dir`, version label), the
/// first one active.
pub const VERSIONS: [(&str, &str); 2] = [("process", "1"), ("process_v2", "2")];
/// One demo tenant as configured.
struct Spec {
    id: &'static str,
    cpu: CpuClass,
    max_concurrency: u64,
    queue_depth: u64,
    role: &'static str,
}

/// The demo tenants, the well-behaved ones first.
const TENANTS: [Spec; 3] = [
    Spec {
        id: "alpha",
        cpu: CpuClass::Normal,
        max_concurrency: 2,
        queue_depth: DEFAULT_QUEUE_DEPTH,
        role: "well-behaved",
    },
    Spec {
        id: "bravo",
        cpu: CpuClass::Normal,
        max_concurrency: 2,
        queue_depth: DEFAULT_QUEUE_DEPTH,
        role: "well-behaved",
    },
    // Enough calls at once and in its queue to load the host's cores.
    Spec {
        id: "heavy",
        cpu: CpuClass::Background,
        max_concurrency: 4,
        queue_depth: 64,
        role: "heavy, background CPU class (nice 19)",
    },
];
/// Random bytes of the admin token and of each tenant key (hex-encoded).
const SECRET_BYTES: usize = 32;

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--demo` on an address others can reach.
    #[error("--demo serves its admin token at {DEMO_PATH}: only on a loopback address, not {addr}")]
    NotLoopback {
        /// The configured address.
        addr: std::net::SocketAddr,
    },
    /// `--demo` with `--registry`: the demo registers its plugin on a
    /// start-up runtime that ends before the server serves, and a shared
    /// registry's connection must outlive it (and replicas would each
    /// register their own).
    #[error("--demo registers its plugin in this process's own registry: not with --registry")]
    SharedRegistry,
    /// No randomness for the secrets.
    #[error("--demo: generating its secrets: {0}")]
    Random(String),
    /// The demo plugin could not be registered.
    #[error("--demo: registering {PLUGIN}: {0}")]
    Register(String),
}

/// The credentials and tenants generated for this run.
#[derive(Debug)]
pub struct Demo {
    keys: DemoKeys,
    tenants: Vec<TenantConfig>,
}

impl Demo {
    /// The demo `config` asks for: `None` without `--demo`, and `None`
    /// (with a log line) whenever a production credential is configured.
    pub fn for_config(config: &Config) -> Result<Option<Self>, DemoError> {
        if !config.demo {
            return Ok(None);
        }
        if config.admin_token.is_some() || config.tenants_file.is_some() {
            tracing::warn!(
                "--demo ignored: --admin-token or --tenants-file is configured, nothing is generated"
            );
            return Ok(None);
        }
        if !config.addr.ip().is_loopback() {
            return Err(DemoError::NotLoopback { addr: config.addr });
        }
        if config.registry.is_some() {
            return Err(DemoError::SharedRegistry);
        }
        let admin_token = format!("demo-admin-{}", secret()?);
        let mut tenants = Vec::new();
        let mut listed = Vec::new();
        for Spec {
            id,
            cpu,
            max_concurrency,
            queue_depth,
            role,
        } in TENANTS
        {
            let api_key = format!("demo-{id}-{}", secret()?);
            tenants.push(TenantConfig {
                id: id.to_owned(),
                api_key: api_key.clone(),
                max_concurrency,
                queue_depth,
                queue_wait_ms: DEFAULT_QUEUE_WAIT_MS,
                deadline_ms: None,
                memory_pages: None,
                cpu,
                weight: DEFAULT_WEIGHT.into(),
                cpu_ms: None,
            });
            listed.push(DemoTenant {
                id: id.to_owned(),
                api_key,
                cpu: match cpu {
                    CpuClass::Normal => "normal",
                    CpuClass::Background => "background",
                }
                .to_owned(),
                role: role.to_owned(),
            });
        }
        Ok(Some(Self {
            keys: DemoKeys {
                admin_token,
                plugin: PLUGIN.to_owned(),
                tenants: listed,
            },
            tenants,
        }))
    }

    /// What `GET /api/demo` answers.
    pub fn keys(&self) -> &DemoKeys {
        &self.keys
    }

    /// The generated admin token.
    pub fn admin_token(&self) -> &str {
        &self.keys.admin_token
    }

    /// The tenants, as a tenants file would configure them.
    pub fn tenants(&self) -> &[TenantConfig] {
        &self.tenants
    }

    /// Uploads [`VERSIONS`] from `guests_dir`, the first one first so that
    /// it becomes the name's active module in a new registry. Stored ones
    /// are found, not uploaded again, and keep the activation a previous
    /// run left (the registry persists it). Missing guest files leave the
    /// demo without a plugin (logged), as a missing guests directory leaves
    /// the sandbox empty.
    pub fn register(
        &self,
        registry: &Registry,
        pipeline: &Pipeline,
        guests_dir: &Path,
    ) -> Result<(), DemoError> {
        let mut files = Vec::new();
        for (guest, version) in VERSIONS {
            let path = guests_dir.join(format!("{guest}.wasm"));
            match std::fs::read(&path) {
                Ok(bytes) => files.push((version, Bytes::from(bytes))),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "demo plugin not built (run `cargo xtask build`); the demo has no plugin");
                    return Ok(());
                }
            }
        }
        // An upload is async (its smoke call runs on the sandbox's
        // threads); start-up is not, and may itself run inside a runtime.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DemoError::Register(e.to_string()))?;
                    runtime.block_on(upload_all(registry, pipeline, files))
                })
                .join()
                .unwrap_or_else(|_| Err(DemoError::Register("the upload thread panicked".into())))
        })?;
        let active = registry.activations().get(PLUGIN).map(|a| a.active.clone());
        let version = active
            .and_then(|d| registry.plugin(&d))
            .map_or_else(|| "none".to_owned(), |m| m.version);
        tracing::info!(plugin = PLUGIN, active_version = %version, "demo plugin registered");
        Ok(())
    }

    /// The lines printed at start: every key, and where the page gets them.
    pub fn banner(&self) -> String {
        let mut lines = vec![
            "demo mode: secrets generated for this run (production: --admin-token / --tenants-file)".to_owned(),
            format!("  admin token   {}", self.keys.admin_token),
        ];
        for t in &self.keys.tenants {
            lines.push(format!("  tenant {:<6} {}   ({})", t.id, t.api_key, t.role));
        }
        lines.push(format!(
            "  plugin {PLUGIN}: v1 and v2 registered (v1 active in a new registry); the page's sandbox panel reads these from {DEMO_PATH}"
        ));
        lines.join("\n")
    }
}

/// Uploads every version under [`PLUGIN`], in order.
async fn upload_all(
    registry: &Registry,
    pipeline: &Pipeline,
    files: Vec<(&str, Bytes)>,
) -> Result<(), DemoError> {
    for (version, bytes) in files {
        let upload = Upload {
            name: PLUGIN.to_owned(),
            version: version.to_owned(),
            bytes,
            smoke_input: None,
        };
        registry
            .upload(upload, pipeline, &RequestId::random().to_string())
            .await
            .map_err(|e| DemoError::Register(e.to_string()))?;
    }
    Ok(())
}

/// `SECRET_BYTES` from the operating system's CSPRNG, hex-encoded.
fn secret() -> Result<String, DemoError> {
    crate::random::try_hex::<SECRET_BYTES>().map_err(|e| DemoError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_config() -> Config {
        let mut config = Config::with_assets_dir("site");
        config.demo = true;
        config
    }

    #[test]
    fn generated_tenants_pass_the_tenants_file_checks_and_secrets_differ_per_start() {
        let one = Demo::for_config(&demo_config()).unwrap().unwrap();
        let two = Demo::for_config(&demo_config()).unwrap().unwrap();
        crate::tenants::config::check(one.tenants()).unwrap();
        let mut config = demo_config();
        config.admin_token = Some(one.admin_token().to_owned());
        config.check().expect("the generated token is long enough");
        assert_ne!(one.admin_token(), two.admin_token());
        assert_ne!(one.tenants()[0].api_key, two.tenants()[0].api_key);
        assert_ne!(one.tenants()[0].api_key, one.tenants()[1].api_key);
    }

    #[test]
    fn a_shared_registry_is_refused() {
        let mut config = demo_config();
        config.registry = Some("nats://127.0.0.1:4222".into());
        assert!(matches!(
            Demo::for_config(&config),
            Err(DemoError::SharedRegistry)
        ));
    }

    #[test]
    fn without_the_flag_nothing_is_generated() {
        let mut config = demo_config();
        config.demo = false;
        assert!(Demo::for_config(&config).unwrap().is_none());
    }
}
