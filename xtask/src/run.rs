//! `cargo xtask run`: set up, build, and start the server, in demo mode
//! (`--demo`: generated admin token and tenants, the `process` plugin
//! registered, the keys printed and pre-filled in the page) when it listens
//! on loopback.

use crate::build::{self, BuildArgs};
use crate::{cmd, paths, setup};

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
    setup::run()?;
    build::run(&args.build)?;
    println!(
        "[run] starting the server on http://{}/ (Ctrl-C stops it)",
        args.addr
    );
    let mut server = cmd::new("cargo");
    server
        .args([
            "run",
            "--release",
            "--package",
            "server",
            "--bin",
            "wip-server",
            "--",
        ])
        .arg("--addr")
        .arg(&args.addr)
        .arg("--assets-dir")
        .arg(paths::site())
        .arg("--guests-dir")
        .arg(paths::guests());
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

/// Whether `addr` (host:port) listens on loopback only.
fn is_loopback(addr: &str) -> bool {
    addr.parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn demo_mode_is_only_asked_for_on_loopback_addresses() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:0"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("192.168.1.5:8080"));
        assert!(!is_loopback("localhost:8080"), "not an address: no demo");
    }
}
