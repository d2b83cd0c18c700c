//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::assets::{Catalog, CatalogError};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::registry::{Registry, RegistryError};
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
    tenants: Tenants,
    metrics: Metrics,
}

impl AppState {
    /// Builds the state from configuration, loading the asset root.
    pub fn new(config: Config) -> Result<Self, StartupError> {
        let catalog = Arc::new(Catalog::load(&config.assets_dir)?);
        let sandbox = Arc::new(Sandbox::new(config.sandbox_limits())?);
        sandbox.load_dir(&config.guests_dir)?;
        let registry = Arc::new(Registry::open(&config.data_dir, Arc::clone(&sandbox))?);
        let tenants = match &config.tenants_file {
            Some(path) => Tenants::new(&tenants::load(path)?),
            None => Tenants::default(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                catalog,
                sandbox,
                registry,
                tenants,
                metrics: Metrics::new(),
            }),
        })
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

    /// The in-memory asset catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.inner.catalog)
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
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
}
