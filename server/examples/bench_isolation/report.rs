//! The markdown report: medians of the interleaved rounds, the compute
//! scaling and its crossover, the hostile cases.

use std::fmt::Write as _;

use crate::hostile::CASES;
use crate::measure::{Sample, median};
use crate::native::BWRAP_FLAGS;
use crate::variants::{CONCURRENCY, DEADLINE, MEMORY_CAP, Variant, WASM_PAGES};

/// The load rows: the four variants, then the pool recycling its worker.
pub const LOADS: [&str; 5] = [
    "(a) wasm instance per call",
    "(b) native process per call",
    "(c) bwrap process per call",
    "(d) bwrap worker pool, warm",
    "(d') bwrap worker pool, recycled per call",
];

/// Deadline lateness of one variant in one round.
#[derive(Debug, Clone, Copy)]
pub struct Lateness {
    pub p50: f64,
    pub p99: f64,
    /// Samples that ended as `Deadline` (the rest returned on their own).
    pub stopped: usize,
    pub samples: usize,
}

/// One interleaved round.
#[derive(Debug)]
pub struct Round {
    /// Per [`LOADS`] row.
    pub load: Vec<Sample>,
    /// Kill + respawn-until-ready of a worker, p50 ms.
    pub recycle_ms: f64,
    /// Per [`Variant::ALL`].
    pub spin: Vec<Lateness>,
    pub sleep: Vec<Lateness>,
    /// Per [`Variant::ALL`]: sequential p50 ms of the small and the large input.
    pub scaling: Vec<(f64, f64)>,
    /// Scaling calls that did not succeed (counted in the p50s anyway).
    pub scaling_failed: usize,
    /// p50 ms of a (c) call after 50 ms without a cgroup join.
    pub bwrap_after_idle_ms: f64,
}

/// Memory per concurrent call.
#[derive(Debug)]
pub struct Memory {
    pub wasm_peak_pages: u64,
    pub wasm_rss_growth_kib: f64,
    /// Cgroup peak charge, MiB: (b), (c), (d).
    pub native_mib: [f64; 3],
}

#[derive(Debug)]
pub struct Results {
    pub seconds: u64,
    pub rounds: Vec<Round>,
    pub memory: Memory,
    pub hostile: Vec<Vec<String>>,
    pub smallest_rlimit_as_mib: Option<u64>,
    pub small_rows: usize,
    pub large_rows: usize,
    /// 1-minute load average when the run started and ended.
    pub load: (String, String),
}

impl Results {
    fn load(&self, row: usize, f: impl Fn(&Sample) -> f64) -> f64 {
        median(self.rounds.iter().map(|r| f(&r.load[row])))
    }

    fn late(&self, v: usize, spin: bool) -> String {
        let pick = |r: &Round| if spin { r.spin[v] } else { r.sleep[v] };
        let (stopped, samples) = self.rounds.iter().fold((0, 0), |(s, n), r| {
            (s + pick(r).stopped, n + pick(r).samples)
        });
        let p50 = median(self.rounds.iter().map(|r| pick(r).p50));
        let p99 = median(self.rounds.iter().map(|r| pick(r).p99));
        let cut = if stopped == samples {
            String::new()
        } else {
            format!(" ({} of {samples} not stopped)", samples - stopped)
        };
        format!("{p50:.2} / {p99:.2}{cut}")
    }

    /// Per-row cost of variant `v`, ms: the two-point fit of its medians.
    fn per_row(&self, v: usize) -> f64 {
        let small = median(self.rounds.iter().map(|r| r.scaling[v].0));
        let large = median(self.rounds.iter().map(|r| r.scaling[v].1));
        (large - small) / (self.large_rows - self.small_rows) as f64
    }
}

/// The report in markdown.
pub fn render(r: &Results) -> String {
    let mut md = header(r);
    md.push_str(&load_table(r));
    md.push_str(&crossover(r));
    md.push_str(&hostile_table(r));
    md.push_str(&how(r));
    md
}

