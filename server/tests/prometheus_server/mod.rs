//! Debian's Prometheus as a child process of a test: the shipped config
//! (`deploy/prometheus/prometheus.yml`) with a 1 s interval, scraping one
//! target, with the shipped rules; loopback only, a free port, its TSDB
//! under `target/prometheus-test/`. Dropping it kills the process (also
//! when the test panics) and removes its directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deploy_files;

/// How long a condition may take to hold: scrapes and rule evaluations
/// every second, on a loaded two-core machine.
const PATIENCE: Duration = Duration::from_secs(90);

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    url: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `$WIP_PROMETHEUS` (default `/usr/bin/prometheus`) scraping
    /// `target`, and waits until it has scraped it once.
    pub async fn start(target: SocketAddr) -> Self {
        let binary =
            std::env::var("WIP_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into());
        assert!(
            Path::new(&binary).is_file(),
            "{binary} is missing: `cargo xtask setup` installs Debian's prometheus package"
        );
        let parent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/prometheus-test");
        std::fs::create_dir_all(&parent).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(&parent)
            .unwrap();
        let config = dir.path().join("prometheus.yml");
        let shipped = deploy_files::read("prometheus/prometheus.yml");
        let rules = deploy_files::path("prometheus/rules.yml")
            .canonicalize()
            .unwrap();
        std::fs::write(&config, test_config(&shipped, target, &rules)).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut prometheus = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            dir,
        };
        let ready = format!("{}/-/ready", prometheus.url);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                prometheus.fail(&format!("Prometheus exited at start-up ({status})"));
            }
            let answer = prometheus.client.get(&ready).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if started.elapsed() > PATIENCE {
                prometheus.fail("Prometheus was not ready");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The scrape manager applies its targets up to 5 s after start.
        prometheus
            .eventually("a first scrape of the server", async || {
                let up = prometheus.query("up{job=\"wip-server\"} == 1").await?;
                (!up.is_empty()).then_some(()).ok_or("not up".to_owned())
            })
            .await;
        prometheus
    }

    /// Runs `GET /api/v1/<endpoint>` with `params`; the `data` of a
    /// successful answer, or what went wrong.
    pub async fn api(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/{endpoint}", self.url), params)
                .map_err(|e| e.to_string())?;
        let answer = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{endpoint} {params:?}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// An instant query's result (an array of samples).
    pub async fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let data = self.api("query", &[("query", promql)]).await?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// A range query over the last `minutes`, one step a second, as Grafana
    /// runs a time series panel.
    pub async fn query_range(&self, promql: &str, minutes: u64) -> Result<Vec<Value>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (start, end) = ((now - minutes * 60).to_string(), now.to_string());
        let params = [
            ("query", promql),
            ("start", &start),
            ("end", &end),
            ("step", "1"),
        ];
        let data = self.api("query_range", &params).await?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// Retries `probe` until it returns `Ok`, failing with its last error
    /// (and Prometheus's log) after a while.
    pub async fn eventually<T>(
        &self,
        what: &str,
        mut probe: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        let started = Instant::now();
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(last) if started.elapsed() > PATIENCE => {
                    self.fail(&format!("{what}: still not after {PATIENCE:?}: {last}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Panics with `message` and the end of Prometheus's log.
    pub fn fail(&self, message: &str) -> ! {
        let log =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let tail: Vec<_> = log.lines().rev().take(30).collect();
        let tail: Vec<_> = tail.into_iter().rev().collect();
        panic!(
            "{message}\n--- Prometheus log (end) ---\n{}",
            tail.join("\n")
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped config with a 1 s interval, `target` instead of the
/// default address, and the rules file by absolute path (the copy lives
/// elsewhere). Each replaced line must be there exactly once, so a change
/// to the shipped file fails here rather than testing something else.
fn test_config(shipped: &str, target: SocketAddr, rules: &Path) -> String {
    let mut config = shipped.to_owned();
    for (line, replacement) in [
        (
            "  scrape_interval: 15s\n",
            "  scrape_interval: 1s\n".to_owned(),
        ),
        (
            "  evaluation_interval: 15s\n",
            "  evaluation_interval: 1s\n".to_owned(),
        ),
        ("  - rules.yml\n", format!("  - {}\n", rules.display())),
        (
            "      - targets: [\"127.0.0.1:8080\"]\n",
            format!("      - targets: [\"{target}\"]\n"),
        ),
    ] {
        assert_eq!(
            config.matches(line).count(),
            1,
            "deploy/prometheus/prometheus.yml no longer has the line {line:?}"
        );
        config = config.replace(line, &replacement);
    }
    config
}

/// A loopback port nothing listens on (free when this returns).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// The value of an instant sample (`[time, "value"]`).
pub fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}
