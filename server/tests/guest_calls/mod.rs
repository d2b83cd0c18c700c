//! The sandbox under test's limits, with every guest `cargo xtask build`
//! made, compiled once per test binary (as the server does at startup).
//!
//! A test of one limit keeps the others out of reach: a memory-cap test
//! runs with a generous deadline, so a busy machine cannot turn it into a
//! deadline test.

#![allow(dead_code)] // each test binary uses a subset

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use server::sandbox::{
    CallLimits, CallOptions, GuestKey, Invocation, Output, Sandbox, SandboxError, SandboxLimits,
};

use crate::common::guests_dir;

pub const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_millis(50),
    slots: 8,
    max_input_bytes: 64 * 1024,
    pooling: true,
    ..server::config::SANDBOX_DEFAULTS
};

/// Long enough that only the limit under test can end a call.
pub const GENEROUS: Duration = Duration::from_secs(20);

/// Every guest loaded once per test binary, as the server does at startup:
/// through the built-in artifact cache the other tests share, so only the
/// first binary on a machine compiles them.
pub static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    let sandbox = Sandbox::new(LIMITS).expect("engine");
    let cache = server::Config::with_assets_dir("").builtins_cache();
    sandbox
        .load_builtins_shared(&guests_dir(), &cache)
        .expect("guests load");
    sandbox
});

pub fn builtin(name: &str) -> GuestKey {
    GuestKey::Builtin(name.to_owned())
}

pub fn options(memory_pages: u64, deadline: Duration) -> CallOptions {
    CallOptions::with_limits(CallLimits {
        memory_pages,
        deadline,
    })
}

pub async fn call(guest: &str, input: &str, options: CallOptions) -> Invocation {
    let input = Bytes::copy_from_slice(input.as_bytes());
    SANDBOX
        .invoke(&builtin(guest), "tenant-a", input, options)
        .await
}

/// Under the server's limits, with a generous deadline (see the module docs).
pub async fn invoke(guest: &str, input: &str) -> Result<Output, SandboxError> {
    call(guest, input, options(256, GENEROUS)).await.result
}

/// Under the server's limits, 50 ms deadline included.
pub async fn invoke_50ms(guest: &str, input: &str) -> Result<Output, SandboxError> {
    call(guest, input, SANDBOX.default_options()).await.result
}