/// The title and the run's conditions.
fn header(r: &Results) -> String {
    let mut md = String::new();
    let deadline = DEADLINE.as_millis();
    let _ = writeln!(
        md,
        "# Isolation: Wasm instance vs native process vs bubblewrap vs worker pool\n\n\
         Produced by `cargo xtask bench isolation --seconds {}`: {} interleaved rounds, \
         medians of the rounds; {CONCURRENCY} callers on {} cores; the `process` plugin \
         (CSV -> JSON, the same Go code in every variant, {} data rows); deadline {deadline} ms; \
         memory cap {WASM_PAGES} pages for Wasm, {} MiB cgroup for native. \
         Load average {} at the start, {} at the end.\n",
        r.seconds,
        r.rounds.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        r.small_rows,
        MEMORY_CAP >> 20,
        r.load.0,
        r.load.1
    );
    md
}

/// Latency, throughput, memory and deadline lateness per variant.
fn load_table(r: &Results) -> String {
    let mut md = String::new();
    let m = &r.memory;
    let memory = [
        format!(
            "{} pages ({:.1} MiB) linear memory; process RSS +{:.1} MiB",
            m.wasm_peak_pages,
            m.wasm_peak_pages as f64 / 16.0,
            m.wasm_rss_growth_kib / 1024.0
        ),
        format!("{:.1} MiB charged", m.native_mib[0]),
        format!("{:.1} MiB charged", m.native_mib[1]),
        format!("{:.1} MiB charged, held while idle", m.native_mib[2]),
        "as (d)".to_owned(),
    ];
    md.push_str(
        "| variant | p50 ms | p99 ms | calls/s | memory per concurrent call | \
         spinning: ms late p50 / p99 | sleeping: ms late p50 / p99 |\n|---|---:|---:|---:|---|---:|---:|\n",
    );
    for (row, label) in LOADS.iter().enumerate() {
        let v = row.min(3);
        let (spin, sleep) = if row == 4 {
            ("as (d)".to_owned(), "as (d)".to_owned())
        } else {
            (r.late(v, true), r.late(v, false))
        };
        let failures: u64 = r.rounds.iter().map(|x| x.load[row].failures).sum();
        let failed = if failures > 0 {
            format!(" ({failures} failed)")
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "| {label} | {:.3} | {:.3} | {:.0}{failed} | {} | {spin} | {sleep} |",
            r.load(row, |s| s.p50_ms),
            r.load(row, |s| s.p99_ms),
            r.load(row, |s| s.calls_per_s),
            memory[row],
        );
    }
    let recycle = median(r.rounds.iter().map(|x| x.recycle_ms));
    let _ = writeln!(
        md,
        "\n(d') kills the worker after every call and waits for a fresh one to be ready \
         (p50 {recycle:.2} ms per recycle): calls/s includes it, the latency columns do not.\n"
    );
    md
}

/// What each variant did with each hostile plugin.
fn hostile_table(r: &Results) -> String {
    let mut md = String::new();
    md.push_str("\n## Hostile plugins\n\n| case |");
    for v in Variant::ALL {
        let _ = write!(md, " {} |", v.label());
    }
    md.push_str("\n|---|---|---|---|---|\n");
    for (case, cells) in CASES.iter().zip(&r.hostile) {
        let _ = writeln!(md, "| {} | {} |", case.label, cells.join(" | "));
    }
    md
}

/// How each variant and each figure was measured.
fn how(r: &Results) -> String {
    let mut md = String::new();
    let deadline = DEADLINE.as_millis();
    let rlimit = match r.smallest_rlimit_as_mib {
        Some(mib) => format!(
            "RLIMIT_AS (`prlimit --as`) was tried first and rejected: the native Go binary does \
             not even start under less than ~{mib} MiB of address space (the runtime reserves \
             it up front), so it cannot cap a {} MiB budget.",
            MEMORY_CAP >> 20
        ),
        None => "RLIMIT_AS could not be probed (no util-linux `prlimit`).".to_owned(),
    };
    let _ = writeln!(
        md,
        "\n## How\n\n\
         - (a) `Sandbox` with pooling + copy-on-write, compiled once; a fresh instance per call.\n\
         - (b) fork/exec of the static Go binary, input on stdin, output on stdout; killed at the deadline.\n\
         - (c) the same under `bwrap {} --ro-bind <binary> /plugin --remount-ro / --chdir / -- /plugin`: \
         no network (own empty loopback), own PID namespace, no /etc, /proc, /dev or /tmp, read-only root. \
         Memory cap: a cgroup v1 memory controller slot per concurrent call \
         (`memory.limit_in_bytes`, no swap), joined by a `sh` prologue before `exec bwrap`. \
         At the deadline the caller SIGKILLs bwrap and every process in the slot's cgroup \
         (`--die-with-parent` alone leaves an orphaned sandbox if bwrap dies before its child has \
         set `PR_SET_PDEATHSIG`: seen under load); the call ends when the pipes close.\n\
         - (d) one long-lived worker per concurrent call of a tenant, same confinement and cap, \
         length-prefixed requests on stdin; a worker that misses the deadline is killed and replaced.\n\
         - Memory: cgroup peak charge (`memory.max_usage_in_bytes`: anonymous + kernel memory; the \
         binary's page cache is shared) for native; for Wasm the instance's peak pages and this \
         process's RSS growth per concurrent call while 2 callers run.\n\
         - Lateness: time from the call's start until the caller has its answer, minus {deadline} ms \
         (sleeping input: 200ms; spinning: forever).\n\
         - {rlimit}\n",
        BWRAP_FLAGS.join(" ")
    );
    md
}

