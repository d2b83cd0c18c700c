//! Short functions: a function that does not fit on a screen hides its
//! steps, so none passes 80 lines outside tests unless a `// Long:`
//! comment above it says why.
//!
//! Sources are parsed with `syn`, so braces in strings, chars, lifetimes
//! and comments cannot fool the count; a function is measured from its
//! `fn` line to its closing brace. Closures are not functions here, and
//! functions inside macros (`view!`, `macro_rules!`) are not seen.

use std::collections::BTreeSet;

use syn::visit::{self, Visit};

use super::tests::{root, rust_sources};

/// Longest a function may be, in lines, without a `// Long:` reason.
const MAX_FN_LINES: usize = 80;

/// The crates whose sources are measured.
const CRATES: [&str; 5] = ["server/", "xtask/", "frontend/", "wire/", "tests/"];

/// Whether `attrs` mark test code: `#[test]`, `#[tokio::test]`,
/// `#[wasm_bindgen_test]` or `#[cfg(test)]`.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        let last = path.segments.last().map(|s| s.ident.to_string());
        let cfg_test = path.is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| list.tokens.to_string() == "test");
        cfg_test || matches!(last.as_deref(), Some("test" | "wasm_bindgen_test"))
    })
}

/// Walks one file: measures its functions and notes the files its
/// `#[cfg(test)] mod name;` declarations pull in.
struct Measure<'a> {
    path: &'a str,
    lines: Vec<&'a str>,
    /// The `impl` being walked, so a method reads `Type::method`.
    self_type: Option<String>,
    long: Vec<String>,
    test_files: Vec<String>,
}

impl Measure<'_> {
    /// Notes the function if it passes the limit without saying why.
    fn function(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) {
        let first = sig.fn_token.span.start().line;
        let last = block.brace_token.span.close().end().line;
        let length = last + 1 - first;
        if length <= MAX_FN_LINES || self.says_why(attrs, first) {
            return;
        }
        let name = match &self.self_type {
            Some(ty) => format!("{ty}::{}", sig.ident),
            None => sig.ident.to_string(),
        };
        self.long
            .push(format!("{}:{first} {name} ({length} lines)", self.path));
    }

    /// Whether the comments and attributes right above line `first` hold
    /// a `// Long:` comment.
    fn says_why(&self, attrs: &[syn::Attribute], first: usize) -> bool {
        let mut top = attrs
            .iter()
            .map(|a| a.pound_token.span.start().line)
            .fold(first, usize::min);
        while top > 1 && self.lines[top - 2].trim_start().starts_with("//") {
            top -= 1;
        }
        self.lines[top - 1..first - 1]
            .iter()
            .any(|line| line.trim_start().starts_with("// Long:"))
    }

    /// The file an out-of-line `mod name;` in this file loads.
    fn module_file(&self, name: &str, attrs: &[syn::Attribute]) -> String {
        let (dir, file) = self.path.rsplit_once('/').unwrap_or(("", self.path));
        let explicit = attrs.iter().find_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        if let Some(explicit) = explicit {
            return format!("{dir}/{explicit}");
        }
        // A crate root or `mod.rs` owns its directory; `a.rs` owns `a/`.
        let owns_dir = ["lib.rs", "main.rs", "mod.rs", "build.rs"].contains(&file)
            || ["examples", "bin", "tests", "benches"]
                .iter()
                .any(|d| dir.ends_with(d));
        let base = if owns_dir {
            dir.to_owned()
        } else {
            format!("{dir}/{}", file.trim_end_matches(".rs"))
        };
        format!("{base}/{name}.rs")
    }
}

