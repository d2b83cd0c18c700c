//! Where `cargo xtask build` puts its output, so that builds never clobber
//! each other and a build with nothing to do costs nothing:
//!
//! ```text
//! target/builds/.lock            held (exclusively) while a build runs
//! target/builds/<inputs>.partial the build under way
//! target/builds/<inputs>/        a finished build: site/, guests/, complete
//! target/site   -> builds/<inputs>/site     (symlinks, replaced by rename)
//! target/guests -> builds/<inputs>/guests
//! ```
//!
//! `<inputs>` is a hash of everything the build reads (see [`INPUTS`]) and
//! of the xtask binary itself (which holds the pins and the build's logic).
//! A finished build of the same inputs is used as it is. Readers follow
//! the symlinks, which are swapped by a rename: they see the old build or
//! the new one, never half of one. The server reads its assets into memory
//! when it starts, so pruning an old build does not disturb a running one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use crate::paths;

/// What the site and the guests are built from, relative to the workspace
/// root: directories are walked (skipping `target/` and dot entries).
pub const INPUTS: [&str; 8] = [
    "frontend",
    "wire",
    "guest-go",
    "docs",
    "index.html",
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
];

/// Finished builds kept besides the newest (older ones are removed).
const KEEP: usize = 2;

/// Marker written last into a build's directory: it finished.
const COMPLETE: &str = "complete";

/// The build directories of this workspace.
#[derive(Debug)]
pub struct Builds {
    dir: PathBuf,
    _lock: File,
}

/// A build's identity: the hash of its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// 16 hex digits of the SHA-256 over every input.
    pub id: String,
    /// Files hashed.
    pub files: usize,
}

impl Builds {
    /// Takes the build lock, waiting (and saying so) while another build
    /// of this workspace holds it.
    pub fn lock() -> anyhow::Result<Self> {
        let dir = paths::target().join("builds");
        std::fs::create_dir_all(&dir)?;
        let lock_path = dir.join(".lock");
        let lock = File::create(&lock_path)
            .with_context(|| format!("creating {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            println!("[build] another build of this workspace is running: waiting for it");
            lock.lock()
                .with_context(|| format!("locking {}", lock_path.display()))?;
        }
        Ok(Self { dir, _lock: lock })
    }

    /// The finished build of `fingerprint`, if there is one.
    pub fn finished(&self, fingerprint: &Fingerprint) -> Option<PathBuf> {
        let dir = self.dir.join(&fingerprint.id);
        dir.join(COMPLETE).is_file().then_some(dir)
    }

    /// An empty directory to build `fingerprint` into (what an interrupted
    /// build left there is removed).
    pub fn start(&self, fingerprint: &Fingerprint) -> anyhow::Result<PathBuf> {
        let partial = self.dir.join(format!("{}.partial", fingerprint.id));
        remove_if_present(&partial)?;
        remove_if_present(&self.dir.join(&fingerprint.id))?;
        std::fs::create_dir_all(&partial)?;
        Ok(partial)
    }

    /// Marks `partial` finished and moves it to its final name.
    pub fn finish(&self, fingerprint: &Fingerprint, partial: &Path) -> anyhow::Result<PathBuf> {
        std::fs::write(partial.join(COMPLETE), format!("{}\n", fingerprint.id))?;
        let done = self.dir.join(&fingerprint.id);
        std::fs::rename(partial, &done)
            .with_context(|| format!("renaming {} into place", partial.display()))?;
        Ok(done)
    }

    /// Points `target/site` and `target/guests` at `build`, then removes
    /// all but the [`KEEP`] newest other builds.
    pub fn publish(&self, build: &Path) -> anyhow::Result<()> {
        // Touched, so "newest" means "most recently published".
        File::open(build.join(COMPLETE))?.set_modified(SystemTime::now())?;
        let name = build
            .file_name()
            .context("a build directory has a name")?
            .to_string_lossy()
            .into_owned();
        for (link, sub) in [(paths::site(), "site"), (paths::guests(), "guests")] {
            let to = PathBuf::from("builds").join(&name).join(sub);
            replace_symlink(&link, &to)?;
        }
        self.prune(build)
    }

    fn prune(&self, current: &Path) -> anyhow::Result<()> {
        let mut others = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path == current || !path.is_dir() {
                continue;
            }
            let published = std::fs::metadata(path.join(COMPLETE)).and_then(|m| m.modified());
            match published {
                Ok(at) => others.push((at, path)),
                // A partial build: only ours could be under way, and it is not.
                Err(_) => remove_if_present(&path)?,
            }
        }
        others.sort_by_key(|other| std::cmp::Reverse(other.0));
        for (_, old) in others.into_iter().skip(KEEP) {
            remove_if_present(&old)?;
        }
        Ok(())
    }
}

/// Hashes every input of the build: the files under [`INPUTS`] (path and
/// bytes), the xtask binary, and `extra` (the build's arguments).
pub fn fingerprint(extra: &str) -> anyhow::Result<Fingerprint> {
    let root = paths::root();
    let mut files = Vec::new();
    for input in INPUTS {
        collect(&root.join(input), &mut files)?;
    }
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(extra.as_bytes());
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    hasher.update(std::fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?);
    for file in &files {
        let rel = file.strip_prefix(root).unwrap_or(file);
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let id = hex::encode(hasher.finalize())[..16].to_owned();
    Ok(Fingerprint {
        id,
        files: files.len(),
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if meta.is_file() {
        out.push(path.to_owned());
    } else if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            collect(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Makes `link` a symlink to `to` by renaming a new symlink over it, so a
/// reader sees the old target or the new one. A real directory left there
/// by an older xtask is removed first.
fn replace_symlink(link: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(link).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(link)
            .with_context(|| format!("removing the old {}", link.display()))?;
    }
    let mut fresh = link.as_os_str().to_owned();
    fresh.push(format!(".new-{}", std::process::id()));
    let fresh = PathBuf::from(fresh);
    remove_if_present(&fresh)?;
    std::os::unix::fs::symlink(to, &fresh)
        .with_context(|| format!("linking {}", fresh.display()))?;
    std::fs::rename(&fresh, link).with_context(|| format!("replacing {}", link.display()))
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
    };
    result.with_context(|| format!("removing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_symlink_leaves_a_link_to_the_new_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("which"), name).unwrap();
        }
        let link = dir.path().join("site");
        // An old real directory is replaced too.
        std::fs::create_dir(&link).unwrap();
        replace_symlink(&link, Path::new("a")).unwrap();
        assert_eq!(std::fs::read_to_string(link.join("which")).unwrap(), "a");
        replace_symlink(&link, Path::new("b")).unwrap();
        assert_eq!(std::fs::read_to_string(link.join("which")).unwrap(), "b");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "a, b and the link only: {names:?}");
    }

    #[test]
    fn the_fingerprint_is_stable_and_follows_the_arguments() {
        let a = fingerprint("go=1.27.3").unwrap();
        assert_eq!(a, fingerprint("go=1.27.3").unwrap());
        assert_ne!(a.id, fingerprint("go=1.21.13").unwrap().id);
        assert!(a.files > 20, "the inputs were walked: {a:?}");
    }
}
