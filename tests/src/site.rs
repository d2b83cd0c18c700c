//! The real server, started in-process on `127.0.0.1:0` over the built site
//! (through [`server::testing::spawn`], like every other socket test).

use std::path::PathBuf;

use server::testing::RunningServer;
use server::{AppState, Config};

/// The site `cargo xtask build` assembled.
pub fn site_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("site")
}

/// A running server; shuts down gracefully when dropped or [`TestServer::stop`]ped.
#[derive(Debug)]
pub struct TestServer {
    running: RunningServer,
}

impl TestServer {
    /// Starts the server over the built site. Panics with instructions if the
    /// site was not built: an end-to-end test without the real assets proves nothing.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`Self::start`] with the configuration adjusted by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let site = site_dir();
        assert!(
            site.join("index.html").is_file() && site.join("manifest.json").is_file(),
            "no built site in {}: run `cargo xtask build` (or `cargo xtask test`) first",
            site.display()
        );
        let mut config = Config::with_assets_dir(site);
        configure(&mut config);
        let state = AppState::new(config).expect("load the built site");
        let running = server::testing::spawn(state)
            .await
            .expect("bind loopback port 0");
        Self { running }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Stops accepting, drains in-flight requests, and waits for the server task.
    pub async fn stop(self) {
        self.running.stop().await.expect("server returned an error");
    }
}
