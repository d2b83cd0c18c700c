//! The real server, started in-process on `127.0.0.1:0` over the built site.

use std::net::SocketAddr;
use std::path::PathBuf;

use server::{AppState, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback port 0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let mut config = Config::with_assets_dir(site);
        configure(&mut config);
        let state = AppState::new(config).expect("load the built site");
        let task = tokio::spawn(server::serve(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drains in-flight requests, and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task panicked")
                .expect("server returned an error");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
