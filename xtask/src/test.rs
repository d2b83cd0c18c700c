//! `cargo xtask test`: every check and test stage, with the test counts of each.
//!
//! Fails when a stage fails or when a test stage runs zero tests (a silently
//! empty stage is a broken stage).

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::build::{self, BuildArgs};
use crate::go::Toolchain;
use crate::{cmd, paths, pins, setup};

mod counts;
mod prometheus;

use counts::{Counts, parse_test_result};

/// When `cargo xtask test` started: the summary's "at" column.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Outcome of one stage, for the summary table.
#[derive(Debug)]
struct StageResult {
    name: &'static str,
    ok: bool,
    counts: Option<Counts>,
    seconds: f64,
    /// When it ended, counted from the start of `cargo xtask test`.
    ended: f64,
}

impl StageResult {
    /// A stage that has just ended.
    fn ended(name: &'static str, ok: bool, counts: Option<Counts>, seconds: f64) -> Self {
        Self {
            name,
            ok,
            counts,
            seconds,
            ended: STARTED.get_or_init(Instant::now).elapsed().as_secs_f64(),
        }
    }
}

/// Runs setup, build, and every stage; prints a summary table.
pub fn run() -> anyhow::Result<()> {
    let started = *STARTED.get_or_init(Instant::now);
    let step = |name, ok, seconds| StageResult::ended(name, ok, None, seconds);
    setup::run(&setup::Need::ALL)?;
    let mut results = vec![step("setup", true, started.elapsed().as_secs_f64())];

    // The site build (the app's release build, the Go builds) runs beside
    // fmt, clippy and xtask's tests, which do not read it: its
    // single-threaded tail (the app crate's one codegen unit, wasm-opt)
    // leaves a core to them.
    let site = std::thread::spawn(|| {
        let started = Instant::now();
        let built = build::run(&BuildArgs {
            go: pins::GO_MAIN.to_owned(),
        });
        (built, started.elapsed().as_secs_f64())
    });
    results.extend(lints_and_xtask_tests());
    let (built, seconds) = site.join().expect("site build thread");
    if let Err(e) = built {
        eprintln!("[site build] {e:#}");
        results.push(step("site build (beside the stages above)", false, seconds));
        print_summary(&results);
        bail!("the site build failed: {e:#}");
    }
    results.push(step("site build (beside the stages above)", true, seconds));
    results.extend(workspace_tests());
    // Config and rules checks, the rules' unit tests, a real Prometheus
    // scraping the server.
    results.extend(prometheus::stages());
    results.extend(go_stages()?);
    results.extend(browser_stages()?);

    print_summary(&results);
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).map(|r| r.name).collect();
    if !failed.is_empty() {
        bail!("failed stages: {}", failed.join(", "));
    }
    Ok(())
}

/// A stage that passes by its exit status (fmt, clippy, vet).
fn check(name: &'static str, cmd: &mut Command) -> StageResult {
    stage(name, cmd, false)
}

/// A stage that must also run at least one test, and fail none.
fn tests(name: &'static str, cmd: &mut Command) -> StageResult {
    stage(name, cmd, true)
}

/// fmt, clippy on both targets, and xtask's own tests (the tidy rules).
fn lints_and_xtask_tests() -> Vec<StageResult> {
    let clippy = |package: &[&str]| {
        let mut cmd = cmd::new("cargo");
        cmd.arg("clippy").args(package);
        cmd.args(["--all-targets", "--", "-D", "warnings"]);
        cmd
    };
    vec![
        check("fmt", cmd::new("cargo").args(["fmt", "--all", "--check"])),
        check(
            "clippy (host crates)",
            &mut clippy(&["--workspace", "--exclude", "frontend"]),
        ),
        check(
            "clippy (frontend, wasm32)",
            &mut clippy(&["--package", "frontend", "--target", pins::WASM_TARGET]),
        ),
        // The one build of another package set.
        tests(
            "xtask tests (tidy)",
            cmd::new("cargo").args(["test", "--package", "xtask"]),
        ),
    ]
}