impl<'ast> Visit<'ast> for Measure<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test(&item.attrs) {
            self.function(&item.attrs, &item.sig, &item.block);
            visit::visit_item_fn(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test(&item.attrs) {
            self.function(&item.attrs, &item.sig, &item.block);
            visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.function(&item.attrs, &item.sig, block);
        }
        visit::visit_trait_item_fn(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if is_test(&item.attrs) {
            return;
        }
        let outer = self.self_type.take();
        if let syn::Type::Path(ty) = &*item.self_ty {
            self.self_type = ty.path.segments.last().map(|s| s.ident.to_string());
        }
        visit::visit_item_impl(self, item);
        self.self_type = outer;
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_test(&item.attrs) {
            visit::visit_item_mod(self, item);
        } else if item.content.is_none() {
            let file = self.module_file(&item.ident.to_string(), &item.attrs);
            self.test_files.push(file);
        }
    }
}

/// Walks the file at workspace-relative `path`.
fn measure<'a>(path: &'a str, text: &'a str) -> Measure<'a> {
    let file = syn::parse_file(text).unwrap_or_else(|e| {
        let at = e.span().start();
        panic!("{path}:{}:{}: {e}", at.line, at.column + 1)
    });
    let mut measure = Measure {
        path,
        lines: text.lines().collect(),
        self_type: None,
        long: Vec::new(),
        test_files: Vec::new(),
    };
    measure.visit_file(&file);
    measure
}

/// Test files by name (`tests.rs`, `*_tests.rs`, anything under `tests/`
/// except the end-to-end crate's own `src/`), before any file is parsed.
fn is_test_file(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file == "tests.rs" || file.ends_with("_tests.rs") || path.contains("/tests/")
}

#[test]
fn the_function_measure_finds_81_lines_and_allows_80_or_a_long_comment() {
    // A function of `lines` lines: signature, body, closing brace.
    let function = |name: &str, lines: usize| {
        let body = "    let _ = \"}\"; // '{' }\n".repeat(lines - 2);
        format!("fn {name}() {{\n{body}}}\n")
    };
    let text = [
        "/// Fine.\n".to_owned(),
        function("eighty", 80),
        "/// Too long.\n#[inline]\n".to_owned(),
        function("eighty_one", 81),
        "// Long: one table, read top to bottom.\n/// Excused.\n#[inline]\n".to_owned(),
        function("excused", 81),
        "struct S;\nimpl S {\n".to_owned(),
        function("method", 90).replace('\n', "\n    "),
        "}\n#[test]\n".to_owned(),
        function("a_test", 90),
        "#[cfg(test)]\nmod tests {\n".to_owned(),
        function("in_a_test_module", 90),
        "}\n#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod x;\n#[cfg(test)]\nmod y;\n".to_owned(),
    ]
    .concat();
    let measured = measure("a/src/x.rs", &text);
    assert_eq!(
        measured.long,
        [
            "a/src/x.rs:84 eighty_one (81 lines)",
            "a/src/x.rs:251 S::method (90 lines)"
        ]
    );
    assert_eq!(measured.test_files, ["a/src/x_tests.rs", "a/src/x/y.rs"]);
}

#[test]
fn no_function_is_longer_than_80_lines_without_saying_why() {
    let sources: Vec<_> = rust_sources()
        .into_iter()
        .filter(|(path, _)| CRATES.iter().any(|c| path.starts_with(c)))
        .filter(|(path, _)| !is_test_file(path))
        .collect();
    let walks: Vec<_> = sources.iter().map(|(p, t)| measure(p, t)).collect();
    let test_files: BTreeSet<&str> = walks
        .iter()
        .flat_map(|walk| walk.test_files.iter().map(String::as_str))
        .collect();
    let test_dirs: Vec<String> = test_files
        .iter()
        .map(|file| format!("{}/", file.trim_end_matches(".rs").trim_end_matches("/mod")))
        .collect();
    // `name.rs` or `name/mod.rs`: the directory is skipped either way.
    let missing: Vec<_> = test_files
        .iter()
        .zip(&test_dirs)
        .filter(|(file, dir)| {
            !root().join(file).exists() && !root().join(dir).join("mod.rs").exists()
        })
        .collect();
    assert!(missing.is_empty(), "test modules not found: {missing:?}");
    assert!(
        test_files.len() >= 5,
        "resolved the test modules: {test_files:?}"
    );
    let long: Vec<&str> = walks
        .iter()
        .filter(|walk| !test_files.contains(walk.path))
        .filter(|walk| !test_dirs.iter().any(|dir| walk.path.starts_with(dir)))
        .flat_map(|walk| walk.long.iter().map(String::as_str))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines: name their steps, or say why in a `// Long:` comment above:\n{}",
        long.join("\n")
    );
}
