//! Variant (d): long-lived native workers under the same bubblewrap
//! confinement and memory cap, pre-forked (one per concurrent call of a
//! tenant), speaking length-prefixed frames over stdin/stdout (see
//! `guest-go/sandbox/native/process`).

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cgroup::{self, Slot};
use crate::native::{self, Isolation};

/// How long a new worker may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// A response: status byte (0 ok, else the plugin's error code) and body.
pub type Response = (u8, Vec<u8>);

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    frames: Receiver<io::Result<Response>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Its cgroup slot's process list: everything in the sandbox.
    procs: PathBuf,
}

/// Why a call got no response: the worker is gone (killed at the deadline,
/// or it died) and must be replaced.
#[derive(Debug)]
pub struct Lost {
    pub timed_out: bool,
    pub status: Option<ExitStatus>,
    pub stderr: Vec<u8>,
    /// From sending the request until the worker was reaped and its pipes closed.
    pub elapsed: Duration,
}

impl Worker {
    /// Starts a worker serving `handler` in `slot`; returns it once it has
    /// said it is ready, with the time that took.
    pub fn spawn(binary: &Path, handler: &str, slot: &Slot) -> io::Result<(Self, Duration)> {
        let started = Instant::now();
        let mut child = native::command(binary, Isolation::Bwrap, Some(slot), &["worker", handler])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, frames) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let frame = read_frame(&mut stdout);
                let end = frame.is_err();
                if tx.send(frame).is_err() || end {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf);
            *sink.lock().expect("stderr lock") = buf;
        });
        let mut worker = Self {
            child,
            stdin,
            frames,
            stderr,
            procs: slot.procs(),
        };
        match worker.frames.recv_timeout(READY_TIMEOUT) {
            Ok(Ok((0, body))) if body.is_empty() => Ok((worker, started.elapsed())),
            other => {
                let lost = worker.stop(started);
                Err(io::Error::other(format!(
                    "worker did not start ({other:?}): {:?}, {}",
                    lost.status,
                    native::first_line(&lost.stderr)
                )))
            }
        }
    }

    /// One request. At `deadline` the worker is killed (with its whole
    /// sandbox); a worker that died answers [`Lost`] too. Either way it is
    /// unusable afterwards.
    pub fn call(&mut self, input: &[u8], deadline: Duration) -> Result<Response, Lost> {
        let started = Instant::now();
        let len = u32::try_from(input.len()).expect("request under 4 GiB");
        let sent = self
            .stdin
            .write_all(&len.to_be_bytes())
            .and_then(|()| self.stdin.write_all(input))
            .and_then(|()| self.stdin.flush());
        if sent.is_err() {
            return Err(self.stop(started));
        }
        match self.frames.recv_timeout(deadline) {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => Err(self.stop(started)),
            Err(RecvTimeoutError::Timeout) => {
                let mut lost = self.stop(started);
                lost.timed_out = true;
                Err(lost)
            }
        }
    }

    /// Kills the worker (SIGKILL to bwrap and every process of its slot)
    /// and returns how long until it was reaped and its pipes closed.
    pub fn retire(mut self) -> Duration {
        let started = Instant::now();
        self.stop(started);
        started.elapsed()
    }

    fn stop(&mut self, started: Instant) -> Lost {
        let _ = self.child.kill();
        cgroup::kill_all(&self.procs);
        // Wait for the reader to see the pipe close: every process of the
        // sandbox is gone then, not only bwrap.
        let closing = Instant::now() + Duration::from_secs(2);
        while let Ok(Ok(_)) = self
            .frames
            .recv_timeout(closing.saturating_duration_since(Instant::now()))
        {}
        let status = self.child.wait().ok();
        let elapsed = started.elapsed();
        // The stderr reader finishes once the pipe closes; give it a moment.
        let deadline = Instant::now() + Duration::from_millis(100);
        let stderr = loop {
            let done = Arc::strong_count(&self.stderr) == 1;
            if done || Instant::now() > deadline {
                break self.stderr.lock().expect("stderr lock").clone();
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        Lost {
            timed_out: false,
            status,
            stderr,
            elapsed,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        cgroup::kill_all(&self.procs);
        let _ = self.child.wait();
    }
}

fn read_frame(r: &mut impl io::Read) -> io::Result<Response> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    let mut body = vec![0; len as usize];
    r.read_exact(&mut body)?;
    Ok((head[0], body))
}
