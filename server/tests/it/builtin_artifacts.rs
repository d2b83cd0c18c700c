//! The built-in guests through the precompiled-artifact cache, with the
//! guests `cargo xtask build` made: a restart maps every one of them instead
//! of compiling, and what it maps still runs.

use crate::common;

use std::time::Duration;

use server::sandbox::{GuestKey, Sandbox, SandboxLimits};

const LIMITS: SandboxLimits = SandboxLimits {
    memory_pages: 256,
    deadline: Duration::from_secs(20),
    slots: 4,
    max_input_bytes: 64 * 1024,
    pooling: true,
    ..server::config::SANDBOX_DEFAULTS
};

fn guest_count() -> usize {
    std::fs::read_dir(common::guests_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wasm")
        })
        .count()
}

#[test]
fn every_built_in_guest_is_mapped_from_the_cache_on_a_second_start_and_still_runs() {
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::new(LIMITS).unwrap();
    let cold = first
        .load_builtins(&common::guests_dir(), cache.path())
        .unwrap();
    assert_eq!((cold.precompiled, cold.compiled), (0, guest_count()));
    drop(first);

    let second = Sandbox::new(LIMITS).unwrap();
    let warm = second
        .load_builtins(&common::guests_dir(), cache.path())
        .unwrap();
    assert_eq!((warm.precompiled, warm.compiled), (guest_count(), 0));
    println!(
        "{} guests: compiled in {:?}, mapped in {:?}",
        guest_count(),
        cold.elapsed,
        warm.elapsed
    );

    let process = GuestKey::Builtin("process".into());
    assert_eq!(
        second.guest_info(&process).unwrap().digest,
        server::digest::PluginDigest::of(&common::guest("process")).to_string(),
        "installed under the digest of its module, not of its artifact"
    );
    let output = second
        .invoke_blocking(&process, "tenant-a", b"name,qty\nbolt,4\n")
        .expect("the mapped guest runs");
    assert!(
        String::from_utf8_lossy(&output.bytes).contains("bolt"),
        "{:?}",
        String::from_utf8_lossy(&output.bytes)
    );
}