/// The host crates' unit, integration and doc tests.
fn workspace_tests() -> Vec<StageResult> {
    // No examples: `cargo test` would link each (the whole server, in
    // debug) only to prove they build, which clippy's `--all-targets`
    // checked; the stages that run one build it. Every cargo stage below
    // names the same package set, so the server, wasmtime and Cranelift are
    // compiled once with one set of features: xtask is tested alone (its
    // zopfli turns on a feature of a crate the server depends on), and e2e
    // is in the set (chromiumoxide turns on others) with its browser tests
    // behind its default `browser` feature, which this stage turns off.
    vec![
        tests(
            "workspace tests",
            cmd::new("cargo")
                .arg("test")
                .args(HOST_CRATES)
                .args(WORKSPACE_TARGETS),
        ),
        tests(
            "doc tests",
            cmd::new("cargo")
                .arg("test")
                .args(HOST_CRATES)
                .args(["--no-default-features", "--doc"]),
        ),
    ]
}

/// `go vet` for each build target of the Go code, and its unit tests.
fn go_stages() -> anyhow::Result<Vec<StageResult>> {
    let go = Toolchain::find(pins::GO_MAIN)?;
    let sandbox = paths::guest_go().join("sandbox");
    Ok(vec![
        check(
            "go vet (js/wasm programs)",
            go.go()
                .env("GOOS", "js")
                .env("GOARCH", "wasm")
                .args(["vet", "./cmd/..."]),
        ),
        check(
            "go vet (wasip1 sandbox guests)",
            go.go()
                .current_dir(&sandbox)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .args(["vet", "./..."]),
        ),
        check(
            "go vet (native twin, linux)",
            go.go()
                .current_dir(&sandbox)
                .env("GOOS", "linux")
                .env_remove("GOARCH")
                .args(["vet", "./native/...", "./internal/csvjson/"])
                .arg("./internal/probe/"),
        ),
        tests(
            "go test (guest-go packages)",
            go.go().args(["test", "-v", "-count=1", "./internal/..."]),
        ),
    ])
}

/// The stages that need a real browser or the process sandbox.
fn browser_stages() -> anyhow::Result<Vec<StageResult>> {
    let mut results = vec![tests(
        "process sandbox confinement (bubblewrap)",
        // The isolation bench's process sandbox really confines: no host
        // file, no loopback listener, memory cap, deadline kill, no orphans.
        cmd::new("cargo").args(["xtask", "bench", "isolation", "--check"]),
    )];
    results.push(tests(
        "frontend (wasm-pack, headless Chromium)",
        cmd::new("wasm-pack")
            .args(["test", "--headless", "--chrome", "--mode", "no-install"])
            .args(["--chromedriver", pins::CHROMEDRIVER])
            .arg("frontend"),
    ));
    results.push(tests(
        "browser end-to-end",
        // One Chromium at a time: two cores, and the timing-sensitive
        // tests must not starve each other.
        cmd::new("cargo")
            .arg("test")
            .args(HOST_CRATES)
            .args(browser_test_targets()?)
            .args(["--", "--test-threads=1"]),
    ));
    Ok(results)
}

/// The workspace stage's targets, which the real-Prometheus stage and the
/// confinement check's build reuse: cargo resolves features for the units
/// a command selects, so a narrower `--test` or `--example` would build
/// the server's dependencies again.
pub(crate) const WORKSPACE_TARGETS: [&str; 4] =
    ["--no-default-features", "--lib", "--bins", "--tests"];

/// The packages every cargo test stage builds: one feature resolution, so
/// one build of the server and its dependencies for all of them.
pub(crate) const HOST_CRATES: [&str; 5] =
    ["--workspace", "--exclude", "frontend", "--exclude", "xtask"];

/// `--test <name>` for every browser test of the e2e crate (`tests/tests/*.rs`).
fn browser_test_targets() -> anyhow::Result<Vec<String>> {
    let dir = paths::root().join("tests/tests");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_owned());
        }
    }
    if names.is_empty() {
        bail!("no browser tests in {}", dir.display());
    }
    names.sort();
    let args = names
        .into_iter()
        .flat_map(|name| ["--test".to_owned(), name])
        .collect();
    Ok(args)
}

