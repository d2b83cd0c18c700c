//! The server-side sandbox (seed tasks 4, 8, 10, 11): Go `wasip1` guests in
//! wasmtime. This module is the only place that touches wasmtime types; the
//! rest of the server sees [`Sandbox`], [`Output`] and [`SandboxError`].
//!
//! - [`engine`]: the Engine (pooling allocator, CoW images, epoch ticker)
//! - [`artifact`]: precompiled code for restarts without recompiling
//! - [`limits`] holds the memory cap that records hits
//! - [`host`] links WASI granting nothing, and `env.log`, the one capability
//! - [`error`] has the typed outcomes and their classification
//!
//! Each guest is compiled once ([`wasmtime::InstancePre`] at load); each call
//! gets a fresh `Store` and instance, dropped when the call ends.

pub mod artifact;
pub mod engine;
pub mod error;
pub mod host;
pub mod limits;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use wasmtime::{Engine, InstancePre, Linker, Module, Store};

pub use error::SandboxError;
pub use host::LogLine;

use error::Observed;
use host::{CallTags, HostState};

/// Limits of every call, from the server configuration.
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

/// Limits of one call. The server's [`SandboxLimits`] are the ceiling: a
/// call may ask for less memory or a shorter deadline, never more (the pool
/// slots are sized for the server's cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Memory cap in 64 KiB pages.
    pub memory_pages: u64,
    /// Deadline of the whole call.
    pub deadline: Duration,
}

/// A loaded guest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GuestInfo {
    /// Name (file stem).
    pub name: String,
    /// sha256 of its bytes.
    pub digest: String,
    /// Size in bytes.
    pub size: usize,
    /// Exported function names.
    pub exports: Vec<String>,
}

/// The result of a successful call.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// What the guest returned.
    pub bytes: Vec<u8>,
    /// Lines it logged (at most [`host::MAX_LOG_LINES`]).
    pub logs: Vec<LogLine>,
    /// Lines dropped beyond the budget.
    pub logs_dropped: u64,
    /// Largest memory the instance had, in pages.
    pub peak_memory_pages: u64,
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
    /// The limits the call ran under.
    pub limits: CallLimits,
}

struct Guest {
    info: GuestInfo,
    pre: InstancePre<HostState>,
}

/// Compiled guests and the engine that runs them.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    guests: RwLock<BTreeMap<String, Arc<Guest>>>,
    limits: SandboxLimits,
    slots: Arc<Semaphore>,
    fingerprint: String,
    _ticker: engine::EpochTicker,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("guests", &self.guests.read().map(|g| g.len()).unwrap_or(0))
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
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
    /// A guest did not compile or link.
    #[error("guest {name} is not a loadable module: {reason}")]
    Invalid {
        /// The guest.
        name: String,
        /// Why.
        reason: String,
    },
}

