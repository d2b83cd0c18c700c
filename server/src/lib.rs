//! The Wasm in Production server: one axum app that serves the built site
//! (the asset origin) and hosts the Wasm sandbox and its plugin registry.
//!
//! [`app`] builds the whole router so tests can drive it without a socket;
//! [`serve`] runs it on a listener until a shutdown signal;
//! [`testing::spawn`] runs it in-process on a free loopback port.

pub mod allowed_hosts;
pub mod assets;
pub mod auth;
pub mod bearer;
pub mod config;
pub mod demo;
pub mod digest;
pub mod error;
pub mod extract;
pub mod health;
pub mod invoke;
pub mod lessons;
pub mod metrics;
pub mod outcome;
pub mod pipeline;
pub mod plugins;
pub mod random;
pub mod registry;
pub mod request_id;
pub mod rollout_routes;
pub mod run;
pub mod sandbox;
pub mod state;
pub mod tenants;
pub mod testing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::http::header::X_CONTENT_TYPE_OPTIONS;
use axum::http::{HeaderValue, Method};
use axum::{Router, middleware};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

pub use config::Config;
pub use error::ApiError;
pub use state::{AppState, StartupError};

/// Builds the complete router for `state`.
pub fn app(state: AppState) -> Router {
    let assets = assets::router(state.catalog(), state.config().wrong_mime_demo);
    let allowed = Arc::new(state.config().allowed_hosts());
    let api = Router::new()
        .merge(health::router())
        .merge(run::router())
        .merge(lessons::router())
        .merge(plugins::router())
        .merge(rollout_routes::router())
        .merge(demo::route::router())
        // A known path with another method: the JSON error, not an empty 405.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    api.merge(assets)
        // Browsers must never second-guess a Content-Type (seed task 1).
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // A guest's 502/504/507 is the guest's outcome (logged once by the
        // invocation pipeline), not a server failure for the error log.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        // Before any route sees it: a rebinding page's request is refused.
        .layer(middleware::from_fn_with_state(
            allowed,
            allowed_hosts::check,
        ))
        // Outermost, so every answer (a 421 or 404 too) names its request.
        .layer(middleware::from_fn(request_id::layer))
}

/// tower-http's default span, with the request id an answer carries.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.extensions().get::<request_id::RequestId>();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        version = ?request.version(),
        request_id = id.map(request_id::RequestId::as_str),
    )
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
    }
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then drains
/// in-flight requests. A client must send its request headers within the
/// configured header read timeout (bodies have their own, per route).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.config().header_read_timeout();
    let app = app(state);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Who the peer is, for the per-client limits (`extract::ClientIp`).
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
