//! The four ways to run the plugin, and one call through each that reports
//! how it ended and how the caller learned of it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use server::sandbox::{GuestKey, Output, Sandbox, SandboxError};

use crate::cgroup::{Cgroups, Slot};
use crate::native::{self, Isolation, Outcome};
use crate::pool::Worker;

/// Deadline of every call, as the server's sandbox default.
pub const DEADLINE: Duration = Duration::from_millis(50);
/// Memory cap of a native process or worker: the Wasm instance's 256 pages.
pub const MEMORY_CAP: u64 = 16 << 20;
/// Wasm memory cap in 64 KiB pages.
pub const WASM_PAGES: u64 = 256;
/// Concurrent calls (the machine has 2 cores).
pub const CONCURRENCY: usize = 2;

thread_local! {
    /// The caller's runtime for `Sandbox::invoke` (an async fn): one per
    /// calling thread, built once, as a server's worker would have.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
}

/// Every Wasm call of the bench goes through here, so a change of
/// `Sandbox::invoke`'s signature is one place to adapt.
pub fn wasm_call(sandbox: &Sandbox, guest: &str, input: &[u8]) -> Result<Output, SandboxError> {
    let key = GuestKey::Builtin(guest.to_owned());
    let input = bytes::Bytes::copy_from_slice(input);
    let call = sandbox.invoke(&key, "bench", input, sandbox.default_options());
    RUNTIME.with(|rt| rt.block_on(call)).result
}

/// The Wasm guest with the same purpose as a native handler.
pub fn wasm_guest(handler: &str) -> &str {
    match handler {
        "sleep" => "sleeper",
        other => other,
    }
}

/// The variants, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Wasm,
    Native,
    Bwrap,
    Pool,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Self::Wasm, Self::Native, Self::Bwrap, Self::Pool];

    pub fn label(self) -> &'static str {
        match self {
            Self::Wasm => "(a) wasm instance per call",
            Self::Native => "(b) native process per call",
            Self::Bwrap => "(c) bwrap process per call",
            Self::Pool => "(d) bwrap worker pool",
        }
    }
}

/// One call's end, as the caller saw it.
#[derive(Debug)]
pub struct Ended {
    pub outcome: Outcome,
    /// How the caller learns of it.
    pub how: String,
    pub elapsed: Duration,
    /// Memory charged to the process's cgroup slot (native variants).
    pub peak_bytes: Option<u64>,
}

/// What the variants run on. Fields drop in order: slots before their parent.
#[derive(Debug)]
pub struct Setup {
    pub binary: PathBuf,
    pub sandbox: Option<Sandbox>,
    /// Capped slots of per-call bwrap processes, one per concurrent call.
    pub call_slots: Vec<Slot>,
    /// Capped slots of pool workers, one per worker.
    pub pool_slots: Vec<Slot>,
    /// An uncapped slot: only accounts (b)'s memory.
    pub accounting: Slot,
    _cgroups: Cgroups,
}

impl Setup {
    pub fn new(binary: PathBuf, sandbox: Option<Sandbox>) -> Result<Self, String> {
        let cgroups = Cgroups::create()?;
        let slot = |name: String, cap| cgroups.slot(&name, cap).map_err(|e| format!("{name}: {e}"));
        Ok(Self {
            call_slots: (0..CONCURRENCY)
                .map(|i| slot(format!("call{i}"), Some(MEMORY_CAP)))
                .collect::<Result<_, _>>()?,
            pool_slots: (0..CONCURRENCY)
                .map(|i| slot(format!("pool{i}"), Some(MEMORY_CAP)))
                .collect::<Result<_, _>>()?,
            accounting: slot("accounting".into(), None)?,
            binary,
            sandbox,
            _cgroups: cgroups,
        })
    }

    /// One call of `handler` (a native handler name) through `variant`;
    /// a pool worker is started for it first (not timed). `deadline` is the
    /// native variants'; a Wasm call always has the sandbox's [`DEADLINE`].
    pub fn call(&self, variant: Variant, handler: &str, input: &[u8], deadline: Duration) -> Ended {
        let (accounting, capped) = (Some(&self.accounting), Some(&self.call_slots[0]));
        match variant {
            Variant::Wasm => self.wasm(wasm_guest(handler), input),
            Variant::Native => self.native(Isolation::Plain, accounting, handler, input, deadline),
            Variant::Bwrap => self.native(Isolation::Bwrap, capped, handler, input, deadline),
            Variant::Pool => self.pooled(&self.pool_slots[0], handler, input, deadline),
        }
    }

