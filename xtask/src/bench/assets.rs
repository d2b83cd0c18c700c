//! `cargo xtask bench assets`: the hashed Go module with `Accept-Encoding: br`,
//! 64 connections, on loopback, against three origins side by side:
//!
//! - `wip-server`: this project's in-memory origin (release build);
//! - nginx from Debian with `brotli_static`/`gzip_static`, `sendfile` and
//!   `open_file_cache`, as a child process on a random port with a generated
//!   config in a temp dir;
//! - a plain tower-http `ServeDir` (reads the disk per request).
//!
//! Rounds are interleaved so drift on a noisy machine hits every server alike;
//! the table reports the median round and ratios to nginx.

mod nginx;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};

use super::BenchArgs;
use crate::build::BROWSER_PROGRAMS;
use crate::{cmd, manifest, paths, pins};

/// Concurrent connections, as the issue asks.
const CONNECTIONS: u32 = 64;
/// Interleaved measured rounds per server.
const ROUNDS: usize = 3;
/// Warm-up before the first round of each server (page cache, JIT-free but
/// allocator and TCP state warm).
const WARMUP_SECONDS: u64 = 2;

/// One origin under test.
struct Origin {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Origin {
    /// SIGTERM, not SIGKILL: nginx's master must stop its workers, and
    fn drop(&mut self) {
        crate::cmd::terminate(&mut self.child);
    }
}

/// One oha run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    ensure_tools()?;
    let site = paths::site();
    let manifest = manifest::read(&site)?;
    let logical = manifest::go_wasm_name(BROWSER_PROGRAMS[0]);
    let module = manifest
        .asset(&logical)
        .with_context(|| format!("the manifest has no {logical}"))?;
    let path = module.path.clone();
    let brotli_size = module
        .brotli_size
        .with_context(|| format!("{logical} has no brotli variant"))?;

    println!("[bench] building wip-server and the ServeDir baseline (release)");
    cmd::run(cmd::new("cargo").args([
        "build",
        "--quiet",
        "--release",
        "--package",
        "server",
        "--bin",
        "wip-server",
        "--example",
        "servedir_baseline",
    ]))?;

    let origins = [
        start_ours(&site)?,
        start_nginx(&site)?,
        start_servedir(&site)?,
    ];
    for origin in &origins {
        check_headers(origin, &path, brotli_size)?;
    }

    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); origins.len()];
    for origin in &origins {
        oha(origin.addr, &path, WARMUP_SECONDS)?;
    }
    for round in 1..=ROUNDS {
        for (i, origin) in origins.iter().enumerate() {
            let sample = oha(origin.addr, &path, args.seconds)?;
            println!(
                "[bench] round {round}/{ROUNDS} {:<22} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
                origin.name, sample.rps, sample.p50_ms, sample.p99_ms
            );
            samples[i].push(sample);
        }
    }

    let medians: Vec<Sample> = samples.iter().map(|s| median(s)).collect();
    let nginx = medians[1];
    println!(
        "\nGET {path} (Accept-Encoding: br, {brotli_size} bytes), {CONNECTIONS} connections, \
         {}s x {ROUNDS} interleaved rounds, median round:",
        args.seconds
    );
    println!(
        "{:<22} {:>10} {:>9} {:>9} {:>14} {:>14}",
        "origin", "req/s", "p50 ms", "p99 ms", "req/s / nginx", "p99 / nginx"
    );
    for (origin, m) in origins.iter().zip(&medians) {
        println!(
            "{:<22} {:>10.0} {:>9.2} {:>9.2} {:>13.2}x {:>13.2}x",
            origin.name,
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.rps / nginx.rps,
            m.p99_ms / nginx.p99_ms
        );
    }
    let ours = medians[0];
    let verdict = ours.rps >= nginx.rps && ours.p99_ms <= nginx.p99_ms;
    println!(
        "target (>= 1.0x nginx req/s, p99 <= nginx): {}",
        if verdict { "met" } else { "NOT met" }
    );
    Ok(())
}

