//! Test counts: what a stage's output says passed, failed and was ignored.

/// Test counts summed over every `test result:` line a stage printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

/// Parses libtest's `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line
/// (also printed by wasm-bindgen-test-runner), or one top-level `go test -v`
/// result line (`--- PASS: TestX (0.00s)`; indented subtests are not counted).
pub(super) fn parse_test_result(line: &str) -> Option<Counts> {
    for (prefix, counts) in [
        (
            "--- PASS: ",
            Counts {
                passed: 1,
                failed: 0,
                ignored: 0,
            },
        ),
        (
            "--- FAIL: ",
            Counts {
                passed: 0,
                failed: 1,
                ignored: 0,
            },
        ),
        (
            "--- SKIP: ",
            Counts {
                passed: 0,
                failed: 0,
                ignored: 1,
            },
        ),
    ] {
        if line.starts_with(prefix) {
            return Some(counts);
        }
    }
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut counts = Counts::default();
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(label), Some(number)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "ignored" => counts.ignored = n,
            _ => {}
        }
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_top_level_go_tests_but_not_subtests() {
        let pass = Counts {
            passed: 1,
            failed: 0,
            ignored: 0,
        };
        assert_eq!(
            parse_test_result("--- PASS: TestInspect (0.00s)"),
            Some(pass)
        );
        assert_eq!(
            parse_test_result("    --- PASS: TestInspect/empty (0.00s)"),
            None
        );
        assert_eq!(
            parse_test_result("--- FAIL: TestX (0.01s)").unwrap().failed,
            1
        );
    }

    #[test]
    fn parses_libtest_summary_line() {
        let c = parse_test_result(
            "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        );
        assert_eq!(
            c,
            Some(Counts {
                passed: 12,
                failed: 1,
                ignored: 3
            })
        );
    }

    #[test]
    fn ignores_lines_that_are_not_summaries() {
        assert_eq!(parse_test_result("running 3 tests"), None);
        assert_eq!(parse_test_result("test shell::renders ... ok"), None);
    }
}
