//! The Leptos app, built without trunk: cargo's release build for
//! `wasm32-unknown-unknown`, `wasm-bindgen --target web`, `wasm-opt -Oz`,
//! then content-hashed names and `index.html` with the module script, the
//! preloads and their Subresource Integrity. These are the steps trunk
//! 0.21 ran for us (its Rust pipeline, same flags); trunk itself, 368
//! crates, took 4 to 9 minutes to install on a fresh 2-core machine.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use sha2::{Digest as _, Sha384};

use crate::{cmd, hash, paths, pins};

/// The app's binary (`frontend/src/main.rs`).
const BIN: &str = "frontend";
/// The page template; the build replaces this comment with the app's tags.
const TEMPLATE: &str = "index.html";
const MARKER: &str = "<!-- app -->";
const STYLESHEET: &str = "frontend/style.css";

/// Builds the app into `site`: `frontend-<hash>.js`, `frontend-<hash>_bg.wasm`,
/// `style-<hash>.css` and `index.html`.
pub fn build(site: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(site)?;
    let target_dir = paths::target().join("app");
    cmd::run(
        cmd::new("cargo")
            .args(["build", "--release", "--package", BIN, "--bin", BIN])
            .args(["--target", pins::WASM_TARGET])
            .env("CARGO_TARGET_DIR", &target_dir),
    )?;
    let wasm = target_dir
        .join(pins::WASM_TARGET)
        .join("release")
        .join(format!("{BIN}.wasm"));

    let bindgen = target_dir.join("wasm-bindgen");
    if bindgen.exists() {
        std::fs::remove_dir_all(&bindgen)?;
    }
    cmd::run(
        cmd::new("wasm-bindgen")
            .arg("--target=web")
            .arg(format!("--out-dir={}", bindgen.display()))
            .arg(format!("--out-name={BIN}"))
            .arg("--no-typescript")
            .arg(&wasm),
    )
    .context("wasm-bindgen (setup installs the version in Cargo.lock)")?;
    let optimized = bindgen.join(format!("{BIN}_bg.opt.wasm"));
    cmd::run(
        cmd::new("wasm-opt")
            .arg(format!("--output={}", optimized.display()))
            .arg("-Oz")
            .arg(bindgen.join(format!("{BIN}_bg.wasm"))),
    )
    .context("wasm-opt (setup installs binaryen from npm)")?;

    let js = read(&bindgen.join(format!("{BIN}.js")))?;
    let wasm = read(&optimized)?;
    let css = read(&paths::root().join(STYLESHEET))?;
    let tag = tag(&[&js, &wasm]);
    let names = Names {
        js: format!("{BIN}-{tag}.js"),
        wasm: format!("{BIN}-{tag}_bg.wasm"),
        css: format!("style-{}.css", self::tag(&[&css])),
    };
    std::fs::write(site.join(&names.js), &js)?;
    std::fs::write(site.join(&names.wasm), &wasm)?;
    std::fs::write(site.join(&names.css), &css)?;
    let template = std::fs::read_to_string(paths::root().join(TEMPLATE))?;
    let page = page(&template, &names, &Files { js, wasm, css })?;
    std::fs::write(site.join("index.html"), page)?;
    Ok(())
}

/// The hashed names of the app's files.
#[derive(Debug)]
struct Names {
    js: String,
    wasm: String,
    css: String,
}

/// Their bytes, for the integrity attributes.
struct Files {
    js: Vec<u8>,
    wasm: Vec<u8>,
    css: Vec<u8>,
}

/// 16 hex digits of the SHA-256 of `parts`: the names' content hash (the
/// manifest reads 8 to 16 digits after the stem).
fn tag(parts: &[&[u8]]) -> String {
    hash::sha256_hex(parts)[..16].to_owned()
}

/// `sha384-<base64>`, a Subresource Integrity value.
fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// The template with its marker replaced by the stylesheet, the module
/// script that starts the app, and preloads of the glue and the wasm.
fn page(template: &str, names: &Names, files: &Files) -> anyhow::Result<String> {
    if template.matches(MARKER).count() != 1 {
        bail!("{TEMPLATE} must hold `{MARKER}` exactly once");
    }
    let Names { js, wasm, css } = names;
    let tags = format!(
        r#"<link rel="stylesheet" href="/{css}" integrity="{css_sri}"/>
    <link rel="modulepreload" href="/{js}" crossorigin="anonymous" integrity="{js_sri}"/>
    <link rel="preload" href="/{wasm}" crossorigin="anonymous" integrity="{wasm_sri}" as="fetch" type="application/wasm"/>
    <script type="module">
import init from '/{js}';
await init({{ module_or_path: '/{wasm}' }});
</script>"#,
        css_sri = integrity(&files.css),
        js_sri = integrity(&files.js),
        wasm_sri = integrity(&files.wasm),
    );
    Ok(template.replace(MARKER, &tags))
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files {
            js: b"export default function init() {}".to_vec(),
            wasm: b"\0asm\x01\0\0\0".to_vec(),
            css: b"body { margin: 0 }".to_vec(),
        }
    }

    #[test]
    fn the_page_loads_the_hashed_app_with_integrity_and_preloads() {
        let names = Names {
            js: "frontend-0123456789abcdef.js".into(),
            wasm: "frontend-0123456789abcdef_bg.wasm".into(),
            css: "style-fedcba9876543210.css".into(),
        };
        let template = std::fs::read_to_string(paths::root().join(TEMPLATE)).unwrap();
        let page = page(&template, &names, &files()).unwrap();
        assert!(!page.contains(MARKER));
        assert!(page.contains("import init from '/frontend-0123456789abcdef.js';"));
        assert!(page.contains("module_or_path: '/frontend-0123456789abcdef_bg.wasm'"));
        assert!(page.contains(&format!(
            r#"href="/style-fedcba9876543210.css" integrity="{}""#,
            integrity(b"body { margin: 0 }")
        )));
        assert!(page.contains(r#"rel="modulepreload" href="/frontend-0123456789abcdef.js""#));
        assert!(page.contains(r#"as="fetch" type="application/wasm""#));
        // The names parse back to their logical names.
        for (name, logical) in [
            (&names.js, "frontend.js"),
            (&names.wasm, "frontend_bg.wasm"),
            (&names.css, "style.css"),
        ] {
            assert_eq!(
                crate::manifest::hashed_logical_name(name),
                (logical.to_owned(), true)
            );
        }
    }

    #[test]
    fn a_template_without_its_marker_is_refused() {
        let names = Names {
            js: String::new(),
            wasm: String::new(),
            css: String::new(),
        };
        assert!(page("<html></html>", &names, &files()).is_err());
        let twice = format!("{MARKER}{MARKER}");
        assert!(page(&twice, &names, &files()).is_err());
    }

    #[test]
    fn integrity_is_sha384_in_base64() {
        // `printf abc | openssl dgst -sha384 -binary | base64`
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }
}
