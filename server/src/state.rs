//! Shared application state handed to every handler.

use std::sync::Arc;

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;

use crate::assets::{Catalog, CatalogError};
use crate::config::{Config, ConfigError};
use crate::demo::{Demo, DemoError};
use crate::error::ApiError;
use crate::extract::{BodyError, read_limited};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::registry::nats::Nats;
use crate::registry::{self, Registry, RegistryError};
use crate::sandbox::{self, Sandbox};
use crate::tenants::{self, Tenants};

/// Cheaply cloneable handle to everything handlers need.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    catalog: Arc<Catalog>,
    sandbox: Arc<Sandbox>,
    registry: Arc<Registry>,
    tenants: Arc<Tenants>,
    metrics: Arc<Metrics>,
    pipeline: Pipeline,
    demo: Option<Demo>,
    throttled_places: crate::lessons::places::Places,
    lesson_module: crate::lessons::module::LessonModule,
}

impl AppState {
    /// Builds the state from configuration, loading the asset root.
    pub fn new(mut config: Config) -> Result<Self, StartupError> {
        config.check()?;
        let demo = Demo::for_config(&config)?;
        if let Some(demo) = &demo {
            config.admin_token = Some(demo.admin_token().to_owned());
        }
        let tenants = match &config.tenants_file {
            Some(path) => tenants::load(path)?,
            None => demo
                .as_ref()
                .map_or_else(Vec::new, |d| d.tenants().to_vec()),
        };
        let tenants = Arc::new(Tenants::new(&tenants, config.run_concurrency));
        let catalog = Arc::new(Catalog::load(&config.assets_dir)?);
        let sandbox = Arc::new(
            Sandbox::with_scheduling(config.sandbox_limits(), config.scheduling())?
                .with_compile_cache(config.compile_cache_dir.clone()),
        );
        match &config.builtins_cache_dir {
            // Shared: another process's guest set is not stale.
            Some(shared) => sandbox.load_builtins_shared(&config.guests_dir, shared)?,
            None => sandbox.load_builtins(&config.guests_dir, &config.builtins_cache())?,
        };
        let metrics = Arc::new(Metrics::new());
        let pipeline = Pipeline::new(
            Arc::clone(&sandbox),
            Arc::clone(&tenants),
            Arc::clone(&metrics),
        );
        let registry = open_registry(&config, &sandbox)?;
        if let Some(demo) = &demo {
            demo.register(&registry, &pipeline, &config.guests_dir)?;
        }
        let throttled_places = crate::lessons::places::Places::new(config.lesson_throttled_streams);
        let lesson_module = crate::lessons::module::LessonModule::load(&config.guests_dir);
        Ok(Self {
            inner: Arc::new(Inner {
                throttled_places,
                lesson_module,
                config,
                catalog,
                sandbox,
                registry,
                tenants,
                metrics,
                pipeline,
                demo,
            }),
        })
    }

    /// The demo's generated credentials, when started with `--demo` (and
    /// no production credentials).
    pub fn demo(&self) -> Option<&Demo> {
        self.inner.demo.as_ref()
    }

    /// The places of the paced lesson answers (`--lesson-throttled-streams`).
    pub fn throttled_places(&self) -> &crate::lessons::places::Places {
        &self.inner.throttled_places
    }

    /// The compile-once lesson's module bytes, read at start-up.
    pub fn lesson_module(&self) -> &crate::lessons::module::LessonModule {
        &self.inner.lesson_module
    }

    /// The Wasm sandbox.
    pub fn sandbox(&self) -> Arc<Sandbox> {
        Arc::clone(&self.inner.sandbox)
    }

    /// The plugin registry.
    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.inner.registry)
    }

    /// Tenants and their gates.
    pub fn tenants(&self) -> &Tenants {
        &self.inner.tenants
    }

    /// Invocation metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The one road of every guest call (gates, limits, metrics, log line).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The in-memory asset catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.inner.catalog)
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A guest's input: the request body up to `--sandbox-max-input` bytes
    /// (413 `invalid_input` beyond), within the body read timeout.
    pub async fn read_guest_input(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, ApiError> {
        let config = self.config();
        let limit = config.sandbox_max_input;
        read_limited(headers, body, limit, config.body_read_timeout())
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { announced } => {
                    ApiError::Sandbox(crate::sandbox::SandboxError::InvalidInput {
                        reason: match announced {
                            Some(n) => format!("{n} bytes exceed the {limit} byte limit"),
                            None => format!("the body exceeds the {limit} byte limit"),
                        },
                    })
                }
                BodyError::Failed(e) => e,
            })
    }
}

/// The registry `config` asks for; with `--registry nats://…`, the task
/// that keeps it in step with the other replicas is started too.
fn open_registry(config: &Config, sandbox: &Arc<Sandbox>) -> Result<Arc<Registry>, StartupError> {
    let (dir, sandbox, limits) = (
        &config.data_dir,
        Arc::clone(sandbox),
        config.validation_limits(),
    );
    let Some(url) = &config.registry else {
        return Ok(Arc::new(Registry::open(dir, sandbox, limits)?));
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(StartupError::Registry(RegistryError::Unavailable {
            message: "a shared registry needs a tokio runtime to keep in step".into(),
        }));
    }
    let nats = Arc::new(Nats::new(
        url,
        config.nats_write_timeout(),
        config.registry_replicas as usize,
    ));
    let registry = Arc::new(Registry::open_shared(
        dir,
        sandbox,
        limits,
        Arc::clone(&nats) as Arc<dyn registry::Backend>,
    )?);
    registry::sync::spawn(Arc::clone(&registry), Arc::clone(&nats));
    registry::window_sync::spawn(Arc::clone(&registry), nats);
    Ok(registry)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration value is out of range.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The asset root could not be loaded.
    #[error(transparent)]
    Assets(#[from] CatalogError),
    /// The sandbox could not start or a guest did not load.
    #[error(transparent)]
    Sandbox(#[from] sandbox::LoadError),
    /// The registry could not be opened.
    #[error("registry: {0}")]
    Registry(#[from] RegistryError),
    /// The tenants file is unusable.
    #[error(transparent)]
    Tenants(#[from] tenants::TenantsError),
    /// `--demo` could not start.
    #[error(transparent)]
    Demo(#[from] DemoError),
}
