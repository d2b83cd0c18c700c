//! The Wasm in Production server: one axum app that serves the built site and,
//! in later stages, hosts the Wasm sandbox.
//!
//! [`app`] builds the whole router so tests can drive it without a socket;
//! [`serve`] runs it on a listener until a shutdown signal.

pub mod assets;
pub mod config;
pub mod error;
pub mod health;
pub mod state;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::ApiError;
pub use state::AppState;

/// Builds the complete router for `state`.
pub fn app(state: AppState) -> Router {
    let assets = assets::router(&state.config().assets_dir);
    Router::new()
        .merge(health::router())
        .with_state(state)
        .merge(assets)
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
