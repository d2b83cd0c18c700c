//! Server configuration: every knob has a flag, an environment variable and a
//! documented default, all in this one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Default listen address. Loopback only: exposing the sandbox to a network is
/// a deliberate decision, not a default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Default asset root: where `cargo xtask build` assembles the site.
pub const DEFAULT_ASSETS_DIR: &str = "target/site";

/// Configuration of the `wip-server` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "wip-server",
    version,
    about = "Wasm in Production: asset origin and Wasm sandbox"
)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, env = "WIP_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Directory holding the built site (`cargo xtask build` output).
    #[arg(long, env = "WIP_ASSETS_DIR", default_value = DEFAULT_ASSETS_DIR)]
    pub assets_dir: PathBuf,

    /// Serve the seed task 1 demo route (`/demo/wrong-mime/<name>.wasm`:
    /// the Go module as `text/plain`, to show `instantiateStreaming` failing).
    #[arg(long, env = "WIP_WRONG_MIME_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub wrong_mime_demo: bool,

    /// Log format: `pretty` for a terminal, `json` for production log shipping.
    #[arg(long, env = "WIP_LOG_FORMAT", default_value = "pretty", value_parser = ["pretty", "json"])]
    pub log_format: String,
}

impl Config {
    /// Configuration for tests and embedders: defaults with the given asset root.
    pub fn with_assets_dir(assets_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: DEFAULT_ADDR
                .parse()
                .expect("DEFAULT_ADDR is a valid socket address"),
            assets_dir: assets_dir.into(),
            wrong_mime_demo: true,
            log_format: "pretty".to_owned(),
        }
    }
}
