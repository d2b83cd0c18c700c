//! No import cycles between files: in each crate, the files' `crate::` and
//! `super::` paths form a graph with one direction per pair of files. A
//! file may use its ancestors (a module's `mod.rs` holds what its children
//! share); an edge to anything else that leads back is a cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::invariants::non_test_code;
use super::tests::{code_lines, files, root};

/// The crates (and multi-file examples) whose files are checked, by root.
const ROOTS: [&str; 4] = [
    "server/src",
    "frontend/src",
    "xtask/src",
    "server/examples/bench_isolation",
];

/// `a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the root.
fn module_of(relative: &str) -> String {
    let path = relative.trim_end_matches(".rs");
    let path = path.strip_suffix("/mod").unwrap_or(path);
    if path == "lib" || path == "main" {
        return String::new();
    }
    path.replace('/', "::")
}

fn join(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => base.to_owned(),
        (false, false) => format!("{base}::{rest}"),
    }
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or_else(String::new, |(p, _)| p.to_owned())
}

/// The `ident(::ident)*` at the start of `text`, and the rest after it.
fn path_prefix(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start {
            // No identifier here: a trailing `::` belongs to what follows.
            let end = if text[..start].ends_with("::") {
                start - 2
            } else {
                start
            };
            return (&text[..end], &text[end..]);
        }
        if !text[i..].starts_with("::") {
            return (&text[..i], &text[i..]);
        }
        i += 2;
    }
}

