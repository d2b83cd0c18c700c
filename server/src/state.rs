//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::assets::{Catalog, CatalogError};
use crate::config::Config;
use crate::sandbox::{self, Sandbox};

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
}

impl AppState {
    /// Builds the state from configuration, loading the asset root.
    pub fn new(config: Config) -> Result<Self, StartupError> {
        let catalog = Arc::new(Catalog::load(&config.assets_dir)?);
        let sandbox = Sandbox::new(config.sandbox_limits())?;
        sandbox.load_dir(&config.guests_dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                catalog,
                sandbox: Arc::new(sandbox),
            }),
        })
    }

    /// The Wasm sandbox.
    pub fn sandbox(&self) -> Arc<Sandbox> {
        Arc::clone(&self.inner.sandbox)
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
}
