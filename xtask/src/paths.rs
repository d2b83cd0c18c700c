//! Where things live in the workspace.

use std::path::{Path, PathBuf};

/// Workspace root (the parent of the xtask crate).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
}

/// Git-ignored directory for project-local tools (Go toolchains, npm packages).
pub fn tools() -> PathBuf {
    root().join(".tools")
}

/// Cargo's target directory.
pub fn target() -> PathBuf {
    root().join("target")
}

/// The assembled site the server serves (the app + Go modules + manifest).
pub fn site() -> PathBuf {
    target().join("site")
}

/// Go module of the guest programs.
pub fn guest_go() -> PathBuf {
    root().join("guest-go")
}

/// `$CARGO_HOME/bin`, where `cargo install` puts binaries.
pub fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        });
    home.join("bin")
}

/// This project's cache of content-addressed build outputs, shared by
/// every clone on the machine: `$XDG_CACHE_HOME/wasm-in-production`, else
/// `~/.cache/wasm-in-production` (beside Go's build cache).
pub fn user_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    base.join("wasm-in-production")
}

/// Binaries installed from npm into `.tools/npm`.
pub fn npm_bin() -> PathBuf {
    tools().join("npm").join("node_modules").join(".bin")
}

/// Server-side sandbox guests (`GOOS=wasip1`), built from `guest-go/sandbox/<name>/`.
pub fn guests() -> PathBuf {
    target().join("guests")
}