/// Every module path `code`, in module `module`, names through `crate::`
/// or `super::` (a `{a, b::c}` group gives one path per member).
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (anchor, base) in [("crate::", String::new()), ("super::", parent(module))] {
        for (at, _) in code.match_indices(anchor) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::` is read from its first `super::`
            }
            let mut base = base.clone();
            let mut rest = &code[at + anchor.len()..];
            while let Some(after) = rest.strip_prefix("super::") {
                base = parent(&base);
                rest = after;
            }
            let (path, after) = path_prefix(rest);
            let base = join(&base, path);
            let group = after
                .strip_prefix("::{")
                .or_else(|| after.strip_prefix('{').filter(|_| path.is_empty()));
            match group {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for member in group.split(',') {
                        let (member, _) = path_prefix(member.trim());
                        paths.push(join(&base, member));
                    }
                }
                None => paths.push(base),
            }
        }
    }
    paths
}

/// The paths `code`, in module `module`, names through its child module
/// `child` without `self::` (`pub use child::Thing;`, `child::f()`).
fn child_paths(module: &str, child: &str, code: &str) -> Vec<String> {
    let anchor = format!("{child}::");
    code.match_indices(&anchor)
        .filter(|(at, _)| {
            let before = code[..*at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(|(at, _)| join(module, path_prefix(&code[at..]).0))
        .collect()
}

/// The module each module's code depends on, ancestors excluded.
fn graph(sources: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = sources.iter().map(|(m, _)| m.as_str()).collect();
    let is_ancestor =
        |a: &str, of: &str| a.is_empty() || of == a || of.starts_with(&format!("{a}::"));
    let mut edges = BTreeMap::new();
    for (module, code) in sources {
        let children = modules
            .iter()
            .filter(|m| !m.is_empty() && parent(m) == *module)
            .map(|m| m.rsplit("::").next().unwrap_or(m));
        let mut paths = named_paths(module, code);
        paths.extend(children.flat_map(|child| child_paths(module, child, code)));
        let targets: BTreeSet<String> = paths
            .into_iter()
            .filter_map(|path| {
                // The longest prefix of the path that is a file's module.
                let segments: Vec<&str> = path.split("::").collect();
                (1..=segments.len())
                    .rev()
                    .map(|n| segments[..n].join("::"))
                    .find(|prefix| modules.contains(prefix.as_str()))
            })
            .filter(|target| !is_ancestor(target, module))
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

/// Groups of two or more modules that reach each other.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for (module, reaches) in &reachable {
        if !reaches.contains(*module) || groups.iter().any(|g| g.contains(module)) {
            continue;
        }
        let group = reaches
            .iter()
            .filter(|other| reachable[other].contains(*module))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

#[test]
fn the_cycle_finder_sees_a_cycle_through_a_group_import_and_not_a_child_using_its_parent() {
    let sources = |files: &[(&str, &str)]| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(m, c)| ((*m).to_owned(), (*c).to_owned()))
            .collect()
    };
    let found = cycles(&graph(&sources(&[
        ("", "mod a; mod b; mod c;"),
        ("a", "use crate::{b::Thing, c};"),
        ("b", "use super::c::Other;"),
        ("c", "fn f() { crate::a::g() }"),
        ("c::d", "use super::Other; use super::super::b::Thing;"),
    ])));
    assert_eq!(found, vec![vec!["a".to_owned(), "b".into(), "c".into()]]);
    let through_a_child = cycles(&graph(&sources(&[
        ("", "mod p; mod q;"),
        ("p", "pub use child::X; mod child;"),
        ("p::child", "use crate::q::Y;"),
        ("q", "use crate::p::X;"),
    ])));
    assert_eq!(
        through_a_child,
        vec![vec!["p".to_owned(), "p::child".into(), "q".into()]]
    );
    let acyclic = graph(&sources(&[
        ("", "mod p;"),
        ("p", "pub use child::X; mod child;"),
        ("p::child", "use super::Shared;"),
    ]));
    assert!(cycles(&acyclic).is_empty(), "{acyclic:?}");
}

/// Each file of the crate under `crate_root` as (module, code without
/// tests and comments).
fn sources_of(crate_root: &str) -> Vec<(String, String)> {
    let dir = root().join(crate_root);
    let mut paths = Vec::new();
    files(&dir, &[".rs"], &mut paths);
    let sources: Vec<(String, String)> = paths
        .iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&dir).ok()?.display().to_string();
            let text = std::fs::read_to_string(path).ok()?;
            let code = non_test_code(&format!("{crate_root}/{relative}"), &text);
            let code: Vec<&str> = code_lines(code).map(|(_, line)| line).collect();
            (!code.is_empty()).then(|| (module_of(&relative), code.join("\n")))
        })
        .collect();
    assert!(sources.len() > 3, "read {crate_root}");
    sources
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let mut found = Vec::new();
    for crate_root in ROOTS {
        for group in cycles(&graph(&sources_of(crate_root))) {
            found.push(format!("{crate_root}: {}", group.join(" ↔ ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles (move what both need into one of them, or into a third file):\n{}",
        found.join("\n")
    );
}

/// The server's domain: what runs guests, stores plugins, admits tenants
/// and counts calls. HTTP (status codes, extractors, routes, `AppState`)
/// sits on top of it, and `error.rs` maps the domain's errors.
const DOMAIN: [&str; 11] = [
    "allowed_hosts::names",
    "bearer",
    "config",
    "digest",
    "metrics",
    "outcome",
    "pipeline",
    "random",
    "registry",
    "sandbox",
    "tenants",
];

#[test]
fn the_servers_domain_never_imports_its_http_layer() {
    let in_domain = |module: &str| {
        DOMAIN
            .iter()
            .any(|d| module == *d || module.starts_with(&format!("{d}::")))
    };
    let edges = graph(&sources_of("server/src"));
    for d in DOMAIN {
        assert!(edges.contains_key(d), "no file for the domain module {d}");
    }
    let upward: Vec<String> = edges
        .iter()
        .filter(|(from, _)| in_domain(from))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|to| !in_domain(to))
                .map(move |to| format!("{from} → {to}"))
        })
        .collect();
    assert!(
        upward.is_empty(),
        "the domain imports the HTTP layer (return a domain error and map it in error.rs):\n{}",
        upward.join("\n")
    );
}
