//! `wip-server`: reads configuration, sets up logging, binds, serves, and shuts
//! down gracefully on Ctrl-C or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use server::{AppState, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_tracing(&config.log_format);

    if !config.assets_dir.join("index.html").is_file() {
        tracing::warn!(
            assets_dir = %config.assets_dir.display(),
            "no index.html in the asset root; run `cargo xtask build` first"
        );
    }

    let state = AppState::new(config.clone()).context("loading the server state")?;
    if let Some(demo) = state.demo() {
        println!("{}", demo.banner());
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let local = listener.local_addr()?;
    // Printed on stdout (not only logged) so scripts and tests can read the port.
    println!("listening on http://{local}/");
    tracing::info!(%local, assets_dir = %config.assets_dir.display(), "server started");

    server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("server stopped");
    Ok(())
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, draining");
}
