//! Renders `docs/decision-memo.md` (seed task 15) to HTML at build time, so
//! the app ships the memo's HTML (a few KiB) and no Markdown parser.

use std::path::PathBuf;

use pulldown_cmark::{Options, Parser, html};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let memo = manifest_dir.join("../docs/decision-memo.md");
    println!("cargo::rerun-if-changed={}", memo.display());
    let markdown = std::fs::read_to_string(&memo)
        .unwrap_or_else(|e| panic!("reading {}: {e}", memo.display()));
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(&markdown, Options::ENABLE_TABLES));
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("decision-memo.html");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
}