/// The compute-scaling table and where the process variants overtake Wasm.
fn crossover(r: &Results) -> String {
    let mut md = format!(
        "### Compute scaling (back-to-back sequential calls, p50 ms)\n\n\
         | variant | {} rows | {} rows | per 1000 rows (two-point fit) |\n|---|---:|---:|---:|\n",
        r.small_rows, r.large_rows
    );
    for (v, variant) in Variant::ALL.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} |",
            variant.label(),
            median(r.rounds.iter().map(|x| x.scaling[v].0)),
            median(r.rounds.iter().map(|x| x.scaling[v].1)),
            r.per_row(v) * 1000.0
        );
    }
    let _ = writeln!(
        md,
        "\nA (c) call after 50 ms in which no process joined a cgroup: p50 {:.2} ms, vs {:.2} ms \
         back to back: moving the process into its memory cgroup (the write to `cgroup.procs`) \
         is what costs more after an idle spell, so a lightly loaded process sandbox pays it on \
         most calls.",
        median(r.rounds.iter().map(|x| x.bwrap_after_idle_ms)),
        median(r.rounds.iter().map(|x| x.scaling[2].0))
    );
    let failed: usize = r.rounds.iter().map(|x| x.scaling_failed).sum();
    if failed > 0 {
        let _ = writeln!(
            md,
            "\n{failed} of these calls failed (their time is included)."
        );
    }
    let small = |v: usize| median(r.rounds.iter().map(|x| x.scaling[v].0));
    let (wasm_fixed, wasm_row) = (small(0), r.per_row(0));
    let native_row = r.per_row(3);
    let recycle = median(r.rounds.iter().map(|x| x.recycle_ms));
    let _ = writeln!(
        md,
        "\nPer 1000 rows Wasm computes in {:.2} ms, the native worker in {:.2} ms ({:.1}x). \
         Taking the cost at {} rows as a variant's fixed cost and the warm worker's per-row cost \
         for every native variant (confinement adds start-up, not compute; (c)'s own two-point \
         slope was {:.2} ms per 1000 rows):\n",
        wasm_row * 1e3,
        native_row * 1e3,
        wasm_row / native_row,
        r.small_rows,
        r.per_row(2) * 1e3
    );
    for (label, fixed) in [
        ("(b) native process per call", small(1)),
        ("(c) bwrap process per call", small(2)),
        ("(d') pool recycled per call", small(3) + recycle),
        ("(d) warm pool", small(3)),
    ] {
        let line = if fixed <= wasm_fixed {
            format!(
                "{label} costs less than Wasm at every size ({fixed:.3} ms vs {wasm_fixed:.3} ms fixed)."
            )
        } else if wasm_row <= native_row {
            format!("{label} never catches up with Wasm.")
        } else {
            let rows = (fixed - wasm_fixed) / (wasm_row - native_row);
            format!(
                "{label} ({fixed:.2} ms fixed) overtakes Wasm above ~{rows:.0} rows per call, \
                 i.e. once a call computes more than ~{:.1} ms natively (~{:.1} ms in Wasm).",
                rows * native_row,
                rows * wasm_row
            )
        };
        let _ = writeln!(md, "- {line}");
    }
    md
}
