//! ARCHITECTURE.md's invariants that had no test of their own: hashed
//! names only from the manifest, a thin `main.rs`, hermetic Go builds,
//! and a build that downloads nothing from GitHub or the Go proxy.

use super::tests::{code_lines, root, violations};

/// The part of `text` that is not a test module (by our convention the
/// `#[cfg(test)] mod ...` comes last), or nothing for a test-only file.
pub(super) fn non_test_code<'a>(path: &str, text: &'a str) -> &'a str {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file == "tests.rs" || file.ends_with("_tests.rs") || path.contains("/tests/") {
        return "";
    }
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let next_is_mod = lines.peek().is_some_and(|next| {
            let next = next.trim_start();
            next.starts_with("mod ") || next.starts_with("#[path")
        });
        if line.trim() == "#[cfg(test)]" && next_is_mod {
            return &text[..offset];
        }
        offset += line.len();
    }
    text
}

/// Content-hashed file names in `line`: `name.<8-16 hex>.ext` or
/// `name-<8-16 hex>[_bg].ext`, for `.wasm`, `.js` and `.css`.
fn hashed_names(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for (start, &b) in bytes.iter().enumerate() {
        if b != b'.' && b != b'-' {
            continue;
        }
        let hex = bytes[start + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            .count();
        if !(8..=16).contains(&hex) {
            continue;
        }
        let rest = &line[start + 1 + hex..];
        let rest = rest.strip_prefix("_bg").unwrap_or(rest);
        let ext = [".wasm", ".js", ".css"]
            .iter()
            .find(|ext| rest.starts_with(**ext));
        if let Some(ext) = ext {
            found.push(format!("{}{ext}", &line[start..start + 1 + hex]));
        }
    }
    found
}

#[test]
fn the_hashed_name_detector_finds_what_the_build_writes() {
    for name in [
        "/frontend-0007cbaac94323f5_bg.wasm",
        "/frontend-0007cbaac94323f5.js",
        "/go/inspector.39100ae5.wasm",
        "/go/wasm_exec.39100ae5.js",
        "/style-42370d2ca72e2086.css",
    ] {
        assert_eq!(hashed_names(name).len(), 1, "{name}");
    }
    for name in ["wasm_exec.js", "index.html", "size-report.json", "a-b.wasm"] {
        assert!(hashed_names(name).is_empty(), "{name}");
    }
}

#[test]
fn neither_the_server_nor_the_frontend_hard_codes_a_hashed_file_name() {
    let found = violations(|path, text| {
        if !(path.starts_with("server/src/") || path.starts_with("frontend/src/")) {
            return Vec::new();
        }
        code_lines(non_test_code(path, text))
            .flat_map(|(n, line)| {
                hashed_names(line)
                    .into_iter()
                    .map(move |name| format!("{path}:{n}: {name}"))
            })
            .collect()
    });
    assert!(
        found.is_empty(),
        "hashed names come from manifest.json, written by the build:\n{}",
        found.join("\n")
    );
    // Test modules are skipped, and they do name hashed files.
    let spa = std::fs::read_to_string(root().join("server/src/assets/spa.rs")).unwrap();
    assert!(!hashed_names(&spa).is_empty());
    assert!(hashed_names(non_test_code("server/src/assets/spa.rs", &spa)).is_empty());
}

#[test]
fn the_servers_main_rs_stays_thin() {
    let path = "server/src/main.rs";
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let code: Vec<&str> = code_lines(&text).map(|(_, line)| line).collect();
    assert!(
        code.len() <= 90,
        "{path} has {} lines of code: move logic into the library, where tests reach it",
        code.len()
    );
    for routing in [
        "Router",
        ".route(",
        ".nest(",
        ".layer(",
        "Sandbox",
        "Registry::",
    ] {
        assert!(
            !code.iter().any(|line| line.contains(routing)),
            "{path} uses `{routing}`: the app is built by `server::app()` so tests drive it"
        );
    }
    assert!(code.iter().any(|line| line.contains("server::serve(")));
}

#[test]
fn go_builds_are_hermetic() {
    let go = std::fs::read_to_string(root().join("xtask/src/go.rs")).unwrap();
    let code: String = code_lines(non_test_code("xtask/src/go.rs", &go))
        .map(|(_, line)| line.trim())
        .collect();
    for setting in [
        r#".env("GOROOT","#,
        r#".env("GOTOOLCHAIN", "local")"#,
        r#".env("GOPROXY", "off")"#,
        r#".env("GOWORK", "off")"#,
        r#".env("CGO_ENABLED", "0")"#,
        r#""-trimpath""#,
        r#""-buildvcs=false""#,
    ] {
        assert!(
            code.contains(setting),
            "xtask/src/go.rs no longer sets {setting}"
        );
    }
}

#[test]
fn the_build_downloads_nothing_from_github_or_the_go_proxy() {
    const FORBIDDEN: [&str; 6] = [
        "github.com",
        "githubusercontent.com",
        "proxy.golang.org",
        "go.dev/dl",
        "dl.google.com",
        "storage.googleapis.com",
    ];
    let found = violations(|path, text| {
        if !path.starts_with("xtask/src/") || path.starts_with("xtask/src/tidy") {
            return Vec::new();
        }
        code_lines(non_test_code(path, text))
            .filter(|(_, line)| FORBIDDEN.iter().any(|host| line.contains(host)))
            .map(|(n, line)| format!("{path}:{n}: {}", line.trim()))
            .collect()
    });
    assert!(
        found.is_empty(),
        "the build may fetch only from crates.io, PyPI, npm and Debian:\n{}",
        found.join("\n")
    );
}

/// The server files that may use the filesystem, and why. A request
/// handler reads only what these loaded at start-up (the assets' catalog,
/// the lesson's module) or what the registry keeps.
const FILESYSTEM_USERS: [(&str, &str); 10] = [
    (
        "server/src/assets/catalog.rs",
        "loads the asset root at start-up",
    ),
    (
        "server/src/demo/mod.rs",
        "reads the demo's plugins at start-up",
    ),
    (
        "server/src/lessons/module.rs",
        "the compile-once lesson's module, read at start-up (no handler here)",
    ),
    (
        "server/src/registry/",
        "the registry's persistence: atomic writes, loads at start-up",
    ),
    (
        "server/src/sandbox/builtins.rs",
        "the built-ins' and the compile cache's artifacts",
    ),
    (
        "server/src/sandbox/load.rs",
        "reads the guests directory at start-up",
    ),
    ("server/src/tenants/", "reads the tenants file at start-up"),
    (
        "server/src/testing/",
        "test harnesses (a cluster's processes and files)",
    ),
    ("server/src/sandbox/builtins_tests.rs", "tests"),
    ("server/src/lessons/throttle_tests.rs", "tests"),
];

#[test]
fn requests_never_touch_the_filesystem_outside_the_listed_loaders() {
    let found = violations(|path, text| {
        let listed = FILESYSTEM_USERS.iter().any(|(p, _)| path.starts_with(p));
        if !path.starts_with("server/src/") || listed {
            return Vec::new();
        }
        code_lines(text)
            .filter(|(_, line)| {
                [
                    "std::fs",
                    "tokio::fs",
                    "File::open",
                    "File::create",
                    "read_dir",
                ]
                .iter()
                .any(|call| line.contains(call))
            })
            .map(|(n, line)| format!("{path}:{n}: {}", line.trim()))
            .collect()
    });
    assert!(
        found.is_empty(),
        "the filesystem outside start-up and the registry (load it once, or list the file with its reason):\n{}",
        found.join("\n")
    );
}

#[test]
fn there_is_no_compression_middleware() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let tower_http = manifest
        .lines()
        .find(|line| line.starts_with("tower-http"))
        .expect("tower-http in the workspace's dependencies");
    assert!(
        !tower_http.contains("compression"),
        "bytes are compressed once, at build time: {tower_http}"
    );
    let found = violations(|path, text| {
        if !path.starts_with("server/") {
            return Vec::new();
        }
        code_lines(text)
            .filter(|(_, line)| {
                line.contains("CompressionLayer") || line.contains("async_compression")
            })
            .map(|(n, _)| format!("{path}:{n}"))
            .collect()
    });
    assert!(found.is_empty(), "a compression middleware: {found:?}");
}

