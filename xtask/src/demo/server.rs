//! The demo's server: the release `wip-server` on a free loopback port, with
//! an admin token, one tenant and a fresh registry, all under the demo's
//! directory, its log lines in `server.log` there.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::api::Api;
use crate::{cmd, paths};

/// How long the server may take to compile nothing and bind.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The tenant the demo's clients call as.
const TENANT: &str = "shop";

/// A running demo server; stopped (SIGTERM, then waited for) when dropped.
#[derive(Debug)]
pub struct DemoServer {
    child: Child,
    api: Api,
    log: PathBuf,
}

impl DemoServer {
    /// Builds the release server if it is stale (cargo decides), writes a
    /// tenants file for `clients` concurrent callers into `dir` (emptied
    /// first), starts the server and waits for its address.
    pub fn start(dir: &Path, clients: usize) -> anyhow::Result<Self> {
        println!("[demo] building wip-server (release)");
        cmd::run(cmd::new("cargo").args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "server",
            "--bin",
            "wip-server",
        ]))?;

        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
        }
        // No built-in guests: the demo calls registry plugins only, and the
        // server then starts without compiling a dozen Go guests.
        let builtin = dir.join("no-builtin-guests");
        std::fs::create_dir_all(&builtin)?;
        let admin_token = random_hex(32)?;
        let tenant_key = random_hex(16)?;
        let tenants = write_tenants_file(dir, &tenant_key, clients)?;

        let log = dir.join("server.log");
        let mut child = Command::new(paths::target().join("release").join("wip-server"))
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--assets-dir")
            .arg(paths::site())
            .arg("--guests-dir")
            .arg(&builtin)
            .arg("--data-dir")
            .arg(dir.join("registry"))
            .arg("--tenants-file")
            .arg(&tenants)
            .args(["--log-format", "json"])
            // The environment, not argv: `ps` shows argv to every user.
            .env("WIP_ADMIN_TOKEN", &admin_token)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting target/release/wip-server")?;

        let addr = wait_for_address(&mut child, &log)?;
        Ok(Self {
            child,
            api: Api::new(format!("http://{addr}"), admin_token, tenant_key),
            log,
        })
    }

    /// A client of this server holding its credentials.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Where its log lines go.
    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for DemoServer {
    /// SIGTERM: the server drains its requests and exits.
    fn drop(&mut self) {
        crate::cmd::terminate(&mut self.child);
    }
}

/// Writes `dir/tenants.toml`: the one tenant, allowed `clients`
/// concurrent calls.
fn write_tenants_file(dir: &Path, tenant_key: &str, clients: usize) -> anyhow::Result<PathBuf> {
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "# Written by `cargo xtask demo rollout`.\n\
             [[tenant]]\n\
             id = \"{TENANT}\"\n\
             api_key = \"{tenant_key}\"\n\
             max_concurrency = {clients}\n\
             queue_depth = 64\n\
             queue_wait_ms = 5000\n"
        ),
    )?;
    Ok(tenants)
}

/// The address the server prints once it listens; kills it if none comes
/// within [`START_TIMEOUT`].
fn wait_for_address(child: &mut Child, log: &Path) -> anyhow::Result<String> {
    // Every line goes to server.log; the address line is also sent
    // back. Draining both pipes keeps a busy log from blocking the server.
    let (addr_tx, addr_rx) = mpsc::channel();
    let file = File::create(log)?;
    let stdout = child.stdout.take().context("server stdout")?;
    let stderr = child.stderr.take().context("server stderr")?;
    copy_lines(stdout, file.try_clone()?, Some(addr_tx));
    copy_lines(stderr, file, None);
    match addr_rx.recv_timeout(START_TIMEOUT) {
        Ok(addr) => Ok(addr),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the server printed no address within {START_TIMEOUT:?}; see {}",
                log.display()
            )
        }
    }
}

/// Copies `pipe` line by line into `file` on a thread; the first
/// `listening on http://ADDR/` line's ADDR goes to `addr`.
fn copy_lines(
    pipe: impl std::io::Read + Send + 'static,
    mut file: File,
    addr: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &addr
                && let Some(rest) = line.strip_prefix("listening on http://")
            {
                let _ = tx.send(rest.trim_end_matches('/').to_owned());
            }
            if writeln!(file, "{line}").is_err() {
                break;
            }
        }
    });
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(hex::encode(buf))
}
