//! The Prometheus stages of `cargo xtask test`: promtool's checks of the
//! shipped config and rules, the rules' unit tests (counted per case, since
//! promtool prints no count, so an emptied test file fails), and the
//! real-Prometheus test of the server. Each fails loudly when Debian's
//! Prometheus is missing: `cargo xtask setup` installs it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Counts, StageResult, stage};
use crate::{cmd, paths, pins};

const CONFIG: &str = "deploy/prometheus/prometheus.yml";
const RULES: &str = "deploy/prometheus/rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/rules_test.yml";
/// The `#[ignore]`d test in `server/tests/prometheus.rs`. The stage builds
/// the workspace stage's targets (already built: other binaries run no
/// test) and picks it by name: `--test prometheus` alone resolves features
/// for one package, so it compiled ~110 crates again (415 s in CI).
const PROMETHEUS_TEST: &str =
    "a_real_prometheus_scrapes_the_server_and_evaluates_the_shipped_rules";

/// Runs the four stages.
pub(super) fn stages() -> Vec<StageResult> {
    let promtool = || cmd::new(pins::PROMTOOL);
    vec![
        with_tool("promtool check config", pins::PROMTOOL, false, || {
            stage(
                "promtool check config",
                promtool().args(["check", "config", CONFIG]),
                false,
            )
        }),
        with_tool("promtool check rules", pins::PROMTOOL, false, || {
            stage(
                "promtool check rules",
                promtool().args(["check", "rules", RULES]),
                false,
            )
        }),
        with_tool("promtool test rules", pins::PROMTOOL, true, rule_tests),
        with_tool(
            "real Prometheus (scrape, rules)",
            pins::PROMETHEUS,
            true,
            || {
                stage(
                    "real Prometheus (scrape, rules)",
                    cmd::new("cargo")
                        .arg("test")
                        .args(super::HOST_CRATES)
                        .args(super::WORKSPACE_TARGETS)
                        .args(["--", "--ignored", "--exact", PROMETHEUS_TEST])
                        .env("WIP_PROMETHEUS", pins::PROMETHEUS),
                    true,
                )
            },
        ),
    ]
}

/// Runs `run` if `tool` exists, else fails the stage saying how to get it.
fn with_tool(
    name: &'static str,
    tool: &str,
    expects_tests: bool,
    run: impl FnOnce() -> StageResult,
) -> StageResult {
    if Path::new(tool).is_file() {
        return run();
    }
    eprintln!(
        "\n==> [{name}] FAILED: {tool} is missing. `cargo xtask setup` installs Debian's \
         prometheus package (prometheus + promtool {}).",
        pins::PROMETHEUS_VERSION
    );
    StageResult::ended(name, false, expects_tests.then_some(Counts::default()), 0.0)
}

/// `promtool test rules`, counted: every case of the test file passed when
/// promtool succeeds, and each case it reports failed otherwise.
fn rule_tests() -> StageResult {
    let name = "promtool test rules";
    let mut promtool = cmd::new(pins::PROMTOOL);
    promtool.args(["test", "rules", RULE_TESTS]);
    println!("\n==> [{name}] {}", cmd::describe(&promtool));
    let started = Instant::now();
    let file = std::fs::read_to_string(paths::root().join(RULE_TESTS)).unwrap_or_default();
    let rules = std::fs::read_to_string(paths::root().join(RULES)).unwrap_or_default();
    let cases = cases(&file, &Rules::parse(&rules).records).len() as u64;
    let (ok, counts) = match output(&mut promtool) {
        Ok((success, text)) => {
            let failed = failures(&text).min(cases);
            let counts = Counts {
                passed: if success { cases } else { cases - failed },
                failed,
                ignored: 0,
            };
            (success && cases > 0, counts)
        }
        Err(err) => {
            eprintln!("[{name}] {err:#}");
            (false, Counts::default())
        }
    };
    if cases == 0 {
        eprintln!("[{name}] {RULE_TESTS} has no test cases: treating the stage as failed");
    }
    StageResult::ended(name, ok, Some(counts), started.elapsed().as_secs_f64())
}

/// Runs `cmd`, echoes its output, returns its success and output.
fn output(cmd: &mut Command) -> anyhow::Result<(bool, String)> {
    let out = cmd.stdin(Stdio::null()).output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    Ok((out.status.success(), text))
}

/// The rule names of a rules file, read line by line (`- alert: X`,
/// `- record: x`): the workspace has no YAML parser, and the file keeps
/// one rule name per line.
#[derive(Debug, Default)]
struct Rules {
    alerts: Vec<String>,
    records: Vec<String>,
}

