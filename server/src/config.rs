//! Server configuration: every knob has a flag, an environment variable and a
//! documented default, all in this one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
mod limits;

pub use limits::*;

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

    /// Other names this server answers as (comma-separated in the
    /// environment; a leading `.` also allows subdomains). Besides these,
    /// only `localhost` and the bound IP are served: any other `Host` is
    /// refused with 421 (DNS rebinding). Ports are not compared.
    #[arg(
        long = "allowed-host",
        env = "WIP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

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

    /// Largest request body handed to a guest, in bytes: the body limit of
    /// `/api/run` and `/api/invoke`.
    #[arg(long, env = "WIP_SANDBOX_MAX_INPUT", default_value_t = DEFAULT_MAX_INPUT)]
    pub sandbox_max_input: usize,

    /// Largest output read back from a guest, in bytes.
    #[arg(long, env = "WIP_SANDBOX_MAX_OUTPUT", default_value_t = DEFAULT_MAX_OUTPUT)]
    pub sandbox_max_output: u32,

    /// Most elements of a guest's tables (Go modules carry one large one).
    #[arg(long, env = "WIP_SANDBOX_TABLE_ELEMENTS", default_value_t = DEFAULT_TABLE_ELEMENTS)]
    pub sandbox_table_elements: u32,

    /// Threads that run guest calls; unset = one per core.
    #[arg(long, env = "WIP_SANDBOX_THREADS")]
    pub sandbox_threads: Option<u32>,

    /// Most bytes of one guest log line (longer lines are truncated).
    #[arg(long, env = "WIP_SANDBOX_LOG_LINE_BYTES", default_value_t = DEFAULT_LOG_LINE_BYTES)]
    pub sandbox_log_line_bytes: usize,

    /// Most log lines of one call; the rest are dropped and counted.
    #[arg(long, env = "WIP_SANDBOX_LOG_LINES", default_value_t = DEFAULT_LOG_LINES)]
    pub sandbox_log_lines: usize,

    /// Bytes of a guest's stderr kept per call (for crash messages).
    #[arg(long, env = "WIP_SANDBOX_STDERR_BYTES", default_value_t = DEFAULT_STDERR_BYTES)]
    pub sandbox_stderr_bytes: usize,

    /// Bytes of `x-guest-log` headers one answer carries at most (0: none).
    #[arg(long, env = "WIP_LOG_HEADER_BUDGET", default_value_t = DEFAULT_LOG_HEADER_BUDGET)]
    pub log_header_budget: usize,

    /// Largest module an upload may send, in bytes.
    #[arg(long, env = "WIP_MAX_MODULE_BYTES", default_value_t = DEFAULT_MAX_MODULE_BYTES)]
    pub max_module_bytes: usize,

    /// Refused uploads remembered, so the same module is refused again at
    /// once (0: none).
    #[arg(long, env = "WIP_UPLOAD_REFUSALS_KEPT", default_value_t = DEFAULT_REFUSALS_KEPT)]
    pub upload_refusals_kept: usize,

    /// How long a refused upload is remembered, in milliseconds.
    #[arg(long, env = "WIP_UPLOAD_REFUSAL_MEMORY_MS", default_value_t = DEFAULT_REFUSAL_MEMORY_MS)]
    pub upload_refusal_memory_ms: u64,

    /// Time one registry write, or one module read, waits for NATS
    /// JetStream, in milliseconds.
    #[arg(long, env = "WIP_NATS_WRITE_TIMEOUT_MS", default_value_t = DEFAULT_NATS_WRITE_TIMEOUT_MS)]
    pub nats_write_timeout_ms: u64,

    /// Time a paced lesson answer's reader gets beyond twice the transfer
    /// time before its place is given away, in milliseconds.
    #[arg(long, env = "WIP_LESSON_SLOW_READER_GRACE_MS", default_value_t = DEFAULT_LESSON_SLOW_READER_GRACE_MS)]
    pub lesson_slow_reader_grace_ms: u64,

    /// Calls of `/api/run`'s demo guests running at once (the `demo` tenant).
    #[arg(long, env = "WIP_RUN_CONCURRENCY", default_value_t = DEFAULT_RUN_CONCURRENCY)]
    pub run_concurrency: u64,

    /// Paced responses of `/api/lessons/throttled/…` at once; beyond → 503.
    #[arg(long, env = "WIP_LESSON_THROTTLED_STREAMS", default_value_t = DEFAULT_LESSON_THROTTLED_STREAMS)]
    pub lesson_throttled_streams: u32,

    /// Wall-clock budget of an upload's smoke call, in milliseconds.
    #[arg(long, env = "WIP_VALIDATION_BUDGET_MS", default_value_t = DEFAULT_VALIDATION_BUDGET_MS)]
    pub validation_budget_ms: u64,

    /// Time a client has to send its request headers, in milliseconds.
    #[arg(long, env = "WIP_HEADER_READ_TIMEOUT_MS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,

    /// Time a client has to send a whole request body, in milliseconds.
    #[arg(long, env = "WIP_BODY_READ_TIMEOUT_MS", default_value_t = DEFAULT_BODY_READ_TIMEOUT_MS)]
    pub body_read_timeout_ms: u64,

    /// Directory of the plugin registry (modules, metadata, active digests).
    #[arg(long, env = "WIP_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Cache of the built-in guests' precompiled artifacts (keyed by module
    /// digest and engine fingerprint, verified before use, so it can be
    /// shared; a shared one is never pruned); unset = `<data-dir>/builtins`,
    /// pruned of guests no longer shipped.
    #[arg(long, env = "WIP_BUILTINS_CACHE_DIR")]
    pub builtins_cache_dir: Option<PathBuf>,

    /// Shared cache of compiled uploads (wasmtime's code, keyed by module
    /// digest and engine fingerprint, verified before use, never pruned):
    /// a module uploaded again, to this server or to another one on this
    /// machine, is mapped instead of compiled; unset = every upload compiles.
    #[arg(long, env = "WIP_COMPILE_CACHE_DIR")]
    pub compile_cache_dir: Option<PathBuf>,

    /// Where registry writes are decided: unset = this process alone (its
    /// data dir); `nats://host:port` = NATS JetStream shared by replicas
    /// (the data dir is then this replica's cache); a comma-separated list
    /// names the nodes of a NATS cluster.
    #[arg(long, env = "WIP_REGISTRY")]
    pub registry: Option<String>,

    /// Copies NATS keeps of the registry's streams when it creates them:
    /// 3 on a 3-node cluster survives the loss of one node.
    #[arg(long, env = "WIP_REGISTRY_REPLICAS", default_value_t = DEFAULT_REGISTRY_REPLICAS)]
    pub registry_replicas: u64,

    /// Admin bearer token for registry changes (at least 32 bytes); unset =
    /// registry is read-only.
    #[arg(long, env = "WIP_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// TOML file of tenants (`[[tenant]]` id, api_key, max_concurrency,
    /// queue_depth, queue_wait_ms); unset = no tenant may invoke plugins.
    #[arg(long, env = "WIP_TENANTS_FILE")]
    pub tenants_file: Option<PathBuf>,

    /// Demo mode (`cargo xtask run` passes it): generate an admin token and
    /// three tenants, register the `process` plugin v1 and v2, and serve
    /// them at `/api/demo`. Loopback only; ignored (nothing generated) when
    /// `--admin-token` or `--tenants-file` is given.
    #[arg(long, env = "WIP_DEMO")]
    pub demo: bool,

    /// How guest calls share the CPU: `fifo` (whoever the executor polls)
    /// or `fair` (experimental: time slices by weighted fair queuing across
    /// tenants; a guest asleep in a host call holds its slice until the
    /// stall rule lends one).
    #[arg(long, env = "WIP_CPU_SCHEDULER", default_value = "fifo", value_parser = ["fair", "fifo"])]
    pub cpu_scheduler: String,

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
            allowed_hosts: Vec::new(),
            wrong_mime_demo: true,
            guests_dir: DEFAULT_GUESTS_DIR.into(),
            sandbox_memory_pages: DEFAULT_MEMORY_PAGES,
            sandbox_deadline_ms: DEFAULT_DEADLINE_MS,
            sandbox_slots: DEFAULT_SLOTS,
            sandbox_max_input: DEFAULT_MAX_INPUT,
            sandbox_max_output: DEFAULT_MAX_OUTPUT,
            sandbox_table_elements: DEFAULT_TABLE_ELEMENTS,
            sandbox_threads: None,
            sandbox_log_line_bytes: DEFAULT_LOG_LINE_BYTES,
            sandbox_log_lines: DEFAULT_LOG_LINES,
            sandbox_stderr_bytes: DEFAULT_STDERR_BYTES,
            log_header_budget: DEFAULT_LOG_HEADER_BUDGET,
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            upload_refusals_kept: DEFAULT_REFUSALS_KEPT,
            upload_refusal_memory_ms: DEFAULT_REFUSAL_MEMORY_MS,
            nats_write_timeout_ms: DEFAULT_NATS_WRITE_TIMEOUT_MS,
            lesson_slow_reader_grace_ms: DEFAULT_LESSON_SLOW_READER_GRACE_MS,
            run_concurrency: DEFAULT_RUN_CONCURRENCY,
            lesson_throttled_streams: DEFAULT_LESSON_THROTTLED_STREAMS,
            validation_budget_ms: DEFAULT_VALIDATION_BUDGET_MS,
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            body_read_timeout_ms: DEFAULT_BODY_READ_TIMEOUT_MS,
            data_dir: DEFAULT_DATA_DIR.into(),
            // Tests and embedders make many states with throwaway data dirs:
            // one shared cache spares each a compile of every built-in guest.
            builtins_cache_dir: Some(std::env::temp_dir().join("wip-builtins-cache")),
            // And one compile of each uploaded module per machine.
            compile_cache_dir: Some(std::env::temp_dir().join("wip-compile-cache")),
            admin_token: None,
            tenants_file: None,
            registry: None,
            registry_replicas: DEFAULT_REGISTRY_REPLICAS,
            demo: false,
            log_format: "pretty".to_owned(),
            cpu_scheduler: "fifo".to_owned(),
        }
    }
}

