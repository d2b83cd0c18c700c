//! The server-side sandbox (seed tasks 4, 8, 10, 11): Go `wasip1` guests in
//! wasmtime. This module is the only place that touches wasmtime types; the
//! rest of the server sees [`Sandbox`], [`GuestKey`], [`Output`] and
//! [`SandboxError`].
//!
//! - [`engine`]: the Engine (pooling allocator, CoW images, epoch ticker)
//! - [`artifact`]: precompiled code for restarts without recompiling
//! - `builtins`: the built-in guests through a cache of those artifacts
//! - [`limits`] holds the memory cap that records hits
//! - [`host`] links WASI granting nothing, and `env.log`, the one capability
//! - [`abi`]: the calling convention and the checks before any guest code runs
//! - `call`: one call, its deadline and its classification
//! - `direct`: calls without the server's pipeline, for tests, examples, benchmarks
//! - `executor`: the threads guest calls run on
//! - `load`: compile, preflight, install
//! - [`scheduler`]: fair CPU slices between tenants
//! - [`error`] has the typed outcomes and their classification
//! - `types`: keys, limits, outputs
//!
//! Each guest is compiled once ([`wasmtime::InstancePre`] at load); each call
//! gets a fresh `Store` and instance, dropped when the call ends.

pub mod abi;
pub mod artifact;
mod builtins;
mod call;
mod direct;
pub mod engine;
pub mod error;
mod executor;
pub mod host;
pub mod limits;
mod load;
pub mod scheduler;
mod types;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;
use tracing::Instrument as _;
use tracing::instrument::WithSubscriber as _;
use wasmtime::{Engine, InstancePre, Linker, Module};

pub use crate::digest::PluginDigest;
pub use abi::Preflight;
pub use builtins::BuiltinsLoaded;
pub use error::SandboxError;
pub use executor::{BACKGROUND_NICE, CpuClass, current_thread_nice};
pub use host::LogLine;
pub use types::{
    ArtifactRecord, CallLimits, CallOptions, GuestInfo, GuestKey, GuestRef, Invocation, LoadError,
    Output, SandboxLimits, Scheduling, Work,
};

use abi::Returned;
use host::HostState;

struct Guest {
    info: GuestInfo,
    pre: InstancePre<HostState>,
}

/// A module compiled and linked but not callable through the guest table
/// yet: an upload validates one of these (smoke call included) before it
/// [installs](Sandbox::install) it, so a rejected module never becomes
/// visible and a concurrent upload's module is never replaced or removed.
pub struct Compiled {
    guest: Arc<Guest>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("info", &self.guest.info)
            .finish()
    }
}

impl Compiled {
    /// What was compiled.
    pub fn info(&self) -> &GuestInfo {
        &self.guest.info
    }

    /// The plugin ABI's exports are all present.
    pub fn check_plugin_exports(&self) -> Result<(), Preflight> {
        abi::check_plugin_exports(self.guest.pre.module())
    }

    /// wasmtime's precompiled code for it (see [`artifact`]).
    pub fn precompiled(&self) -> Option<Vec<u8>> {
        self.guest.pre.module().serialize().ok()
    }
}