/// Each bullet of ARCHITECTURE.md's invariants, with the test names its
/// `Tests:` clause gives.
fn invariants_and_their_tests(architecture: &str) -> Vec<(String, Vec<String>)> {
    let section = &architecture[architecture
        .find("## Invariants")
        .expect("an invariants section")..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 3]);
    section
        .split("\n- **")
        .skip(1)
        .map(|bullet| {
            let title = bullet.split("**").next().unwrap_or_default().to_owned();
            let names = bullet
                .split_once("Tests:")
                .map(|(_, list)| {
                    list.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            (title, names)
        })
        .collect()
}

#[test]
fn every_invariant_names_tests_that_exist() {
    let root = root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let invariants = invariants_and_their_tests(&architecture);
    assert!(
        invariants.len() >= 27,
        "parsed the invariants: {invariants:?}"
    );
    // Every function with a test attribute in the three lines above it.
    let mut tests = std::collections::BTreeSet::new();
    for (_, text) in super::tests::rust_sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let attributed = lines[i.saturating_sub(3)..i]
                .iter()
                .any(|l| l.contains("#[test]") || l.contains("#[tokio::test"));
            let name = line
                .split_once("fn ")
                .and_then(|(_, rest)| rest.split_once('('))
                .map(|(name, _)| name.trim());
            if let (true, Some(name)) = (attributed, name) {
                tests.insert(name.to_owned());
            }
        }
    }
    let is_test = |name: &str| tests.contains(name);
    let mut problems = Vec::new();
    for (title, names) in &invariants {
        if names.is_empty() {
            problems.push(format!(
                "\"{title}\" names no test (end it with `Tests: ...`)"
            ));
        }
        for name in names.iter().filter(|name| !is_test(name)) {
            problems.push(format!("\"{title}\" names `{name}`, which is not a test"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
