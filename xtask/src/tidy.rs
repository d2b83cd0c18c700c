//! Tidy: the architecture's invariants as tests over the source tree, in
//! the style of rust-analyzer's `xtask/src/tidy.rs`. Each rule is a
//! sentence of ARCHITECTURE.md that would otherwise drift.
//!
//! They run with the workspace tests (`cargo test -p xtask`).

#[cfg(test)]
mod cycles;
#[cfg(test)]
mod function_length;
#[cfg(test)]
mod invariants;
#[cfg(test)]
mod limits;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Longest a Rust source file may grow before it is split by concern.
    const MAX_LINES: usize = 400;

    pub(super) fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask sits in the workspace root")
            .to_owned()
    }

    /// Every file under `dir` with one of `extensions`, skipping build output.
    pub(super) fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("readable directory").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let skip = name.starts_with('.')
                    || ["target", "node_modules", "dist"].contains(&name.as_str());
                if !skip {
                    files(&path, extensions, out);
                }
            } else if extensions.iter().any(|e| name.ends_with(e)) {
                out.push(path);
            }
        }
    }

    /// Workspace-relative path and text of every Rust source.
    pub(super) fn rust_sources() -> Vec<(String, String)> {
        let root = root();
        let mut paths = Vec::new();
        files(&root, &[".rs"], &mut paths);
        let sources: Vec<_> = paths
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("UTF-8 source");
                (p.strip_prefix(&root).unwrap().display().to_string(), text)
            })
            .collect();
        assert!(sources.len() > 50, "found the workspace's sources");
        sources
    }

    /// The lines of `text` that are code, not comments.
    pub(super) fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with("//"))
            .map(|(i, l)| (i + 1, l))
    }

    pub(super) fn violations(rule: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
        rust_sources()
            .iter()
            .flat_map(|(path, text)| rule(path, text))
            .collect()
    }

    #[test]
    fn only_the_sandbox_names_wasmtime_types() {
        let found = violations(|path, text| {
            if path.starts_with("server/src/sandbox/") {
                return Vec::new();
            }
            // Split so this file does not match itself.
            let (core, wasi) = (concat!("wasmtime", "::"), concat!("wasmtime_wasi", "::"));
            code_lines(text)
                .filter(|(_, l)| l.contains(core) || l.contains(wasi))
                .map(|(n, l)| format!("{path}:{n}: {}", l.trim()))
                .collect()
        });
        assert!(
            found.is_empty(),
            "wasmtime outside server/src/sandbox/:\n{}",
            found.join("\n")
        );
    }

    /// Calls into the sandbox (`Sandbox::call` and its wrappers), as they
    /// read once a file's code is stripped of whitespace, so a call split
    /// over lines is still one match.
    const SANDBOX_CALLS: [&str; 7] = [
        "sandbox.call(",
        "sandbox().call(",
        ".invoke(",
        ".invoke_compiled(",
        ".call_add(",
        ".invoke_blocking(",
        ".call_add_blocking(",
    ];

    /// Where the server may call into the sandbox, and why.
    const SANDBOX_CALLERS: [(&str, &str); 2] = [
        ("server/src/sandbox/", "the sandbox itself"),
        (
            "server/src/pipeline.rs",
            "the one pipeline: gate, limits, metrics, log line",
        ),
    ];

    #[test]
    fn only_the_pipeline_calls_guests() {
        let stripped = |text: &str| -> String {
            code_lines(text)
                .flat_map(|(_, l)| l.chars())
                .filter(|c| !c.is_whitespace())
                .collect()
        };
        let found = violations(|path, text| {
            let allowed = SANDBOX_CALLERS.iter().any(|(p, _)| path.starts_with(p));
            if !path.starts_with("server/src/") || allowed {
                return Vec::new();
            }
            let code = stripped(text);
            SANDBOX_CALLS
                .iter()
                .filter(|call| code.contains(*call))
                .map(|call| format!("{path}: calls `{call}`"))
                .collect()
        });
        assert!(
            found.is_empty(),
            "a guest call outside the pipeline (take `pipeline::Pipeline::call`):\n{}",
            found.join("\n")
        );
        // The patterns are alive: the pipeline's own call matches them.
        let pipeline = std::fs::read_to_string(root().join("server/src/pipeline.rs")).unwrap();
        assert!(
            SANDBOX_CALLS
                .iter()
                .any(|c| stripped(&pipeline).contains(c)),
            "the patterns no longer match the pipeline's sandbox call"
        );
    }

    #[test]
    fn components_never_touch_js_values() {
        let found = violations(|path, text| {
            if !path.starts_with("frontend/src/components/") {
                return Vec::new();
            }
            code_lines(text)
                .filter(|(_, l)| l.contains("JsValue"))
                .map(|(n, l)| format!("{path}:{n}: {}", l.trim()))
                .collect()
        });
        assert!(
            found.is_empty(),
            "JsValue in a component:\n{}",
            found.join("\n")
        );
    }

    /// Statuses a handler may choose for a success; every error status is
    /// `server/src/error.rs`'s to choose. The asset responder chooses the
    /// conditional and range statuses (304, 206) because they are not
    /// errors but alternative successes of one GET.
    const SUCCESS_STATUSES: [&str; 6] = [
        "OK",
        "CREATED",
        "ACCEPTED",
        "NO_CONTENT",
        "PARTIAL_CONTENT",
        "NOT_MODIFIED",
    ];

    #[test]
    fn only_error_rs_chooses_an_error_status() {
        let found = violations(|path, text| {
            let server_code =
                path.starts_with("server/src/") || path.starts_with("server/examples/");
            if !server_code || path == "server/src/error.rs" {
                return Vec::new();
            }
            let mut found = Vec::new();
            for (n, line) in code_lines(text) {
                for (i, _) in line.match_indices("StatusCode::") {
                    let name: String = line[i + "StatusCode::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && !SUCCESS_STATUSES.contains(&name.as_str()) {
                        found.push(format!("{path}:{n}: StatusCode::{name}"));
                    }
                }
            }
            found
        });
        assert!(
            found.is_empty(),
            "error statuses chosen outside error.rs:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn no_rust_source_file_passes_400_lines() {
        let found = violations(|path, text| {
            let lines = text.lines().count();
            if lines > MAX_LINES {
                vec![format!("{path}: {lines} lines")]
            } else {
                Vec::new()
            }
        });
        assert!(
            found.is_empty(),
            "split these by concern:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_only_unsafe_code_in_the_workspace_is_the_reviewed_artifact_loader() {
        // Split so this file does not match itself.
        let allow = concat!("allow(", "unsafe_code)");
        let found = violations(|path, text| {
            if text.contains(allow) {
                vec![path.to_owned()]
            } else {
                Vec::new()
            }
        });
        assert_eq!(found, ["server/src/sandbox/artifact.rs"]);
        let artifact =
            std::fs::read_to_string(root().join("server/src/sandbox/artifact.rs")).unwrap();
        assert_eq!(
            artifact.matches(concat!("unsafe", " {")).count(),
            1,
            "one unsafe block, under its SAFETY comment"
        );
        assert!(artifact.contains("// SAFETY:"));
    }

    /// The paths the code map's first column names: `a/b/c.rs`, a
    /// directory `a/b/`, or a file next to the previous one (`csp.rs`).
    fn code_map_paths(architecture: &str) -> Vec<String> {
        let start = architecture.find("## Code map").expect("a code map");
        let mut paths = Vec::new();
        for row in architecture[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
        {
            if !row.starts_with('|') {
                break;
            }
            let first = row.split('|').nth(1).unwrap_or_default();
            let mut last_dir = String::new();
            for (i, part) in first.split('`').enumerate() {
                if i % 2 == 0 || part.is_empty() || part.contains(' ') || part == "path" {
                    continue;
                }
                let path = if part.contains('/') {
                    part.to_owned()
                } else {
                    format!("{last_dir}{part}")
                };
                last_dir = path
                    .rsplit_once('/')
                    .map(|(d, _)| format!("{d}/"))
                    .unwrap_or_default();
                paths.push(path);
            }
        }
        paths
    }

    #[test]
    fn every_browser_test_is_behind_the_browser_feature() {
        // The workspace-tests stage builds e2e with the server (one feature
        // resolution) and skips its browser tests with
        // `--no-default-features`: a browser test without
        // `required-features` would run there, beside the server's tests.
        let root = root();
        let manifest = std::fs::read_to_string(root.join("tests/Cargo.toml")).unwrap();
        let gated: Vec<String> = manifest
            .split("[[test]]")
            .skip(1)
            .filter(|block| block.contains("required-features = [\"browser\"]"))
            .filter_map(|block| {
                let line = block.lines().find(|l| l.trim_start().starts_with("name"))?;
                Some(line.split('"').nth(1)?.to_owned())
            })
            .collect();
        let mut tests = Vec::new();
        files(&root.join("tests/tests"), &[".rs"], &mut tests);
        let ungated: Vec<String> = tests
            .iter()
            .filter(|p| p.parent() == Some(root.join("tests/tests").as_path()))
            .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
            .filter(|stem| !gated.contains(stem))
            .collect();
        assert!(gated.len() >= 4, "parsed tests/Cargo.toml: {gated:?}");
        assert!(
            ungated.is_empty(),
            "add a [[test]] with required-features = [\"browser\"] to tests/Cargo.toml for: {ungated:?}"
        );
    }

    #[test]
    fn the_code_map_names_only_real_paths_and_covers_every_source_file() {
        let root = root();
        let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
        let listed = code_map_paths(&architecture);
        assert!(listed.len() > 30, "parsed the code map: {listed:?}");
        let missing: Vec<_> = listed.iter().filter(|p| !root.join(p).exists()).collect();
        assert!(
            missing.is_empty(),
            "the code map names paths that do not exist: {missing:?}"
        );

        let mut sources = Vec::new();
        for dir in ["server", "frontend", "xtask", "tests", "wire", "guest-go"] {
            files(&root.join(dir), &[".rs", ".go"], &mut sources);
        }
        let unlisted: Vec<String> = sources
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .filter(|p| {
                !listed
                    .iter()
                    .any(|l| p == l || (l.ends_with('/') && p.starts_with(l.as_str())))
            })
            .collect();
        assert!(
            unlisted.is_empty(),
            "source files missing from ARCHITECTURE.md's code map:\n{}",
            unlisted.join("\n")
        );
    }
}