/// Compiled guests and the engine that runs them.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    guests: RwLock<BTreeMap<GuestKey, Arc<Guest>>>,
    limits: SandboxLimits,
    slots: Arc<Semaphore>,
    fingerprint: String,
    executor: executor::Executor,
    /// Slices of the normal threads, shared fairly between tenants (`None`:
    /// first come, first served).
    scheduler: Option<Arc<scheduler::FairScheduler>>,
    _ticker: engine::EpochTicker,
    ticks: engine::Ticks,
    /// Where [`Sandbox::compile_shared`] keeps compiled uploads (`None`:
    /// it compiles every time).
    compile_cache: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("guests", &self.guests.read().map(|g| g.len()).unwrap_or(0))
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine with no guests, its threads shared first come, first served.
    pub fn new(limits: SandboxLimits) -> Result<Self, LoadError> {
        Self::with_scheduling(limits, Scheduling::default())
    }

    /// An engine with no guests, its threads shared as `scheduling` says.
    pub fn with_scheduling(
        limits: SandboxLimits,
        scheduling: Scheduling,
    ) -> Result<Self, LoadError> {
        let engine = engine::build(&limits).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::link(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let threads = self::limits::guest_threads(limits.threads);
        let ticks = engine::Ticks::default();
        let scheduler = (scheduling == Scheduling::Fair).then(|| {
            let engine = engine.clone();
            scheduler::FairScheduler::with_preempt(
                threads,
                Box::new(move || engine.increment_epoch()),
            )
        });
        // With the fair scheduler at most `threads` calls run wasm at once
        // (their slices); the other calls wait for a slice, holding no
        // thread. Spare threads pick up a new call at once instead of
        // leaving it in the runtime's queue until a busy thread's next
        // yield (the call asked for its slice, and preempted, before it
        // was spawned: see `scheduler::Turn::new`).
        let normal = match scheduler {
            Some(_) => threads * 2,
            None => threads,
        };
        let executor = executor::Executor::new(normal, threads)
            .map_err(|e| LoadError::Engine(format!("starting the guest threads: {e}")))?;
        Ok(Self {
            _ticker: engine::EpochTicker::start(engine.clone(), ticks.clone()),
            ticks,
            fingerprint: artifact::fingerprint(&engine),
            engine,
            linker,
            guests: RwLock::new(BTreeMap::new()),
            slots: Arc::new(Semaphore::new(limits.slots as usize)),
            executor,
            scheduler,
            limits,
            compile_cache: None,
        })
    }

    /// This sandbox with a shared compile cache in `dir` (see
    /// [`Sandbox::compile_shared`]).
    pub fn with_compile_cache(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.compile_cache = dir;
        self
    }

    /// The record of `code`, an artifact this engine serialized.
    pub fn artifact_record(&self, code: &[u8]) -> ArtifactRecord {
        ArtifactRecord {
            engine: self.engine_fingerprint().to_owned(),
            sha256: artifact::digest(code),
            size: code.len(),
        }
    }

    /// Identifies this engine's compiled-code format (see [`artifact::fingerprint`]).
    pub fn engine_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn guest(&self, key: &GuestKey) -> Option<Arc<Guest>> {
        self.guests
            .read()
            .expect("guest table lock")
            .get(key)
            .cloned()
    }

    /// The module of an installed guest whose bytes have SHA-256 `digest`.
    fn installed_module(&self, digest: &str) -> Option<Module> {
        self.guests
            .read()
            .expect("guest table lock")
            .values()
            .find(|g| g.info.digest == digest)
            .map(|g| g.pre.module().clone())
    }

    /// The installed guest `key`, if any.
    pub fn guest_info(&self, key: &GuestKey) -> Option<GuestInfo> {
        self.guest(key).map(|g| g.info.clone())
    }

    /// The built-in guests.
    pub fn builtins(&self) -> Vec<GuestInfo> {
        self.guests
            .read()
            .expect("guest table lock")
            .iter()
            .filter(|(key, _)| matches!(key, GuestKey::Builtin(_)))
            .map(|(_, g)| g.info.clone())
            .collect()
    }

    /// The configured limits.
    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }

    /// The server's limits on the normal threads.
    pub fn default_options(&self) -> CallOptions {
        CallOptions::with_limits(self.limits.per_call())
    }

    /// Runs `work` on `guest` in a fresh instance, on the sandbox's own
    /// threads. The server calls this only through `pipeline.rs` (gates,
    /// metrics, one log line); tests and benchmarks call it directly.
    pub async fn call(
        &self,
        guest: GuestRef<'_>,
        tenant: &str,
        work: Work,
        options: CallOptions,
    ) -> Invocation {
        let guest = match guest {
            GuestRef::Installed(key) => match self.guest(key) {
                Some(guest) => guest,
                None => {
                    let name = key.to_string();
                    return self.refused(SandboxError::UnknownGuest { name }, options);
                }
            },
            GuestRef::Compiled(compiled) => Arc::clone(&compiled.guest),
        };
        self.run(guest, tenant, work, options).await
    }

    fn refused(&self, error: SandboxError, options: CallOptions) -> Invocation {
        Invocation {
            result: Err(error),
            peak_memory_pages: 0,
            cpu_ticks: 0,
            limits: self.clamp(options.limits),
        }
    }

    fn clamp(&self, limits: CallLimits) -> CallLimits {
        CallLimits {
            memory_pages: limits.memory_pages.min(self.limits.memory_pages),
            deadline: limits.deadline,
        }
    }

    async fn run(
        &self,
        guest: Arc<Guest>,
        tenant: &str,
        entry: Work,
        options: CallOptions,
    ) -> Invocation {
        if let Work::Process(input) = &entry
            && input.len() > self.limits.max_input_bytes
        {
            let reason = format!(
                "{} bytes exceed the {} byte limit",
                input.len(),
                self.limits.max_input_bytes
            );
            return self.refused(SandboxError::InvalidInput { reason }, options);
        }
        let limits = self.clamp(options.limits);
        let (result, output) = self
            .execute(guest, tenant, entry, CallOptions { limits, ..options })
            .await;
        Invocation {
            peak_memory_pages: output.peak_memory_pages,
            cpu_ticks: output.cpu_ticks,
            result: result.map(|returned| match returned {
                Returned::Bytes(bytes) => Output { bytes, ..output },
                Returned::I32(sum) => Output {
                    returned: Some(sum),
                    ..output
                },
            }),
            limits,
        }
    }

    /// Takes a slot (or answers `Busy`), then runs the call on the
    /// executor; the slot is held until the call's store is dropped.
    async fn execute(
        &self,
        guest: Arc<Guest>,
        tenant: &str,
        entry: Work,
        options: CallOptions,
    ) -> (Result<Returned, SandboxError>, Output) {
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            let slots = self.limits.slots;
            return (Err(SandboxError::Busy { slots }), Output::default());
        };
        let (engine, ticks) = (self.engine.clone(), self.ticks.clone());
        let turn = match (&self.scheduler, options.cpu) {
            (Some(scheduler), CpuClass::Normal) => Some(scheduler::Turn::new(
                Arc::clone(scheduler),
                tenant,
                options.weight,
            )),
            // Background calls have their own (nice-19) threads.
            _ => None,
        };
        let tags = host::CallTags {
            tenant: tenant.to_owned(),
            guest: guest.info.name.clone(),
            digest: guest.info.digest.clone(),
        };
        let host = HostState::new(tags, options.limits.memory_pages, self.limits);
        let call = async move {
            let outcome = call::run(&engine, &ticks, guest, host, entry, options, turn).await;
            drop(slot);
            outcome
        };
        // The guest's log lines belong to the caller's span and subscriber,
        // whichever thread runs the guest.
        let call = call.in_current_span().with_current_subscriber();
        match self.executor.run(options.cpu, call).await {
            Ok(outcome) => outcome,
            // A panic in our host code (never guest code: that traps).
            Err(e) => (
                Err(SandboxError::Trap {
                    kind: "host".into(),
                    message: format!("the call's task failed: {e}"),
                }),
                Output::default(),
            ),
        }
    }
}
