//! Every limit's default and the range it must fall in: one place for the
//! numbers README's limits table documents. A value outside its range stops
//! the start with the flag named, never a panic or a silent clamp.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::{Config, ConfigError};
use crate::registry::ValidationLimits;
use crate::sandbox::SandboxLimits;

/// Default memory cap: 256 pages = 16 MiB, the seed's cap (a Go guest starts within it).
pub const DEFAULT_MEMORY_PAGES: u64 = 256;
/// Default deadline: the seed's 50 ms.
pub const DEFAULT_DEADLINE_MS: u64 = 50;
/// Default instance slots: a few per core on the 2-core target machine.
pub const DEFAULT_SLOTS: u32 = 16;
/// Default input limit: 1 MiB.
pub const DEFAULT_MAX_INPUT: usize = 1024 * 1024;
/// Default output limit: 16 MiB, room for what a 1 MiB input becomes
/// (CSV to JSON roughly triples it) many times over.
pub const DEFAULT_MAX_OUTPUT: u32 = 16 * 1024 * 1024;
/// Default table size: Go modules carry one large funcref table.
pub const DEFAULT_TABLE_ELEMENTS: u32 = 1 << 16;
/// Default bytes of one guest log line (longer lines are truncated).
pub const DEFAULT_LOG_LINE_BYTES: usize = 4 * 1024;
/// Default log lines per call; the rest are dropped and counted.
pub const DEFAULT_LOG_LINES: usize = 64;
/// Default stderr kept per call: enough for a Go panic's first lines.
pub const DEFAULT_STDERR_BYTES: usize = 16 * 1024;
/// Default bytes of `x-guest-log` headers on one answer: keeps the headers
/// far below what proxies accept (nginx: 8 KiB per line, 32 KiB in all).
pub const DEFAULT_LOG_HEADER_BUDGET: usize = 8 * 1024;
/// Default largest uploaded module: the Go guests are 2–3 MiB.
pub const DEFAULT_MAX_MODULE_BYTES: usize = 32 * 1024 * 1024;
/// Default copies of the registry's NATS streams: one server. A cluster
/// of three (`cargo xtask cluster`) keeps three, so it survives one loss.
pub const DEFAULT_REGISTRY_REPLICAS: u64 = 1;
/// Default refusals an upload remembers (see `registry/validate.rs`).
pub const DEFAULT_REFUSALS_KEPT: usize = 64;
/// Default time a refusal is remembered: a minute, so a refusal that was
/// the load's and not the module's does not stick.
pub const DEFAULT_REFUSAL_MEMORY_MS: u64 = 60_000;
/// Default time one registry write waits for NATS JetStream before 503.
pub const DEFAULT_NATS_WRITE_TIMEOUT_MS: u64 = 3_000;
/// Default concurrency of `/api/run`'s demo tenant (its queue and wait are
/// the tenants file's defaults).
pub const DEFAULT_RUN_CONCURRENCY: u64 = 4;
/// Default wall-clock budget of an upload's smoke call (Go's runtime start
/// and one small call: a few ms of CPU, so 1.5 s leaves hundreds of times
/// that for a busy machine). A module that sleeps or spins in `_initialize`
/// is refused this long after its compile, and holds no slot beyond it.
pub const DEFAULT_VALIDATION_BUDGET_MS: u64 = 1_500;
/// Default time a client has to send its request headers.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default time a client has to send a whole request body (a 32 MiB upload
/// at 2 MiB/s fits).
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 30_000;
/// Default number of paced responses `/api/lessons/throttled/…` serves at
/// once (a browser opens six connections per host).
pub const DEFAULT_LESSON_THROTTLED_STREAMS: u32 = 6;
/// Default time a paced lesson answer's reader gets beyond twice the
/// transfer time before its place is given to someone else.
pub const DEFAULT_LESSON_SLOW_READER_GRACE_MS: u64 = 10_000;
/// Seconds a client is told to wait when an upload finds the pool busy:
/// fixed, because a smoke call is over in milliseconds.
pub const UPLOAD_RETRY_AFTER_SECS: u64 = 1;
/// Shortest admin token accepted (bytes): 256 bits of a random token.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 32;

