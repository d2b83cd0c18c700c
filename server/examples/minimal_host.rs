//! Seed task 4, the minimal host: load the `add` guest, call `add(2, 3)`,
//! print the result; then show that a guest asking for files gets errors,
//! because no filesystem capability was granted.
//!
//! `cargo run -p server --example minimal_host` (after `cargo xtask build`).

use std::path::PathBuf;
use std::time::Duration;

use server::sandbox::{GuestKey, Sandbox, SandboxLimits};

fn main() -> anyhow::Result<()> {
    let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    let sandbox = Sandbox::new(SandboxLimits {
        memory_pages: 256,
        deadline: Duration::from_millis(50),
        slots: 2,
        max_input_bytes: 1024,
        pooling: true,
        ..server::config::SANDBOX_DEFAULTS
    })?;
    for name in ["add", "fsprobe"] {
        let bytes = std::fs::read(guests.join(format!("{name}.wasm")))
            .map_err(|e| anyhow::anyhow!("{name}.wasm: {e} (run `cargo xtask build`)"))?;
        sandbox.load(GuestKey::Builtin(name.into()), &bytes)?;
    }
    println!("add(2, 3) = {}", sandbox.call_add_blocking("add", 2, 3)?);
    let probe = sandbox.invoke_blocking(&GuestKey::Builtin("fsprobe".into()), "demo", b"")?;
    println!("fsprobe: {}", String::from_utf8_lossy(&probe.bytes));
    Ok(())
}
