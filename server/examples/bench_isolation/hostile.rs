//! Hostile plugins through every variant: what stopped each one, and how the
//! caller learned of it. Also the probes' verdicts the `--check` mode uses.

use std::io;
use std::net::TcpListener;

use crate::native::Outcome;
use std::time::Duration;

use crate::variants::{DEADLINE, Ended, Setup, Variant};

/// A hostile case: its row label, the native handler (the Wasm guest of the
/// same purpose is `variants::wasm_guest`) and its input.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub label: &'static str,
    pub handler: &'static str,
    input: &'static str,
}

pub const CASES: [Case; 5] = [
    Case {
        label: "alloc bomb",
        handler: "bomb",
        input: "",
    },
    Case {
        label: "infinite loop",
        handler: "spin",
        input: "",
    },
    Case {
        label: "sleep 1 s",
        handler: "sleep",
        input: "1s",
    },
    Case {
        label: "read /etc/passwd",
        handler: "fsprobe",
        input: "",
    },
    Case {
        label: "TCP connect to a loopback listener",
        handler: "netprobe",
        input: "",
    },
];

/// A host TCP listener on loopback that counts the connections reaching it.
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
}

impl Listener {
    pub fn open() -> io::Result<Self> {
        let inner = TcpListener::bind("127.0.0.1:0")?;
        inner.set_nonblocking(true)?;
        Ok(Self { inner })
    }

    pub fn addr(&self) -> String {
        self.inner
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Connections accepted since the last call (a probe's connect has
    /// completed, so it is queued, before the probe answers).
    pub fn accepted(&self) -> u64 {
        let mut n = 0;
        while self.inner.accept().is_ok() {
            n += 1;
        }
        n
    }
}

/// What a file probe found.
#[derive(Debug)]
pub struct FsVerdict {
    pub read_host_file: bool,
    pub wrote_file: bool,
    pub detail: String,
}

/// What a network probe found.
#[derive(Debug)]
pub struct NetVerdict {
    pub reached_listener: bool,
    pub detail: String,
}

/// Deadline of a native probe: its verdict matters, not its speed, and
/// process start-up on a loaded machine can take longer than 50 ms.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// Where the file probe tries to write.
const ESCAPED: &str = "/tmp/escaped";

/// `fsprobe` through `variant`. An unconfined probe really writes
/// [`ESCAPED`] on the host: removed again unless it was there before.
pub fn probe_fs(setup: &Setup, variant: Variant) -> Result<FsVerdict, String> {
    let existed = std::path::Path::new(ESCAPED).exists();
    let ended = setup.call(variant, "fsprobe", b"", PROBE_DEADLINE);
    if !existed {
        let _ = std::fs::remove_file(ESCAPED);
    }
    let report = json_output(&ended)?;
    let field = |k: &str| report[k].as_str().unwrap_or("missing").to_owned();
    let read = field("read /etc/passwd");
    let write = field("write /tmp");
    let detail = if read.is_empty() {
        match report["bytes read"].as_u64() {
            Some(n) => format!("read {n} bytes of the host's /etc/passwd"),
            None => "read the host's /etc/passwd".to_owned(),
        }
    } else {
        format!("denied: `{read}`")
    };
    Ok(FsVerdict {
        read_host_file: read.is_empty(),
        wrote_file: write.is_empty(),
        detail,
    })
}

/// `netprobe` dialing `listener` through `variant`.
pub fn probe_net(
    setup: &Setup,
    variant: Variant,
    listener: &Listener,
) -> Result<NetVerdict, String> {
    listener.accepted();
    let ended = setup.call(
        variant,
        "netprobe",
        listener.addr().as_bytes(),
        PROBE_DEADLINE,
    );
    let report = json_output(&ended)?;
    let accepted = listener.accepted();
    let dial = report["dial tcp"].as_str().unwrap_or("missing").to_owned();
    let detail = if accepted > 0 {
        format!("reached the host listener ({accepted} connection accepted)")
    } else if dial.is_empty() {
        "dial \"succeeded\" but nothing reached the host listener".to_owned()
    } else {
        format!("no connection reached the listener; dial: `{dial}`")
    };
    Ok(NetVerdict {
        reached_listener: accepted > 0,
        detail,
    })
}

fn json_output(ended: &Ended) -> Result<serde_json::Value, String> {
    match &ended.outcome {
        Outcome::Ok(bytes) => serde_json::from_slice(bytes)
            .map_err(|e| format!("probe output is not JSON ({e}): {}", ended.how)),
        other => Err(format!("probe did not answer ({other:?}): {}", ended.how)),
    }
}

/// The table cell for `case` through `variant`.
pub fn cell(setup: &Setup, variant: Variant, case: Case, listener: &Listener) -> String {
    let verdict = match case.handler {
        "fsprobe" => probe_fs(setup, variant).map(|v| {
            let write = if v.wrote_file {
                "; **wrote a file in /tmp**"
            } else {
                ""
            };
            format!("{}{write}", v.detail)
        }),
        "netprobe" => probe_net(setup, variant, listener).map(|v| v.detail),
        _ => Ok(stopped(&setup.call(
            variant,
            case.handler,
            case.input.as_bytes(),
            DEADLINE,
        ))),
    };
    verdict.unwrap_or_else(|e| format!("probe failed: {e}"))
}

fn stopped(ended: &Ended) -> String {
    let what = match ended.outcome {
        Outcome::MemoryLimit => "memory cap",
        Outcome::Deadline => "deadline",
        Outcome::Ok(_) => "**not stopped**, returned",
        Outcome::Rejected(_) => "rejected input",
        Outcome::Failed => "failed",
    };
    let grew = match (ended.outcome.clone(), ended.peak_bytes) {
        (Outcome::Deadline | Outcome::MemoryLimit, Some(peak)) if peak > 0 => {
            format!(", charged {:.1} MiB", peak as f64 / (1 << 20) as f64)
        }
        _ => String::new(),
    };
    format!(
        "{what} after {:.1} ms{grew}: {}",
        ended.elapsed.as_secs_f64() * 1e3,
        ended.how
    )
}
