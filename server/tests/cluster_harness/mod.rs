//! A real cluster for the cluster tests and `cargo xtask bench cluster`
//! (which includes this file): `nats-server`, `wip-server` replicas and,
//! when asked, nginx in front, all on loopback with their data in a temp dir
//! under `target/`; plus the HTTP calls made to them.

#![allow(dead_code)] // each test uses a subset

use std::path::{Path, PathBuf};
use std::time::Duration;

mod load;

pub use load::{FailingLoad, Load, wait_for};
use server::testing::cluster::{Balancer, Replica, ReplicaConfig};
use server::testing::nats::{CLUSTER_WRITE_TIMEOUT_MS, NatsCluster};
use wire::RegistryHealth;

pub const ADMIN: &str = "cluster-test-admin-token-0123456789abcdef";
pub const KEY: &str = "cluster-test-tenant-key";

/// NATS (one node or a cluster), replicas, their temp dir.
pub struct Cluster {
    pub nats: NatsCluster,
    pub replicas: Vec<Replica>,
    pub config: ReplicaConfig,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl Cluster {
    /// NATS and `n` replicas of `binary`, each healthy (caught up) before
    /// it returns.
    pub async fn start(binary: &Path, n: usize) -> Self {
        Self::start_with(binary, n, &[]).await
    }

    /// The same, each replica also given `flags`.
    pub async fn start_with(binary: &Path, n: usize, flags: &[&str]) -> Self {
        Self::start_on(binary, n, 1, flags).await
    }

    /// `n` replicas on a NATS cluster of `nodes` nodes (one: not
    /// clustered), the registry's streams with as many replicas.
    pub async fn start_on(binary: &Path, n: usize, nodes: usize, flags: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("wip-cluster")
            .tempdir_in(target_dir())
            .unwrap();
        // Only `process` is built in: a replica starts in about a second.
        let guests = dir.path().join("guests");
        std::fs::create_dir_all(&guests).unwrap();
        std::fs::copy(
            guests_dir().join("process.wasm"),
            guests.join("process.wasm"),
        )
        .unwrap();
        let tenants = dir.path().join("tenants.toml");
        std::fs::write(
            &tenants,
            format!("[[tenant]]\nid = \"acme\"\napi_key = \"{KEY}\"\nmax_concurrency = 8\nqueue_depth = 256\n"),
        )
        .unwrap();
        let nats = match nodes {
            1 => NatsCluster::single(dir.path()).unwrap(),
            n => NatsCluster::start(dir.path(), n).unwrap(),
        };
        let config = ReplicaConfig {
            binary: binary.to_owned(),
            registry: nats.urls(),
            guests_dir: guests,
            assets_dir: dir.path().join("no-site"),
            admin_token: ADMIN.into(),
            tenants_file: tenants,
            extra: vec![
                "--sandbox-deadline-ms".into(),
                "20000".into(),
                // One cache for every replica of every run: a replica maps
                // `process` instead of compiling it.
                "--builtins-cache-dir".into(),
                target_dir().join("builtins").display().to_string(),
                // And one compile of each uploaded module for all of them.
                "--compile-cache-dir".into(),
                target_dir().join("compiled").display().to_string(),
            ]
            .into_iter()
            .chain(
                (nodes > 1)
                    .then(|| {
                        // A write waits out the election of a stream's new
                        // leader after a node's loss (several seconds).
                        [
                            "--registry-replicas".to_owned(),
                            nodes.to_string(),
                            "--nats-write-timeout-ms".to_owned(),
                            CLUSTER_WRITE_TIMEOUT_MS.to_string(),
                        ]
                    })
                    .into_iter()
                    .flatten(),
            )
            .chain(flags.iter().map(|f| (*f).to_owned()))
            .collect(),
        };
        let mut cluster = Self {
            nats,
            replicas: Vec::new(),
            config,
            dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        // Side by side: each start waits for its replica's address.
        cluster.replicas = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..n)
                .map(|i| {
                    let cluster = &cluster;
                    scope.spawn(move || cluster.start_replica(i))
                })
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        for i in 0..n {
            cluster.wait_healthy(i, RegistryHealth::Ok).await;
        }
        cluster
    }

    /// Starts replica `i` (again) on its own data dir.
    pub fn start_replica(&self, i: usize) -> Replica {
        Replica::start(&self.config, &self.dir.path().join(format!("replica-{i}"))).unwrap()
    }

    pub fn url(&self, i: usize) -> String {
        self.replicas[i].url()
    }

    /// nginx in front of every replica.
    pub fn balancer(&self) -> Balancer {
        let upstreams: Vec<_> = self.replicas.iter().map(Replica::addr).collect();
        Balancer::start(&self.dir.path().join("nginx"), &upstreams).unwrap()
    }

    /// Waits until replica `i`'s `/healthz` reports `registry: <want>`.
    pub async fn wait_healthy(&self, i: usize, want: wire::RegistryHealth) {
        let url = format!("{}/healthz", self.url(i));
        let got = wait_for(Duration::from_secs(60), || async {
            let health: wire::Health = self.http.get(&url).send().await.ok()?.json().await.ok()?;
            (health.registry == want).then_some(())
        })
        .await;
        assert!(
            got.is_some(),
            "replica {i} never reported registry: {want:?}"
        );
    }

    /// Uploads guest `guest` as plugin `name` through replica `i`.
    pub async fn upload(&self, i: usize, name: &str, guest: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!(
                "{}/api/plugins?name={name}&version={guest}",
                self.url(i)
            ))
            .bearer_auth(ADMIN)
            .body(guest_bytes(guest))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Uploads `process` and `process_v2` as `csv` through replica 0 and
    /// waits until every replica serves the first; their digests.
    pub async fn two_versions(&self) -> (String, String) {
        let mut digests = Vec::new();
        for guest in ["process", "process_v2"] {
            let (status, meta) = self.upload(0, "csv", guest).await;
            assert!(status == 200 || status == 201, "{guest}: {status} {meta}");
            digests.push(meta["digest"].as_str().unwrap().to_owned());
        }
        self.wait_all_serve("csv", &digests[0]).await;
        let v2 = digests.pop().unwrap();
        (digests.pop().unwrap(), v2)
    }

    /// `GET {replica i}{path}` as JSON.
    pub async fn get_json(&self, i: usize, path: &str) -> serde_json::Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url(i)))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// Makes `digest` the active one of `name` through replica `i`.
    pub async fn activate(
        &self,
        i: usize,
        name: &str,
        body: wire::ActivateRequest,
    ) -> (u16, serde_json::Value) {
        activate(&self.http, &self.url(i), name, body).await
    }

    /// `PUT {replica i}/api/plugins/{name}/rollout` with `body`.
    pub async fn start_rollout(
        &self,
        i: usize,
        name: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .http
            .put(format!("{}/api/plugins/{name}/rollout", self.url(i)))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Starts, through replica 0, a rollout of `candidate` for `name` that
    /// [`FailingLoad`] fails at once: 20% of the calls, `min_calls` 100, a
    /// trap threshold of 50 points (rolled back on the 51st candidate call
    /// of the cluster); returns when every replica routes by it.
    pub async fn start_failing_rollout(&self, name: &str, candidate: &str) {
        let body = serde_json::json!({"candidate": candidate, "percent": 20, "min_calls": 100,
                                      "thresholds": {"trap": 50.0}});
        let (status, answer) = self.start_rollout(0, name, &body).await;
        assert_eq!(status, 201, "{answer}");
        for i in 0..self.replicas.len() {
            let seen = wait_for(Duration::from_secs(30), || async {
                let status = self.get_json(i, &format!("/api/plugins/{name}")).await;
                (!status["rollout"].is_null()).then_some(())
            })
            .await;
            assert!(seen.is_some(), "replica {i} never saw the rollout");
        }
    }

    /// `DELETE {replica i}/api/plugins/{name}/rollout`.
    pub async fn abort_rollout(&self, i: usize, name: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .delete(format!("{}/api/plugins/{name}/rollout", self.url(i)))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The digest replica `i` runs a call of `name` on (`None`: the call failed).
    pub async fn served_digest(&self, i: usize, name: &str) -> Option<String> {
        invoke(&self.http, &self.url(i), name).await.ok()
    }

    /// Waits until every running replica serves `digest` for `name`.
    pub async fn wait_all_serve(&self, name: &str, digest: &str) {
        for i in 0..self.replicas.len() {
            let got = wait_for(Duration::from_secs(60), || async {
                (self.served_digest(i, name).await.as_deref() == Some(digest)).then_some(())
            })
            .await;
            if got.is_none() {
                let now = invoke(&self.http, &self.url(i), name).await;
                panic!("replica {i} never served {digest} for {name}; a call now: {now:?}");
            }
        }
    }
}

impl Drop for Cluster {
    /// A failed test leaves its cluster's files (logs, stores) behind, and
    /// says where, instead of deleting the evidence with the temp dir.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "the cluster's logs and stores are kept in {}",
                self.dir.path().display()
            );
        }
    }
}

/// `PUT {base}/api/plugins/{name}/active`.
pub async fn activate(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    body: wire::ActivateRequest,
) -> (u16, serde_json::Value) {
    let response = http
        .put(format!("{base}/api/plugins/{name}/active"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Invokes `name` through `base` with `a\n1\n`; the digest that ran it, or
/// what failed.
pub async fn invoke(http: &reqwest::Client, base: &str, name: &str) -> Result<String, String> {
    let response = http
        .post(format!("{base}/api/invoke/{name}"))
        .bearer_auth(KEY)
        .body("a\n1\n")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let digest = response
        .headers()
        .get("x-guest-digest")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(digest)
    } else {
        Err(format!("{status}: {body}"))
    }
}

/// `target/guests`, built by `cargo xtask build`.
pub fn guests_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests")).to_owned()
}

/// The bytes of guest `name`.
pub fn guest_bytes(name: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask build`", path.display()))
}

fn target_dir() -> &'static Path {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/cluster-tests"
    ));
    std::fs::create_dir_all(dir).unwrap();
    dir
}
