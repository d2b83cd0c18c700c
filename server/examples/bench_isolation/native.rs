//! Native processes: how each variant starts the Go program, one call with
//! a deadline, and what the caller can tell about how it ended.

use std::ffi::OsString;
use std::io::{self, Read as _, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cgroup::Slot;

/// Where the program appears inside the bubblewrap root (the only file there).
pub const SANDBOX_PATH: &str = "/plugin";

/// bubblewrap's confinement, shared by per-call processes and pool workers.
/// `--unshare-all`: new user, PID, network (only an own loopback), IPC, UTS
/// and cgroup namespaces. `--die-with-parent`: killing bwrap kills the
/// sandbox's PID 1 and with it the whole namespace. The root is an empty
/// tmpfs holding only the program, bind-mounted read-only, then remounted
/// read-only itself: no /etc, /proc, /dev, /tmp.
pub const BWRAP_FLAGS: &[&str] = &[
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--uid",
    "65534",
    "--gid",
    "65534",
    "--clearenv",
];

/// A `sh` prologue that moves itself into the cgroup whose `cgroup.procs`
/// is `$1`, then execs the rest: the process is capped before its first
/// instruction, without `pre_exec` (unsafe) and at the cost of one exec.
const JOIN_CGROUP: &str = r#"echo $$ > "$1" && shift && exec "$@""#;

/// How a native process is isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// fork/exec of the program, nothing else.
    Plain,
    /// The program under bubblewrap with [`BWRAP_FLAGS`].
    Bwrap,
}

/// The command that runs `binary args` as `isolation`, inside `slot` when
/// one is given (capped or only accounted, depending on the slot).
pub fn command(binary: &Path, isolation: Isolation, slot: Option<&Slot>, args: &[&str]) -> Command {
    let mut argv: Vec<OsString> = Vec::new();
    match isolation {
        Isolation::Plain => argv.push(binary.into()),
        Isolation::Bwrap => {
            argv.push("bwrap".into());
            argv.extend(BWRAP_FLAGS.iter().map(OsString::from));
            argv.extend(["--ro-bind".into(), binary.into(), SANDBOX_PATH.into()]);
            argv.extend(
                ["--remount-ro", "/", "--chdir", "/", "--", SANDBOX_PATH].map(OsString::from),
            );
        }
    }
    argv.extend(args.iter().map(OsString::from));
    match slot {
        None => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
        Some(slot) => {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", JOIN_CGROUP, "sh"])
                .arg(slot.procs())
                .args(argv);
            cmd
        }
    }
}

/// A process that ended, by itself or killed at its deadline.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The caller killed it at the deadline.
    pub timed_out: bool,
    /// From spawn until it had exited and every sandboxed process holding
    /// its pipes was gone.
    pub elapsed: Duration,
}

/// How long after the kill the pipes may take to close before the call
/// is given up on (it never took this long once every process was killed).
const PIPES_CLOSE: Duration = Duration::from_secs(2);

/// Spawns `cmd`, writes `input` to its stdin and reads its output; at
/// `deadline` (counted from spawn) SIGKILLs it and, when it runs in a
/// cgroup slot, every process there, then waits until its pipes close, so
/// nothing it started outlives the call.
pub fn run(
    mut cmd: Command,
    slot: Option<&Slot>,
    input: &[u8],
    deadline: Duration,
) -> io::Result<Finished> {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (mut stdin, mut stdout, mut stderr) = (
        child.stdin.take().expect("piped stdin"),
        child.stdout.take().expect("piped stdout"),
        child.stderr.take().expect("piped stderr"),
    );
    let input = input.to_vec();
    let (tx, rx) = mpsc::channel();
    // All pipe I/O on a helper thread, so the deadline holds whatever the
    // process does with its pipes; the kill unblocks the helper.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        drop(stdin);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        let _ = tx.send((out, err));
    });
    let (timed_out, (stdout, stderr)) =
        match rx.recv_timeout(deadline.saturating_sub(started.elapsed())) {
            Ok(output) => (false, output),
            Err(_) => {
                let _ = child.kill();
                if let Some(slot) = slot {
                    slot.kill_all();
                }
                (true, rx.recv_timeout(PIPES_CLOSE).unwrap_or_default())
            }
        };
    let status = child.wait()?;
    Ok(Finished {
        status,
        stdout,
        stderr,
        timed_out,
        elapsed: started.elapsed(),
    })
}

/// How a native call ended, as its caller can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(Vec<u8>),
    /// The plugin rejected the input (its error code as exit status).
    Rejected(i32),
    /// The caller's timer killed it.
    Deadline,
    /// The kernel's OOM killer ended it in its capped cgroup.
    MemoryLimit,
    /// Anything else (crash, unexpected status).
    Failed,
}

/// Classifies `f`, given how many OOM kills its slot recorded during the call.
pub fn classify(f: &Finished, oom_kills: u64) -> Outcome {
    if oom_kills > 0 {
        Outcome::MemoryLimit
    } else if f.timed_out {
        Outcome::Deadline
    } else if f.status.success() {
        Outcome::Ok(f.stdout.clone())
    } else {
        match f.status.code() {
            Some(code @ 2..=3) => Outcome::Rejected(code),
            _ => Outcome::Failed,
        }
    }
}

/// The status as the parent sees it: `exit N` or `signal N`.
pub fn status_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// First line of what the process said on stderr, if anything.
pub fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(80)
        .collect()
}

/// Smallest RLIMIT_AS (MiB, to 8 MiB) under which `binary` still converts
/// `input`, found with util-linux `prlimit --as`; `None` without prlimit.
pub fn smallest_address_space(binary: &Path, input: &[u8]) -> Option<u64> {
    let starts = |mib: u64| {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={}", mib << 20)).arg("--").arg(binary);
        run(cmd, None, input, Duration::from_secs(5))
            .is_ok_and(|f| f.status.success() && !f.stdout.is_empty())
    };
    Command::new("prlimit").arg("--version").output().ok()?;
    let (mut lo, mut hi) = (8u64, 4096u64);
    if !starts(hi) {
        return None;
    }
    while hi - lo > 8 {
        let mid = (lo + hi) / 2;
        if starts(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}
