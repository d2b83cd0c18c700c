//! Every limit is set in `Config` (its default in README's limits table):
//! no numeric literal sizes a buffer or sets a limit anywhere else in the
//! server. A number that is not an operator's choice lives in a
//! `limits.rs` (or `config.rs`) with the reason it is fixed.

use super::invariants::non_test_code;
use super::tests::{code_lines, root, rust_sources};

/// Words that make a constant a limit.
const LIMIT_WORDS: [&str; 7] = [
    "MAX", "LIMIT", "BUDGET", "CAPACITY", "TIMEOUT", "BYTES", "LINES",
];

/// Calls whose literal argument is a time limit or a buffer's size.
const SIZING_CALLS: [&str; 6] = [
    "Duration::from_secs(",
    "Duration::from_millis(",
    "Duration::from_micros(",
    "Duration::from_nanos(",
    "Duration::from_secs_f64(",
    "with_capacity(",
];

/// Where a literal may stay, and why: (path or folder, text on the line,
/// reason).
const ALLOWED: [(&str, &str, &str); 10] = [
    (
        "server/src/testing/",
        "Duration::from_",
        "the test harness's waits for child processes, not a server limit",
    ),
    (
        "server/src/testing/nats.rs",
        "CLUSTER_WRITE_TIMEOUT_MS",
        "the value the test cluster passes to the replicas' --nats-write-timeout-ms",
    ),
    (
        "server/src/lessons/throttle.rs",
        "Duration::from_secs_f64(2.0 * profile.transfer_ms",
        "twice the transfer time: the rule for a slow reader; the grace beyond it is a flag",
    ),
    (
        "server/src/lessons/fairness.rs",
        "Duration::from_",
        "the fairness lesson's scenario (window, gate, backoff) is what it shows",
    ),
    (
        "server/src/lessons/fairness/load.rs",
        "Duration::from_secs(1) / GOOD_RATE",
        "one second divided by the lesson's rate: a pace, not a limit",
    ),
    (
        "server/src/lessons/throttle.rs",
        "const CHUNK_BYTES",
        "the emulated link's granularity, part of what the lesson shows",
    ),
    (
        "server/src/demo/mod.rs",
        "const SECRET_BYTES",
        "256-bit generated secrets: a security floor, not a tunable",
    ),
    (
        "server/src/metrics/mod.rs",
        "Duration::from_secs(60)",
        "`/api/stats`' last minute: the statistic's definition",
    ),
    (
        "server/src/lib.rs",
        "Duration::from_millis(50)",
        "the pause after a failed accept (no file descriptor): a back-off",
    ),
    (
        "server/src/assets/catalog.rs",
        "with_capacity(3)",
        "one entry per encoding: brotli, gzip, identity",
    ),
];

/// Whether `path` is where limits and fixed numbers belong.
fn is_limits_home(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file == "config.rs" || file == "limits.rs" || path.starts_with("server/src/config/")
}