impl Sandbox {
    /// An engine with no guests.
    pub fn new(limits: SandboxLimits) -> Result<Self, LoadError> {
        let engine = engine::build(limits.slots, limits.memory_pages, limits.pooling)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::link(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Ok(Self {
            _ticker: engine::EpochTicker::start(engine.clone()),
            fingerprint: artifact::fingerprint(&engine),
            engine,
            linker,
            guests: RwLock::new(BTreeMap::new()),
            slots: Arc::new(Semaphore::new(limits.slots as usize)),
            limits,
        })
    }

    /// Loads every `*.wasm` in `dir` (a missing directory loads nothing).
    pub fn load_dir(&self, dir: &Path) -> Result<(), LoadError> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "no guests directory: the sandbox has no guests (run `cargo xtask build`)");
            return Ok(());
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            self.load(&name, &bytes)?;
        }
        Ok(())
    }

    /// Compiles `bytes` once and keeps it ready to instantiate as `name`
    /// (replacing a guest of that name; calls in flight keep the old one).
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<GuestInfo, LoadError> {
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        };
        let started = Instant::now();
        let module = Module::new(&self.engine, bytes).map_err(invalid)?;
        let digest = hex::encode(Sha256::digest(bytes));
        let info = self.insert(name, module, digest, bytes.len())?;
        tracing::info!(guest = name, digest = %info.digest, ms = started.elapsed().as_millis() as u64, "guest compiled");
        Ok(info)
    }

    /// Loads `name` from an artifact made by [`Self::precompiled`] for a
    /// module whose bytes have `digest` and `size`, refusing an artifact
    /// whose SHA-256 is not `artifact_sha256` (see [`artifact`]).
    pub fn load_precompiled(
        &self,
        name: &str,
        digest: &str,
        size: usize,
        artifact: &[u8],
        artifact_sha256: &str,
    ) -> Result<GuestInfo, LoadError> {
        let started = Instant::now();
        let module = artifact::deserialize_verified(&self.engine, artifact, artifact_sha256)
            .map_err(|e| LoadError::Invalid {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        let info = self.insert(name, module, digest.to_owned(), size)?;
        tracing::info!(
            guest = name,
            digest,
            ms = started.elapsed().as_millis() as u64,
            "guest loaded precompiled"
        );
        Ok(info)
    }

    /// The loaded guest `name` as a precompiled artifact (for
    /// [`Self::load_precompiled`] by an engine of the same fingerprint).
    pub fn precompiled(&self, name: &str) -> Option<Vec<u8>> {
        let guest = self.guest(name)?;
        guest.pre.module().serialize().ok()
    }

    /// Identifies this engine's compiled-code format (see [`artifact::fingerprint`]).
    pub fn engine_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn guest(&self, name: &str) -> Option<Arc<Guest>> {
        self.guests
            .read()
            .expect("guest table lock")
            .get(name)
            .cloned()
    }

    fn insert(
        &self,
        name: &str,
        module: Module,
        digest: String,
        size: usize,
    ) -> Result<GuestInfo, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Invalid {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
        let info = GuestInfo {
            name: name.to_owned(),
            digest,
            size,
            exports: module.exports().map(|e| e.name().to_owned()).collect(),
        };
        self.guests.write().expect("guest table lock").insert(
            name.to_owned(),
            Arc::new(Guest {
                info: info.clone(),
                pre,
            }),
        );
        Ok(info)
    }

    /// Forgets the guest `name` (calls in flight finish with it).
    pub fn unload(&self, name: &str) {
        self.guests.write().expect("guest table lock").remove(name);
    }

    /// The loaded guests.
    pub fn guests(&self) -> Vec<GuestInfo> {
        self.guests
            .read()
            .expect("guest table lock")
            .values()
            .map(|g| g.info.clone())
            .collect()
    }

    /// The configured limits.
    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }

    /// Runs `guest`'s `wip_process` on `input` in a fresh instance under
    /// the server's limits (see the ABI in ARCHITECTURE.md). Blocking: call
    /// it from a blocking thread.
    pub fn invoke(&self, guest: &str, tenant: &str, input: &[u8]) -> Result<Output, SandboxError> {
        self.invoke_with(guest, tenant, input, self.limits.per_call())
            .result
    }

    /// [`Self::invoke`] under `limits` (clamped to the server's).
    pub fn invoke_with(
        &self,
        guest: &str,
        tenant: &str,
        input: &[u8],
        limits: CallLimits,
    ) -> Invocation {
        let limits = CallLimits {
            memory_pages: limits.memory_pages.min(self.limits.memory_pages),
            deadline: limits.deadline.min(self.limits.deadline),
        };
        if input.len() > self.limits.max_input_bytes {
            return Invocation {
                result: Err(SandboxError::InvalidInput {
                    reason: format!(
                        "{} bytes exceed the {} byte limit",
                        input.len(),
                        self.limits.max_input_bytes
                    ),
                }),
                peak_memory_pages: 0,
                limits,
            };
        }
        let (result, output) = self.with_instance(guest, tenant, limits, |store, instance| {
            abi_process(store, instance, input)
        });
        Invocation {
            peak_memory_pages: output.peak_memory_pages,
            result: result.map(|bytes| Output { bytes, ..output }),
            limits,
        }
    }

    /// Task 4: calls the `add` export of `guest`.
    pub fn call_add(&self, guest: &str, a: i32, b: i32) -> Result<i32, SandboxError> {
        self.with_instance(guest, "host", self.limits.per_call(), |store, instance| {
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut *store, "add")
                .map_err(|e| Failure::Abi(format!("no add(i32, i32) -> i32 export: {e}")))?;
            add.call(&mut *store, (a, b)).map_err(Failure::Wasm)
        })
        .0
    }

    /// Runs `body` in a fresh instance of `guest`; returns its typed outcome
    /// and what the call used (logs, peak memory, duration) either way.
    fn with_instance<T>(
        &self,
        guest: &str,
        tenant: &str,
        limits: CallLimits,
        body: impl FnOnce(&mut Store<HostState>, &wasmtime::Instance) -> Result<T, Failure>,
    ) -> (Result<T, SandboxError>, Output) {
        let Some(guest) = self.guest(guest) else {
            let name = guest.to_owned();
            return (Err(SandboxError::UnknownGuest { name }), Output::default());
        };
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            let slots = self.limits.slots;
            return (Err(SandboxError::Busy { slots }), Output::default());
        };
        let started = Instant::now();
        let tags = CallTags {
            tenant: tenant.to_owned(),
            guest: guest.info.name.clone(),
            digest: guest.info.digest.clone(),
        };
        let mut store = Store::new(&self.engine, HostState::new(tags, limits.memory_pages));
        store.limiter(|state| &mut state.limits);
        // The current tick is already partly over: one more so the deadline
        // fires in [deadline, deadline + tick), never early.
        let ticks = limits
            .deadline
            .as_micros()
            .div_ceil(engine::EPOCH_TICK.as_micros())
            + 1;
        store.set_epoch_deadline(ticks as u64);

        let result = (|| {
            let instance = guest.pre.instantiate(&mut store).map_err(Failure::Wasm)?;
            // Reactors run the Go runtime's initialisation once per instance.
            if let Ok(init) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
                init.call(&mut store, ()).map_err(Failure::Wasm)?;
            }
            body(&mut store, &instance)
        })();
        let observed = Observed {
            memory_cap_hit: store.data().limits.was_hit(),
            cap_pages: limits.memory_pages,
            deadline_ms: limits.deadline.as_millis() as u64,
        };
        let state = store.data();
        let output = Output {
            bytes: Vec::new(),
            logs: state.logs.clone(),
            logs_dropped: state.logs_dropped,
            peak_memory_pages: state.limits.peak_pages(),
            duration: started.elapsed(),
        };
        let result = result.map_err(|failure| match failure {
            Failure::Wasm(e) => error::classify(&e, observed, &state.stderr_text()),
            Failure::Abi(_) if observed.memory_cap_hit => SandboxError::MemoryLimit {
                cap_pages: observed.cap_pages,
            },
            Failure::Abi(reason) => SandboxError::AbiViolation { reason },
            Failure::Guest(code, message) => SandboxError::GuestError { code, message },
        });
        (result, output)
        // `store` (and with it the instance and its pool slot) drops here,
        // whatever happened.
    }
}

