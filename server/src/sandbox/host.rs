//! The guest's only capability, `env.log(ptr, len)`, and the per-call host
//! state it and WASI see.
//!
//! WASI preview 1 is linked because the Go runtime imports it, but the
//! context grants nothing: no preopened directories (every path lookup fails
//! with EBADF/ENOTCAPABLE), no environment, no arguments, no sockets, stdin
//! empty, stdout discarded, stderr captured (bounded) for crash messages.
//! What remains callable is what the Go runtime needs to start: clocks
//! (`clock_time_get`, so timers and the scheduler work) and `random_get`
//! (map hash seeds), plus `proc_exit`, `sched_yield` and `poll_oneoff` on
//! clocks. None of them reaches a file, a socket or another tenant.

use wasmtime::{Caller, Extern, Linker};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::SandboxLimits;
use super::limits::MemoryCap;

/// One log line a guest emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The message (lossy UTF-8, truncated to the log line limit).
    pub message: String,
    /// Whether it was truncated.
    pub truncated: bool,
}

/// Who is calling what: every log line is tagged with it.
#[derive(Debug, Clone)]
pub struct CallTags {
    /// Tenant id.
    pub tenant: String,
    /// Guest name.
    pub guest: String,
    /// sha256 of the guest's bytes.
    pub digest: String,
}

/// Store data of one call.
pub struct HostState {
    pub(super) wasi: WasiP1Ctx,
    pub(super) limits: MemoryCap,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) tags: CallTags,
    pub(super) logs: Vec<LogLine>,
    pub(super) logs_dropped: u64,
    /// The sandbox's limits: log lines, output.
    pub(super) bounds: SandboxLimits,
    /// Epoch ticks the guest ran in: its CPU time, in [`super::engine::EPOCH_TICK`]s.
    pub(super) cpu_ticks: u64,
    /// Its fair share of the CPU, when the scheduler is on.
    pub(super) turn: Option<std::sync::Arc<super::scheduler::Turn>>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("tags", &self.tags)
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// A deny-everything WASI context and a fresh memory cap of
    /// `cap_pages`; the rest of `bounds` bounds what the guest hands back.
    pub(super) fn new(tags: CallTags, cap_pages: u64, bounds: SandboxLimits) -> Self {
        let stderr = MemoryOutputPipe::new(bounds.stderr_bytes);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            // Never `std::thread::sleep` in poll_oneoff: a sleeping guest must
            // be a pending future the call's deadline can drop, not a
            // blocked thread.
            .allow_blocking_current_thread(false)
            .build_p1();
        Self {
            wasi,
            limits: MemoryCap::new(cap_pages, bounds.table_elements),
            stderr,
            tags,
            logs: Vec::new(),
            logs_dropped: 0,
            bounds,
            cpu_ticks: 0,
            turn: None,
        }
    }

    /// What the guest wrote to stderr.
    pub(super) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }
}

/// Links WASI preview 1 (granting nothing; the async bindings, so a call
/// that blocks is a pending future) and `env.log`.
pub(super) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, |state: &mut HostState| &mut state.wasi)?;
    linker.func_wrap("env", "log", log)?;
    Ok(())
}

/// `env.log(ptr, len)`: bounds-checked read of guest memory, capped size and
/// count, emitted through `tracing` tagged with tenant, guest and digest.
fn log(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bounds = caller.data().bounds;
    if caller.data().logs.len() >= bounds.log_lines {
        caller.data_mut().logs_dropped += 1;
        return Ok(());
    }
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        wasmtime::bail!("env.log: the guest exports no memory");
    };
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    let truncated = len > bounds.log_line_bytes;
    let take = len.min(bounds.log_line_bytes);
    let data = memory.data(&caller);
    let Some(bytes) = ptr.checked_add(take).and_then(|end| data.get(ptr..end)) else {
        // A guest pointing outside its own memory is broken or hostile: end it.
        wasmtime::bail!("env.log: {take} bytes at {ptr} are outside guest memory");
    };
    let message = String::from_utf8_lossy(bytes).into_owned();
    let state = caller.data_mut();
    tracing::info!(
        target: "guest",
        tenant = %state.tags.tenant,
        guest = %state.tags.guest,
        digest = %state.tags.digest,
        truncated,
        "{message}"
    );
    state.logs.push(LogLine { message, truncated });
    Ok(())
}
