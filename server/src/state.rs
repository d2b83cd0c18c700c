//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::config::Config;

/// Cheaply cloneable handle to everything handlers need.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
}

impl AppState {
    /// Builds the state from configuration.
    pub fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner { config }),
        }
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}