/// Whether `text` starts with a numeric literal (after spaces).
fn starts_numeric(text: &str) -> bool {
    text.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// The numeric literals on `line` that size a buffer or set a limit.
fn sizing_literals(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    for call in SIZING_CALLS {
        for (at, _) in line.match_indices(call) {
            if starts_numeric(&line[at + call.len()..]) {
                found.push(format!("`{call}<literal>`"));
            }
        }
    }
    let trimmed = line.trim_start();
    let declaration = [
        "const ",
        "pub const ",
        "pub(super) const ",
        "pub(crate) const ",
    ]
    .iter()
    .find_map(|prefix| trimmed.strip_prefix(prefix));
    if let Some((name, value)) = declaration.and_then(|d| d.split_once('=')) {
        let name = name.split(':').next().unwrap_or_default().trim();
        let value = value.trim_start();
        let literal = starts_numeric(value) || value.starts_with("Duration::");
        if literal && LIMIT_WORDS.iter().any(|w| name.contains(w)) {
            found.push(format!("`const {name}`"));
        }
    }
    found
}

#[test]
fn the_limit_detector_catches_each_pattern_and_not_a_configured_value() {
    for line in [
        "const MAX_OUTPUT_BYTES: u32 = 16 * 1024 * 1024;",
        "pub const LOG_HEADER_BUDGET: usize = 8 * 1024;",
        "const WRITE_TIMEOUT: Duration = Duration::from_secs(3);",
        "pub(super) const STDERR_CAPACITY: usize = 16_384;",
        "    tokio::time::sleep(Duration::from_millis(50)).await;",
        ".connection_timeout(Duration::from_secs(1))",
        "let mut out = Vec::with_capacity(3);",
    ] {
        assert!(!sizing_literals(line).is_empty(), "missed: {line}");
    }
    for line in [
        "const WRITE_TIMEOUT: Duration = Duration::from_secs(3);",
        "let t = Duration::from_secs(1) + Duration::from_millis(2);",
    ] {
        assert_eq!(sizing_literals(line).len(), 2, "{line}");
    }
    for line in [
        "let budget = state.config().log_header_budget;",
        "Duration::from_millis(self.nats_write_timeout_ms)",
        "String::with_capacity(message.len())",
        "pub const KV_BUCKET: &str = \"wip-registry\";",
        "const GOOD_ROWS: usize = 5;",
        "let deadline = Duration::from_secs(seconds.into());",
    ] {
        assert!(sizing_literals(line).is_empty(), "false alarm: {line}");
    }
    assert!(is_limits_home("server/src/sandbox/limits.rs"));
    assert!(is_limits_home("server/src/config/limits.rs"));
    assert!(is_limits_home("server/src/tenants/config.rs"));
    assert!(!is_limits_home("server/src/registry/nats.rs"));
}

#[test]
fn limits_are_set_in_config_not_in_code() {
    let mut used = vec![false; ALLOWED.len()];
    let mut found = Vec::new();
    for (path, text) in rust_sources() {
        if !path.starts_with("server/src/") || is_limits_home(&path) {
            continue;
        }
        for (n, line) in code_lines(non_test_code(&path, &text)) {
            let literals = sizing_literals(line);
            let allowed = ALLOWED
                .iter()
                .position(|(p, needle, _)| path.starts_with(p) && line.contains(needle));
            match allowed {
                Some(i) if !literals.is_empty() => used[i] = true,
                _ => found.extend(
                    literals
                        .into_iter()
                        .map(|what| format!("{path}:{n}: {what}: {}", line.trim())),
                ),
            }
        }
    }
    assert!(
        found.is_empty(),
        "a limit in code: make it a `Config` field (flag, env, README's limits table), or, \
         if it is no operator's choice, move it to a limits.rs saying why it is fixed:\n{}",
        found.join("\n")
    );
    let stale: Vec<String> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((path, needle, _), _)| format!("{path}: {needle}"))
        .collect();
    assert!(
        stale.is_empty(),
        "allowed literals that are gone: {stale:?}"
    );
}

/// `(flag, env)` of every numeric field of `Config` in config.rs: its limits.
fn config_limits(config: &str) -> Vec<(String, String)> {
    let start = config.find("pub struct Config {").expect("struct Config");
    let body = &config[start..];
    let body = &body[..body.find("\n}").expect("end of struct Config")];
    let numeric = [
        "u8",
        "u16",
        "u32",
        "u64",
        "usize",
        "Option<u32>",
        "Option<u64>",
    ];
    let (mut flag, mut env, mut limits) = (None, None, Vec::new());
    for line in body.lines().map(str::trim) {
        let quoted = |key: &str| -> Option<String> {
            let rest = &line[line.find(key)? + key.len()..];
            Some(rest.split('"').nth(1)?.to_owned())
        };
        if line.starts_with("#[arg(") {
            flag = quoted("long =").map(|f| format!("--{f}"));
            env = quoted("env =");
        } else if let Some((name, ty)) = line
            .strip_prefix("pub ")
            .and_then(|field| field.trim_end_matches(',').split_once(": "))
        {
            if numeric.contains(&ty) {
                let flag = flag
                    .take()
                    .unwrap_or_else(|| format!("--{}", name.replace('_', "-")));
                limits.push((flag, env.take().unwrap_or_default()));
            }
            (flag, env) = (None, None);
        }
    }
    limits
}

#[test]
fn every_config_limit_is_in_the_readmes_limits_table() {
    let root = root();
    let config = std::fs::read_to_string(root.join("server/src/config.rs")).unwrap();
    let limits = config_limits(&config);
    assert!(limits.len() >= 20, "parsed Config's limits: {limits:?}");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("\n### Limits\n")
        .expect("README: a `### Limits` section");
    let rows: Vec<&str> = readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    let missing: Vec<String> = limits
        .iter()
        .filter(|(flag, env)| {
            !rows.iter().any(|row| {
                row.starts_with(&format!("| `{flag}` |")) && row.contains(&format!("`{env}`"))
            })
        })
        .map(|(flag, env)| format!("{flag} ({env})"))
        .collect();
    assert!(
        missing.is_empty(),
        "limits missing from README's limits table (flag, env, default, what it bounds): {missing:?}"
    );
    assert_eq!(
        rows.len(),
        limits.len(),
        "one row per limit, no other:\n{}",
        rows.join("\n")
    );
}
