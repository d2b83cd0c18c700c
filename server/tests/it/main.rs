//! The server's integration tests that can share a process, as one test
//! binary: every test binary links the whole server (wasmtime, axum,
//! reqwest) in debug, so one binary instead of eleven spares CI ten
//! compiles and links.
//! Each former `tests/<name>.rs` is the module `<name>` here, its tests
//! named as before under that prefix (`cargo test -p server --test it
//! registry::`).
//!
//! Binaries of their own, on purpose: `delivery/` (already one binary),
//! `cluster.rs` (real processes, one cluster at a time), `guest_log_lines.rs`,
//! `rollout_log_line.rs` and `invocation_outcomes.rs` (scoped `tracing`
//! subscribers that a concurrent test thread's cached callsite interest
//! would blind), `sandbox_http.rs` (its soak bounds the process's resident
//! memory), `sandbox_limits.rs` and `uploads.rs` (wall-clock bounds that a
//! neighbour compiling every guest could stretch), `prometheus.rs`
//! (`#[ignore]`d, its own CI stage).

#[path = "../common/mod.rs"]
mod common;
#[path = "../deploy_files/mod.rs"]
mod deploy_files;
#[path = "../error_body/mod.rs"]
mod error_body;
#[path = "../flaky_inputs/mod.rs"]
mod flaky_inputs;
#[path = "../guest_calls/mod.rs"]
mod guest_calls;
#[path = "../plugin_api/mod.rs"]
mod plugin_api;
#[path = "../registry_fixture/mod.rs"]
mod registry_fixture;
#[path = "../rollout_api/mod.rs"]
mod rollout_api;

mod answers;
mod boundary;
mod builtin_artifacts;
mod demo_mode;
mod monitoring;
mod plugins_http;
mod real_server;
mod registry;
mod rollout_requests;
mod rollouts_http;
mod routes;
mod sandbox_guests;
