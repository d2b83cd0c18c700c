//! Debian's `nats-server` with JetStream for the cluster tests, `cargo
//! xtask cluster` and its bench: one node, or a cluster of nodes routed to
//! each other on loopback.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::cluster::{free_port, kill, wait_listening};

/// `nats-server -js` on a loopback port, its store in a directory: alone,
/// or one node of a [`NatsCluster`].
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    store: PathBuf,
    /// `--cluster_name`, `-n`, `--cluster` and `--routes`, for a node.
    cluster_args: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts it with its JetStream store under `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Self> {
        let mut server = Self {
            port: free_port()?,
            store: dir.join("nats"),
            cluster_args: Vec::new(),
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it with SIGKILL (its store stays).
    pub fn kill(&mut self) {
        kill(&mut self.child);
    }

    /// Starts it again on the same port and store (killing it first if it
    /// runs).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        std::fs::create_dir_all(&self.store)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.store.with_extension("log"))?;
        self.child = Some(
            Command::new("nats-server")
                .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
                .arg("-sd")
                .arg(&self.store)
                .args(&self.cluster_args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
        wait_listening(([127, 0, 0, 1], self.port).into(), Duration::from_secs(10))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `--nats-write-timeout-ms` for replicas on a [`NatsCluster`]: a write
/// waits out the election of a stream's new leader after its leader's
/// node is lost, which takes several seconds on nats-server 2.9 (measured
/// by the cluster tests: up to about 13 s with one client retry).
pub const CLUSTER_WRITE_TIMEOUT_MS: u64 = 10_000;

/// A JetStream cluster of `nats-server` nodes on loopback, routed to each
/// other, each with its own store under `dir/nats-<i>`. Streams created
/// with 3 replicas survive one node's loss; with two gone there is no
/// quorum and writes fail until one returns.
#[derive(Debug)]
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// One node, not clustered, its store in `dir/nats`.
    pub fn single(dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            nodes: vec![NatsServer::start(dir)?],
        })
    }

    /// `n` routed nodes; returns when each accepts clients (the cluster
    /// elects its meta leader shortly after).
    pub fn start(dir: &Path, n: usize) -> std::io::Result<Self> {
        let cluster_ports = (0..n).map(|_| free_port()).collect::<Result<Vec<_>, _>>()?;
        let routes = cluster_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, cluster_port) in cluster_ports.iter().enumerate() {
            let mut node = NatsServer {
                port: free_port()?,
                store: dir.join(format!("nats-{i}")),
                cluster_args: vec![
                    "--cluster_name".into(),
                    "wip".into(),
                    "-n".into(),
                    format!("wip-nats-{i}"),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cluster_port}"),
                    "--routes".into(),
                    routes.clone(),
                ],
                child: None,
            };
            node.restart()?;
            nodes.push(node);
        }
        Ok(Self { nodes })
    }

    /// Every node's URL, comma-separated: what `--registry` takes.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`.
    pub fn node(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// How many nodes it has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
