//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::assets::{Catalog, CatalogError};
use crate::config::Config;

/// Cheaply cloneable handle to everything handlers need.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    catalog: Arc<Catalog>,
}

impl AppState {
    /// Builds the state from configuration, loading the asset root.
    pub fn new(config: Config) -> Result<Self, StartupError> {
        let catalog = Arc::new(Catalog::load(&config.assets_dir)?);
        Ok(Self {
            inner: Arc::new(Inner { config, catalog }),
        })
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
}
