//! `cargo xtask run`: set up, build, and start the server, in demo mode
//! (`--demo`: generated admin token and tenants, the `process` plugin
//! registered, the keys printed and pre-filled in the page) when it listens
//! on loopback.
//!
//! The release server is compiled in the background from the first
//! second, beside the setup and the site build (which need none of it):
//! on two cores each fills the other's idle stretches.

use std::fs::File;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::build::{self, BuildArgs};
use crate::setup::{self, Need};
use crate::{cmd, paths, progress};

/// Options of `cargo xtask run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Address the server listens on.
    #[arg(long, env = "WIP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Sets up, builds, then runs the server in the foreground until Ctrl-C.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let server_build = ServerBuild::start()?;
    setup::run(&[Need::Site])?;
    build::run(&args.build)?;
    server_build.wait()?;
    println!(
        "[run] starting the server on http://{}/ ({:.1}s after `cargo xtask run`; Ctrl-C stops it)",
        args.addr,
        started.elapsed().as_secs_f64()
    );
    let mut server = cmd::new(&paths::target().join("release/wip-server").to_string_lossy());
    server
        .arg("--addr")
        .arg(&args.addr)
        .arg("--assets-dir")
        .arg(paths::site())
        .arg("--guests-dir")
        .arg(paths::guests())
        .arg("--data-dir")
        .arg(data_dir(&args.addr))
        // Content-addressed and verified: every run, port and clone on
        // this machine maps a module compiled once (the built-in guests,
        // the demo's plugins).
        .arg("--builtins-cache-dir")
        .arg(paths::user_cache().join("builtins"))
        .arg("--compile-cache-dir")
        .arg(paths::user_cache().join("compiled"));
    // The demo hands out its admin token over HTTP: loopback only. The
    // server itself ignores --demo when WIP_ADMIN_TOKEN or WIP_TENANTS_FILE
    // is set, so a production configuration is never mixed with demo data.
    if is_loopback(&args.addr) {
        server.arg("--demo");
    } else {
        println!("[run] {} is not loopback: no demo mode", args.addr);
    }
    // Ctrl-C reaches the server too (same process group): it drains and exits.
    cmd::run(&mut server)
}

/// `cargo build --release` of the server, running in the background with
/// its output in a log file; its progress line ends when cargo does.
struct ServerBuild {
    waiter: std::thread::JoinHandle<std::io::Result<std::process::ExitStatus>>,
    log: std::path::PathBuf,
}

impl ServerBuild {
    fn start() -> anyhow::Result<Self> {
        let log = paths::target().join("xtask-run-server-build.log");
        std::fs::create_dir_all(paths::target())?;
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = cmd::new("cargo")
            .args([
                "build",
                "--release",
                "--package",
                "server",
                "--bin",
                "wip-server",
            ])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting cargo build of the release server")?;
        let step = progress::start(
            format!(
                "[run] release server build, in the background (log: {})",
                log.display()
            ),
            // 826 s on a fresh machine, beside the setup and the site build.
            800,
        );
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            step.done();
            status
        });
        Ok(Self { waiter, log })
    }

    fn wait(self) -> anyhow::Result<()> {
        let status = self.waiter.join().expect("the build's waiting thread")?;
        if !status.success() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
            bail!(
                "the release server did not build ({status}); log: {}",
                self.log.display()
            );
        }
        Ok(())
    }
}

/// The registry's directory: `target/registry` on the default port, and
/// one per port beside it, so two runs on two ports never write one
/// registry from two processes.
fn data_dir(addr: &str) -> std::path::PathBuf {
    match addr.rsplit_once(':').map(|(_, port)| port) {
        None | Some("8080") => paths::target().join("registry"),
        Some(port) => paths::target().join(format!("registry-{port}")),
    }
}

/// Whether `addr` (host:port) listens on loopback only.
fn is_loopback(addr: &str) -> bool {
    addr.parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::{data_dir, is_loopback};

    #[test]
    fn demo_mode_is_only_asked_for_on_loopback_addresses() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:0"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("192.168.1.5:8080"));
        assert!(!is_loopback("localhost:8080"), "not an address: no demo");
    }

    #[test]
    fn runs_on_two_ports_keep_two_registries() {
        assert!(data_dir("127.0.0.1:8080").ends_with("target/registry"));
        assert!(data_dir("127.0.0.1:8081").ends_with("target/registry-8081"));
        assert_ne!(data_dir("[::1]:9000"), data_dir("127.0.0.1:8080"));
    }
}
