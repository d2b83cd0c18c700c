//! `cargo xtask bench lessons` (run in release): the compile-once lesson
//! under attack, against one or more `wip-server` binaries side by side
//! (this build, and with `--against` one built from another commit).
//!
//! Each round starts every binary in turn (interleaved) with a tenant
//! `acme` and the `process` plugin, then:
//! - **alone**: `acme` calls its plugin back to back (5 ms apart);
//! - **attack**: the same, while two anonymous clients ask for
//!   `POST /api/lessons/compile-once?calls=1` back to back and a third
//!   hangs up after 0.4 s (each asks again 20 ms after an answer that is
//!   not a 200, so the load is the compiles, not an HTTP flood).
//!
//! Per phase: the tenant's p50/p99 and its 504s, the server process's CPU
//! (cores, from `/proc/<pid>/stat`), the naive compiles that answered 200.
//! The table shows each binary's median round, and the p99 against its
//! own alone phase of the same round.
//!
//! Usage: `bench_lesson_budget <guests-dir> <seconds> <rounds> <label=binary>...`

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use attack::Attack;

mod attack;

const ADMIN: &str = "bench-admin-token-0000-0123456789abcdef";

/// A `wip-server` child on a free loopback port.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(binary: &Path, guests: &Path, cache: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tenants = dir.path().join("tenants.toml");
        std::fs::write(&tenants, attack::tenants_toml()).unwrap();
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0", "--log-format", "json"])
            .arg("--assets-dir")
            .arg(dir.path().join("no-site"))
            .arg("--guests-dir")
            .arg(guests)
            .arg("--data-dir")
            .arg(dir.path().join("registry"))
            .arg("--builtins-cache-dir")
            .arg(cache)
            .args(["--admin-token", ADMIN])
            .arg("--tenants-file")
            .arg(&tenants)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("`listening on` before exit").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep reading its log, so a full pipe never blocks the server.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// CPU seconds the process has used (user + system).
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after `)`.
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One phase of one binary in one round.
#[derive(Debug, Clone, Copy, Default)]
struct Phase {
    p50_ms: f64,
    p99_ms: f64,
    calls: usize,
    deadline: usize,
    cores: f64,
    compiles: u32,
    /// Seconds those compiles took, as the server reported them.
    compile_s: f64,
}

async fn measure(server: &Server, seconds: u64, attack: bool) -> Phase {
    let client = reqwest::Client::new();
    let attackers = attack.then(|| Attack::start(&server.url));
    let (cpu, wall) = (server.cpu_seconds(), Instant::now());
    let calls = attack::tenant(&client, &server.url, seconds).await;
    let cores = (server.cpu_seconds() - cpu) / wall.elapsed().as_secs_f64();
    let answers = match attackers {
        Some(attackers) => attackers.stop().await,
        None => Vec::new(),
    };
    let compiles = attack::compiles(&answers);
    let compile_s = attack::compile_ms(&answers).iter().sum::<f64>() / 1e3;
    Phase {
        p50_ms: calls.quantile(0.5),
        p99_ms: calls.quantile(0.99),
        calls: calls.latencies_ms.len(),
        deadline: calls.deadline,
        cores,
        compiles,
        compile_s,
    }
}

/// Starts `binary`, uploads the plugin, and measures both phases.
async fn round(binary: &Path, guests: &Path, cache: &Path, seconds: u64) -> (Phase, Phase) {
    let server = Server::start(binary, guests, cache);
    let upload = reqwest::Client::new()
        .post(format!("{}/api/plugins?name=csv&version=1", server.url))
        .bearer_auth(ADMIN)
        .body(std::fs::read(guests.join("process.wasm")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201, "upload to {}", binary.display());
    let alone = measure(&server, seconds, false).await;
    let attacked = measure(&server, seconds, true).await;
    (alone, attacked)
}

fn median_by(rounds: &[(Phase, Phase)], key: impl Fn(&(Phase, Phase)) -> f64) -> (Phase, Phase) {
    let mut sorted = rounds.to_vec();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[sorted.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [guests, seconds, rounds, binaries @ ..] = args.as_slice() else {
        panic!("usage: bench_lesson_budget <guests-dir> <seconds> <rounds> <label=binary>...");
    };
    let (guests, seconds, rounds) = (
        PathBuf::from(guests),
        seconds.parse::<u64>().unwrap(),
        rounds.parse::<usize>().unwrap().max(1),
    );
    let binaries: Vec<(String, PathBuf)> = binaries
        .iter()
        .map(|b| {
            let (label, path) = b.split_once('=').expect("label=binary");
            (label.to_owned(), PathBuf::from(path))
        })
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let mut results: BTreeMap<String, Vec<(Phase, Phase)>> = BTreeMap::new();
    for r in 1..=rounds {
        for (label, binary) in &binaries {
            let (alone, attacked) = round(binary, &guests, cache.path(), seconds).await;
            println!(
                "round {r} {label}: alone p99 {:.2} ms, attacked p99 {:.2} ms ({} x 504), server {:.2} cores, {} compiles ({:.1} s)",
                alone.p99_ms,
                attacked.p99_ms,
                attacked.deadline,
                attacked.cores,
                attacked.compiles,
                attacked.compile_s
            );
            results
                .entry(label.clone())
                .or_default()
                .push((alone, attacked));
        }
    }
    println!(
        "\ncompile-once attack, {seconds} s per phase, median of {rounds} rounds (by attacked p99 / alone p99)\n"
    );
    println!(
        "| binary | phase | tenant calls | p50 ms | p99 ms | p99 / alone | tenant 504s | server cores | naive compiles |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, _) in &binaries {
        let (alone, attacked) = median_by(&results[label], |(a, b)| b.p99_ms / a.p99_ms);
        for (phase, p) in [("alone", alone), ("attack", attacked)] {
            println!(
                "| {label} | {phase} | {} | {:.2} | {:.2} | {:.2}x | {} | {:.2} | {} |",
                p.calls,
                p.p50_ms,
                p.p99_ms,
                p.p99_ms / alone.p99_ms,
                p.deadline,
                p.cores,
                p.compiles
            );
        }
    }
}
