//! Every way a sandboxed call can end other than with output, and how a
//! wasmtime error is classified into one of them.

use wasmtime::Trap;
use wasmtime_wasi::I32Exit;

/// A typed failure of one sandboxed call. The host never panics and never
/// leaks an instance, whatever the guest does: every call ends in `Ok` or
/// one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// No guest with this name is loaded.
    #[error("no guest named {name}")]
    UnknownGuest {
        /// The name asked for.
        name: String,
    },
    /// The guest tried to grow its memory past the cap (or could not even
    /// start within it).
    #[error("guest hit the memory cap of {cap_pages} pages")]
    MemoryLimit {
        /// The cap in 64 KiB pages.
        cap_pages: u64,
    },
    /// The call ran past its deadline and was interrupted.
    #[error("guest exceeded its {deadline_ms} ms deadline")]
    Deadline {
        /// The deadline.
        deadline_ms: u64,
    },
    /// The guest crashed: a wasm trap, or the Go runtime aborting (panic,
    /// nil dereference, stack overflow).
    #[error("guest trapped ({kind}): {message}")]
    Trap {
        /// `panic`, `nil_dereference`, `stack_overflow`, `fatal`, `unreachable`, ...
        kind: String,
        /// What the runtime said.
        message: String,
    },
    /// The guest called `exit` with this code.
    #[error("guest exited with code {code}")]
    Exit {
        /// The exit code.
        code: i32,
    },
    /// The call used its CPU budget (time running wasm, not wall time).
    #[error("guest used its {budget_ms} ms CPU budget")]
    CpuBudget {
        /// The budget.
        budget_ms: u64,
    },
    /// The guest rejected the input through the ABI's error channel.
    #[error("guest error {code}: {message}")]
    GuestError {
        /// The guest's error code (> 0).
        code: i32,
        /// The guest's message.
        message: String,
    },
    /// The input cannot be handed to the guest (e.g. too large).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Why.
        reason: String,
    },
    /// Every instance slot is in use.
    #[error("sandbox busy: all {slots} instance slots in use")]
    Busy {
        /// Slots in the pool.
        slots: u32,
    },
    /// The guest does not follow the ABI (a missing export, a bad pointer).
    #[error("guest breaks the ABI: {reason}")]
    AbiViolation {
        /// What was wrong.
        reason: String,
    },
}

impl SandboxError {
    /// Machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownGuest { .. } => "unknown_guest",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::Deadline { .. } => "deadline",
            Self::CpuBudget { .. } => "cpu_budget",
            Self::Trap { .. } => "trap",
            Self::Exit { .. } => "exit",
            Self::GuestError { .. } => "guest_error",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Busy { .. } => "busy",
            Self::AbiViolation { .. } => "abi_violation",
        }
    }
}

/// What the host observed during the call, needed to classify a failure.
#[derive(Debug, Clone, Copy)]
pub(super) struct Observed {
    pub memory_cap_hit: bool,
    pub cap_pages: u64,
    pub deadline_ms: u64,
    pub cpu_budget_ms: u64,
}

/// Raised by the epoch callback when a call has used its CPU budget.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("CPU budget exhausted")]
pub(super) struct CpuBudgetExceeded;

/// Turns a wasmtime error (plus what the host saw) into a [`SandboxError`].
///
/// Order matters: Go's runtime turns a refused `memory.grow` into "out of
/// memory" and `proc_exit(2)`, so the limiter's record wins over the exit.
pub(super) fn classify(error: &wasmtime::Error, observed: Observed, stderr: &str) -> SandboxError {
    if observed.memory_cap_hit {
        return SandboxError::MemoryLimit {
            cap_pages: observed.cap_pages,
        };
    }
    if error.downcast_ref::<CpuBudgetExceeded>().is_some() {
        return SandboxError::CpuBudget {
            budget_ms: observed.cpu_budget_ms,
        };
    }
    // A Go panic inside an exported function prints to stderr and then
    // aborts (an `unreachable` trap, or `proc_exit(2)`): the message says what happened.
    let interrupted = matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt));
    if !interrupted && let Some(kind) = go_abort_kind(stderr) {
        return SandboxError::Trap {
            kind: kind.into(),
            message: first_lines(stderr, 3),
        };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => SandboxError::Deadline {
                deadline_ms: observed.deadline_ms,
            },
            Trap::StackOverflow => SandboxError::Trap {
                kind: "stack_overflow".into(),
                message: trap.to_string(),
            },
            Trap::UnreachableCodeReached => SandboxError::Trap {
                kind: "unreachable".into(),
                message: trap.to_string(),
            },
            other => SandboxError::Trap {
                kind: "wasm_trap".into(),
                message: other.to_string(),
            },
        };
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return SandboxError::Exit { code: exit.0 };
    }
    SandboxError::Trap {
        kind: "host".into(),
        message: format!("{error:#}"),
    }
}

/// How the Go runtime says it aborted, from what it wrote to stderr.
fn go_abort_kind(stderr: &str) -> Option<&'static str> {
    if stderr.contains("stack overflow") || stderr.contains("stack exceeds") {
        Some("stack_overflow")
    } else if stderr.contains("nil pointer dereference") {
        Some("nil_dereference")
    } else if stderr.contains("panic:") {
        Some("panic")
    } else if stderr.contains("fatal error:") {
        Some("fatal")
    } else {
        None
    }
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}
