//! Fixtures shared by the sandbox and registry tests: the guests
//! `cargo xtask build` produced (never committed binaries).

#![allow(dead_code)] // each test binary uses a subset

use std::path::PathBuf;

/// `target/guests`, or a panic that says how to build it.
pub fn guests_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    assert!(
        dir.join("process.wasm").is_file(),
        "no sandbox guests in {}: run `cargo xtask build` first",
        dir.display()
    );
    dir
}

/// The bytes of guest `name`.
pub fn guest(name: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