/// oha and nginx are bench-only tools: installed here, not by `setup`.
fn ensure_tools() -> anyhow::Result<()> {
    let oha = paths::cargo_bin().join("oha");
    let version_ok = cmd::output(cmd::new(&oha.to_string_lossy()).arg("--version"))
        .map(|v| v.contains(pins::OHA))
        .unwrap_or(false);
    if !version_ok {
        println!(
            "[bench] installing oha {} (cargo install --locked)",
            pins::OHA
        );
        cmd::run(cmd::new("cargo").args(["install", "oha", "--locked", "--version", pins::OHA]))?;
    }
    if !Path::new("/usr/sbin/nginx").is_file() || !Path::new(nginx::BROTLI_MODULE).is_file() {
        println!("[bench] installing nginx + brotli_static (apt)");
        cmd::run(cmd::new("apt-get").args([
            "install",
            "-y",
            "-q",
            "nginx",
            "libnginx-mod-http-brotli-static",
        ]))?;
    }
    Ok(())
}

fn start_ours(site: &Path) -> anyhow::Result<Origin> {
    let bin = paths::target().join("release").join("wip-server");
    let mut command = Command::new(bin);
    command
        .args(["--addr", "127.0.0.1:0", "--assets-dir"])
        .arg(site)
        .env("RUST_LOG", "warn");
    spawn_printing_addr("wip-server (in-memory)", command)
}

fn start_servedir(site: &Path) -> anyhow::Result<Origin> {
    let bin = paths::target()
        .join("release")
        .join("examples")
        .join("servedir_baseline");
    let mut command = Command::new(bin);
    command.arg(site).arg("127.0.0.1:0");
    spawn_printing_addr("tower-http ServeDir", command)
}

/// Starts a server that prints `listening on http://ADDR/` on stdout.
fn spawn_printing_addr(name: &'static str, mut command: Command) -> anyhow::Result<Origin> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .with_context(|| format!("{name} printed {line:?} instead of its address"))?;
    Ok(Origin {
        name,
        child,
        addr,
        _dir: None,
    })
}

fn start_nginx(site: &Path) -> anyhow::Result<Origin> {
    let (child, addr, dir) = nginx::start(site)?;
    Ok(Origin {
        name: "nginx (sendfile)",
        child,
        addr,
        _dir: Some(dir),
    })
}

/// Fails unless `origin` answers the benchmark request as a correct origin
/// would (so no server wins by doing less).
fn check_headers(origin: &Origin, path: &str, brotli_size: u64) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(origin.addr)?;
    write!(
        stream,
        "HEAD {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = String::new();
    stream.read_to_string(&mut head)?;
    let head = head.to_ascii_lowercase();
    for needed in [
        "content-type: application/wasm".to_owned(),
        "content-encoding: br".to_owned(),
        format!("content-length: {brotli_size}"),
        "cache-control: public, max-age=31536000, immutable".to_owned(),
        "vary: accept-encoding".to_owned(),
    ] {
        if !head.contains(&needed) {
            bail!("{} does not send `{needed}`:\n{head}", origin.name);
        }
    }
    Ok(())
}

/// One oha run against `addr`.
fn oha(addr: SocketAddr, path: &str, seconds: u64) -> anyhow::Result<Sample> {
    let oha = paths::cargo_bin().join("oha");
    let out = cmd::output(
        cmd::new(&oha.to_string_lossy())
            .args(["--no-tui", "--output-format", "json", "-c"])
            .arg(CONNECTIONS.to_string())
            .arg("-z")
            .arg(format!("{seconds}s"))
            .args(["-H", "Accept-Encoding: br"])
            .arg(format!("http://{addr}{path}")),
    )?;
    let json: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("oha output: {out}"))?;
    let statuses = &json["statusCodeDistribution"];
    if statuses
        .as_object()
        .is_none_or(|m| m.keys().any(|k| k != "200"))
    {
        bail!("non-200 responses during the run: {statuses}");
    }
    let seconds_field = |p: &str| {
        json["latencyPercentiles"][p]
            .as_f64()
            .with_context(|| format!("oha output lacks latencyPercentiles.{p}: {out}"))
    };
    Ok(Sample {
        rps: json["summary"]["requestsPerSec"]
            .as_f64()
            .context("oha output lacks summary.requestsPerSec")?,
        p50_ms: seconds_field("p50")? * 1000.0,
        p99_ms: seconds_field("p99")? * 1000.0,
    })
}

/// The round with the median throughput (its latencies come with it, so a
/// row is one real run, not a mix).
fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    sorted[sorted.len() / 2]
}