impl Rules {
    fn parse(text: &str) -> Self {
        let mut rules = Self::default();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix("- alert:") {
                rules.alerts.push(name.trim().to_owned());
            } else if let Some(name) = line.strip_prefix("- record:") {
                rules.records.push(name.trim().to_owned());
            }
        }
        rules
    }
}

/// One case of a rules test file: an `alertname` at an eval time, or an
/// `expr` of a recording rule, and whether it expects alerts or samples.
#[derive(Debug, PartialEq, Eq)]
struct Case {
    rule: String,
    fires: bool,
}

/// The cases of a rules test file. An `expr` case belongs to the first
/// recording rule it names (or to the expression itself).
fn cases(text: &str, records: &[String]) -> Vec<Case> {
    let mut found = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if let Some(alert) = line.strip_prefix("alertname:") {
            open = Some(alert.trim().to_owned());
        } else if let Some(expr) = line.strip_prefix("- expr:") {
            let expr = expr.trim();
            let record = records.iter().find(|r| expr.contains(r.as_str()));
            open = Some(record.map_or(expr, String::as_str).to_owned());
        } else if let Some(expected) = line
            .strip_prefix("exp_alerts:")
            .or_else(|| line.strip_prefix("exp_samples:"))
            && let Some(rule) = open.take()
        {
            found.push(Case {
                rule,
                fires: expected.trim() != "[]",
            });
        }
    }
    found
}

/// Failed cases in promtool's report: one `alertname: X, time: T,` or
/// `expr: "E", time: T,` line each.
fn failures(report: &str) -> u64 {
    report
        .lines()
        .map(str::trim)
        .filter(|l| {
            (l.starts_with("alertname: ") || l.starts_with("expr: ")) && l.contains(", time: ")
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_firing_and_a_quiet_unit_test() {
        let read = |path| std::fs::read_to_string(paths::root().join(path)).unwrap();
        let rules = Rules::parse(&read(RULES));
        assert!(
            rules.alerts.len() >= 5 && !rules.records.is_empty(),
            "{rules:?}"
        );
        let cases = cases(&read(RULE_TESTS), &rules.records);
        let mut missing = Vec::new();
        for rule in rules.alerts.iter().chain(&rules.records) {
            for fires in [true, false] {
                if !cases.iter().any(|c| &c.rule == rule && c.fires == fires) {
                    missing.push(format!(
                        "{rule}: no case where it {}",
                        if fires { "fires" } else { "stays quiet" }
                    ));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{RULE_TESTS} lacks:\n{}",
            missing.join("\n")
        );
        let unknown: Vec<_> = cases
            .iter()
            .filter(|c| !rules.alerts.contains(&c.rule) && !rules.records.contains(&c.rule))
            .collect();
        assert!(unknown.is_empty(), "cases of no rule: {unknown:?}");
    }

    #[test]
    fn reads_alert_and_expression_cases() {
        let text = "\
tests:
  - interval: 1m
    alert_rule_test:
      - eval_time: 5m
        alertname: Quiet
        exp_alerts: []
      # alertname: NotACase
      - eval_time: 9m
        alertname: Loud
        exp_alerts:
          - exp_labels: {severity: warning}
    promql_expr_test:
      - expr: round(digest:x:p99, 0.1)
        eval_time: 1m
        exp_samples:
          - labels: '{digest=\"d\"}'
            value: 1
";
        let case = |rule: &str, fires| Case {
            rule: rule.to_owned(),
            fires,
        };
        assert_eq!(
            cases(text, &["digest:x:p99".to_owned()]),
            [
                case("Quiet", false),
                case("Loud", true),
                case("digest:x:p99", true)
            ]
        );
    }

    #[test]
    fn counts_the_cases_promtool_reports_failed() {
        let report = r#"Unit Testing:  rules_test.yml
  FAILED:
    name: deadline trips,
    alertname: WipPluginDeadlineTrips, time: 15m,
        exp:[
            0:
              Labels:{alertname="WipPluginDeadlineTrips", digest="d-slow", severity="warning"}
            ],
        got:[]
    expr: "digest:wip_plugin_latency_seconds:p99_5m", time: 10m,
        exp: {digest="d1"} 7.5E-02
        got: {digest="d1"} 7.500000000000018E-02
"#;
        assert_eq!(failures(report), 2);
        assert_eq!(failures("Unit Testing:  rules_test.yml\n  SUCCESS\n"), 0);
    }
}