/// The sandbox limits of a default configuration, for tests, examples and
/// benchmarks that build a [`crate::sandbox::Sandbox`] directly.
pub const SANDBOX_DEFAULTS: SandboxLimits = SandboxLimits {
    memory_pages: DEFAULT_MEMORY_PAGES,
    deadline: Duration::from_millis(DEFAULT_DEADLINE_MS),
    slots: DEFAULT_SLOTS,
    max_input_bytes: DEFAULT_MAX_INPUT,
    max_output_bytes: DEFAULT_MAX_OUTPUT,
    table_elements: DEFAULT_TABLE_ELEMENTS,
    threads: None,
    log_line_bytes: DEFAULT_LOG_LINE_BYTES,
    log_lines: DEFAULT_LOG_LINES,
    stderr_bytes: DEFAULT_STDERR_BYTES,
    pooling: true,
};

/// The upload limits of a default configuration, for tests that open a
/// [`crate::registry::Registry`] directly.
pub const VALIDATION_DEFAULTS: ValidationLimits = ValidationLimits {
    smoke_budget: Duration::from_millis(DEFAULT_VALIDATION_BUDGET_MS),
    retry_after_secs: UPLOAD_RETRY_AFTER_SECS,
    max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
    refusals_kept: DEFAULT_REFUSALS_KEPT,
    refusal_memory: Duration::from_millis(DEFAULT_REFUSAL_MEMORY_MS),
};

