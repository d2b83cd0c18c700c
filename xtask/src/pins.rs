//! Every pinned tool version, in one place. README.md explains why each is pinned.

use anyhow::{Context as _, bail};

use crate::paths;

/// Go toolchain used for every build unless `--go` says otherwise.
pub const GO_MAIN: &str = "1.27.3";
/// Older Go toolchain, used to show that the shim hash follows the toolchain
/// (its `wasm_exec.js` differs from 1.27's).
pub const GO_OLD: &str = "1.21.13";
/// Go toolchains installed by setup.
pub const GO_VERSIONS: [&str; 2] = [GO_MAIN, GO_OLD];
/// wasm-pack runs the frontend's browser tests.
pub const WASM_PACK: &str = "0.15.1";
/// binaryen (wasm-opt) from npm: `wasm-opt -Oz` of the app (Debian's 108
/// produced a blank page).
pub const BINARYEN: &str = "132.0.0";
/// The binaryen major version `wasm-opt --version` must report.
pub const WASM_OPT_MAJOR: &str = "132";
/// HTTP load generator of `cargo xtask bench` (installed by the bench, not by setup).
pub const OHA: &str = "1.16.0";
/// Rust target of the browser app.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Chromium and its driver (always the same version from apt).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver; wasm-pack is pointed here instead of downloading one.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian 12's Prometheus (the `prometheus` package): the rules' unit tests
/// rely on 2.x semantics (exact sample comparison, range selectors closed
/// on the left), which Prometheus 3 changes.
pub const PROMETHEUS_VERSION: &str = "2.42";
/// Debian 12's nats-server (JetStream), minor version: the cluster registry.
pub const NATS_VERSION: &str = "2.9";
/// Debian 12's nginx: the cluster's load balancer and the assets bench.
pub const NGINX: &str = "/usr/sbin/nginx";
/// Debian's Prometheus server, which the real-Prometheus test starts.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Debian's promtool (same package): config and rule checks, rule unit tests.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// The `wasm-bindgen` version recorded in Cargo.lock: wasm-bindgen-cli must match it exactly.
pub fn wasm_bindgen_from_lock() -> anyhow::Result<String> {
    let lock_path = paths::root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("no wasm-bindgen package in {}", lock_path.display())
}
