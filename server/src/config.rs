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

/// Default directory of the sandbox guests.
pub const DEFAULT_GUESTS_DIR: &str = "target/guests";
/// Default registry directory.
pub const DEFAULT_DATA_DIR: &str = "target/registry";
/// Default memory cap: 256 pages = 16 MiB, the seed's cap (a Go guest starts within it).
pub const DEFAULT_MEMORY_PAGES: u64 = 256;
/// Default deadline: the seed's 50 ms.
pub const DEFAULT_DEADLINE_MS: u64 = 50;
/// Default instance slots: a few per core on the 2-core target machine.
pub const DEFAULT_SLOTS: u32 = 16;
/// Default input limit: 1 MiB.
pub const DEFAULT_MAX_INPUT: usize = 1024 * 1024;

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

    /// Directory of the sandbox guests (`cargo xtask build` output).
    #[arg(long, env = "WIP_GUESTS_DIR", default_value = DEFAULT_GUESTS_DIR)]
    pub guests_dir: PathBuf,

    /// Memory cap of one guest instance, in 64 KiB wasm pages.
    #[arg(long, env = "WIP_SANDBOX_MEMORY_PAGES", default_value_t = DEFAULT_MEMORY_PAGES)]
    pub sandbox_memory_pages: u64,

    /// Deadline of one guest call (start-up included), in milliseconds.
    #[arg(long, env = "WIP_SANDBOX_DEADLINE_MS", default_value_t = DEFAULT_DEADLINE_MS)]
    pub sandbox_deadline_ms: u64,

    /// Concurrent guest instances (pooling allocator slots); beyond → 503 busy.
    #[arg(long, env = "WIP_SANDBOX_SLOTS", default_value_t = DEFAULT_SLOTS)]
    pub sandbox_slots: u32,

    /// Largest request body handed to a guest, in bytes.
    #[arg(long, env = "WIP_SANDBOX_MAX_INPUT", default_value_t = DEFAULT_MAX_INPUT)]
    pub sandbox_max_input: usize,

    /// Directory of the plugin registry (modules, metadata, active digests).
    #[arg(long, env = "WIP_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Admin bearer token for registry changes; unset = registry is read-only.
    #[arg(long, env = "WIP_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// TOML file of tenants (`[[tenant]]` id, api_key, max_concurrency,
    /// queue_depth, queue_wait_ms); unset = no tenant may invoke plugins.
    #[arg(long, env = "WIP_TENANTS_FILE")]
    pub tenants_file: Option<PathBuf>,

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
            guests_dir: DEFAULT_GUESTS_DIR.into(),
            sandbox_memory_pages: DEFAULT_MEMORY_PAGES,
            sandbox_deadline_ms: DEFAULT_DEADLINE_MS,
            sandbox_slots: DEFAULT_SLOTS,
            sandbox_max_input: DEFAULT_MAX_INPUT,
            data_dir: DEFAULT_DATA_DIR.into(),
            admin_token: None,
            tenants_file: None,
            log_format: "pretty".to_owned(),
        }
    }
}

impl Config {
    /// The sandbox limits this configuration sets.
    pub fn sandbox_limits(&self) -> crate::sandbox::SandboxLimits {
        crate::sandbox::SandboxLimits {
            memory_pages: self.sandbox_memory_pages,
            deadline: std::time::Duration::from_millis(self.sandbox_deadline_ms),
            slots: self.sandbox_slots,
            max_input_bytes: self.sandbox_max_input,
            pooling: true,
        }
    }
}