    fn wasm(&self, guest: &str, input: &[u8]) -> Ended {
        let sandbox = self.sandbox.as_ref().expect("the sandbox is loaded");
        let started = Instant::now();
        let result = wasm_call(sandbox, guest, input);
        let elapsed = started.elapsed();
        let (outcome, how) = match result {
            Ok(out) => (Outcome::Ok(out.bytes), "`Ok(Output)`".to_owned()),
            Err(e) => {
                let outcome = match &e {
                    SandboxError::MemoryLimit { .. } => Outcome::MemoryLimit,
                    SandboxError::Deadline { .. } => Outcome::Deadline,
                    SandboxError::GuestError { code, .. } => Outcome::Rejected(*code),
                    _ => Outcome::Failed,
                };
                (outcome, format!("typed error `{}` ({e})", e.code()))
            }
        };
        Ended {
            outcome,
            how,
            elapsed,
            peak_bytes: None,
        }
    }

    /// A per-call process, in `slot` if given (capped for bwrap, accounting
    /// only for the plain process).
    pub fn native(
        &self,
        isolation: Isolation,
        slot: Option<&Slot>,
        handler: &str,
        input: &[u8],
        deadline: Duration,
    ) -> Ended {
        let kills = slot.map(|s| {
            s.reset_peak();
            s.oom_kills()
        });
        let cmd = native::command(&self.binary, isolation, slot, &[handler]);
        let finished = match native::run(cmd, slot, input, deadline) {
            Ok(f) => f,
            Err(e) => return failed(format!("spawn failed: {e}")),
        };
        let new_kills = slot.zip(kills).map_or(0, |(s, k)| s.oom_kills() - k);
        let outcome = native::classify(&finished, new_kills);
        let status = native::status_text(finished.status);
        let killed = match isolation {
            Isolation::Plain => "the process",
            Isolation::Bwrap => "bwrap and every process in its cgroup",
        };
        let how = match &outcome {
            Outcome::Ok(_) => format!("{status}, output on stdout"),
            Outcome::Rejected(_) => format!("{status}, message on stderr"),
            Outcome::Deadline => format!("caller's timer SIGKILLs {killed}; {status}"),
            Outcome::MemoryLimit => {
                format!("cgroup OOM killer's SIGKILL: {status}, `oom_kill` +1 in the cgroup")
            }
            Outcome::Failed => format!("{status}: {}", native::first_line(&finished.stderr)),
        };
        Ended {
            outcome,
            how,
            elapsed: finished.elapsed,
            peak_bytes: slot.map(Slot::peak),
        }
    }

    /// One call to a freshly started pool worker serving `handler` in `slot`.
    pub fn pooled(&self, slot: &Slot, handler: &str, input: &[u8], deadline: Duration) -> Ended {
        slot.reset_peak();
        let kills = slot.oom_kills();
        let mut worker = match Worker::spawn(&self.binary, handler, slot) {
            Ok((worker, _)) => worker,
            Err(e) => return failed(format!("worker failed to start: {e}")),
        };
        let started = Instant::now();
        let result = worker.call(input, deadline);
        let elapsed = started.elapsed();
        drop(worker);
        let (outcome, how, elapsed) = match result {
            Ok((0, body)) => (
                Outcome::Ok(body),
                "response frame, status 0".into(),
                elapsed,
            ),
            Ok((code, _)) => (
                Outcome::Rejected(code.into()),
                format!("response frame, status {code}"),
                elapsed,
            ),
            Err(lost) => {
                let status = lost.status.map_or("not reaped".into(), native::status_text);
                let (outcome, how) = if slot.oom_kills() > kills {
                    let how = format!(
                        "EOF instead of a response: cgroup OOM kill ({status}, `oom_kill` +1); worker replaced"
                    );
                    (Outcome::MemoryLimit, how)
                } else if lost.timed_out {
                    let how = format!(
                        "no response by the deadline: caller SIGKILLs the worker's cgroup ({status}); worker replaced"
                    );
                    (Outcome::Deadline, how)
                } else {
                    let how = format!(
                        "EOF instead of a response, {status}: {}",
                        native::first_line(&lost.stderr)
                    );
                    (Outcome::Failed, how)
                };
                (outcome, how, lost.elapsed)
            }
        };
        Ended {
            outcome,
            how,
            elapsed,
            peak_bytes: Some(slot.peak()),
        }
    }
}

fn failed(how: String) -> Ended {
    Ended {
        outcome: Outcome::Failed,
        how,
        elapsed: Duration::ZERO,
        peak_bytes: None,
    }
}
