//! The whole server in-process on a free loopback port: what the socket
//! tests, the end-to-end harness and the benchmark examples start, so they
//! all run [`crate::serve`] the way `main.rs` does, with graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let state = server::AppState::new(server::Config::with_assets_dir("target/site")).unwrap();
//! let running = server::testing::spawn(state).await?;
//! let health = format!("{}/healthz", running.url());
//! // ... requests ...
//! running.stop().await?;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// A server running on a tokio task. Dropping it asks for a graceful
/// shutdown without waiting; [`RunningServer::stop`] waits for it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Binds `127.0.0.1:0` and serves `state` there on a new task of the
/// current tokio runtime.
pub async fn spawn(state: AppState) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::serve(listener, state, async {
        // A dropped sender stops the server too.
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

impl RunningServer {
    /// The bound address (a real port, never 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drains in-flight requests and waits for the server
    /// task; returns what [`crate::serve`] returned. A panic of the server
    /// task is resumed here.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            None => Ok(()),
            Some(task) => match task.await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(std::io::Error::other(e)),
            },
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Real processes: nats-server, wip-server replicas, nginx.
pub mod cluster;
pub mod nats;
