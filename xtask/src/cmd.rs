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
pub fn new(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(paths::root()).env("PATH", tool_path());
    cmd
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
