//! The calling convention between host and guest (see docs/sandbox.md, "The
//! sandbox ABI"), and the checks a module must pass before any of its code
//! runs.

use wasmtime::{Instance, Module, Store};

use super::Work;
use super::host::HostState;

/// Exports a plugin must have.
pub const REQUIRED_EXPORTS: [&str; 5] = [
    "memory",
    "wip_alloc",
    "wip_process",
    "wip_output_ptr",
    "wip_output_len",
];

/// The only import module a guest may use besides `env.log`.
const WASI_P1: &str = "wasi_snapshot_preview1";

/// Why a module was refused before any of its code ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Preflight {
    /// Machine-readable reason: `forbidden_import`, `missing_export` or
    /// `memory_too_large`.
    pub reason: &'static str,
    /// What exactly was wrong.
    pub message: String,
}

/// Imports ⊆ WASI preview 1 + `env.log`, and no memory whose declared
/// minimum is over `cap_pages` (it could never start). Read straight from
/// the binary, before Cranelift spends a core on a module we will refuse;
/// anything malformed is left for the compiler to reject.
pub(super) fn check_module(bytes: &[u8], cap_pages: u64) -> Result<(), Preflight> {
    use wasmparser::{Parser, Payload, TypeRef};
    let too_large = |minimum: u64| Preflight {
        reason: "memory_too_large",
        message: format!("declares at least {minimum} memory pages; the cap is {cap_pages}"),
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let Ok(import) = import else { return Ok(()) };
                    let allowed = import.module == WASI_P1
                        || (import.module == "env" && import.name == "log");
                    if !allowed {
                        return Err(Preflight {
                            reason: "forbidden_import",
                            message: format!(
                                "imports {}.{}: a guest may import only {WASI_P1} and env.log",
                                import.module, import.name
                            ),
                        });
                    }
                    if let TypeRef::Memory(memory) = import.ty
                        && memory.initial > cap_pages
                    {
                        return Err(too_large(memory.initial));
                    }
                }
            }
            Payload::MemorySection(section) => {
                for memory in section {
                    let Ok(memory) = memory else { return Ok(()) };
                    if memory.initial > cap_pages {
                        return Err(too_large(memory.initial));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The plugin ABI's exports are all there.
pub(super) fn check_plugin_exports(module: &Module) -> Result<(), Preflight> {
    match REQUIRED_EXPORTS
        .iter()
        .find(|name| module.get_export(name).is_none())
    {
        Some(missing) => Err(Preflight {
            reason: "missing_export",
            message: format!(
                "missing export {missing} (the plugin ABI needs {REQUIRED_EXPORTS:?})"
            ),
        }),
        None => Ok(()),
    }
}

/// A call that went wrong, before classification.
pub(super) enum Failure {
    Wasm(wasmtime::Error),
    Abi(String),
    Guest(i32, String),
    Deadline,
}

/// What a [`Work`] returned.
pub(super) enum Returned {
    Bytes(Vec<u8>),
    I32(i32),
}

/// Instantiates, starts the Go runtime (`_initialize`), then runs `entry`.
/// Every step is async: the guest yields at each epoch tick and whenever a
/// WASI call would block, so the caller's timeout can drop it anywhere.
pub(super) async fn run(
    store: &mut Store<HostState>,
    pre: &wasmtime::InstancePre<HostState>,
    entry: Work,
) -> Result<Returned, Failure> {
    let instance = pre
        .instantiate_async(&mut *store)
        .await
        .map_err(Failure::Wasm)?;
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
        init.call_async(&mut *store, ())
            .await
            .map_err(Failure::Wasm)?;
    }
    match entry {
        Work::Process(input) => process(store, &instance, &input).await.map(Returned::Bytes),
        Work::Add(a, b) => {
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut *store, "add")
                .map_err(|e| Failure::Abi(format!("no add(i32, i32) -> i32 export: {e}")))?;
            add.call_async(&mut *store, (a, b))
                .await
                .map(Returned::I32)
                .map_err(Failure::Wasm)
        }
    }
}

async fn process(
    store: &mut Store<HostState>,
    instance: &Instance,
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let alloc = typed::<u32, u32>(store, instance, "wip_alloc")?;
    let process = typed::<(u32, u32), i32>(store, instance, "wip_process")?;
    let out_ptr = typed::<(), u32>(store, instance, "wip_output_ptr")?;
    let out_len = typed::<(), u32>(store, instance, "wip_output_len")?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| Failure::Abi("missing memory export".into()))?;

    let len = u32::try_from(input.len())
        .map_err(|_| Failure::Abi(format!("{} input bytes do not fit u32", input.len())))?;
    let ptr = alloc
        .call_async(&mut *store, len)
        .await
        .map_err(Failure::Wasm)?;
    memory
        .write(&mut *store, ptr as usize, input)
        .map_err(|_| Failure::Abi(format!("wip_alloc returned {ptr}, outside memory")))?;
    let code = process
        .call_async(&mut *store, (ptr, len))
        .await
        .map_err(Failure::Wasm)?;
    let ptr = out_ptr
        .call_async(&mut *store, ())
        .await
        .map_err(Failure::Wasm)?;
    let len = out_len
        .call_async(&mut *store, ())
        .await
        .map_err(Failure::Wasm)?;
    let max = store.data().bounds.max_output_bytes;
    if len > max {
        return Err(Failure::Abi(format!("output of {len} bytes exceeds {max}")));
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

fn typed<P, R>(
    store: &mut Store<HostState>,
    instance: &Instance,
    name: &str,
) -> Result<wasmtime::TypedFunc<P, R>, Failure>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    instance
        .get_func(&mut *store, name)
        .ok_or_else(|| Failure::Abi(format!("missing export {name}")))?
        .typed::<P, R>(&*store)
        .map_err(|e| Failure::Abi(format!("{name}: {e}")))
}