/// A call that went wrong, before classification.
enum Failure {
    Wasm(wasmtime::Error),
    Abi(String),
    Guest(i32, String),
}

/// Largest output read back from a guest.
const MAX_OUTPUT_BYTES: u32 = 16 * 1024 * 1024;

fn abi_process(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let func = |store: &mut Store<HostState>, name: &str| {
        instance
            .get_func(&mut *store, name)
            .ok_or_else(|| Failure::Abi(format!("missing export {name}")))
    };
    let alloc = func(store, "wip_alloc")?
        .typed::<u32, u32>(&*store)
        .map_err(|e| Failure::Abi(format!("wip_alloc: {e}")))?;
    let process = func(store, "wip_process")?
        .typed::<(u32, u32), i32>(&*store)
        .map_err(|e| Failure::Abi(format!("wip_process: {e}")))?;
    let out_ptr = func(store, "wip_output_ptr")?
        .typed::<(), u32>(&*store)
        .map_err(|e| Failure::Abi(format!("wip_output_ptr: {e}")))?;
    let out_len = func(store, "wip_output_len")?
        .typed::<(), u32>(&*store)
        .map_err(|e| Failure::Abi(format!("wip_output_len: {e}")))?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| Failure::Abi("missing memory export".into()))?;

    let len = input.len() as u32;
    let ptr = alloc.call(&mut *store, len).map_err(Failure::Wasm)?;
    memory
        .write(&mut *store, ptr as usize, input)
        .map_err(|_| Failure::Abi(format!("wip_alloc returned {ptr}, outside memory")))?;
    let code = process
        .call(&mut *store, (ptr, len))
        .map_err(Failure::Wasm)?;
    let ptr = out_ptr.call(&mut *store, ()).map_err(Failure::Wasm)?;
    let len = out_len.call(&mut *store, ()).map_err(Failure::Wasm)?;
    if len > MAX_OUTPUT_BYTES {
        return Err(Failure::Abi(format!(
            "output of {len} bytes exceeds {MAX_OUTPUT_BYTES}"
        )));
    }
    let mut bytes = vec![0; len as usize];
    memory
        .read(&*store, ptr as usize, &mut bytes)
        .map_err(|_| Failure::Abi(format!("output {ptr}+{len} is outside memory")))?;
    if code == 0 {
        Ok(bytes)
    } else {
        Err(Failure::Guest(
            code,
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }
}
