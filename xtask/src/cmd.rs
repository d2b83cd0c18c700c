//! Running external commands with the project's tools on PATH.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::paths;

/// PATH for child processes: project-local npm tools, then cargo-installed
/// tools, then whatever the caller had.
pub fn tool_path() -> OsString {
    let mut dirs = vec![paths::npm_bin(), paths::cargo_bin()];
    if let Some(existing) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(dirs).expect("PATH entries contain no separator")
}

/// A command for `program`, run from the workspace root with the tool PATH.
/// It does not inherit what `cargo run` set for xtask itself
/// ([`set_by_cargo_run`]): a build script that watches one of those (ring
/// watches `CARGO_MANIFEST_DIR`) would otherwise run again, and rebuild
/// its dependents, whenever a shell's `cargo build` and one started by
/// xtask take turns.
pub fn new(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(paths::root()).env("PATH", tool_path());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Whether `cargo run` sets `name` for the program it runs (the package's
/// own variables), as opposed to the user's cargo settings.
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ]
        .contains(&name)
}

/// Human-readable command line, for progress lines and errors.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs `cmd` with inherited stdio; fails with the command line if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let line = describe(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; fails with stderr if it fails.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let line = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Stdout of `cmd` if it starts and succeeds, `None` otherwise (for "is it installed?" checks).
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Stops a child we started: SIGTERM first, so a server drains its
/// requests and nginx's master stops its workers; SIGKILL if that fails.
pub fn terminate(child: &mut std::process::Child) {
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !terminated {
        let _ = child.kill();
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_does_not_inherit_what_cargo_set_for_xtask_but_keeps_cargo_settings() {
        // `cargo test` sets the package's variables for this test binary,
        // as `cargo run` does for xtask.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let env = super::output(super::new("env").env("CARGO_TARGET_DIR", "kept")).unwrap();
        let names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, _)| n)
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with("CARGO_PKG_")),
            "{names:?}"
        );
        assert!(!names.contains(&"CARGO_MANIFEST_DIR"), "{names:?}");
        assert!(names.contains(&"CARGO_TARGET_DIR") && names.contains(&"PATH"));
    }
}