/// Each numeric flag, its value and the range the server can honour.
fn ranges(c: &Config) -> [(&'static str, u64, RangeInclusive<u64>); 21] {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    const HOUR_MS: u64 = 3_600_000;
    const TEN_MIN_MS: u64 = 600_000;
    let size = |n: usize| n as u64;
    [
        ("--sandbox-memory-pages", c.sandbox_memory_pages, 1..=65_536),
        ("--sandbox-deadline-ms", c.sandbox_deadline_ms, 1..=HOUR_MS),
        ("--sandbox-slots", c.sandbox_slots.into(), 1..=4096),
        ("--sandbox-max-input", size(c.sandbox_max_input), 1..=GIB),
        ("--sandbox-max-output", c.sandbox_max_output.into(), 1..=GIB),
        (
            "--sandbox-table-elements",
            c.sandbox_table_elements.into(),
            1..=MIB,
        ),
        (
            "--sandbox-threads",
            c.sandbox_threads.map_or(1, u64::from),
            1..=1024,
        ),
        (
            "--sandbox-log-line-bytes",
            size(c.sandbox_log_line_bytes),
            1..=MIB,
        ),
        ("--sandbox-log-lines", size(c.sandbox_log_lines), 1..=65_536),
        (
            "--sandbox-stderr-bytes",
            size(c.sandbox_stderr_bytes),
            1..=MIB,
        ),
        ("--log-header-budget", size(c.log_header_budget), 0..=65_536),
        ("--max-module-bytes", size(c.max_module_bytes), 1..=GIB),
        (
            "--upload-refusals-kept",
            size(c.upload_refusals_kept),
            0..=65_536,
        ),
        (
            "--upload-refusal-memory-ms",
            c.upload_refusal_memory_ms,
            0..=24 * HOUR_MS,
        ),
        (
            "--validation-budget-ms",
            c.validation_budget_ms,
            1..=TEN_MIN_MS,
        ),
        (
            "--nats-write-timeout-ms",
            c.nats_write_timeout_ms,
            1..=TEN_MIN_MS,
        ),
        // JetStream keeps at most 5 copies of a stream.
        ("--registry-replicas", c.registry_replicas, 1..=5),
        ("--run-concurrency", c.run_concurrency, 1..=1024),
        (
            "--header-read-timeout-ms",
            c.header_read_timeout_ms,
            1..=TEN_MIN_MS,
        ),
        (
            "--body-read-timeout-ms",
            c.body_read_timeout_ms,
            1..=HOUR_MS,
        ),
        (
            "--lesson-throttled-streams",
            c.lesson_throttled_streams.into(),
            1..=1024,
        ),
    ]
}

/// Every numeric value within its range, or the first that is not.
pub(super) fn check_ranges(config: &Config) -> Result<(), ConfigError> {
    let grace = (
        "--lesson-slow-reader-grace-ms",
        config.lesson_slow_reader_grace_ms,
        1..=3_600_000,
    );
    for (flag, value, range) in ranges(config).into_iter().chain([grace]) {
        if !range.contains(&value) {
            return Err(ConfigError {
                flag,
                reason: format!("{value} is outside {}..={}", range.start(), range.end()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flag and what makes its value absurd.
    type Absurd = (&'static str, fn(&mut Config));

    #[test]
    fn every_limit_refuses_zero_or_a_huge_value_naming_its_flag() {
        let ok = Config::with_assets_dir("site");
        assert!(ok.check().is_ok());
        let cases: [Absurd; 14] = [
            ("--registry-replicas", |c| c.registry_replicas = 0),
            ("--registry-replicas", |c| c.registry_replicas = 6),
            ("--sandbox-max-output", |c| c.sandbox_max_output = 0),
            ("--sandbox-max-output", |c| c.sandbox_max_output = u32::MAX),
            ("--sandbox-table-elements", |c| c.sandbox_table_elements = 0),
            ("--sandbox-threads", |c| c.sandbox_threads = Some(0)),
            ("--sandbox-threads", |c| c.sandbox_threads = Some(1 << 20)),
            ("--sandbox-log-line-bytes", |c| c.sandbox_log_line_bytes = 0),
            ("--sandbox-log-lines", |c| c.sandbox_log_lines = usize::MAX),
            ("--sandbox-stderr-bytes", |c| c.sandbox_stderr_bytes = 0),
            ("--log-header-budget", |c| c.log_header_budget = 1 << 30),
            ("--max-module-bytes", |c| c.max_module_bytes = 0),
            ("--nats-write-timeout-ms", |c| c.nats_write_timeout_ms = 0),
            ("--lesson-slow-reader-grace-ms", |c| {
                c.lesson_slow_reader_grace_ms = u64::MAX
            }),
        ];
        for (flag, absurd) in cases {
            let mut c = ok.clone();
            absurd(&mut c);
            assert_eq!(c.check().unwrap_err().flag, flag);
        }
        let mut c = ok.clone();
        c.upload_refusals_kept = 1 << 40;
        assert_eq!(c.check().unwrap_err().flag, "--upload-refusals-kept");
        c.upload_refusals_kept = 0;
        c.upload_refusal_memory_ms = 0;
        c.log_header_budget = 0;
        assert!(
            c.check().is_ok(),
            "0 turns the memo and the log headers off"
        );
    }

    #[test]
    fn the_defaults_are_the_limits_that_were_constants_in_the_code() {
        let config = Config::with_assets_dir("site");
        let sandbox = config.sandbox_limits();
        assert_eq!(sandbox.max_output_bytes, 16 * 1024 * 1024);
        assert_eq!(sandbox.table_elements, 65_536);
        assert_eq!(sandbox.threads, None, "one per core");
        assert_eq!(sandbox.log_line_bytes, 4096);
        assert_eq!(sandbox.log_lines, 64);
        assert_eq!(sandbox.stderr_bytes, 16 * 1024);
        assert_eq!(config.log_header_budget, 8 * 1024);
        assert_eq!(config.nats_write_timeout(), Duration::from_secs(3));
        assert_eq!(config.lesson_slow_reader_grace(), Duration::from_secs(10));
        let validation = config.validation_limits();
        assert_eq!(validation.max_module_bytes, 32 * 1024 * 1024);
        assert_eq!(validation.refusals_kept, 64);
        assert_eq!(validation.refusal_memory, Duration::from_secs(60));
        assert_eq!(validation.retry_after_secs, 1);
        let parsed = <Config as clap::Parser>::try_parse_from(["wip-server"]).unwrap();
        assert_eq!(
            format!("{:?}", parsed.sandbox_limits()),
            format!("{sandbox:?}")
        );
        assert_eq!(
            format!("{:?}", parsed.validation_limits()),
            format!("{validation:?}")
        );
        assert_eq!(format!("{sandbox:?}"), format!("{SANDBOX_DEFAULTS:?}"));
        assert_eq!(
            format!("{validation:?}"),
            format!("{VALIDATION_DEFAULTS:?}")
        );
    }
}
