//! The Wasm in Production server: one axum app that serves the built site and,
//! in later stages, hosts the Wasm sandbox.
//!
//! [`app`] builds the whole router so tests can drive it without a socket;
//! [`serve`] runs it on a listener until a shutdown signal.

pub mod assets;
pub mod auth;
pub mod blocking;
pub mod config;
pub mod error;
pub mod health;
pub mod metrics;
pub mod plugins;
pub mod registry;
pub mod run;
pub mod sandbox;
pub mod state;
pub mod tenants;

use std::future::Future;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::X_CONTENT_TYPE_OPTIONS;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::ApiError;
pub use state::{AppState, StartupError};

/// Builds the complete router for `state`.
pub fn app(state: AppState) -> Router {
    let assets = assets::router(state.catalog(), state.config().wrong_mime_demo);
    Router::new()
        .merge(health::router())
        .merge(run::router())
        .merge(plugins::router())
        .with_state(state)
        .merge(assets)
        // Browsers must never second-guess a Content-Type (seed task 1).
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then drains
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