impl Config {
    /// Where the built-in guests' artifacts are cached.
    pub fn builtins_cache(&self) -> PathBuf {
        self.builtins_cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("builtins"))
    }

    /// The sandbox limits this configuration sets.
    pub fn sandbox_limits(&self) -> crate::sandbox::SandboxLimits {
        crate::sandbox::SandboxLimits {
            memory_pages: self.sandbox_memory_pages,
            deadline: Duration::from_millis(self.sandbox_deadline_ms),
            slots: self.sandbox_slots,
            max_input_bytes: self.sandbox_max_input,
            max_output_bytes: self.sandbox_max_output,
            table_elements: self.sandbox_table_elements,
            threads: self.sandbox_threads.map(|n| n as usize),
            log_line_bytes: self.sandbox_log_line_bytes,
            log_lines: self.sandbox_log_lines,
            stderr_bytes: self.sandbox_stderr_bytes,
            pooling: true,
        }
    }

    /// How guest calls share the CPU.
    pub fn scheduling(&self) -> crate::sandbox::Scheduling {
        match self.cpu_scheduler.as_str() {
            "fifo" => crate::sandbox::Scheduling::Fifo,
            _ => crate::sandbox::Scheduling::Fair,
        }
    }

    /// The names requests may address this server by.
    pub fn allowed_hosts(&self) -> crate::allowed_hosts::names::AllowedHosts {
        crate::allowed_hosts::names::AllowedHosts::new(self.addr.ip(), &self.allowed_hosts)
    }

    /// What an upload's smoke call may use.
    pub fn validation_limits(&self) -> crate::registry::ValidationLimits {
        crate::registry::ValidationLimits {
            smoke_budget: Duration::from_millis(self.validation_budget_ms),
            retry_after_secs: UPLOAD_RETRY_AFTER_SECS,
            max_module_bytes: self.max_module_bytes,
            refusals_kept: self.upload_refusals_kept,
            refusal_memory: Duration::from_millis(self.upload_refusal_memory_ms),
        }
    }

    /// Time one registry write waits for NATS JetStream.
    pub fn nats_write_timeout(&self) -> Duration {
        Duration::from_millis(self.nats_write_timeout_ms)
    }

    /// Time a paced lesson answer's reader gets beyond twice its transfer time.
    pub fn lesson_slow_reader_grace(&self) -> Duration {
        Duration::from_millis(self.lesson_slow_reader_grace_ms)
    }

    /// Time a client has to send a whole request body.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    /// Time a client has to send its request headers.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// Every value in a range the server can honour: an absurd one is a
    /// start-up error naming the flag, never a panic or a silent clamp.
    pub fn check(&self) -> Result<(), ConfigError> {
        limits::check_ranges(self)?;
        for name in &self.allowed_hosts {
            crate::allowed_hosts::names::check_name(name).map_err(|reason| ConfigError {
                flag: "--allowed-host",
                reason,
            })?;
        }
        if let Some(token) = &self.admin_token
            && token.len() < MIN_ADMIN_TOKEN_BYTES
        {
            return Err(ConfigError {
                flag: "--admin-token",
                reason: format!(
                    "{} bytes is too short to resist guessing; use at least {MIN_ADMIN_TOKEN_BYTES}",
                    token.len()
                ),
            });
        }
        if let Some(urls) = &self.registry
            && let Some(url) = urls.split(',').find(|url| !url.starts_with("nats://"))
        {
            return Err(ConfigError {
                flag: "--registry",
                reason: format!("{url:?} is not a nats://host:port URL"),
            });
        }
        Ok(())
    }
}

/// A configuration value the server refuses to start with.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {reason}")]
pub struct ConfigError {
    /// The flag (its environment variable is named in `--help`).
    pub flag: &'static str,
    /// Why.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_and_short_admin_tokens_are_refused_naming_the_flag() {
        let ok = Config::with_assets_dir("site");
        assert!(ok.check().is_ok());
        let mut c = ok.clone();
        c.sandbox_slots = 0;
        assert_eq!(c.check().unwrap_err().flag, "--sandbox-slots");
        let mut c = ok.clone();
        c.sandbox_memory_pages = u64::MAX;
        assert_eq!(c.check().unwrap_err().flag, "--sandbox-memory-pages");
        let mut c = ok.clone();
        c.admin_token = Some("short".into());
        assert_eq!(c.check().unwrap_err().flag, "--admin-token");
        c.admin_token = Some("x".repeat(MIN_ADMIN_TOKEN_BYTES));
        assert!(c.check().is_ok());
        c.allowed_hosts = vec!["wip.example.com".into(), "*".into()];
        assert_eq!(c.check().unwrap_err().flag, "--allowed-host");
    }
}