/// Runs one stage, echoing its output while collecting test counts.
fn stage(name: &'static str, cmd: &mut Command, expects_tests: bool) -> StageResult {
    println!("\n==> [{name}] {}", cmd::describe(cmd));
    let started = Instant::now();
    let (status_ok, counts) = match run_and_count(cmd) {
        Ok(result) => result,
        Err(err) => {
            eprintln!("[{name}] {err:#}");
            (false, None)
        }
    };
    let mut ok = status_ok;
    if expects_tests {
        match counts {
            None
            | Some(Counts {
                passed: 0,
                failed: 0,
                ..
            }) => {
                eprintln!("[{name}] ran zero tests: treating the stage as failed");
                ok = false;
            }
            Some(c) if c.failed > 0 => ok = false,
            Some(_) => {}
        }
    }
    StageResult::ended(
        name,
        ok,
        if expects_tests { counts } else { None },
        started.elapsed().as_secs_f64(),
    )
}

fn run_and_count(cmd: &mut Command) -> anyhow::Result<(bool, Option<Counts>)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let counts = Arc::new(Mutex::new(None::<Counts>));
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let out = echo_and_count(stdout, Arc::clone(&counts), false);
    let err = echo_and_count(stderr, Arc::clone(&counts), true);
    let status = child.wait()?;
    out.join().expect("stdout reader");
    err.join().expect("stderr reader");
    let counts = *counts.lock().expect("counts lock");
    Ok((status.success(), counts))
}

fn echo_and_count(
    stream: impl Read + Send + 'static,
    counts: Arc<Mutex<Option<Counts>>>,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            if let Some(parsed) = parse_test_result(&line) {
                let mut total = counts.lock().expect("counts lock");
                let sum = total.get_or_insert_with(Counts::default);
                sum.passed += parsed.passed;
                sum.failed += parsed.failed;
                sum.ignored += parsed.ignored;
            }
        }
    })
}

fn print_summary(results: &[StageResult]) {
    println!(
        "\n{:<42} {:<6} {:>7} {:>7} {:>8} {:>8} {:>9}",
        "stage", "result", "passed", "failed", "ignored", "time", "at"
    );
    let mut total = Counts::default();
    for r in results {
        let (p, f, i) = match r.counts {
            Some(c) => {
                total.passed += c.passed;
                total.failed += c.failed;
                total.ignored += c.ignored;
                (
                    c.passed.to_string(),
                    c.failed.to_string(),
                    c.ignored.to_string(),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        let result = if r.ok { "ok" } else { "FAILED" };
        println!(
            "{:<42} {result:<6} {p:>7} {f:>7} {i:>8} {:>7.1}s {:>8.1}s",
            r.name, r.seconds, r.ended
        );
    }
    // A failing stage without failing tests of its own (fmt, clippy, a stage
    // that ran zero tests or did not build) counts as one failure.
    let stage_failures = results
        .iter()
        .filter(|r| !r.ok && r.counts.is_none_or(|c| c.failed == 0))
        .count() as u64;
    // The plain closing line CI reads.
    println!(
        "\n{} passed, {} failed",
        total.passed,
        total.failed + stage_failures
    );
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::stage;

    fn printing(line: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("echo '{line}'")]);
        cmd
    }

    #[test]
    fn a_stage_that_runs_zero_tests_fails() {
        let zero = "test result: ok. 0 passed; 0 failed; 2 ignored; 0 measured; 5 filtered out; finished in 0.00s";
        let some = "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert!(!stage("zero", &mut printing(zero), true).ok);
        assert!(!stage("silent", &mut Command::new("true"), true).ok);
        assert!(stage("some", &mut printing(some), true).ok);
        // A stage without tests by design (fmt, clippy) goes by its exit status.
        assert!(stage("fmt", &mut Command::new("true"), false).ok);
        assert!(!stage("failing", &mut Command::new("false"), false).ok);
    }
}
