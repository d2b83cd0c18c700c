//! Memory caps and accounting for the native processes: one cgroup (v1
//! memory controller) per concurrent slot, under this process's own cgroup.
//!
//! RLIMIT_AS is no alternative for Go: it caps address space, and the Go
//! runtime reserves hundreds of MiB of it before running anything (the
//! bench measures how much; see `native::smallest_address_space`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// This process's directory of slots, removed (with its slots) on drop.
#[derive(Debug)]
pub struct Cgroups {
    root: PathBuf,
}

/// One cgroup a process (or a pool worker) runs in.
#[derive(Debug)]
pub struct Slot {
    dir: PathBuf,
    /// Usage when the current peak measurement started: page cache the
    /// slot was charged for earlier stays charged after its process exits.
    baseline: AtomicU64,
}

impl Cgroups {
    /// Creates `wip-isolation-<pid>` under this process's memory cgroup.
    /// Fails (with the reason) when there is no writable v1 memory
    /// controller; the bench then cannot cap native memory.
    pub fn create() -> Result<Self, String> {
        let mount = std::fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("/proc/self/mounts: {e}"))?
            .lines()
            .find_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                (f.len() > 3 && f[2] == "cgroup" && f[3].split(',').any(|o| o == "memory"))
                    .then(|| PathBuf::from(f[1]))
            })
            .ok_or("no cgroup v1 memory controller mounted")?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("/proc/self/cgroup: {e}"))?
            .lines()
            .find_map(|line| {
                let mut f = line.splitn(3, ':');
                let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
                controllers
                    .split(',')
                    .any(|c| c == "memory")
                    .then(|| path.trim_start_matches('/').to_owned())
            })
            .ok_or("this process is in no memory cgroup")?;
        let root = mount
            .join(own)
            .join(format!("wip-isolation-{}", std::process::id()));
        std::fs::create_dir_all(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
        Ok(Self { root })
    }

    /// A slot named `name`, capped at `limit` bytes (no swap here, so the
    /// kernel's OOM killer ends a process that needs more), or only
    /// accounted when `limit` is `None`.
    pub fn slot(&self, name: &str, limit: Option<u64>) -> io::Result<Slot> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir)?;
        let limit = limit.map_or_else(|| "-1".to_owned(), |l| l.to_string());
        std::fs::write(dir.join("memory.limit_in_bytes"), limit)?;
        Ok(Slot {
            dir,
            baseline: AtomicU64::new(0),
        })
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        if let Err(e) = remove(&self.root) {
            eprintln!("[bench] could not remove {}: {e}", self.root.display());
        }
    }
}

impl Slot {
    /// The file a process writes its pid to, to move itself in.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Starts a new peak measurement.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(self.dir.join("memory.max_usage_in_bytes"), "0");
        let usage = read_u64(&self.dir.join("memory.usage_in_bytes"));
        self.baseline.store(usage, Ordering::Relaxed);
    }

    /// Largest memory charged since [`Self::reset_peak`] beyond what the
    /// slot held then, in bytes: the processes' anonymous and kernel
    /// memory (file pages such as the binary's text are charged once, to
    /// whichever slot read them first, and are not counted).
    pub fn peak(&self) -> u64 {
        read_u64(&self.dir.join("memory.max_usage_in_bytes"))
            .saturating_sub(self.baseline.load(Ordering::Relaxed))
    }

    /// Processes the kernel's OOM killer has killed in this slot so far.
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("memory.oom_control"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGKILLs every process in this slot, until none is left.
    pub fn kill_all(&self) {
        kill_all(&self.procs());
    }

    /// Processes still in this slot.
    pub fn live_processes(&self) -> usize {
        std::fs::read_to_string(self.procs())
            .unwrap_or_default()
            .lines()
            .count()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Err(e) = remove(&self.dir) {
            eprintln!("[bench] could not remove {}: {e}", self.dir.display());
        }
    }
}

/// SIGKILLs every process listed in the cgroup file `procs`, again and
/// again until it lists none (a process forked meanwhile joins the same
/// cgroup) or a second has passed. Killing bwrap alone is not enough: if it
/// dies before its child has set `PR_SET_PDEATHSIG`, the sandbox survives
/// as an orphan holding the call's pipes (seen on a loaded machine). The
/// pids are this bench's own sandboxed processes, read from its own slot.
pub fn kill_all(procs: &Path) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let pids: Vec<i32> = std::fs::read_to_string(procs)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() {
            return;
        }
        for pid in pids.into_iter().filter_map(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// `rmdir` of a cgroup, retried while its last processes finish exiting.
fn remove(dir: &Path) -> io::Result<()> {
    let started = Instant::now();
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if started.elapsed() > Duration::from_secs(2) => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn read_u64(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
