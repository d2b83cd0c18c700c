//! The sandbox's public vocabulary: which guest ([`GuestKey`]), under which
//! limits ([`SandboxLimits`], [`CallLimits`], [`CallOptions`]), and what a
//! call or a load returns ([`Output`], [`Invocation`], [`GuestInfo`],
//! [`LoadError`]).

use std::time::Duration;

use super::{CpuClass, LogLine, Preflight, SandboxError};
use crate::digest::PluginDigest;

/// Which guest a call runs. The two kinds live in one table but can never
/// be confused: a built-in demo guest is reached by name through
/// `/api/run`, a plugin only by its digest through the invocation pipeline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GuestKey {
    /// A guest shipped with the server (`target/guests/<name>.wasm`).
    Builtin(String),
    /// A registry plugin, by the SHA-256 of its bytes.
    Plugin(PluginDigest),
}

impl std::fmt::Display for GuestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Builtin(name) => f.write_str(name),
            Self::Plugin(digest) => write!(f, "{digest}"),
        }
    }
}

/// Limits of every call, from the server configuration.
/// Which guest a call runs: one in the guest table, or a module compiled
/// for this call alone (an upload's smoke call, the naive compile of task 8).
#[derive(Debug, Clone, Copy)]
pub enum GuestRef<'a> {
    /// An installed guest.
    Installed(&'a GuestKey),
    /// A compiled module that is not in the table.
    Compiled(&'a super::Compiled),
}

/// What a call asks of its guest.
#[derive(Debug, Clone)]
pub enum Work {
    /// `wip_process(input)`: bytes in, bytes out (the plugin ABI).
    Process(bytes::Bytes),
    /// Task 4's `add(a, b) -> i32` export, which the plugin ABI cannot express.
    Add(i32, i32),
}

#[derive(Debug, Clone, Copy)]
pub struct SandboxLimits {
    /// Memory cap per instance, in 64 KiB pages.
    pub memory_pages: u64,
    /// Deadline of a whole call (start-up, input, processing, output).
    pub deadline: Duration,
    /// Concurrent instances (pooling allocator slots).
    pub slots: u32,
    /// Largest input accepted.
    pub max_input_bytes: usize,
    /// Largest output read back from a guest.
    pub max_output_bytes: u32,
    /// Most elements of an instance's tables.
    pub table_elements: u32,
    /// Threads that run guest calls (`None`: one per core).
    pub threads: Option<usize>,
    /// Most bytes of one log line (longer lines are truncated).
    pub log_line_bytes: usize,
    /// Most log lines of one call; the rest are dropped and counted.
    pub log_lines: usize,
    /// Bytes of stderr kept per call.
    pub stderr_bytes: usize,
    /// Pre-reserved instance slots with copy-on-write memory images
    /// (`true`, production), or allocate on demand (`false`, the benchmark's
    /// comparison point).
    pub pooling: bool,
}

impl SandboxLimits {
    /// The per-call limits these set (a tenant may tighten them).
    pub fn per_call(&self) -> CallLimits {
        CallLimits {
            memory_pages: self.memory_pages,
            deadline: self.deadline,
        }
    }
}

/// Limits of one call. The memory cap is clamped to the server's (the pool
/// slots are sized for it); the deadline is the caller's to choose (the
/// invocation pipeline clamps tenants to the server's, an upload's smoke
/// call gets the validation budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Memory cap in 64 KiB pages.
    pub memory_pages: u64,
    /// Deadline of the whole call.
    pub deadline: Duration,
}

/// How one call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOptions {
    /// Its limits.
    pub limits: CallLimits,
    /// The threads it runs on.
    pub cpu: CpuClass,
    /// Its tenant's weight in the fair scheduler (a tick costs `1 / weight`).
    pub weight: u32,
    /// CPU time it may use (in epoch ticks, ~1 ms each) before it ends with
    /// `CpuBudget`, whatever the wall clock says.
    pub cpu_budget: Option<Duration>,
}

impl CallOptions {
    /// `limits` on the normal threads, weight 1, no CPU budget.
    pub fn with_limits(limits: CallLimits) -> Self {
        Self {
            limits,
            cpu: CpuClass::Normal,
            weight: 1,
            cpu_budget: None,
        }
    }
}

/// How the normal threads are shared between concurrent calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scheduling {
    /// Time slices by start-time fair queuing across tenants
    /// (see [`super::scheduler`]). Opt-in: a guest blocked in a host call
    /// keeps its slice until the stall rule lends one (see there).
    Fair,
    /// Whoever the executor polls: first come, first served.
    #[default]
    Fifo,
}

/// What is recorded beside a compiled artifact, in every cache of them: a
/// plugin's metadata in the registry, and the built-ins' and the compile
/// cache's `<digest>.json`. Made by [`crate::sandbox::Sandbox::artifact_record`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArtifactRecord {
    /// Fingerprint of the engine that made it (see
    /// [`crate::sandbox::artifact::fingerprint`]); another engine recompiles.
    pub engine: String,
    /// SHA-256 of the artifact bytes, checked before they are loaded.
    pub sha256: String,
    /// Size in bytes (0 in the caches' records written before it was kept).
    #[serde(default)]
    pub size: usize,
}

/// A loaded guest (the `/api/guests` shape).
pub use wire::GuestInfo;

/// The result of a successful call.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// What the guest returned.
    pub bytes: Vec<u8>,
    /// What an `i32` export returned ([`Work::Add`]).
    pub returned: Option<i32>,
    /// Lines it logged (at most [`SandboxLimits::log_lines`]).
    pub logs: Vec<LogLine>,
    /// Lines dropped beyond the budget.
    pub logs_dropped: u64,
    /// Largest memory the instance had, in pages.
    pub peak_memory_pages: u64,
    /// Epoch ticks (~1 ms each) the guest ran wasm in: its CPU time.
    pub cpu_ticks: u64,
    /// Wall time of the call.
    pub duration: Duration,
}

/// One call: its outcome and what it used, whatever the outcome.
#[derive(Debug)]
pub struct Invocation {
    /// The output, or the typed reason there is none.
    pub result: Result<Output, SandboxError>,
    /// Largest memory the instance had, in pages (also on failure).
    pub peak_memory_pages: u64,
    /// Epoch ticks (~1 ms each) it ran wasm in (also on failure).
    pub cpu_ticks: u64,
    /// The limits the call ran under.
    pub limits: CallLimits,
}

/// Why the sandbox could not start or load a guest.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The engine could not be configured.
    #[error("configuring wasmtime: {0}")]
    Engine(String),
    /// A guest file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Refused before any of its code ran (imports, memory).
    #[error("guest {name}: {preflight}")]
    Preflight {
        /// The guest.
        name: String,
        /// Why.
        preflight: Preflight,
    },
    /// A guest did not compile or link.
    #[error("guest {name} is not a loadable module: {reason}")]
    Invalid {
        /// The guest.
        name: String,
        /// Why.
        reason: String,
    },
}
